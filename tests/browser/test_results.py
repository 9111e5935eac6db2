"""The public results on a 360 px phone: no sideways scrolling, the charts drawn
inside the screen and named for a screen reader, the same data in tables; with JavaScript off."""

import pytest
from playwright.sync_api import expect

from allocation.tests.results_builders import results_world, title
from tests.factories import user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def phone_without_js(browser):
    context = browser.new_context(
        locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for box in page.locator("svg.chart").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= 360


def test_results_on_a_phone_without_javascript(live_server, phone_without_js):
    page, base = phone_without_js, live_server.url
    world = results_world(user_with_role("official"))
    slug = world.cycle.slug

    page.goto(f"{base}/cycles/{slug}/")
    page.get_by_role("link", name="See the results").click()
    expect(page.get_by_role("heading", name="Results", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="Voters by channel")).to_be_visible()
    expect(page.get_by_role("table", name="Results by district")).to_be_visible()
    fits_the_screen(page)

    page.get_by_role("link", name="Ward A").first.click()
    expect(page.get_by_role("heading", name="Results for Ward A")).to_be_visible()
    chart = page.get_by_role("img", name="Votes per project in Ward A")
    expect(chart).to_be_visible()
    assert chart.locator("g.bar").count() == 4 and chart.locator("g.bar.highlight").count() == 2
    expect(page.get_by_role("img", name="Budget of Ward A")).to_be_visible()
    funded = page.locator("#funded-table")
    expect(funded).to_contain_text(title("A-01"))
    expect(funded).to_contain_text(title("A-03"))
    expect(page.locator(".not-funded")).to_contain_text("Did not fit the remaining $8,000")
    fits_the_screen(page)
