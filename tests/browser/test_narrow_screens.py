"""No page scrolls sideways on a 320 px screen, in English or Spanish (Spanish labels run long):
the main public and resident pages, from the home page to the public record. Tables that can be
wide scroll inside their own labelled, focusable region instead of pushing the page."""

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.roles import Role
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, demo_load
from proposals.models import Idea, Project
from tests.browser.login import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 320


@pytest.fixture
def narrow(browser):
    context = browser.new_context(locale="en-US", viewport={"width": WIDTH, "height": 640}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def speak(page, base, language):
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": base}])


def too_wide(page, url, language) -> list[str]:
    response = page.goto(url)
    assert response.status == 200, url
    assert page.evaluate("document.documentElement.lang") == language
    width = page.evaluate("document.documentElement.scrollWidth")
    if width <= WIDTH:
        return []
    # Name the culprits: the elements whose right edge passes the screen's.
    culprits = page.evaluate(
        """(w) => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > w + 0.5).slice(0, 5)
              .map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)""",
        WIDTH,
    )
    return [f"{url} [{language}]: {width}px — {culprits}"]


@pytest.mark.parametrize("language", ["en", "es"])
def test_no_page_scrolls_sideways_at_320_px(live_server, narrow, language, settings, tmp_path):
    settings.PB_BUNDLE_ROOT = tmp_path / "bundles"
    base, page = live_server.url, narrow
    demo_load(phase="voting")
    idea = Idea.objects.filter(cycle__slug=DEMO_SLUG, cost_guess__isnull=False).first()
    project = Project.objects.filter(district__cycle__slug=DEMO_SLUG).select_related("district").first()
    ward = project.district.code
    problems = []
    speak(page, base, language)
    for path in (
        "/",
        f"/cycles/{DEMO_SLUG}/",
        f"/cycles/{DEMO_SLUG}/ideas/",
        f"/ideas/{idea.pk}/",
        f"/cycles/{DEMO_SLUG}/projects/",
        f"/projects/{project.pk}/",
        f"/cycles/{DEMO_SLUG}/vote/",
        f"/cycles/{DEMO_SLUG}/vote/code/",
        f"/cycles/{DEMO_SLUG}/vote/phone/",
        "/receipt/",
        "/accounts/login/",
        "/accounts/signup/",
    ):
        problems += too_wide(page, base + path, language)

    # A resident's ballot pages.
    email, _name, _secret = DEMO_USERS[Role.RESIDENT]
    page.context.clear_cookies()
    log_in(page, base, email, password=DEMO_PASSWORD)
    speak(page, base, language)
    for path in (f"/cycles/{DEMO_SLUG}/vote/", f"/cycles/{DEMO_SLUG}/vote/{ward}/", "/me/ideas/"):
        problems += too_wide(page, base + path, language)
    page.context.clear_cookies()
    speak(page, base, language)

    demo_load(phase="results")
    for path in (
        f"/cycles/{DEMO_SLUG}/results/",
        f"/cycles/{DEMO_SLUG}/results/{ward}/",
        f"/cycles/{DEMO_SLUG}/record/",
    ):
        problems += too_wide(page, base + path, language)
    assert problems == []


# Every table of the page that is not inside a scrolling region a keyboard can reach and a screen
# reader can name (role="region", tabindex="0", labelled by an element that exists).
UNREGIONED_TABLES = """() => [...document.querySelectorAll('main table')].filter(table => {
  const region = table.closest('[role=region]');
  if (!region || region.getAttribute('tabindex') !== '0') return true;
  const label = region.getAttribute('aria-label') ||
    (document.getElementById(region.getAttribute('aria-labelledby') || '') || {}).textContent || '';
  return !label.trim() || getComputedStyle(region).overflowX !== 'auto';
}).map(table => (table.caption ? table.caption.textContent.trim() : table.className) || 'a table')"""


def test_tables_scroll_in_their_own_labelled_region(live_server, narrow, settings, tmp_path):
    settings.PB_BUNDLE_ROOT = tmp_path / "bundles"
    demo_load(phase="results")
    base, page = live_server.url, narrow
    project = Project.objects.filter(district__cycle__slug=DEMO_SLUG).select_related("district").first()
    results = f"/cycles/{DEMO_SLUG}/results/"
    pages = ["/", f"/cycles/{DEMO_SLUG}/", results, f"{results}{project.district.code}/"]
    staff = [f"/staff/cycles/{DEMO_SLUG}/tally/", f"/staff/cycles/{DEMO_SLUG}/turnout/"]
    seen = 0
    for path in pages + ["LOG IN"] + staff:
        if path == "LOG IN":
            email, _name, secret = DEMO_USERS[Role.OFFICIAL]
            log_in(page, base, email, password=DEMO_PASSWORD, totp_secret=secret)
            continue
        page.goto(base + path)
        assert page.evaluate(UNREGIONED_TABLES) == [], path
        regions = page.locator("main [role=region]:has(table)")
        seen += regions.count()
        first = regions.first
        first.focus()  # a keyboard user reaches it, to scroll it with the arrow keys
        expect(first).to_be_focused()
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, path
    assert seen >= 10
