"""A volunteer runs a kiosk at a voting site: opens it, checks two voters in one after the other, each
votes on the device and sees their receipt; an idle voter's page returns to the check-in, with
JavaScript and without."""

import re

import pytest
from playwright.sync_api import expect

from budgets.services import cycle_transition
from proposals.tests.builders import make_project, move, new_resident, submit, texts
from tests.ballots import ballot_prepare
from tests.browser.login import log_in
from tests.factories import CycleFactory, user_with_role
from voting import services, sites
from voting.models import Ballot, Identity, VoterRollEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAV = ("Log out", "My ideas", "Preferences", "Security", "Staff area")


def voting_cycle():
    """Ward A in voting (approval): A-01 Drinking fountains, A-02 Street trees, A-03 Library laptops;
    two voting sites."""
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000", texts=texts("Drinking fountains", "Fuentes"))
    make_project(cycle, official, [idea], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    make_project(cycle, official, [idea], code="A-03", cost="30000", texts=texts("Library laptops", "Portátiles"))
    ballot_prepare(cycle, official)
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    sites.voting_site_create(actor=official, cycle=cycle, name="City Hall", address="280 Grove St")
    sites.voting_site_create(actor=official, cycle=cycle, name="Public Library")
    return cycle


PIN = "2468"


def open_kiosk(page, base, cycle):
    page.goto(f"{base}/cycles/{cycle.slug}/")
    page.get_by_role("link", name=re.compile("Voting kiosk")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a voting kiosk")
    page.get_by_label("Voting site").select_option(label="City Hall — 280 Grove St")
    page.get_by_label(re.compile(r"^Kiosk PIN")).fill(PIN)
    page.get_by_role("button", name="Open the kiosk").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")


def check_in(page, *, name, born, address, confirmed=True):
    page.get_by_label(re.compile(r"^Full name")).fill(name)
    page.get_by_label(re.compile(r"^Date of birth")).fill(born)
    page.get_by_label(re.compile(r"^Home address")).fill(address)
    page.get_by_label(re.compile(r"^Ballot")).select_option(label="Ward A")
    if confirmed:
        page.get_by_label("I saw proof of the voter's age and home address").check()
    page.get_by_label(re.compile(r"^Kiosk PIN \(volunteer\)")).fill(PIN)
    page.get_by_role("button", name="Check in and hand over the device").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot for Ward A")


def assert_no_site_menu(page):
    for name in NAV:
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)


def test_a_volunteer_checks_in_two_voters_who_vote_on_the_kiosk(live_server, page):
    base = live_server.url
    cycle = voting_cycle()
    volunteer = user_with_role("volunteer")
    errors, urls = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: urls.append(request.url))

    log_in(page, base, volunteer.email)
    open_kiosk(page, base, cycle)
    assert_no_site_menu(page)

    # Voter 1.
    check_in(page, name="Maria Lopez", born="1990-04-30", address="1 Grove St, Jersey City")
    assert_no_site_menu(page)
    expect(page.get_by_label("Date of birth")).to_be_disabled()
    expect(page.get_by_label("Date of birth")).to_have_value("1990-04-30")
    page.get_by_label("Drinking fountains").check()
    page.get_by_label("I live in this ward, and the information I give is true").check()
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your ballot for Ward A")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    first_code = page.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", first_code)
    assert_no_site_menu(page)
    page.get_by_role("button", name="Done — next voter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    expect(page.locator("#receipt-code")).to_have_count(0)

    # Voter 2, eligibility not confirmed: a provisional ballot.
    check_in(page, name="Sam Okafor", born="1975-01-02", address="9 Newark Ave, Jersey City", confirmed=False)
    page.get_by_label("Street trees").check()
    page.get_by_label("Library laptops").check()
    page.get_by_label("I live in this ward, and the information I give is true").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    expect(page.locator("#provisional-note")).to_contain_text("Your ballot is recorded as provisional.")
    second_code = page.locator("#receipt-code").inner_text().strip()
    page.get_by_role("button", name="Done — next voter").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")

    assert Ballot.objects.count() == 2
    assert sorted(Ballot.objects.values_list("choices", flat=True)) == [["A-01"], ["A-02", "A-03"]]
    assert list(VoterRollEntry.objects.values_list("channel", "verification", "site")) == [
        ("kiosk", "checkin", "City Hall"),
        ("kiosk", "checkin", "City Hall"),
    ]
    assert Identity.objects.count() == 2
    assert services.receipt_check(code=first_code) == "counted"
    assert services.receipt_check(code=second_code) == "pending"
    assert all(first_code not in url and second_code not in url for url in urls)
    assert errors == []

    page.get_by_label(re.compile(r"^Kiosk PIN$|^Kiosk PIN:")).fill(PIN)
    page.get_by_role("button", name="Close the kiosk").click()
    expect(page.get_by_role("status")).to_contain_text("The kiosk is closed")
    expect(page.get_by_role("link", name=re.compile("Log in", re.I)).first).to_be_visible()  # logged out


@pytest.mark.parametrize("javascript", [True, False])
def test_an_idle_voters_page_returns_to_the_check_in(live_server, browser, settings, javascript):
    settings.PB_KIOSK_IDLE_SECONDS = 2
    cycle = voting_cycle()
    volunteer = user_with_role("volunteer")
    context = browser.new_context(
        locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url

    log_in(page, base, volunteer.email)
    open_kiosk(page, base, cycle)
    if javascript:
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # a phone: no sideways scrolling
    check_in(page, name="Maria Lopez", born="1990-04-30", address="1 Grove St, Jersey City")
    # Nobody touches the device: it goes back to the check-in by itself, and the voter is forgotten.
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter", timeout=10_000)
    page.goto(f"{base}/cycles/{cycle.slug}/kiosk/ballot/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    expect(page.get_by_role("status")).to_contain_text("No voter is checked in on this kiosk.")
    assert Ballot.objects.count() == 0
    context.close()
