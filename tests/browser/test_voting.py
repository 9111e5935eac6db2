"""A resident votes online: a knapsack ballot on a phone with the live meter (JavaScript on), an
approval ballot with JavaScript off (review, change, cast), and a receipt check."""

import re
from datetime import date

import pytest
from playwright.sync_api import expect

from budgets.services import cycle_transition
from proposals.tests.builders import make_project, move, new_resident, submit, texts
from tests.ballots import ballot_prepare
from tests.browser.login import log_in
from tests.factories import CycleFactory, user_with_role
from voting import crypto, methods, services
from voting.models import Ballot, VoterRollEntry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def voting_cycle(method: str):
    """Ward A in voting: A-01 $20,000, A-02 $15,000, A-03 $30,000 on a $50,000 budget."""
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000", texts=texts("Drinking fountains", "Fuentes"))
    make_project(cycle, official, [idea], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    make_project(cycle, official, [idea], code="A-03", cost="30000", texts=texts("Library laptops", "Portátiles"))
    ballot_prepare(cycle, official, method=method)
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    return cycle


def fill_about_me(page):
    page.get_by_label("Date of birth").fill("1990-04-30")
    page.get_by_label("Home address").fill("1 Grove St, Jersey City, NJ")
    page.get_by_label("I live in this ward, and the information I give is true").check()


def test_knapsack_ballot_with_the_live_meter_on_a_phone(live_server, phone_page):
    page, base = phone_page, live_server.url
    cycle = voting_cycle("knapsack")
    resident = user_with_role("resident")
    errors, urls = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: urls.append(request.url))

    log_in(page, base, resident.email)
    page.goto(f"{base}/cycles/{cycle.slug}/")
    page.get_by_role("link", name="Vote now").click()
    page.get_by_role("link", name="Ballot for Ward A").click()
    expect(page.get_by_role("group", name="Projects on the ballot for Ward A")).to_be_visible()

    meter = page.locator("[data-ballot-meter]")
    expect(meter).to_be_visible()
    expect(meter).to_have_attribute("aria-live", "polite")
    expect(meter).to_have_text("Money left: $50,000 of $50,000.")
    page.get_by_label("Drinking fountains").check()
    expect(meter).to_have_text("Money left: $30,000 of $50,000.")
    page.get_by_label("Street trees").check()
    expect(meter).to_have_text("Money left: $15,000 of $50,000.")
    page.get_by_label("Library laptops").check()
    expect(meter).to_have_text("Over the budget by $15,000: untick a project to fit $50,000.")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling

    # The server refuses the same thing, says why, and keeps the choices; the meter still shows it.
    fill_about_me(page)
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("alert")).to_contain_text("Your choices cost $65,000, more than the budget of $50,000.")
    expect(page.locator("#error-summary")).to_be_focused()
    expect(meter).to_have_text("Over the budget by $15,000: untick a project to fit $50,000.")
    page.get_by_label("Street trees").uncheck()
    expect(meter).to_have_text("Money left: $0 of $50,000.")
    expect(page.get_by_label("Home address")).to_have_value("1 Grove St, Jersey City, NJ")
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your ballot for Ward A")
    expect(page.locator("table.review tfoot")).to_contain_text("$50,000")
    assert VoterRollEntry.objects.count() == 0
    page.get_by_role("button", name="Cast my ballot").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    code = page.locator("#receipt-code").inner_text().strip()
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", code)
    expect(page.get_by_role("button", name="Print this page")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert all(code not in url for url in urls)
    assert services.receipt_check(code=code) == "counted"
    assert Ballot.objects.get().choices == ["A-01", "A-03"]
    assert errors == []


def test_approval_ballot_without_javascript(live_server, browser):
    cycle = voting_cycle("approval")
    resident = user_with_role("resident")
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    base = live_server.url

    log_in(page, base, resident.email)
    page.goto(f"{base}/cycles/{cycle.slug}/vote/A/")
    expect(page.locator("[data-ballot-meter]")).to_be_hidden()
    page.get_by_label("Drinking fountains").check()
    page.get_by_role("button", name="Review my ballot").click()
    # The attestation is missing: the server says so, and keeps the choice.
    expect(page.get_by_role("alert")).to_contain_text("Please confirm that the information you gave is true.")
    expect(page.get_by_label("Drinking fountains")).to_be_checked()

    fill_about_me(page)
    page.get_by_role("button", name="Review my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your ballot for Ward A")
    page.get_by_role("button", name="Change my choices").click()
    expect(page.get_by_label("Drinking fountains")).to_be_checked()
    page.get_by_label("Street trees").check()
    page.get_by_role("button", name="Review my ballot").click()
    review = page.locator("table.review")
    expect(review).to_contain_text("Drinking fountains")
    expect(review).to_contain_text("Street trees")
    expect(review.locator("tfoot")).to_contain_text("$35,000")
    page.get_by_role("button", name="Cast my ballot").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    code = page.locator("#receipt-code").inner_text().strip()
    assert code not in page.url
    assert services.receipt_check(code=code) == "counted"
    assert Ballot.objects.get().choices == ["A-01", "A-02"]
    context.close()


def test_a_voter_checks_their_receipt(live_server, page):
    cycle = voting_cycle("approval")
    result = services.ballot_cast(
        voter=services.Voter(
            identity_key=crypto.identity_key("account", "receipt-test"),
            channel="online",
            verification="account",
            date_of_birth=date(1990, 1, 1),
            name="Rita Receipt",
            address="3 Grove St",
        ),
        district=cycle.districts.get(code="A"),
        ballot=methods.Ballot(choices=("A-02",)),
    )
    page.goto(f"{live_server.url}/receipt/")
    page.get_by_label("Receipt code").fill(result.receipt_code.lower())
    page.get_by_role("button", name="Check the code").click()
    expect(page.get_by_role("status")).to_contain_text("Your ballot is in the count.")
    assert result.receipt_code.lower() not in page.url and result.receipt_code not in page.url
    expect(page.get_by_label("Receipt code")).to_have_value("")

    page.get_by_label("Receipt code").fill("AAAA-BBBB-CCCC-DDDD-EEEE")
    page.get_by_role("button", name="Check the code").click()
    expect(page.get_by_role("status")).to_contain_text("We found no ballot with this code.")
