"""A resident on a phone submits an idea: with the map (tiles unreachable, the point still set) and
without JavaScript at all (the address alone)."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from proposals import services
from proposals.models import Idea
from tests.browser.login import log_in
from tests.factories import CycleFactory, user_with_role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fill_idea(page, title):
    page.get_by_label("Title").fill(title)
    page.get_by_label("Description").fill("Six benches near the library.")
    page.get_by_label("District").select_option(label="Ward A (A)")
    page.get_by_label("Address or place").fill("Grove St & Newark Ave")


def test_resident_marks_the_place_on_the_map(live_server, browser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cycle = CycleFactory(ideas=True, wards="AB")
    resident = user_with_role("resident")
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True)
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost).*"), lambda route: route.abort())  # no tiles
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    log_in(page, live_server.url, resident.email)
    page.goto(f"{live_server.url}/cycles/{cycle.slug}/")
    page.get_by_role("link", name="Submit an idea").click()
    fill_idea(page, "Benches with a map point")
    expect(page.locator("[data-map-picker]")).to_be_visible()
    page.get_by_role("button", name="Mark the centre of the map").click()
    expect(page.locator("[data-map-status]")).to_have_text("The place is marked on the map.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    page.get_by_role("button", name="Submit your idea").click()

    expect(page.get_by_role("status")).to_contain_text("has been submitted")
    expect(page.get_by_role("heading", level=1)).to_have_text("Benches with a map point")
    idea = Idea.objects.get()
    # The map's centre: PB_MAP_CENTER, give or take the few metres Leaflet may pan when the phone
    # layout settles (a pixel at this zoom is about 5 m).
    assert abs(idea.latitude - Decimal("40.7178")) < Decimal("0.0005")
    assert abs(idea.longitude - Decimal("-74.0431")) < Decimal("0.0005")
    assert errors == []
    context.close()


def test_resident_submits_without_javascript(live_server, browser, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cycle = CycleFactory(ideas=True, wards="AB")
    resident = user_with_role("resident")
    other = user_with_role("resident")
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)

    log_in(page, live_server.url, resident.email)
    page.goto(f"{live_server.url}/cycles/{cycle.slug}/ideas/new/")
    expect(page.locator("[data-map-picker]")).to_be_hidden()
    fill_idea(page, "")
    page.get_by_role("button", name="Submit your idea").click()
    expect(page.get_by_role("alert")).to_contain_text("Title: This field is required.")
    page.get_by_label("Title").fill("Benches without a map")
    page.get_by_role("button", name="Submit your idea").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Benches without a map")
    idea = Idea.objects.get()
    assert idea.latitude is None and idea.address == "Grove St & Newark Ave"

    # Another resident endorses it and comments, still without JavaScript.
    services.idea_endorse(actor=other, idea=idea)
    page.get_by_role("button", name="Log out").click()
    log_in(page, live_server.url, other.email)
    page.goto(f"{live_server.url}/ideas/{idea.pk}/")
    page.get_by_role("button", name="Withdraw my endorsement").click()
    expect(page.get_by_role("status")).to_contain_text("You no longer endorse this idea.")
    page.get_by_label("Your comment").fill("Yes, please!")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comments")).to_contain_text("Yes, please!")
    context.close()
