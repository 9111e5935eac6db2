"""A new city, from an empty platform to an implementation update, through the pages only.

Springfield installs pbplatform: its first administrator is made with ``manage.py createadmin``;
everything after that happens in a real browser. The administrator sets up two-factor authentication
and appoints an official, vetting staff and a volunteer; the official creates the cycle (three wards
and a citywide pot) and schedules its phases (later moving dates forward); the SCHEDULER — a real
Celery worker with beat — opens ideas, vetting and voting and closes voting (nobody presses "next
phase" for those); residents write their ideas in Spanish; vetting staff review them, publish the
decisions together and make projects from the ideas, as drafts published together; the official
designs the ballots; a resident votes in Spanish at a kiosk run by the volunteer on a phone
(360 px); the official counts, certifies and posts an implementation update; the public sees the
results and the update.

Schedule times are typed to the minute. Ideas open at the next whole minute (the rest of the set-up
fills the wait); the other dates start weeks ahead, and the official brings each one forward on the
cycle's edit page — with a reason, audited — once the work before it is done, as a city that is
ready early would (about five minutes in all, most of it waiting for the clock).
Each step is one function; a failing step says which step failed and what it expected, and every
step's duration is printed.
"""

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pyotp
import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from budgets.models import Cycle, District
from budgets.phases import Phase
from core.models import AuditEvent
from proposals.models import Idea, Project
from voting.models import Ballot

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SLUG = "springfield-2027"
ZONE = ZoneInfo("America/Chicago")
PASSWORD = "Springfield-Pass-2027!"
ADMIN = "admin@springfield.example"
OFFICIAL = "olivia.official@springfield.example"
VETTING = "victor.vetting@springfield.example"
VOLUNTEER = "vera.volunteer@springfield.example"
RESIDENTS = ("rosa.residente@example.org", "tomas.vecino@example.org")
KIOSK_PIN = "4826"
PHASE_WAIT = 150  # seconds: a boundary is at most ~2 minutes ahead when its wait starts


# --- the scheduler ---------------------------------------------------------------------------------
# ``scheduler`` (tests/conftest.py): a real Celery worker and beat on a queue of their own.


def wait_for_the_scheduler(scheduler, phase: str) -> None:
    """Until the scheduler has moved the cycle to ``phase``: its audit event has no acting person and
    gives the schedule as its reason (nobody pressed "next phase")."""
    scheduler.wait_until(lambda: Cycle.objects.get(slug=SLUG).phase == phase, timeout=PHASE_WAIT)
    event = AuditEvent.objects.filter(action="cycle.phase_changed", after={"phase": phase}).latest("id")
    assert event.actor_id is None and event.reason.startswith("scheduled:"), (
        f"{phase} was reached by hand, not by the scheduler: {event.actor_id} {event.reason!r}"
    )


# --- people and pages ------------------------------------------------------------------------------
def new_page(browser, *, locale="en-US", width=1280, height=900):
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, is_mobile=width < 500)
    # Nothing from outside (map tiles): the pages must work on their own.
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1|localhost).*"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def sign_up(page, base, email):
    """Sign up, confirm the address from the e-mail, log in (allauth's pages, in the page's language:
    fields found by their ids)."""
    page.goto(f"{base}/accounts/signup/")
    page.locator("#id_email").fill(email)
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/"))
    (message,) = [m for m in mail.outbox if email in m.to]
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)
    page.goto(link)
    page.locator("main form button[type=submit]").click()
    page.goto(f"{base}/accounts/login/")
    page.locator("#id_login").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("form[action='/accounts/logout/'] button")).to_be_visible()


def set_up_totp(page, base) -> str:
    """The staff area asks for two-factor authentication first: activate it with the shown secret."""
    page.goto(f"{base}/staff/")
    expect(page).to_have_url(re.compile(r"/accounts/(reauthenticate|2fa/totp/activate)/"))
    if "/reauthenticate/" in page.url:  # allauth asks for the password again before adding a factor
        page.locator("#id_password").fill(PASSWORD)
        page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    secret = page.locator("#authenticator_secret").input_value()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activate").click()
    expect(page).not_to_have_url(re.compile(r"/totp/activate/"))
    return secret


def wall_clock(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


def next_minute(at_least: int) -> datetime:
    """The first whole minute at least ``at_least`` seconds ahead (forms take minutes)."""
    return (datetime.now(ZONE) + timedelta(seconds=at_least + 59)).replace(second=0, microsecond=0)


# --- the steps -------------------------------------------------------------------------------------
def step_install_with_a_first_administrator(monkeypatch):
    assert not Cycle.objects.exists(), "the platform is not empty"
    monkeypatch.setenv("PB_ADMIN_PASSWORD", PASSWORD)
    call_command("createadmin", email=ADMIN, no_input=True)


def step_administrator_logs_in_and_sets_up_totp(page, base):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label(re.compile("Email", re.I)).fill(ADMIN)
    page.get_by_label(re.compile("Password", re.I)).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign In", re.I)).click()
    set_up_totp(page, base)


def step_administrator_appoints(page, base, appointments):
    page.goto(f"{base}/staff/")  # the staff area's front door: for an administrator, the staff roles
    expect(page.get_by_role("heading", level=1), "administrator: /staff/ leads to Staff roles").to_have_text(
        "Staff roles"
    )
    for email, role, reason in appointments:
        form = page.get_by_role("form", name="Appoint a role")
        form.get_by_label("Email address of the account").fill(email)
        form.get_by_label("Role").select_option(label=role)
        form.get_by_label("Reason").fill(reason)
        form.get_by_role("button", name="Appoint").click()
        row = page.get_by_role("row", name=re.compile(re.escape(email)))
        expect(row, f"administrator: {email} appointed {role}").to_contain_text(role)


def step_official_creates_and_schedules_the_cycle(page, base) -> dict[str, datetime]:
    """Three wards and a citywide pot. Ideas open at the first whole minute at least 40 s ahead (the
    rest of the set-up fills the wait); the other dates are weeks ahead, and the official moves each
    forward (with a reason, audited) once the work before it is done."""
    page.goto(f"{base}/staff/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Budget cycles")
    page.get_by_role("link", name="Create a cycle").click()
    ideas = next_minute(40)
    schedule = {  # the later dates are far ahead: the official brings each forward when its work is done
        "ideas_open_at": ideas,
        "vetting_open_at": ideas + timedelta(days=7),
        "voting_open_at": ideas + timedelta(days=14),
        "voting_close_at": ideas + timedelta(days=21),
    }
    cycle_box = page.get_by_role("group", name="The cycle")
    cycle_box.get_by_label(re.compile(r"^Name:?$")).fill("Springfield PB 2027")
    cycle_box.get_by_label("Short name for links").fill(SLUG)
    cycle_box.get_by_label("Time zone").select_option("America/Chicago")
    for label, field in (
        ("Ideas open", "ideas_open_at"),
        ("Vetting starts", "vetting_open_at"),
        ("Voting opens", "voting_open_at"),
        ("Voting closes", "voting_close_at"),
    ):
        cycle_box.get_by_label(label).fill(wall_clock(schedule[field]))
    rows = [("1", "Ward 1", "Ward", "40000"), ("2", "Ward 2", "Ward", "40000"), ("3", "Ward 3", "Ward", "40000")]
    rows.append(("CW", "Citywide", "Citywide", "100000"))
    for n in range(1, page.locator("fieldset.district-row").count() + 1):
        row = page.get_by_role("group", name=f"District {n}", exact=True)
        code, name, kind, budget = rows[n - 1] if n <= len(rows) else ("", "", "Ward", "")
        row.get_by_label("Code").fill(code)
        row.get_by_label(re.compile(r"^Name:?$")).fill(name)
        row.get_by_label("Kind").select_option(label=kind)
        row.get_by_label("Budget").fill(budget)
    page.get_by_role("button", name="Create cycle").click()
    expect(page.locator(".messages"), "official: the cycle is created").to_contain_text("created in draft")
    cycle = Cycle.objects.get(slug=SLUG)
    assert cycle.phase == Phase.DRAFT
    assert sorted(cycle.districts.values_list("code", "kind")) == [
        ("1", "ward"),
        ("2", "ward"),
        ("3", "ward"),
        ("CW", "citywide"),
    ]
    for field, moment in schedule.items():
        assert getattr(cycle, field) == moment, field
    # The timeline shows the schedule in the cycle's zone.
    expect(page.locator("main")).to_contain_text("Central Time")
    return schedule


def step_official_moves_dates_forward(page, base, moves: dict[str, datetime], reason: str):
    """On the edit page of a cycle under way: dates still ahead move, with a reason for the audit log."""
    labels = {
        "vetting_open_at": "Vetting starts",
        "voting_open_at": "Voting opens",
        "voting_close_at": "Voting closes",
    }
    page.goto(f"{base}/staff/cycles/{SLUG}/")
    page.get_by_role("link", name="Edit cycle").click()
    expect(page.locator("#cycle-under-way"), "official: the edit page says the cycle is under way").to_be_visible()
    expect(page.get_by_label("Short name for links"), "official: the link name is frozen").to_be_disabled()
    for field, moment in moves.items():
        page.get_by_label(labels[field]).fill(wall_clock(moment))
    page.get_by_label("Reason for moving a date").fill(reason)
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".messages"), "official: the dates are saved").to_be_visible()
    cycle = Cycle.objects.get(slug=SLUG)
    for field, moment in moves.items():
        assert getattr(cycle, field) == moment, field
    moved = AuditEvent.objects.filter(action="cycle.date_moved", reason=reason).count()
    assert moved == len(moves), f"{moved} date moves audited, {len(moves)} made"


def step_official_adds_a_voting_site(page, base):
    page.goto(f"{base}/staff/cycles/{SLUG}/")
    page.get_by_role("link", name="Voting sites").click()
    page.get_by_label(re.compile(r"^Name:?$")).fill("City Hall")
    page.get_by_label(re.compile(r"^Address:?$")).fill("100 Main St")
    page.get_by_role("button", name="Add the site").click()
    expect(page.locator("main"), "official: the voting site is listed").to_contain_text("City Hall")


def step_residents_submit_ideas_in_spanish(pages, base) -> list[Idea]:
    cycle = Cycle.objects.get(slug=SLUG)
    ideas = (
        ("1", "Bancos en el parque Evergreen", "Bancos con sombra junto al parque infantil.", "Parque Evergreen"),
        ("CW", "Fuentes de agua en la ciudad", "Fuentes de agua potable en las paradas de autobús.", "Main St"),
    )
    for page, (code, title, text, place) in zip(pages, ideas, strict=True):
        page.goto(f"{base}/cycles/{SLUG}/")
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.goto(f"{base}/cycles/{SLUG}/ideas/new/")
        page.get_by_label("Título").fill(title)
        page.get_by_label("Descripción").fill(text)
        page.get_by_label("Distrito").select_option(str(cycle.districts.get(code=code).pk))
        page.get_by_label("Dirección o lugar").fill(place)
        page.get_by_role("button", name="Enviar su idea").click()
        expect(page.get_by_role("heading", level=1), f"resident: the idea “{title}” is shown").to_have_text(title)
    submitted = list(Idea.objects.filter(cycle=cycle).order_by("pk"))
    assert [(i.title, i.language) for i in submitted] == [(t, "es") for _c, t, _x, _p in ideas]
    return submitted


def step_vetting_staff_reviews_and_publishes_decisions(page, base, ideas):
    """Each review is recorded on its idea; the decisions are then published together."""
    for idea in ideas:
        page.goto(f"{base}/staff/cycles/{SLUG}/vetting/")
        page.get_by_role("link", name=idea.title).click()
        review = page.get_by_role("heading", name="Record the review").locator("..")
        review.get_by_label("Feasibility").select_option("feasible")
        review.get_by_label("Public reason").fill(
            "Factible: el terreno es municipal y el costo cabe en el presupuesto."
        )
        review.get_by_label("Cost estimate").fill("25000" if idea.district.code == "1" else "60000")
        review.get_by_role("button", name="Save review").click()
        expect(page.locator(".messages"), f"vetting: the review of “{idea.title}” is saved").to_be_visible()
    for idea in ideas:
        assert Idea.objects.get(pk=idea.pk).review.published_at is None, "a decision was published one by one"
    page.get_by_role("navigation", name="Vetting workspace").get_by_role("link", name="Decisions to publish").click()
    for idea in ideas:
        page.get_by_label(f"#{idea.pk} {idea.title}").check()
    page.get_by_role("button", name="Publish the chosen decisions").click()
    expect(page.locator("main"), "vetting: every decision is published").to_contain_text(
        "Every recorded decision is published."
    )
    for idea in ideas:
        idea.refresh_from_db()
        assert idea.review.published_at is not None, idea.title


def step_vetting_staff_creates_projects(page, base, ideas):
    """Each project starts from its idea (the Spanish text, the ward and the cost are filled in) and is
    saved as a draft; the citywide one keeps no Spanish text (readers of Spanish see the English one,
    marked as English). Both drafts are then published together."""
    projects = (
        ("1-01", "Benches at Evergreen Park", True),
        ("CW-01", "Water fountains citywide", False),
    )
    for idea, (code, title_en, keep_spanish) in zip(ideas, projects, strict=True):
        page.goto(f"{base}/staff/cycles/{SLUG}/vetting/")
        page.get_by_role("link", name=idea.title).click()
        page.get_by_role("link", name="Create a project from this idea").click()
        spanish = page.get_by_role("group", name=re.compile(r"^Text in Spanish"))
        expect(spanish.get_by_label("Title"), f"vetting: the form starts from “{idea.title}”").to_have_value(idea.title)
        expect(page.get_by_label("District")).to_have_value(str(idea.district_id))
        expect(page.get_by_label("Cost")).to_have_value(re.compile(r"^(25000|60000)(\.00)?$"))
        page.get_by_label("Public code").fill(code)
        english = page.get_by_role("group", name="Text in English")
        english.get_by_label("Title").fill(title_en)
        english.get_by_label("Summary").fill(title_en + ".")
        english.get_by_label("Description").fill(title_en + ".")
        if keep_spanish:
            spanish.get_by_label("Summary").fill(idea.title + ".")
        else:
            for label in ("Title", "Summary", "Description"):
                spanish.get_by_label(label).fill("")
        page.get_by_role("button", name="Save as draft").click()
        expect(page.locator(".messages"), f"vetting: project {code} is saved").to_contain_text(code)
    drafts = Project.objects.filter(cycle__slug=SLUG)
    assert sorted(drafts.values_list("code", flat=True)) == ["1-01", "CW-01"]
    assert not drafts.filter(published_at__isnull=False).exists(), "a draft is public"
    page.goto(f"{base}/staff/cycles/{SLUG}/projects/")
    for code in ("1-01", "CW-01"):
        page.get_by_label(f"Draft: publish {code}").check()
    page.get_by_role("button", name="Publish the chosen drafts").click()
    expect(page.locator(".messages"), "vetting: the drafts are published").to_be_visible()
    assert not drafts.filter(published_at__isnull=True).exists(), "a draft was left unpublished"


def step_official_designs_the_ballots(page, base):
    """The rule offered first, and chosen unless the official changes it, is Method of Equal Shares
    with its completion; the official compares the rules on a synthetic sample before saving."""
    page.goto(f"{base}/staff/cycles/{SLUG}/")
    page.get_by_role("link", name="Ballot design").click()
    for rule in page.locator('input[type="radio"][value="mes-greedy"]').all():
        expect(rule, "official: equal shares with completion is the default rule").to_be_checked()
    for name in ("Ward 1", "Citywide"):
        page.get_by_role("button", name=f"Save the ballot for {name}").click()
        expect(page.locator(".messages"), f"official: the ballot for {name} is saved").to_be_visible()
    page.get_by_role("link", name="Preview every allocation rule on a synthetic sample of ballots").click()
    expect(page.locator("#synthetic-notice"), "official: the preview says it is not real votes").to_contain_text(
        "not real votes"
    )
    expect(page.get_by_role("region", name="Ward 1 (1)"), "official: the preview runs the rules").to_contain_text(
        "Benches at Evergreen Park"
    )
    cycle = Cycle.objects.get(slug=SLUG)
    designs = District.objects.filter(cycle=cycle, ballot_design__isnull=False)
    assert sorted(designs.values_list("code", flat=True)) == ["1", "CW"]
    assert set(designs.values_list("ballot_design__allocation_rule", flat=True)) == {"mes-greedy"}


def step_a_resident_votes_in_spanish_at_the_kiosk(page, base, settings) -> str:
    """The volunteer's phone (360 px) is the kiosk; the voter's ballot is in Spanish. The voter pauses
    over the ballot long enough for the kiosk to ask whether they are still there, and answers."""
    page.goto(f"{base}/cycles/{SLUG}/")
    page.get_by_role("link", name=re.compile("Voting kiosk")).click()
    page.get_by_label("Voting site").select_option(label="City Hall — 100 Main St")
    page.get_by_label(re.compile(r"^Kiosk PIN")).fill(KIOSK_PIN)
    page.get_by_role("button", name="Open the kiosk").click()
    expect(page.get_by_role("heading", level=1), "kiosk: opened").to_have_text("Check in a voter")
    page.get_by_label(re.compile(r"^Full name")).fill("Rosa Martínez")
    page.get_by_label(re.compile(r"^Date of birth")).fill("1984-07-12")
    page.get_by_label(re.compile(r"^Home address")).fill("12 Evergreen Terrace, Springfield")
    page.get_by_label(re.compile(r"^Ballot")).select_option(label="Ward 1")
    page.get_by_label("Language of the ballot").select_option("es")
    page.get_by_label("I saw proof of the voter's age and home address").check()
    page.get_by_label(re.compile(r"^Kiosk PIN \(volunteer\)")).fill(KIOSK_PIN)
    settings.PB_KIOSK_IDLE_SECONDS = 3  # the ballot page asks after 3 s without a touch
    page.get_by_role("button", name="Check in and hand over the device").click()

    expect(page.get_by_role("heading", level=1), "kiosk: the ballot is in Spanish").to_have_text(
        "Su boleta para Ward 1"
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= 360, "kiosk: the ballot scrolls sideways"
    page.get_by_label(re.compile("Bancos en el parque Evergreen")).check()
    settings.PB_KIOSK_IDLE_SECONDS = 180  # the next pages: the usual idle time
    dialog = page.get_by_role("alertdialog", name="¿Sigue ahí?")
    expect(dialog, "kiosk: the idle warning asks the voter, in Spanish").to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Sí, aquí estoy: continuar").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_label(re.compile("Bancos en el parque Evergreen")), "kiosk: the choice is kept").to_be_checked()
    page.get_by_label("Vivo en este distrito, y la información que proporciono es verdadera").check()
    page.get_by_role("button", name="Revisar mi boleta").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Revise su boleta para Ward 1")
    page.get_by_role("button", name="Emitir mi boleta").click()
    expect(page.get_by_role("heading", level=1), "kiosk: the ballot is cast").to_have_text("Se registró su boleta")
    receipt = page.locator("#receipt-code").inner_text().strip()
    page.get_by_role("button", name=re.compile("Listo — siguiente votante|Done — next voter")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check in a voter")
    assert list(Ballot.objects.values_list("choices", flat=True)) == [["1-01"]]
    return receipt


def step_official_counts_and_certifies(page, base):
    page.goto(f"{base}/staff/cycles/{SLUG}/")
    page.get_by_role("link", name="Tally and results").click()
    run = page.get_by_role("group", name="Run the tally")
    run.get_by_role("button", name="Run the tally").click()
    expect(page.get_by_role("status").first, "official: the tally is asked for").to_contain_text(
        "The tally has been asked for."
    )
    expect(page.locator('meta[http-equiv="refresh"]'), "official: the tally finishes").to_have_count(0)
    certify = page.get_by_role("group", name="Certify with the declared rules")
    certify.get_by_label(re.compile("I certify these results")).check()
    certify.get_by_label("Note (optional)").fill("Checked by the Springfield election board.")
    certify.get_by_role("button", name="Certify results").click()
    expect(page.get_by_role("status").first, "official: the results are certified").to_contain_text(
        "The results are certified and published."
    )
    assert Cycle.objects.get(slug=SLUG).phase == Phase.RESULTS


def step_official_posts_an_implementation_update(page, base):
    page.goto(f"{base}/staff/cycles/{SLUG}/")
    page.get_by_role("link", name=re.compile("Move to next phase: Implementation")).click()
    page.get_by_label("Reason").fill("Results certified; the funded projects start.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator(".messages"), "official: the cycle is in implementation").to_contain_text("Implementation")
    page.goto(f"{base}/staff/cycles/{SLUG}/")  # the cycle page links to each funded project's updates
    page.get_by_role("navigation", name="Implementation updates").get_by_role(
        "link", name="Post an update on 1-01"
    ).click()
    page.get_by_label("In progress").check()
    page.get_by_label("What happened").fill("The benches are ordered; installation starts in May.")
    page.get_by_role("button", name="Post the update").click()
    expect(page.locator("main"), "official: the update is posted").to_contain_text("installation starts in May")


def step_the_public_sees_results_and_the_update(page, base):
    page.goto(f"{base}/cycles/{SLUG}/results/")
    expect(page.get_by_role("heading", level=1), "public: the results page").to_have_text("Results")
    expect(page.locator("main")).to_contain_text("Benches at Evergreen Park")
    page.goto(f"{base}/cycles/{SLUG}/projects/")
    page.get_by_role("link", name=re.compile("Benches at Evergreen Park")).first.click()
    expect(page.locator("main"), "public: the update on the project page").to_contain_text("installation starts in May")


def step_a_resident_reads_the_projects_in_spanish(page, base):
    """The project with a Spanish text shows it; the one without shows the English text, marked as
    English for screen readers."""
    page.goto(f"{base}/cycles/{SLUG}/projects/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("main")).to_contain_text("Bancos en el parque Evergreen")
    expect(page.locator('main [lang="en"]', has_text="Water fountains citywide").first).to_be_visible()


def step(name: str, func, *args):
    """Run one step; a failure names the step, and each step's duration is printed (shown with the
    failure) so a slow machine's margins can be read off a failed run."""
    started = time.monotonic()
    try:
        result = func(*args)
    except (Exception, pytest.fail.Exception) as exc:
        raise AssertionError(f"step “{name}” failed: {exc}") from exc
    print(f"{datetime.now(ZONE):%H:%M:%S} {time.monotonic() - started:5.1f}s {name}")
    return result


# --- the test --------------------------------------------------------------------------------------
def test_a_new_city_runs_a_whole_cycle_through_the_pages(live_server, browser, scheduler, monkeypatch, settings):
    base = live_server.url
    step("createadmin on an empty platform", step_install_with_a_first_administrator, monkeypatch)
    admin = new_page(browser)
    official = new_page(browser)
    vetting = new_page(browser)
    volunteer = new_page(browser, width=360, height=740)
    residents = [new_page(browser, locale="es-ES") for _ in RESIDENTS]
    public = new_page(browser)

    # The official first: creating the cycle starts the clock.
    step(f"{OFFICIAL} signs up", sign_up, official, base, OFFICIAL)
    step(
        "the administrator sets up two-factor authentication", step_administrator_logs_in_and_sets_up_totp, admin, base
    )
    appoint = [(OFFICIAL, "Official", "Runs the Springfield 2027 cycle.")]
    step("the administrator appoints the official", step_administrator_appoints, admin, base, appoint)
    step("the official sets up two-factor authentication", set_up_totp, official, base)
    schedule = step(
        "the official creates and schedules the cycle", step_official_creates_and_schedules_the_cycle, official, base
    )

    # Until ideas open: the rest of the set-up.
    for page, email in ((vetting, VETTING), (volunteer, VOLUNTEER)):
        step(f"{email} signs up", sign_up, page, base, email)
    appoint = [
        (VETTING, "Vetting staff", "Public works reviewer for the ideas."),
        (VOLUNTEER, "Volunteer", "Runs the City Hall kiosk."),
    ]
    step("the administrator appoints vetting staff and a volunteer", step_administrator_appoints, admin, base, appoint)
    step("the official adds a voting site", step_official_adds_a_voting_site, official, base)
    step("vetting staff set up two-factor authentication", set_up_totp, vetting, base)
    for page, email in zip(residents, RESIDENTS, strict=True):
        step(f"{email} signs up in Spanish", sign_up, page, base, email)
    assert datetime.now(ZONE) < schedule["ideas_open_at"], "the set-up took longer than the wait for ideas"
    step("the scheduler opens ideas", wait_for_the_scheduler, scheduler, Phase.IDEAS)

    ideas = step("residents submit ideas in Spanish", step_residents_submit_ideas_in_spanish, residents, base)
    vetting_at = next_minute(30)
    step(
        "the official brings vetting forward",
        step_official_moves_dates_forward,
        official,
        base,
        {"vetting_open_at": vetting_at},
        "Enough ideas are in: vetting starts early.",
    )
    step("the scheduler starts vetting", wait_for_the_scheduler, scheduler, Phase.VETTING)

    step(
        "vetting staff review and publish the decisions together",
        step_vetting_staff_reviews_and_publishes_decisions,
        vetting,
        base,
        ideas,
    )
    step("vetting staff draft and publish projects", step_vetting_staff_creates_projects, vetting, base, ideas)
    step("the official designs the ballots", step_official_designs_the_ballots, official, base)
    voting_at = next_minute(30)
    step(
        "the official brings voting forward",
        step_official_moves_dates_forward,
        official,
        base,
        {"voting_open_at": voting_at, "voting_close_at": voting_at + timedelta(minutes=1)},
        "The ballots are ready: voting opens early for the test of the kiosks.",
    )
    step("the scheduler opens voting", wait_for_the_scheduler, scheduler, Phase.VOTING)

    receipt = step(
        "a resident votes in Spanish at the kiosk",
        step_a_resident_votes_in_spanish_at_the_kiosk,
        volunteer,
        base,
        settings,
    )
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){4}", receipt), receipt
    step("a resident reads the projects in Spanish", step_a_resident_reads_the_projects_in_spanish, residents[0], base)
    step("the scheduler closes voting", wait_for_the_scheduler, scheduler, Phase.COUNTING)

    step("the official counts and certifies", step_official_counts_and_certifies, official, base)
    step("the official posts an implementation update", step_official_posts_an_implementation_update, official, base)
    step("the public sees the results and the update", step_the_public_sees_results_and_the_update, public, base)
    for page in (admin, official, vetting, volunteer, *residents, public):
        page.context.close()
