"""Pages in Spanish fit a 360 px phone: no sideways scrolling of the whole page, whatever the
length of a label (Spanish labels run long), a table or an e-mail address."""

import pytest
from django.conf import settings

from accounts.roles import Role
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_load
from proposals.models import Idea
from tests.browser.login import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def spanish_phone(browser, live_server):
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True)
    # The language switcher's cookie: Spanish on every page.
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "es", "url": live_server.url}])
    yield context.new_page()
    context.close()


def page_width(page, url):
    response = page.goto(url)
    assert response.status == 200, url
    assert page.evaluate("document.documentElement.lang") == "es"
    return page.evaluate("document.documentElement.scrollWidth")


def log_in_es(page, base, role):
    email, _name, secret = DEMO_USERS[role]
    # The sign-in helper reads English labels; the pages under test are then read in Spanish.
    page.context.clear_cookies()
    log_in(page, base, email, password=DEMO_PASSWORD, totp_secret=secret)
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "es", "url": base}])


def test_spanish_idea_page_fits_a_phone(live_server, spanish_phone):
    demo_load(phase="voting")
    idea = Idea.objects.filter(cost_guess__isnull=False).first()
    assert idea is not None
    assert page_width(spanish_phone, f"{live_server.url}/ideas/{idea.pk}/") <= 360
    # The long Spanish label is on the page and its value is not printed one letter per line.
    label = spanish_phone.get_by_text("Costo aproximado según el proponente")
    value = label.locator("xpath=following-sibling::dd[1]")
    assert value.bounding_box()["width"] > 60


def test_spanish_staff_pages_fit_a_phone(live_server, spanish_phone):
    demo_load(phase="voting")
    base = live_server.url
    log_in_es(spanish_phone, base, Role.OFFICIAL)
    for path in (
        "/staff/cycles/",
        f"/staff/cycles/{DEMO_SLUG}/ballot/",
        f"/staff/cycles/{DEMO_SLUG}/sites/",
    ):
        assert page_width(spanish_phone, base + path) <= 360, path


def test_spanish_roles_page_fits_a_phone(live_server, spanish_phone):
    demo_load(phase="voting")
    base = live_server.url
    log_in_es(spanish_phone, base, Role.ADMINISTRATOR)
    assert page_width(spanish_phone, f"{base}/accounts/staff/") <= 360
    # The remove forms are still there and reachable.
    assert spanish_phone.locator("form[action$='/accounts/staff/revoke/'] button").count() > 0


def test_a_very_long_email_address_wraps(live_server, spanish_phone):
    base = live_server.url
    email = "a" * 240 + "@example.org"  # as long as the field takes
    spanish_phone.goto(f"{base}/accounts/signup/")
    spanish_phone.locator("input[name=email]").fill(email)
    spanish_phone.locator("input[name=password1]").fill("a-long-enough-pass-2026")
    if spanish_phone.locator("input[name=password2]").count():
        spanish_phone.locator("input[name=password2]").fill("a-long-enough-pass-2026")
    spanish_phone.locator("form button[type=submit]").last.click()
    spanish_phone.wait_for_load_state()
    text = spanish_phone.inner_text("main")
    assert email in text
    assert spanish_phone.evaluate("document.documentElement.scrollWidth") <= 360
