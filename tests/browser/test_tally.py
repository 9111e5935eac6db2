"""An official (password and TOTP) runs the tally of a cycle in counting (Celery runs eagerly in
tests), compares greedy with equal shares side by side, and certifies; an anonymous visitor then
opens the public results page and sees the funded projects and its charts."""

import re

import pytest
from playwright.sync_api import expect

from allocation.models import DistrictResult, TallyRun
from allocation.tests.tally_builders import counting_world
from budgets.models import Cycle
from budgets.phases import Phase
from core.models import AuditEvent
from proposals.models import ProjectText
from tests.browser.login import log_in_user
from tests.factories import user_with_role
from voting.tests.builders import assert_roll_matches_ballots

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TITLES = {
    "A-01": "Library laptops",
    "A-02": "Street trees",
    "A-03": "Skate park",
    "B-01": "Bus shelters",
    "B-02": "Mural",
    "B-03": "Bike racks",
}


def log_in_with_totp(page, base_url, user):
    log_in_user(page, base_url, user)


def test_an_official_compares_rules_certifies_and_the_public_sees_the_results(live_server, browser, page):
    official = user_with_role("official")
    world = counting_world(official)  # ward A: greedy funds, equal shares
    for code, title in TITLES.items():
        ProjectText.objects.filter(project__code=code, language="en").update(title=title)
    base, slug = live_server.url, world.cycle.slug

    log_in_with_totp(page, base, official)
    page.goto(f"{base}/staff/cycles/{slug}/")
    page.get_by_role("link", name="Tally and results").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Tally and results")
    expect(page.locator("[data-blockers]")).to_have_text("Nothing blocks the tally.")

    run = page.get_by_role("group", name="Run the tally")
    run.get_by_label("All three rules, to compare them side by side (a dry run)").check()
    run.get_by_role("button", name="Run the tally").click()
    expect(page.get_by_role("status").first).to_contain_text("The tally has been asked for.")
    expect(page.locator('[data-run="A:mes"] [data-status]')).to_have_text("Done")
    expect(page.locator('meta[http-equiv="refresh"]')).to_have_count(0)  # nothing left running

    ward_a = page.get_by_role("table", name="Ward A: every rule's outcome")
    expect(ward_a.get_by_role("columnheader", name=re.compile("^Greedy"))).to_be_visible()
    expect(ward_a.get_by_role("columnheader", name="Method of Equal Shares", exact=True)).to_be_visible()
    laptops = ward_a.get_by_role("row", name=re.compile("Library laptops"))
    expect(laptops).to_contain_text("differs")
    expect(laptops.get_by_role("cell")).to_have_text(["$20,000", "3", "Funded", "Not funded", "Not funded"])
    trees = ward_a.get_by_role("row", name=re.compile("Street trees"))
    expect(trees.get_by_role("cell")).to_have_text(["$15,000", "3", "Not funded", "Funded", "Funded"])
    expect(ward_a.get_by_role("row", name=re.compile("Skate park"))).not_to_contain_text("differs")
    expect(ward_a.locator('[data-used="greedy"]')).to_have_text("$50,000")
    expect(ward_a.locator('[data-used="mes"]')).to_have_text("$45,000")
    assert TallyRun.objects.filter(cycle=world.cycle).count() == 6

    # Nothing is public before certification.
    anonymous = browser.new_context(locale="en-US").new_page()
    response = anonymous.goto(f"{base}/cycles/{slug}/results/")
    assert response.status == 404

    certify = page.get_by_role("group", name="Certify with the declared rules")
    confirm = certify.get_by_label(re.compile("I certify these results"))
    expect(confirm).to_have_attribute("required", "")  # the server checks it too (test_views_tally)
    confirm.check()
    certify.get_by_label("Note (optional)").fill("Checked by the election board.")
    certify.get_by_role("button", name="Certify results").click()
    expect(page.get_by_role("status").first).to_contain_text("The results are certified and published.")
    expect(page.locator(".phase")).to_have_text("Results")
    expect(page.locator('[data-published="A"] [data-funded]')).to_have_count(2)
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.RESULTS
    assert DistrictResult.objects.filter(district__cycle=world.cycle).count() == 2
    assert AuditEvent.objects.get(action="results.certify").reason == "Checked by the election board."

    anonymous.goto(f"{base}/cycles/{slug}/results/")
    expect(anonymous.get_by_role("heading", level=1)).to_have_text("Results")
    main = anonymous.locator("main")
    for title in ("Library laptops", "Skate park", "Bus shelters", "Bike racks"):  # greedy, the declared rule
        expect(main).to_contain_text(title)
    expect(main.locator("svg").first).to_be_visible()
    assert "<svg" in anonymous.content()
    anonymous.get_by_role("link", name="Ward A").first.click()
    expect(anonymous.locator("main svg").first).to_be_visible()
    expect(anonymous.locator("main")).to_contain_text("Library laptops")
    anonymous.context.close()
    assert_roll_matches_ballots()


def test_the_tally_page_fits_a_phone(live_server, phone_page):
    """At 360px the wide comparison scrolls inside its own region, never the whole page."""
    from allocation.services import tally_cycle

    official = user_with_role("official")
    world = counting_world(official)
    tally_cycle(cycle=world.cycle, rules=["greedy", "mes", "mes-greedy"])
    log_in_with_totp(phone_page, live_server.url, official)
    phone_page.goto(f"{live_server.url}/staff/cycles/{world.cycle.slug}/tally/")
    expect(phone_page.get_by_role("table", name="Ward A: every rule's outcome")).to_be_attached()
    assert phone_page.evaluate("document.documentElement.scrollWidth") <= 360
    phone_page.get_by_role("button", name="Certify results").focus()  # reachable by keyboard
    expect(phone_page.get_by_role("button", name="Certify results")).to_be_focused()
