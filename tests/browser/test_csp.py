"""The main pages under the content security policy, in Chromium: they load with no violation
reported (tests/conftest.py fails any browser test whose pages report one) and their JavaScript still
works — the map (its tiles come from the configured tile server), the ballot's budget meter, Swagger
UI. An injected inline script is refused by the browser."""

import base64
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from proposals.tests.builders import new_resident, submit
from tests import conftest as browser_conftest
from tests.browser.login import log_in, log_in_user
from tests.browser.test_voting import voting_cycle
from tests.factories import CycleFactory, UserFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A 1×1 PNG, served for every map tile request.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def test_public_pages_and_the_map_under_the_policy(live_server, page):
    base = live_server.url
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident(), latitude="40.7178", longitude="-74.0431")
    tiles = []

    def serve_tile(route):
        tiles.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=PNG)

    page.route("https://tile.openstreetmap.org/**", serve_tile)

    page.goto(f"{base}/")
    expect(page.get_by_role("link", name=cycle.name).first).to_be_visible()
    page.goto(f"{base}/cycles/{cycle.slug}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(cycle.name)
    page.goto(f"{base}/cycles/{cycle.slug}/ideas/")
    expect(page.get_by_role("link", name=idea.title)).to_be_visible()
    page.get_by_role("link", name=idea.title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(idea.title)

    # The map script ran (Leaflet built the map) and its tiles were allowed to load.
    expect(page.locator("[data-map-view]")).to_be_visible()
    expect(page.locator("[data-map].leaflet-container")).to_be_visible()
    expect(page.locator("img.leaflet-tile-loaded").first).to_be_attached()
    assert tiles and all(url.startswith("https://tile.openstreetmap.org/") for url in tiles)


def test_an_injected_inline_script_is_refused(live_server, page):
    page.goto(f"{live_server.url}/")
    page.evaluate(
        """() => {
            const s = document.createElement("script");
            s.textContent = "window.injected = true";
            document.body.appendChild(s);
            document.body.insertAdjacentHTML("beforeend", '<p id="styled" style="color: red">x</p>');
        }"""
    )
    expect(page.locator("#styled")).to_be_attached()
    assert page.evaluate("window.injected === undefined")  # the browser refused to run it
    assert page.evaluate("getComputedStyle(document.getElementById('styled')).color") != "rgb(255, 0, 0)"
    page.wait_for_timeout(200)  # the violation events are dispatched asynchronously
    found = list(browser_conftest.CSP_VIOLATIONS)
    browser_conftest.CSP_VIOLATIONS.clear()  # expected here: not a failure of this test
    assert any("script-src" in v for v in found), found
    assert any("style-src" in v for v in found), found


def test_the_ballot_meter_and_the_staff_pages_under_the_policy(live_server, page):
    base = live_server.url
    cycle = voting_cycle("knapsack")
    official = user_with_role("official")

    log_in(page, base, user_with_role("resident").email)
    page.goto(f"{base}/cycles/{cycle.slug}/vote/")
    page.get_by_role("link", name="Ballot for Ward A").click()
    meter = page.locator("[data-ballot-meter]")
    expect(meter).to_have_text("Money left: $50,000 of $50,000.")
    page.get_by_label("Drinking fountains").check()
    expect(meter).to_have_text("Money left: $30,000 of $50,000.")

    page.context.clear_cookies()
    log_in_user(page, base, official)
    for path, heading in (
        (f"/staff/cycles/{cycle.slug}/", cycle.name),
        (f"/staff/cycles/{cycle.slug}/ballot/", "Ballot"),
        (f"/staff/cycles/{cycle.slug}/turnout/", "Turnout"),
        (f"/staff/cycles/{cycle.slug}/sites/", "Voting sites"),
        (f"/cycles/{cycle.slug}/paper/A/", "Official paper ballot"),
    ):
        response = page.goto(f"{base}{path}")
        assert response.status == 200, path
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)


def test_the_staff_roles_page_and_the_django_admin_under_the_policy(live_server, page):
    base = live_server.url
    administrator = user_with_role("administrator")
    person = user_with_role("resident")

    log_in_user(page, base, administrator)
    page.get_by_role("link", name="Staff roles").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Staff roles")
    page.get_by_label("Email address of the account").fill(person.email)
    page.get_by_role("combobox", name=re.compile("^Role")).select_option("volunteer")
    page.get_by_role("textbox", name=re.compile("^Reason:")).fill("Kiosk at the library.")
    page.get_by_role("button", name="Appoint").click()
    expect(page.get_by_role("status")).to_contain_text(f"{person.email} is now: Volunteer.")

    page.context.clear_cookies()
    superuser = UserFactory(is_staff=True, is_superuser=True)
    superuser.totp_secret = generate_totp_secret()
    TOTP.activate(superuser, superuser.totp_secret)
    page.goto(f"{base}/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/admin/"))
    log_in_user(page, base, superuser)
    page.goto(f"{base}/admin/accounts/user/{person.pk}/change/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Change user")
    expect(page.locator("#content")).to_contain_text("resident, volunteer")  # roles shown, not edited


def test_the_api_docs_under_the_policy(live_server, page):
    page.goto(f"{live_server.url}/api/v1/docs/")
    # Swagger UI's start-up script (a separate request) ran: it fetched the schema and drew it.
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("pbplatform API")
    expect(page.locator(".opblock").first).to_be_visible()


def test_the_api_index_in_a_browser(live_server, page):
    """/api/v1/ is DRF's browsable index under the policy, and its docs link opens Swagger UI."""
    page.goto(f"{live_server.url}/api/v1/")
    expect(page.get_by_role("heading", name="pbplatform API, version 1")).to_be_visible()
    expect(page.get_by_role("link", name="Read the API documentation.")).to_be_visible()
    page.get_by_role("link", name=f"{live_server.url}/api/v1/docs/").click()
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("pbplatform API")
    icon = page.request.get(f"{live_server.url}/favicon.ico")
    assert icon.ok and icon.headers["content-type"] in ("image/x-icon", "image/vnd.microsoft.icon")
