"""A kiosk voter who is not on the expected list casts a provisional ballot; once voting has closed,
an official (password and TOTP) opens the provisional ballots page, sees the voter's details but
not the choices, and accepts it; the voter's receipt code then says the ballot is in the count."""

from datetime import date

import pytest
from playwright.sync_api import expect

from budgets.phases import Phase
from budgets.services import cycle_transition
from tests.browser.login import log_in_user
from tests.factories import user_with_role
from voting import crypto, methods, services
from voting.models import ProvisionalBallot
from voting.tests.builders import assert_roll_matches_ballots, voting_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_with_totp(page, base_url, user):
    log_in_user(page, base_url, user)


def test_an_official_accepts_a_provisional_kiosk_ballot(live_server, page):
    official = user_with_role("official")
    world = voting_world(official, wards="AB")
    result = services.ballot_cast(
        voter=services.Voter(
            identity_key=crypto.identity_key("checkin", "library-0001"),
            channel="kiosk",
            verification="checkin",
            site="Main Library",
            name="Ana Díaz",
            address="1 Grove St, Jersey City",
            date_of_birth=date(1980, 5, 17),
            checkin={"volunteer": "Sam"},
            provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
            provisional_note="Not on the list; showed a utility bill.",
        ),
        district=world.district("A"),
        ballot=methods.Ballot(choices=("A-02",)),
    )
    assert result.provisional
    assert services.receipt_check(code=result.receipt_code) == "pending"
    cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: voting closes.")
    provisional = ProvisionalBallot.objects.get()
    base = live_server.url

    log_in_with_totp(page, base, official)
    page.goto(f"{base}/staff/cycles/{world.cycle.slug}/")
    page.get_by_role("link", name="Provisional ballots").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Provisional ballots")
    row = page.get_by_role("region", name=f"Provisional ballot {provisional.pk} · Ward A")
    expect(row).to_contain_text("Ana Díaz")
    expect(row).to_contain_text("Not on the list; showed a utility bill.")
    expect(row).to_contain_text("Main Library")
    expect(page.locator("main")).not_to_contain_text("A-02")  # never the choices
    expect(page.locator("[data-pending]")).to_have_text("1")

    page.get_by_role("group", name="Accept: count this ballot").get_by_label("Note (optional)").fill(
        "Found on the county list."
    )
    page.get_by_role("button", name=f"Accept provisional ballot {provisional.pk}").click()
    expect(page.get_by_role("status")).to_contain_text("Provisional ballot accepted: it is counted.")
    expect(page.locator("[data-pending]")).to_have_text("0")
    expect(row.locator("[data-status]")).to_have_text("Accepted and counted")
    provisional.refresh_from_db()
    assert (provisional.status, provisional.sealed_ballot, provisional.ballot_tag) == ("accepted", "", "")

    page.goto(f"{base}/receipt/")
    page.get_by_label("Receipt code").fill(result.receipt_code)
    page.get_by_role("button", name="Check the code").click()
    expect(page.locator("#receipt-result")).to_contain_text("Your ballot is in the count.")
    assert_roll_matches_ballots()


def test_the_review_pages_fit_a_phone_and_auditors_only_read(live_server, phone_page):
    official, auditor = user_with_role("official"), user_with_role("auditor")
    world = voting_world(official, wards="AB")
    ana = {"name": "Ana Díaz", "address": "1 Grove St, Jersey City", "date_of_birth": date(1980, 5, 17)}
    for key, channel in (("kiosk-ana", "kiosk"), ("online-ana", "online")):
        services.ballot_cast(
            voter=services.Voter(
                identity_key=crypto.identity_key("test", key),
                channel=channel,
                verification="test",
                site="Main Library" if channel == "kiosk" else "",
                **ana,
            ),
            district=world.district("A"),
            ballot=methods.Ballot(choices=("A-01",)),
        )
    cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: voting closes.")
    page, base = phone_page, live_server.url

    log_in_with_totp(page, base, auditor)
    for path in ("provisional", "duplicates"):
        page.goto(f"{base}/staff/cycles/{world.cycle.slug}/{path}/")
        expect(page.get_by_text("Voters' personal details are shown only to officials.")).to_be_visible()
        expect(page.locator("main form")).to_have_count(0)
        expect(page.locator("main")).not_to_contain_text("Ana")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    expect(page.locator("[data-undecided]")).to_have_text("1")
