"""Paper ballots end to end: two volunteers (two browsers) key a batch of three sheets twice, with
one mismatch and one sheet that breaks the rules; an official (password and TOTP) compares the
two keyings, resolves the mismatch and reconciles; the valid sheets are stored as ballots."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import expect

from budgets.services import cycle_transition
from proposals.tests.builders import make_project, move, new_resident, submit, texts
from tests.ballots import ballot_prepare
from tests.browser.login import log_in_user
from tests.factories import CycleFactory, user_with_role
from voting.models import Ballot, PaperBatch, PaperEntry, VoterRollEntry
from voting.sites import voting_site_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def voting_cycle():
    """Ward A in voting with an approval ballot (pick 1 or 2): A-01, A-02, A-03; a site."""
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000", texts=texts("Drinking fountains", "Fuentes"))
    make_project(cycle, official, [idea], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    make_project(cycle, official, [idea], code="A-03", cost="30000", texts=texts("Library laptops", "Portátiles"))
    ballot_prepare(cycle, official, method="approval", max_picks=2)
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    voting_site_create(actor=official, cycle=cycle, name="City Hall")
    return cycle, official


def log_in(page, base_url, user):
    log_in_user(page, base_url, user)


def new_page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def key_sheet(page, sheet: int, projects=(), unreadable: str = ""):
    """Key one sheet; the form comes back with the next number filled in."""
    expect(page.get_by_label("Sheet number")).to_have_value(str(sheet))
    for name in projects:
        page.get_by_label(name).check()
    if unreadable:
        page.get_by_label(re.compile("This sheet cannot be counted")).check()
        page.get_by_label("Why it cannot be counted").fill(unreadable)
    page.get_by_role("button", name="Save this sheet").click()
    expect(page.locator(".messages")).to_contain_text(f"Sheet {sheet} saved")


def test_two_volunteers_key_a_batch_and_an_official_reconciles_it(live_server, browser):
    cycle, official = voting_cycle()
    first, second = user_with_role("volunteer"), user_with_role("volunteer")
    base = live_server.url
    errors = []

    # Volunteer 1 opens the batch from the cycle page and keys pass 1.
    context1, page1 = new_page(browser)
    page1.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page1, base, first)
    page1.goto(f"{base}/cycles/{cycle.slug}/")
    page1.get_by_role("link", name=re.compile("Paper ballots: key in a ballot box")).click()
    page1.get_by_role("link", name="Open a new batch").click()
    page1.get_by_label("District (ballot)").select_option(label="A · Ward A")
    page1.get_by_label("Voting site").select_option(label="City Hall")
    page1.get_by_label("Batch label").fill("Box 1")
    today = timezone.localdate(timezone=ZoneInfo(cycle.time_zone))
    expect(page1.get_by_label("Voting day")).to_have_value(today.isoformat())  # the cycle's today
    page1.get_by_label("Ballots issued").fill("4")
    page1.get_by_label("Ballots spoiled").fill("1")
    page1.get_by_role("button", name="Open the batch").click()
    expect(page1.get_by_role("heading", level=1)).to_have_text("Paper ballot batch “Box 1”")
    page1.get_by_role("link", name="Key sheets in pass 1").click()
    key_sheet(page1, 1, ["A-01 Drinking fountains"])
    key_sheet(page1, 2, ["A-02 Street trees"])  # the sheet says
    key_sheet(page1, 3, ["A-01 Drinking fountains", "A-02 Street trees", "A-03 Library laptops"])
    expect(page1.locator(".messages")).to_contain_text("recorded as invalid: Choose at most 2 projects (you chose 3).")
    expect(page1.get_by_text("All sheets of this batch are keyed in pass 1.")).to_be_visible()
    assert page1.evaluate("document.documentElement.scrollWidth") <= 360
    batch = PaperBatch.objects.get()

    # Volunteer 1 may not key pass 2 of the same batch.
    page1.goto(f"{base}/cycles/{cycle.slug}/paper/batches/{batch.pk}/")
    expect(page1.get_by_text("You keyed the other pass, so you cannot key pass 2")).to_be_visible()
    expect(page1.get_by_role("link", name="Key sheets in pass 2")).to_have_count(0)

    # Volunteer 2, in another browser, keys pass 2.
    context2, page2 = new_page(browser)
    page2.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page2, base, second)
    page2.goto(f"{base}/cycles/{cycle.slug}/paper/batches/")
    page2.get_by_role("link", name="Box 1").click()
    page2.get_by_role("link", name="Key sheets in pass 2").click()
    key_sheet(page2, 1, ["A-01 Drinking fountains"])
    key_sheet(page2, 2, ["A-02 Street trees", "A-03 Library laptops"])
    key_sheet(page2, 3, ["A-01 Drinking fountains", "A-02 Street trees", "A-03 Library laptops"])
    assert PaperEntry.objects.count() == 6

    # The official compares, resolves sheet 2 from the paper, and reconciles.
    context3, page3 = new_page(browser)
    page3.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page3, base, official)
    page3.goto(f"{base}/staff/cycles/{cycle.slug}/")
    page3.get_by_role("link", name="Paper ballots").click()
    page3.get_by_role("link", name="Box 1").click()
    expect(page3.locator("#reconcile-problems")).to_contain_text(
        "Sheets whose two keyings differ, not resolved by an official yet: 2."
    )
    page3.get_by_role("button", name="Reconcile this batch").click()
    expect(page3.locator(".messages")).to_contain_text("The batch cannot be reconciled yet.")
    assert Ballot.objects.count() == 0

    page3.get_by_role("link", name="Compare and resolve").click()
    comparison = page3.get_by_role("table", name="The keyings of sheet 2")
    expect(comparison.get_by_role("row", name=re.compile("A-03 Library laptops"))).to_contain_text("(differs)")
    form = page3.get_by_role("group", name="What sheet 2 says")
    form.get_by_label("A-02 Street trees").check()
    form.get_by_label("A-03 Library laptops").check()
    form.get_by_label("Note").fill("Both boxes are marked.")
    page3.get_by_role("button", name="Resolve sheet 2").click()
    expect(page3.locator(".messages")).to_contain_text("Sheet 2 resolved.")
    page3.get_by_role("link", name="Back to the batch").click()
    expect(page3.get_by_text("So far: 2 valid + 1 invalid + 1 spoiled, for 4 issued.")).to_be_visible()
    page3.get_by_role("button", name="Reconcile this batch").click()
    expect(page3.locator(".messages")).to_contain_text(
        "Batch reconciled. Ballots stored: 2. Invalid sheets: 1. Spoiled: 1."
    )
    expect(page3.get_by_role("button", name="Reconcile this batch")).to_have_count(0)

    # Ballots stored = valid sheets; one roll entry each, at the site, channel "paper".
    assert sorted(Ballot.objects.values_list("choices", flat=True)) == [["A-01"], ["A-02", "A-03"]]
    assert set(Ballot.objects.values_list("channel", "receipt_hash")) == {("paper", None)}
    roll = dict(VoterRollEntry.objects.values_list("district").annotate(n=Count("id")))
    assert roll == dict(Ballot.objects.values_list("district").annotate(n=Count("id")))
    assert set(VoterRollEntry.objects.values_list("channel", "site")) == {("paper", "City Hall")}
    assert errors == []
    for context in (context1, context2, context3):
        context.close()
