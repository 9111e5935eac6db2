"""A volunteer runs a kiosk at a voting site: opens it, checks two voters in one after the other, each
votes on the device and sees their receipt; an under-age check-in is an error on the check-in form;
an idle voter's page asks "Are you still here?" before it returns to the check-in (the page's clock
is Playwright's, so no test waits for real time to pass), and without JavaScript a ballot being
filled in is never reset."""

import re
from datetime import UTC, datetime, timedelta

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


def voting_cycle(**design):
    """Ward A in voting (approval, and ``design``'s fields): A-01 Drinking fountains, A-02 Street
    trees, A-03 Library laptops; two voting sites."""
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000", texts=texts("Drinking fountains", "Fuentes"))
    make_project(cycle, official, [idea], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    make_project(cycle, official, [idea], code="A-03", cost="30000", texts=texts("Library laptops", "Portátiles"))
    ballot_prepare(cycle, official)
    if design:
        services.ballot_design_set(actor=official, district=cycle.districts.get(code="A"), **design)
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


def test_an_under_age_check_in_is_an_error_on_the_check_in_form(live_server, page):
    base = live_server.url
    cycle = voting_cycle()
    log_in(page, base, user_with_role("volunteer").email)
    open_kiosk(page, base, cycle)
    page.get_by_label(re.compile(r"^Full name")).fill("Kid Lopez")
    page.get_by_label(re.compile(r"^Date of birth")).fill("2020-05-01")
    page.get_by_label(re.compile(r"^Home address")).fill("1 Grove St, Jersey City")
    page.get_by_label(re.compile(r"^Ballot")).select_option(label="Ward A")
    page.get_by_label(re.compile(r"^Kiosk PIN \(volunteer\)")).fill(PIN)
    page.get_by_role("button", name="Check in and hand over the device").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Please correct the following:")
    expect(summary).to_contain_text("Date of birth: Voters must be at least 14 years old on")
    expect(page.get_by_label(re.compile(r"^Full name"))).to_have_value("Kid Lopez")
    expect(page.get_by_label(re.compile(r"^Home address"))).to_have_value("1 Grove St, Jersey City")
    expect(page.get_by_label(re.compile(r"^Date of birth"))).to_have_value("2020-05-01")
    summary.get_by_role("link", name=re.compile("^Date of birth")).click()
    expect(page.get_by_label(re.compile(r"^Date of birth"))).to_be_focused()
    expect(page.get_by_label(re.compile(r"^Date of birth"))).to_have_attribute("aria-invalid", "true")

    # Corrected, the same form checks the voter in.
    page.get_by_label(re.compile(r"^Date of birth")).fill("1990-04-30")
    page.get_by_label(re.compile(r"^Kiosk PIN \(volunteer\)")).fill(PIN)
    page.get_by_role("button", name="Check in and hand over the device").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot for Ward A")
    assert VoterRollEntry.objects.count() == 0


IDLE, WARNING = 60, 30  # seconds: the settings for the idle tests, on the page's fake clock


def kiosk_voter_page(live_server, browser, settings, *, javascript=True, idle=IDLE, warning=WARNING):
    """A phone-sized kiosk with Ward A's voter checked in, on the ballot page; with JavaScript, the
    page's clock is Playwright's and stands still until the test moves it."""
    settings.PB_KIOSK_IDLE_SECONDS, settings.PB_KIOSK_WARNING_SECONDS = idle, warning
    cycle = voting_cycle()
    context = browser.new_context(
        locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True, java_script_enabled=javascript
    )
    if javascript:
        context.clock.install(time=datetime.now(UTC))
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, user_with_role("volunteer").email)
    open_kiosk(page, live_server.url, cycle)
    check_in(page, name="Maria Lopez", born="1990-04-30", address="1 Grove St, Jersey City")
    if javascript:
        page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC) + timedelta(seconds=1))
    return cycle, context, page, errors


# Scrolls the page a little and waits until its scroll event has been dispatched (after the page's
# own listeners), so that the next move of the clock comes after it.
SCROLL = """() => new Promise((resolve) => {
  window.addEventListener("scroll", resolve, { once: true });
  window.scrollBy(0, 40);
})"""


def idle_dialog(page):
    return page.get_by_role("alertdialog", name="Are you still here?")


def test_an_idle_voter_is_asked_and_answering_keeps_the_ballot(live_server, browser, settings):
    cycle, context, page, errors = kiosk_voter_page(live_server, browser, settings)
    clock = page.clock
    fountains = page.get_by_label("Drinking fountains")
    fountains.check()
    clock.run_for((IDLE - 2) * 1000)
    expect(idle_dialog(page)).to_be_hidden()
    clock.run_for(3000)

    # The warning: an alert dialog (announced with its name and text), the focus on its answer.
    dialog = idle_dialog(page)
    expect(dialog).to_be_visible()
    expect(dialog).to_have_attribute("aria-modal", "true")
    expect(dialog).to_have_accessible_description(re.compile("To protect your privacy it will clear this page"))
    answer = page.get_by_role("button", name="Yes, I am here: continue")
    expect(answer).to_be_focused()
    expect(page.locator("#kiosk-idle-countdown")).to_have_text(re.compile(r"^Time left: (30|29) seconds\.$"))
    clock.run_for(12_000)
    expect(page.locator("#kiosk-idle-countdown")).to_have_text(re.compile(r"^Time left: (18|17) seconds\.$"))

    answer.click()
    expect(dialog).to_be_hidden()
    expect(fountains).to_be_checked()  # the ballot as it was, and the focus where the voter was
    expect(fountains).to_be_focused()
    assert page.url.endswith("/kiosk/ballot/")

    # Only scrolling, then only the focus moving (a screen reader's virtual cursor): still active.
    for _ in range(4):
        clock.run_for((IDLE // 2) * 1000)
        page.evaluate(SCROLL)
    expect(idle_dialog(page)).to_be_hidden()
    for _ in range(4):
        clock.run_for((IDLE // 2) * 1000)
        page.get_by_label("Street trees").evaluate("element => element.focus()")
        page.get_by_label("Drinking fountains").evaluate("element => element.focus()")
    expect(idle_dialog(page)).to_be_hidden()

    # Escape answers too.
    clock.run_for((IDLE + 1) * 1000)
    expect(idle_dialog(page)).to_be_visible()
    page.keyboard.press("Escape")
    expect(idle_dialog(page)).to_be_hidden()
    clock.run_for((WARNING + 5) * 1000)
    assert page.url.endswith("/kiosk/ballot/")

    page.get_by_label("I live in this ward, and the information I give is true").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    assert list(Ballot.objects.values_list("choices", flat=True)) == [["A-01"]]
    assert errors == []
    context.close()


def test_an_idle_voter_who_does_not_answer_is_reset(live_server, browser, settings):
    cycle, context, page, errors = kiosk_voter_page(live_server, browser, settings)
    page.get_by_label("Drinking fountains").check()
    page.clock.run_for((IDLE + 1) * 1000)
    expect(idle_dialog(page)).to_be_visible()
    page.clock.run_for((WARNING - 2) * 1000)
    expect(idle_dialog(page)).to_be_visible()  # at least the warning time to answer
    page.clock.run_for(3000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    page.goto(f"{live_server.url}/cycles/{cycle.slug}/kiosk/ballot/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    expect(page.get_by_role("status")).to_contain_text("No voter is checked in on this kiosk.")
    assert Ballot.objects.count() == 0
    assert errors == []
    context.close()


def test_without_javascript_a_ballot_being_filled_in_is_never_reset(live_server, browser, settings):
    """The idle time is one second, and the voter takes longer: their page stays, their ballot is
    stored; only the receipt page returns to the check-in by itself."""
    cycle, context, page, _errors = kiosk_voter_page(live_server, browser, settings, javascript=False, idle=1)
    expect(page.locator("#kiosk-idle")).to_be_hidden()
    page.get_by_label("Drinking fountains").check()
    page.wait_for_timeout(3000)  # three idle times: no timer may fire
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot for Ward A")
    expect(page.get_by_label("Drinking fountains")).to_be_checked()
    page.get_by_label("I live in this ward, and the information I give is true").check()
    page.get_by_role("button", name="Review my ballot").click()
    page.wait_for_timeout(3000)
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your ballot for Ward A")
    page.get_by_role("button", name="Cast my ballot").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your ballot is recorded")
    assert list(Ballot.objects.values_list("choices", flat=True)) == [["A-01"]]
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter", timeout=10_000)
    context.close()


def test_a_voter_votes_at_the_kiosk_in_spanish_and_answers_the_idle_warning(live_server, browser, settings):
    """The volunteer works in English; the voter chose Spanish at check-in: their ballot — the
    introduction, the projects, the buttons, the idle warning — is in Spanish, on a phone."""
    settings.PB_KIOSK_IDLE_SECONDS, settings.PB_KIOSK_WARNING_SECONDS = IDLE, WARNING
    cycle = voting_cycle(
        intro="Choose the projects you want.", intro_translations={"es": "Elija los proyectos que quiere."}
    )
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True)
    context.clock.install(time=datetime.now(UTC))
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, live_server.url, user_with_role("volunteer").email)
    open_kiosk(page, live_server.url, cycle)

    page.get_by_label(re.compile(r"^Full name")).fill("María López")
    page.get_by_label(re.compile(r"^Date of birth")).fill("1990-04-30")
    page.get_by_label(re.compile(r"^Home address")).fill("1 Grove St, Jersey City")
    page.get_by_label(re.compile(r"^Ballot")).select_option(label="Ward A")
    page.get_by_label(re.compile(r"^Language of the ballot")).select_option(label="Español (Spanish)")
    page.get_by_label(re.compile(r"^Kiosk PIN \(volunteer\)")).fill(PIN)
    page.get_by_role("button", name="Check in and hand over the device").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Su boleta para Ward A")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator(".ballot-intro")).to_have_text("Elija los proyectos que quiere.")
    expect(page.locator(".ballot-intro")).to_have_attribute("lang", "es")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.clock.pause_at(datetime.fromtimestamp(page.evaluate("Date.now()") / 1000, UTC) + timedelta(seconds=1))
    page.get_by_label("Fuentes").check()

    page.clock.run_for((IDLE + 1) * 1000)
    dialog = page.get_by_role("alertdialog", name="¿Sigue ahí?")
    expect(dialog).to_be_visible()
    expect(dialog).to_have_accessible_description(re.compile("Para proteger su privacidad"))
    expect(page.locator("#kiosk-idle-countdown")).to_have_text(re.compile(r"^Tiempo restante: (30|29) segundos\.$"))
    answer = page.get_by_role("button", name="Sí, aquí estoy: continuar")
    expect(answer).to_be_focused()
    box = answer.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 360  # the dialog fits the phone
    answer.click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label("Fuentes")).to_be_checked()

    page.get_by_label("Vivo en este distrito, y la información que proporciono es verdadera").check()
    page.get_by_role("button", name="Revisar mi boleta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revise su boleta para Ward A")
    page.get_by_role("button", name="Emitir mi boleta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Se registró su boleta")
    page.get_by_role("button", name="Listo — siguiente votante").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")  # the volunteer's language
    assert list(Ballot.objects.values_list("choices", flat=True)) == [["A-01"]]
    assert list(VoterRollEntry.objects.values_list("language", flat=True)) == ["es"]
    assert errors == []
    context.close()
