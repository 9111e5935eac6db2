"""An official logs in with a password and TOTP, advances the demo cycle with a reason, and the
public home page shows the new phase."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_load
from budgets.models import Cycle
from core.models import AuditEvent
from tests.browser.login import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_official(page, base_url):
    email, _name, secret = DEMO_USERS[Role.OFFICIAL]
    log_in(page, base_url, email, password=DEMO_PASSWORD, totp_secret=secret)


def test_official_advances_demo_cycle_and_public_sees_it(live_server, page, browser):
    demo_load(phase="ideas")
    base = live_server.url

    log_in_official(page, base)
    page.goto(f"{base}/staff/cycles/{DEMO_SLUG}/")
    page.get_by_role("link", name=re.compile("Move to next phase: Vetting")).click()
    page.get_by_label("Reason").fill("Idea collection closed as announced at the ward meetings.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("status")).to_contain_text("Vetting")

    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == "vetting"
    event = AuditEvent.objects.filter(action="cycle.phase_changed").latest("id")
    assert event.reason == "Idea collection closed as announced at the ward meetings."
    assert event.before == {"phase": "ideas"} and event.after == {"phase": "vetting"}

    # A different visitor, not logged in, sees the new phase on the home page.
    visitor = browser.new_context().new_page()
    visitor.goto(f"{base}/")
    card = visitor.get_by_role("region", name=re.compile("Jersey City PB 2026"))
    expect(card.locator(".phase")).to_have_text("Vetting")
    expect(card).to_contain_text("reviewing ideas")
    visitor.context.close()


def test_official_without_second_factor_cannot_log_in(live_server, page):
    demo_load(phase="ideas")
    email, _name, _secret = DEMO_USERS[Role.OFFICIAL]
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(email)
    page.get_by_label(re.compile("Password", re.I)).fill(DEMO_PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    page.get_by_label(re.compile("^Code", re.I)).fill("000000")
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("Incorrect code", re.I))  # the error summary
    # Still not logged in: the staff area sends the browser back to a sign-in step.
    page.goto(f"{live_server.url}/staff/cycles/")
    assert re.search(r"/accounts/(login|2fa/authenticate)/", page.url)
    expect(page.get_by_role("heading", name="Budget cycles")).to_have_count(0)


def test_home_page_is_usable_on_a_phone_and_by_keyboard(live_server, phone_page):
    demo_load(phase="ideas")
    page = phone_page
    page.goto(f"{live_server.url}/")
    # No horizontal scrolling at 360 px.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    # The first Tab lands on the skip link, which moves focus to the main content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # Switching language without JavaScript-only controls: a plain form.
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Change").click()
    assert page.evaluate("document.documentElement.lang") == "es"
