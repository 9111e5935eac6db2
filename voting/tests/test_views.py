"""Voting pages: a resident casts a ballot online in two POST steps (review, cast) for each method,
checks the receipt; every broken rule shows its message and stores nothing; already voted, paused
and closed are refused by the vote path; officials design ballots until the freeze and see turnout."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from budgets import services as cycle_services
from budgets.models import District
from core import times
from core.models import AuditEvent, Notification
from proposals import services as proposal_services
from proposals.tests.builders import make_project, move, new_resident, submit, texts, ward
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, DistrictFactory
from voting import crypto, methods, permissions, selectors, services
from voting.methods import Problem
from voting.methods.messages import problem_message
from voting.models import Ballot, BallotDesign, BallotVoid, Eligibility, Identity, VoterRollEntry
from voting.views import ballot as ballot_pages

pytestmark = pytest.mark.django_db

# "name" is asked of voters without an account (an account's name is on the account).
VOTER = {"name": "Pat Voter", "date_of_birth": "1990-04-30", "address": "1 Grove St, Jersey City, NJ", "attest": "on"}
RECEIPT = re.compile(r'id="receipt-code"[^>]*>([0-9A-Z-]+)<')


# --- helpers ---------------------------------------------------------------------------------------
def _text(message, **params) -> str:
    """A message constant as it appears in HTML (autoescaped)."""
    return escape(message % params if params else str(message))


def _problem(code: str, **params) -> str:
    """A ballot problem's message as it appears in HTML (lists as the method gives them)."""
    return escape(problem_message(Problem(code, params)))


def voting_cycle(official, *, method="approval", citywide=False, **design):
    """A cycle in voting, built through the services: ward A has A-01 ($20,000), A-02 ($15,000) and
    A-03 ($30,000) on a $50,000 budget; ward B has B-01; optionally a citywide ballot."""
    cycle = CycleFactory(ideas=True, wards="AB")
    if citywide:
        DistrictFactory(cycle=cycle, code="CITY", name="Citywide", kind=District.Kind.CITYWIDE, budget="100000")
    parks = proposal_services.category_create(actor=official, cycle=cycle, name="Parks", translations={"es": "Parques"})
    author = new_resident()
    idea_a = submit(cycle, author)
    idea_b = submit(cycle, author, title="Bike racks on Newark Ave", district=ward(cycle, "B"))
    idea_city = submit(cycle, author, title="Citywide shade", district=ward(cycle, "CITY")) if citywide else None
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea_a], code="A-01", cost="20000", texts=texts(), category=parks)
    make_project(cycle, official, [idea_a], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    make_project(cycle, official, [idea_a], code="A-03", cost="30000", texts=texts("Library laptops", "Portátiles"))
    make_project(cycle, official, [idea_b], code="B-01", cost="10000", district="B", texts=texts("Bike racks", "Bicis"))
    if idea_city:
        make_project(cycle, official, [idea_city], code="C-01", cost="40000", district="CITY", texts=texts("Shade"))
    ballot_prepare(cycle, official)
    if method != "approval" or design:
        for district in cycle.districts.filter(projects__isnull=False).distinct():
            services.ballot_design_set(actor=official, district=district, method=method, **design)
    cycle_services.cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    cycle.refresh_from_db()
    return cycle


def ballot_url(cycle, code="A"):
    return reverse("vote_ballot", args=[cycle.slug, code])


def post(client, cycle, step, choices, *, code="A", **voter):
    return client.post(ballot_url(cycle, code), {**VOTER, **voter, **choices, "step": step})


def stored() -> dict:
    """Everything casting a ballot writes."""
    return {
        "roll": VoterRollEntry.objects.count(),
        "ballots": Ballot.objects.count(),
        "identities": Identity.objects.count(),
        "notifications": Notification.objects.filter(kind="vote.confirmation").count(),
    }


NOTHING = {"roll": 0, "ballots": 0, "identities": 0, "notifications": 0}


def cast_via_service(user, cycle, code="A", choices=("A-01",), language="en"):
    return services.ballot_cast(
        voter=services.Voter(
            identity_key=crypto.identity_key("account", str(user.pk)),
            channel="online",
            verification="account",
            language=language,
            date_of_birth=date(1990, 1, 1),
            name=str(user),
            address=f"{user.pk} Grove St",
        ),
        district=cycle.districts.get(code=code),
        ballot=methods.Ballot(choices=tuple(choices)),
    )


@pytest.fixture
def voter(client, resident):
    client.force_login(resident)
    return resident


def assert_cast_and_receipt(client, response, *, choices, points=None):
    """The cast POST's own response is the confirmation (no redirect), with the receipt code shown
    once; the code is in no URL, header, session or notification, and the receipt page finds it."""
    html = response.content.decode()
    assert response.status_code == 200
    assert "Location" not in response
    assert "no-store" in response["Cache-Control"]
    assert "Your ballot is recorded" in html
    assert "Print this page or write the code down now" in html
    code = RECEIPT.search(html).group(1)
    assert html.count(code) == 1
    ballot = Ballot.objects.get()
    assert ballot.choices == list(choices) and ballot.points == points
    assert ballot.receipt_hash == crypto.receipt_hash(code)
    for session in Session.objects.all():
        assert code not in str(session.get_decoded()) and crypto.code_normalize(code) not in session.session_data
    assert code not in str(dict(client.session))
    assert not Notification.objects.filter(body__contains=code).exists()
    assert not AuditEvent.objects.filter(after__icontains=code).exists()

    check = client.post(reverse("receipt"), {"code": code.lower()})
    assert "Your ballot is in the count." in check.content.decode()
    assert code not in check.content.decode()  # not echoed back
    return code


# --- the list of ballots -----------------------------------------------------------------------------
def test_the_vote_page_lists_ward_and_citywide_ballots_and_marks_those_cast(client, official, voter):
    cycle = voting_cycle(official, citywide=True)
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    for code in ("A", "B", "CITY"):
        assert f'href="{ballot_url(cycle, code)}"' in html
    assert "Citywide ballot" in html

    cast_via_service(voter, cycle, "CITY", ("C-01",))
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert f'href="{ballot_url(cycle, "CITY")}"' not in html
    assert "You voted" in html
    assert f'href="{ballot_url(cycle, "A")}"' in html


def test_after_a_ward_ballot_the_list_shows_it_done_and_no_other_ward_is_offered(client, official, voter):
    cycle = voting_cycle(official, citywide=True)
    cast_via_service(voter, cycle, "A", ("A-02",))
    ward_a, ward_b = cycle.districts.get(code="A"), cycle.districts.get(code="B")
    day = VoterRollEntry.objects.get().voted_on
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert _text("You voted in %(name)s on %(day)s.", name=ward_a.name, day=times.format_day(day)) in html
    assert f'href="{reverse("receipt")}">Check your receipt</a>' in html
    # Ward B's ballot is no longer offered (one ward ballot per person); the citywide one still is.
    assert f'href="{ballot_url(cycle, "B")}"' not in html and f'href="{ballot_url(cycle, "A")}"' not in html
    assert f'href="{ballot_url(cycle, "CITY")}"' in html
    assert "your one ward ballot was cast in Ward A" in html
    # Never how they voted.
    assert "A-02" not in html and "Street trees" not in html

    # Opening ward B's ballot directly says why instead of a form that fails at review.
    response = client.get(ballot_url(cycle, "B"))
    html = response.content.decode()
    assert 'name="project"' not in html
    assert _text(ballot_pages.MSG_WARD_CAST_ELSEWHERE, district=ward_a.name) in html
    # And ward A's own ballot says when they voted, with the receipt check.
    html = client.get(ballot_url(cycle, "A")).content.decode()
    assert 'name="project"' not in html and "Street trees" not in html
    assert _text(ballot_pages.MSG_VOTED_HERE, district=ward_a.name, day=times.format_day(day)) in html
    assert reverse("receipt") in html
    assert ward_b.name in client.get(reverse("vote_index", args=[cycle.slug])).content.decode()


def test_in_spanish_the_voted_ballot_reads_in_spanish(client, official, voter):
    cycle = voting_cycle(official)
    cast_via_service(voter, cycle, "A")
    day = VoterRollEntry.objects.get().voted_on
    client.cookies["django_language"] = "es"
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    with translation.override("es"):
        done = _text(translation.gettext("You voted in %(name)s on %(day)s."), name="Ward A", day=times.format_day(day))
    assert done.startswith("Votó") and done in html
    assert f'href="{ballot_url(cycle, "B")}"' not in html


def test_a_voter_who_may_change_their_ballot_is_offered_that_ward_only(client, official, voter):
    # The cycle lets voters change their ballot (set before the freeze).
    cycle = CycleFactory(ideas=True, wards="AB")
    author = new_resident()
    idea_a, idea_b = submit(cycle, author), submit(cycle, author, title="Racks", district=ward(cycle, "B"))
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea_a], code="A-01", cost="20000", texts=texts())
    make_project(cycle, official, [idea_b], code="B-01", cost="10000", district="B", texts=texts("Bike racks"))
    ballot_prepare(cycle, official)
    services.eligibility_set(
        actor=official, cycle=cycle, minimum_age=14, age_on=None, allow_live_work_study=False, allow_ballot_change=True
    )
    cycle_services.cycle_transition(actor=official, cycle=cycle, target="voting", reason="Test: voting opens.")
    cast_via_service(voter, cycle, "A")
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert "Change your ballot for Ward A" in html
    assert f'href="{ballot_url(cycle, "A")}"' in html and f'href="{ballot_url(cycle, "B")}"' not in html
    assert 'name="project"' not in client.get(ballot_url(cycle, "B")).content.decode()
    assert 'name="project"' in client.get(ballot_url(cycle, "A")).content.decode()


def test_the_public_cycle_page_offers_the_vote_and_shows_the_fingerprint(client, official):
    cycle = voting_cycle(official)
    html = client.get(reverse("cycle_detail", args=[cycle.slug])).content.decode()
    assert reverse("vote_index", args=[cycle.slug]) in html
    assert selectors.ballot_fingerprint(cycle) in html
    assert len(selectors.ballot_fingerprint(cycle)) == 64

    cycle_services.voting_pause(actor=official, cycle=cycle, reason="Power cut at the data centre.")
    for name, args in (("cycle_detail", [cycle.slug]), ("home", [])):
        html = client.get(reverse(name, args=args)).content.decode()
        assert "Voting is paused." in html and "Power cut at the data centre." in html
        assert reverse("vote_index", args=[cycle.slug]) not in html


def test_no_fingerprint_before_voting_opens(client, official):
    cycle = CycleFactory(ideas=True, wards="A")
    html = client.get(reverse("cycle_detail", args=[cycle.slug])).content.decode()
    assert "Ballot fingerprint" not in html and reverse("vote_index", args=[cycle.slug]) not in html


# --- the happy paths, one per method ------------------------------------------------------------------
def test_approval_ballot_review_then_cast(client, official, voter):
    cycle = voting_cycle(official)
    page = client.get(ballot_url(cycle))
    html = page.content.decode()
    assert page.status_code == 200
    assert "<legend>Projects on the ballot for Ward A</legend>" in html
    assert 'type="checkbox" name="project" value="A-01"' in html and "Drinking fountains" in html
    assert "$20,000" in html and "Parks" in html
    assert "I live in this ward, and the information I give is true" in html
    assert 'aria-live="polite"' in html
    # The per-voter order: the seed keeps it stable for this voter.
    _design, projects = selectors.ballot_for(cycle.districts.get(code="A"), seed=f"{voter.pk}:{ward(cycle).pk}")
    positions = [html.index(f'value="{p.code}"') for p in projects]
    assert positions == sorted(positions)

    review = post(client, cycle, "review", {"project": ["A-02", "A-01"]})
    html = review.content.decode()
    assert "Review your ballot for Ward A" in html
    assert "Street trees" in html and "Drinking fountains" in html and "Library laptops" not in html
    assert "$35,000" in html  # total cost
    assert '<input type="hidden" name="project" value="A-01">' in html
    assert '<input type="hidden" name="date_of_birth" value="1990-04-30">' in html
    assert 'value="cast">Cast my ballot</button>' in html and 'value="edit"' in html
    assert stored() == NOTHING

    response = post(client, cycle, "cast", {"project": ["A-01", "A-02"]})
    assert_cast_and_receipt(client, response, choices=["A-01", "A-02"])
    entry = VoterRollEntry.objects.get()
    assert (entry.channel, entry.verification, entry.language) == ("online", "account", "en")
    assert entry.identity_key == crypto.identity_key("account", str(voter.pk))
    identity = Identity.objects.get()
    assert (identity.date_of_birth, identity.address, identity.email) == (
        date(1990, 4, 30),
        VOTER["address"],
        voter.email,
    )
    assert Notification.objects.filter(recipient=voter, kind="vote.confirmation").count() == 1


def test_change_my_choices_brings_the_ballot_back_as_filled_in(client, official, voter):
    cycle = voting_cycle(official)
    html = post(client, cycle, "edit", {"project": ["A-02"]}).content.decode()
    assert re.search(r'value="A-02"[^>]*checked', html)
    assert not re.search(r'value="A-01"[^>]*checked', html)
    assert 'value="1 Grove St, Jersey City, NJ"' in html and 'name="attest" required id="id_attest" checked' in html
    assert 'role="alert"' not in html
    assert stored() == NOTHING


def test_knapsack_ballot_fills_the_budget_exactly(client, official, voter):
    cycle = voting_cycle(official, method="knapsack")
    html = client.get(ballot_url(cycle)).content.decode()
    assert 'data-method="knapsack"' in html and 'data-budget="50000.00"' in html and 'data-cost="20000.00"' in html
    assert "Money left: %(left)s of %(budget)s." in html
    assert "Their total cost must fit the budget of $50,000." in html

    review = post(client, cycle, "review", {"project": ["A-01", "A-03"]})
    assert "$50,000" in review.content.decode()
    response = post(client, cycle, "cast", {"project": ["A-03", "A-01"]})
    assert_cast_and_receipt(client, response, choices=["A-01", "A-03"])


def test_ranked_ballot_keeps_the_order_of_the_ranks(client, official, voter):
    cycle = voting_cycle(official, method="ranked", max_picks=2)
    html = client.get(ballot_url(cycle)).content.decode()
    assert 'name="rank-A-01"' in html and '<option value="">Not ranked</option>' in html
    assert '<option value="2">Rank 2</option>' in html and '<option value="3">' not in html

    review = post(client, cycle, "review", {"rank-A-03": "1", "rank-A-01": "2", "rank-A-02": ""})
    html = review.content.decode()
    assert html.index("Library laptops") < html.index("Drinking fountains")
    assert '<input type="hidden" name="rank-A-03" value="1">' in html
    response = post(client, cycle, "cast", {"rank-A-03": "1", "rank-A-01": "2"})
    assert_cast_and_receipt(client, response, choices=["A-03", "A-01"])


def test_cumulative_ballot_spreads_points(client, official, voter):
    cycle = voting_cycle(official, method="cumulative", points_total=10, points_cap=7)
    html = client.get(ballot_url(cycle)).content.decode()
    assert 'type="number"' in html and 'name="points-A-01"' in html and 'max="7"' in html
    assert "Spread 10 points" in html

    review = post(client, cycle, "review", {"points-A-01": "3", "points-A-03": "7", "points-A-02": "0"})
    html = review.content.decode()
    assert "10 of 10" in html and "Street trees" not in html
    response = post(client, cycle, "cast", {"points-A-01": "3", "points-A-03": "7", "points-A-02": ""})
    assert_cast_and_receipt(client, response, choices=["A-03", "A-01"], points=[7, 3])


def test_the_ballot_is_in_the_active_language(client, official, voter, settings):
    cycle = voting_cycle(official)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = client.get(ballot_url(cycle)).content.decode()
    assert "Fuentes de agua" in html and "Parques" in html
    post(client, cycle, "cast", {"project": ["A-01"]})
    assert VoterRollEntry.objects.get().language == "es"


def test_dates_on_the_spanish_ballot_pages_read_as_spanish_dates(client, official, voter, settings):
    cycle = voting_cycle(official)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = post(client, cycle, "review", {"project": ["A-01"]}, date_of_birth="1985-03-14").content.decode()
    assert '<dt>Fecha de nacimiento</dt><dd><time datetime="1985-03-14">14 de marzo de 1985</time></dd>' in html
    assert ">1985-03-14<" not in html
    # The too-young message names the day the age is counted on, as a Spanish date.
    young = (date.today() - timedelta(days=365 * 10)).isoformat()
    html = post(client, cycle, "review", {"project": ["A-01"]}, date_of_birth=young).content.decode()
    age_on = timezone.localtime(cycle.voting_close_at, ZoneInfo(cycle.time_zone)).date()
    with translation.override("es"):
        day = times.format_day(age_on)
    assert day.endswith(f" de {age_on.year}") and " de " in day
    assert escape(f"Los votantes deben tener al menos 14 años de edad el {day}.") in html
    assert f"el {age_on.isoformat()}" not in html
    assert stored() == NOTHING


@pytest.mark.parametrize("step", ["review", "cast"])
@pytest.mark.parametrize(
    ("born", "english", "spanish"),
    [
        pytest.param(
            (date.today() + timedelta(days=30)).isoformat(),
            "The date of birth is in the future: check the day, month and year.",
            "La fecha de nacimiento está en el futuro: revise el día, el mes y el año.",
            id="future",
        ),
        pytest.param(
            "1890-01-01",
            "The date of birth is more than 120 years ago: check the year.",
            "La fecha de nacimiento es de hace más de 120 años: revise el año.",
            id="1890",
        ),
    ],
)
def test_an_impossible_date_of_birth_is_refused_as_such(
    client, official, voter, settings, step, born, english, spanish
):
    cycle = voting_cycle(official)
    html = post(client, cycle, step, {"project": ["A-01"]}, date_of_birth=born).content.decode()
    assert 'role="alert"' in html and escape(english) in html
    assert "at least 14" not in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = post(client, cycle, step, {"project": ["A-01"]}, date_of_birth=born).content.decode()
    assert escape(spanish) in html
    assert stored() == NOTHING


def test_a_date_of_birth_a_long_life_ago_is_still_taken(client, official, voter):
    cycle = voting_cycle(official)
    born = date.today().replace(year=date.today().year - 110, day=1).isoformat()
    response = post(client, cycle, "cast", {"project": ["A-01"]}, date_of_birth=born)
    assert response.status_code == 200 and "Your ballot is recorded" in response.content.decode()
    assert VoterRollEntry.objects.count() == 1


# --- every broken rule: its message, nothing stored -----------------------------------------------
BAD_INPUTS = {
    "unknown project (tampered)": (
        "approval",
        {},
        {"project": ["A-01", "Z-99"]},
        {},
        _problem("unknown_project", projects=["Z-99"]),
    ),
    "project of another ward": (
        "approval",
        {},
        {"project": ["B-01"]},
        {},
        _problem("unknown_project", projects=["B-01"]),
    ),
    "duplicate": ("approval", {}, {"project": ["A-01", "A-01"]}, {}, _problem("duplicate_project", projects=["A-01"])),
    "nothing chosen": ("approval", {}, {}, {}, _problem("empty")),
    "ranks with gaps": (
        "ranked",
        {"max_picks": 3},
        {"rank-A-01": "1", "rank-A-02": "3"},
        {},
        _problem("rank_gap", ranks=[1, 3]),
    ),
    "rank repeated": ("ranked", {"max_picks": 3}, {"rank-A-01": "1", "rank-A-02": "1"}, {}, _problem("rank_repeated")),
    "rank not a number": ("ranked", {"max_picks": 3}, {"rank-A-01": "first"}, {}, _problem("rank_invalid")),
    "points over total": (
        "cumulative",
        {"points_total": 10},
        {"points-A-01": "6", "points-A-02": "6"},
        {},
        _problem("points_over_total", total=12, max=10),
    ),
    "negative points": ("cumulative", {"points_total": 10}, {"points-A-01": "-2"}, {}, _problem("points_not_positive")),
    "over budget": (
        "knapsack",
        {},
        {"project": ["A-01", "A-02", "A-03"]},
        {},
        _problem("over_budget", total="$65,000", budget="$50,000"),
    ),
    "under-age": (
        "approval",
        {},
        {"project": ["A-01"]},
        {"date_of_birth": (date.today() - timedelta(days=365 * 10)).isoformat()},
        None,
    ),
    "missing attestation": ("approval", {}, {"project": ["A-01"]}, {"attest": ""}, _text(services.MSG_ATTEST)),
    "no date of birth": (
        "approval",
        {},
        {"project": ["A-01"]},
        {"date_of_birth": ""},
        "Date of birth: This field is required.",
    ),
}


@pytest.mark.parametrize("step", ["review", "cast"])
@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_each_broken_rule_shows_its_message_and_stores_nothing(client, official, voter, case, step):
    method, design, choices, voter_fields, message = BAD_INPUTS[case]
    cycle = voting_cycle(official, method=method, **design)
    if message is None:  # under-age: the message names the age and the day it is counted on
        age_on = times.format_day(timezone.localtime(cycle.voting_close_at, ZoneInfo(cycle.time_zone)).date())
        message = _text(services.MSG_TOO_YOUNG, age=14, date=age_on)
    response = post(client, cycle, step, choices, **voter_fields)
    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert"' in html and "Your ballot has not been recorded" in html
    assert message in html
    assert "Your ballot is recorded" not in html and "Review your ballot" not in html
    assert stored() == NOTHING


def test_a_tampered_review_page_is_checked_again_at_cast(client, official, voter):
    """The hidden fields of the review page are just input: the cast step validates them again."""
    cycle = voting_cycle(official, method="knapsack")
    assert post(client, cycle, "review", {"project": ["A-01"]}).status_code == 200
    html = post(client, cycle, "cast", {"project": ["A-01", "A-02", "A-03"]}).content.decode()
    assert _problem("over_budget", total="$65,000", budget="$50,000") in html
    assert stored() == NOTHING


# --- refused by the vote path -----------------------------------------------------------------------
def test_already_voted(client, official, voter):
    cycle = voting_cycle(official)
    cast_via_service(voter, cycle)
    before = stored()
    html = client.get(ballot_url(cycle)).content.decode()
    assert "You have already voted" in html and 'name="project"' not in html
    for step in ("review", "cast"):
        response = post(client, cycle, step, {"project": ["A-02"]})
        assert response.status_code == 409
        assert _text(services.AlreadyVoted.default_message) in response.content.decode()
    assert stored() == before


def test_a_second_cast_of_the_same_review_page_is_refused(client, official, voter):
    cycle = voting_cycle(official)
    assert_cast_and_receipt(client, post(client, cycle, "cast", {"project": ["A-01"]}), choices=["A-01"])
    again = post(client, cycle, "cast", {"project": ["A-01"]})
    assert again.status_code == 409 and _text(services.AlreadyVoted.default_message) in again.content.decode()
    assert stored()["ballots"] == 1


@pytest.mark.parametrize("step", ["review", "cast"])
def test_a_page_rendered_before_a_pause_and_submitted_after_is_refused(client, official, voter, step):
    cycle = voting_cycle(official)
    assert 'name="project"' in client.get(ballot_url(cycle)).content.decode()
    cycle_services.voting_pause(actor=official, cycle=cycle, reason="Power cut at the data centre.")
    response = post(client, cycle, step, {"project": ["A-01"]})
    html = response.content.decode()
    assert response.status_code == 409
    assert _text(services.VotingPaused.default_message) in html
    assert "Power cut at the data centre." in html
    assert stored() == NOTHING
    assert "Voting is paused" in client.get(ballot_url(cycle)).content.decode()


def test_a_page_rendered_before_the_close_and_submitted_after_is_refused(client, official, voter):
    cycle = voting_cycle(official)
    assert 'name="project"' in client.get(ballot_url(cycle)).content.decode()
    with time_machine.travel(cycle.voting_close_at + timedelta(minutes=1)):
        response = post(client, cycle, "cast", {"project": ["A-01"]})
        assert response.status_code == 409
        assert _text(services.VotingClosed.default_message) in response.content.decode()
        html = client.get(ballot_url(cycle)).content.decode()
        assert "Voting is closed" in html and 'name="project"' not in html
    assert stored() == NOTHING


def test_after_voting_moves_on_the_ballot_is_closed(client, official, voter):
    cycle = voting_cycle(official)
    cycle_services.cycle_transition(actor=official, cycle=cycle, target="counting", reason="Test: closed.")
    response = post(client, cycle, "cast", {"project": ["A-01"]})
    assert _text(services.VotingClosed.default_message) in response.content.decode()
    assert stored() == NOTHING


# --- who may vote online -----------------------------------------------------------------------------
def test_anonymous_visitors_are_sent_to_log_in(client, official):
    cycle = voting_cycle(official)
    for response in (client.get(ballot_url(cycle)), post(client, cycle, "cast", {"project": ["A-01"]})):
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert stored() == NOTHING
    # The list of ballots offers the ways to vote without an account (voting/tests/test_views_verified.py).
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert reverse("account_login") in html
    assert f'href="{reverse("vote_code", args=[cycle.slug])}"' in html
    assert f'href="{reverse("vote_phone", args=[cycle.slug])}"' in html


def test_auditors_are_read_only(client, official, auditor):
    cycle = voting_cycle(official)
    client.force_login(auditor)
    for response in (
        client.get(reverse("vote_index", args=[cycle.slug])),
        client.get(ballot_url(cycle)),
        post(client, cycle, "cast", {"project": ["A-01"]}),
    ):
        assert response.status_code == 403
        assert _text(permissions.MSG_AUDITOR_READ_ONLY) in response.content.decode()
    assert stored() == NOTHING
    assert (
        reverse("vote_index", args=[cycle.slug])
        not in client.get(reverse("cycle_detail", args=[cycle.slug])).content.decode()
    )


def test_an_unverified_email_cannot_vote(client, official, resident):
    cycle = voting_cycle(official)
    EmailAddress.objects.filter(user=resident).update(verified=False)
    client.force_login(resident)
    response = post(client, cycle, "cast", {"project": ["A-01"]})
    assert response.status_code == 403 and _text(permissions.MSG_VERIFY_EMAIL) in response.content.decode()
    assert stored() == NOTHING


def test_a_district_without_a_ballot_is_not_found(client, official, voter):
    cycle = voting_cycle(official)
    DistrictFactory(cycle=cycle, code="C", name="Ward C")
    assert client.get(ballot_url(cycle, "C")).status_code == 404
    assert client.get(ballot_url(cycle, "NOPE")).status_code == 404


# --- receipts ---------------------------------------------------------------------------------------
def test_receipt_page_answers_counted_voided_and_unknown(client, official):
    cycle = voting_cycle(official)
    page = client.get(reverse("receipt"))
    assert page.status_code == 200 and 'method="post"' in page.content.decode()
    code = cast_via_service(new_resident(), cycle).receipt_code
    assert "Your ballot is in the count." in client.post(reverse("receipt"), {"code": code}).content.decode()
    unknown = client.post(reverse("receipt"), {"code": "AAAA-BBBB-CCCC-DDDD-EEEE"}).content.decode()
    assert "We found no ballot with this code." in unknown
    BallotVoid.objects.create(ballot=Ballot.objects.get(), reason="Keyed twice.")
    assert "This ballot was voided" in client.post(reverse("receipt"), {"code": code}).content.decode()
    empty = client.post(reverse("receipt"), {"code": ""}).content.decode()
    assert "This field is required." in empty
    # A code in the query string is ignored: codes never travel in URLs.
    assert 'id="receipt-result"' not in client.get(reverse("receipt") + f"?code={code}").content.decode()


# --- officials: ballot design ---------------------------------------------------------------------
def vetting_cycle(official):
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="20000")
    make_project(cycle, official, [idea], code="A-02", cost="15000", texts=texts("Street trees", "Árboles"))
    return cycle


def design_post(district, **fields):
    data = {"form": f"design-{district.code}"}
    defaults = {
        "method": "knapsack",
        "min_picks": "1",
        "max_picks": "",
        "min_spend_percent": "0",
        "points_total": "",
        "points_cap": "",
        "allocation_rule": "greedy",
        "intro": "Pick wisely.",
        "shuffle": "on",
    }
    data.update({f"design-{district.code}-{k}": v for k, v in {**defaults, **fields}.items() if v is not None})
    return data


@pytest.mark.parametrize("name", ["staff_ballot", "staff_turnout"])
def test_staff_pages_refuse_anonymous_and_residents(client, official, resident, name, denials):
    cycle = vetting_cycle(official)
    url = reverse(name, args=[cycle.slug])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    client.force_login(resident)
    response = client.get(url)
    assert response.status_code == 403 and _text(permissions.MSG_ROLE_REQUIRED) in response.content.decode()
    assert client.post(url, design_post(ward(cycle))).status_code == (403 if name == "staff_ballot" else 405)
    assert not BallotDesign.objects.exists()
    assert len(denials()) == (3 if name == "staff_ballot" else 2)


@pytest.mark.parametrize("name", ["staff_ballot", "staff_turnout"])
def test_officials_without_totp_are_sent_to_set_it_up(client, official, official_without_mfa, name):
    cycle = vetting_cycle(official)
    client.force_login(official_without_mfa)
    response = client.get(reverse(name, args=[cycle.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_auditors_may_not_design_ballots(client, official, auditor):
    cycle = vetting_cycle(official)
    client.force_login(auditor)
    assert client.get(reverse("staff_ballot", args=[cycle.slug])).status_code == 403
    assert client.post(reverse("staff_ballot", args=[cycle.slug]), design_post(ward(cycle))).status_code == 403
    assert not BallotDesign.objects.exists()


def test_an_official_designs_the_ballots_and_sets_eligibility(client, official):
    cycle = vetting_cycle(official)
    client.force_login(official)
    url = reverse("staff_ballot", args=[cycle.slug])
    html = client.get(url).content.decode()
    assert 'value="design-A"' in html and 'value="design-B"' in html and 'value="eligibility"' in html
    assert "Save the ballot for Ward A" in html

    response = client.post(url, design_post(ward(cycle), method="knapsack", min_spend_percent="50"))
    assert response.status_code == 302 and response["Location"] == url
    design = BallotDesign.objects.get(district=ward(cycle))
    assert (design.method, design.min_spend_percent, design.intro, design.shuffle) == (
        "knapsack",
        50,
        "Pick wisely.",
        True,
    )
    assert AuditEvent.objects.filter(action="ballot_design.set").count() == 1
    assert 'value="knapsack" selected' in client.get(url).content.decode()

    # The service's rules come back as form errors, and nothing changes.
    html = client.post(url, design_post(ward(cycle), method="ranked", max_picks="")).content.decode()
    assert _text(services.MSG_METHOD_NEEDS, method="Ranked", field="how many to rank") in html
    html = client.post(url, design_post(ward(cycle), method="ranked", max_picks="2", allocation_rule="mes"))
    assert _text(services.MSG_MES_RANKED) in html.content.decode()
    assert BallotDesign.objects.get(district=ward(cycle)).method == "knapsack"

    response = client.post(
        url,
        {
            "form": "eligibility",
            "eligibility-minimum_age": "16",
            "eligibility-age_on": "",
            "eligibility-allow_live_work_study": "on",
        },
    )
    assert response.status_code == 302
    eligibility = Eligibility.objects.get(cycle=cycle)
    assert (eligibility.minimum_age, eligibility.age_on, eligibility.allow_live_work_study) == (16, None, True)


def test_design_edits_are_refused_after_the_freeze(client, official):
    cycle = voting_cycle(official)
    client.force_login(official)
    url = reverse("staff_ballot", args=[cycle.slug])
    html = client.get(url).content.decode()
    assert _text(permissions.MSG_BALLOT_FROZEN) in html
    assert selectors.ballot_fingerprint(cycle) in html
    assert "<form" not in html.split("<main", 1)[1].split("</main>")[0]  # read-only: no form in the page
    designs = list(BallotDesign.objects.order_by("pk").values())
    eligibility = list(Eligibility.objects.values())
    audit = AuditEvent.objects.count()

    response = client.post(url, design_post(ward(cycle), method="cumulative", points_total="10"))
    assert response.status_code == 302
    assert _text(permissions.MSG_BALLOT_FROZEN) in client.get(url).content.decode()
    response = client.post(url, {"form": "eligibility", "eligibility-minimum_age": "18"})
    assert response.status_code == 302
    assert list(BallotDesign.objects.order_by("pk").values()) == designs
    assert list(Eligibility.objects.values()) == eligibility
    assert AuditEvent.objects.count() == audit


# --- officials and auditors: turnout -------------------------------------------------------------
def test_turnout_counts_voters_per_ward_channel_site_language_and_day(client, official, auditor):
    cycle = voting_cycle(official)
    cast_via_service(new_resident(), cycle, "A", ("A-01",), language="en")
    cast_via_service(new_resident(), cycle, "A", ("A-02",), language="es")
    cast_via_service(new_resident(), cycle, "B", ("B-01",), language="es")
    today = timezone.localdate(timezone=ZoneInfo(cycle.time_zone))  # the cycle's day, not UTC's
    for user in (official, auditor):
        client.force_login(user)
        response = client.get(reverse("staff_turnout", args=[cycle.slug]))
        assert response.status_code == 200
        html = response.content.decode()
        assert "<span data-turnout-total>3</span>" in html
        assert re.search(r'Ward A <span class="code">\(A\)</span></th><td class="num">2<', html)
        assert re.search(r'Ward B <span class="code">\(B\)</span></th><td class="num">1<', html)
        assert re.search(r"Online \(resident account\)</th><td class=\"num\">3<", html)
        assert re.search(r"English</th><td class=\"num\">1<", html)
        assert re.search(r"Spanish</th><td class=\"num\">2<", html)
        assert f'<time datetime="{today.isoformat()}">{times.format_day(today)}</time></th><td class="num">3<' in html
        for code in ("A-01", "A-02", "B-01"):  # counts only, never choices
            assert code not in html


# --- the closing time, in the cycle's zone -----------------------------------------------------------
def test_the_vote_page_gives_the_close_in_the_cycles_zone_and_the_readers_language(client, official):
    cycle = voting_cycle(official)
    auckland = ZoneInfo("Pacific/Auckland")
    cycle.time_zone = "Pacific/Auckland"
    cycle.voting_close_at = datetime(2099, 3, 2, 9, 30, tzinfo=auckland)  # 20:30 UTC on March 1
    cycle.save(update_fields=["time_zone", "voting_close_at"])
    html = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert "March 2, 2099, 9:30 a.m. (New Zealand Time)" in html
    assert "March 1, 2099" not in html and "Pacific/Auckland" not in html
    html = client.get(reverse("vote_index", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "2 de marzo de 2099 a las 09:30 (hora de Nueva Zelanda)" in html


# --- the ballot's introduction in the reader's language ------------------------------------------
INTRO = {"intro": "Choose the projects you want.", "intro_translations": {"es": "Elija los proyectos que quiere."}}


def _intro(html: str) -> str:
    return re.search(r'<div class="ballot-intro"[^>]*>.*?</div>', html, re.S).group(0)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en", '<div class="ballot-intro" lang="en"><p>Choose the projects you want.</p></div>'),
        ("es", '<div class="ballot-intro" lang="es"><p>Elija los proyectos que quiere.</p></div>'),
    ],
)
def test_the_ballot_intro_is_in_the_readers_language(client, official, voter, settings, language, expected):
    cycle = voting_cycle(official, **INTRO)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    assert _intro(client.get(ballot_url(cycle)).content.decode()) == expected


def test_without_a_translation_the_ballot_intro_is_the_main_text_marked_with_its_language(
    client, official, voter, settings
):
    cycle = voting_cycle(official, intro="Choose the projects you want.")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = client.get(ballot_url(cycle)).content.decode()
    assert '<html lang="es">' in html
    assert _intro(html) == '<div class="ballot-intro" lang="en"><p>Choose the projects you want.</p></div>'


@pytest.mark.parametrize(
    ("language", "label"),
    [("en", "Introduction · Spanish (optional):"), ("es", "Introducción · Español (opcional):")],
)
def test_officials_translate_the_ballot_intro_in_the_design_form(client, official, settings, language, label):
    cycle = vetting_cycle(official)
    cycle.extra_languages = ["zh-hans"]
    cycle.save()
    client.force_login(official)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    url = reverse("staff_ballot", args=[cycle.slug])
    html = client.get(url).content.decode()
    field = re.search(r'<label for="id_design-A-intro_es">([^<]*)</label>', html)
    assert field and field.group(1).strip() == escape(label)
    assert re.search(r'<textarea name="design-A-intro_es"[^>]*lang="es"', html)
    assert 'name="design-A-intro_zh_hans"' in html  # every language of the cycle but the main one
    assert 'name="design-A-intro_en"' not in html

    response = client.post(url, design_post(ward(cycle), intro_es="  Elija bien.  ", intro_zh_hans=""))
    assert response.status_code == 302
    design = BallotDesign.objects.get(district=ward(cycle))
    assert (design.intro, design.intro_translations) == ("Pick wisely.", {"es": "Elija bien."})
    event = AuditEvent.objects.get(action="ballot_design.set")
    assert event.after["intro_translations"] == {"es": "Elija bien."}
    html = client.get(url).content.decode()
    assert re.search(r'<textarea name="design-A-intro_es"[^>]*>\s*Elija bien\.</textarea>', html)

    # Cleared, it is gone: readers of Spanish read the main text again.
    client.post(url, design_post(ward(cycle), intro_es=""))
    assert BallotDesign.objects.get(district=ward(cycle)).intro_translations == {}


def test_the_frozen_design_shows_the_intro_translations(client, official):
    cycle = voting_cycle(official, **INTRO)
    client.force_login(official)
    html = client.get(reverse("staff_ballot", args=[cycle.slug])).content.decode()
    assert '<dt>Introduction · Spanish</dt><dd lang="es">Elija los proyectos que quiere.</dd>' in html


def test_the_intro_translations_are_frozen_with_the_design_only_when_there_are_some(official):
    with_translation = voting_cycle(official, **INTRO)
    without = voting_cycle(official, intro="Choose the projects you want.")
    (district,) = [d for d in services.cycle_ballot_canonical(with_translation)["districts"] if d["code"] == "A"]
    assert district["design"]["intro_translations"] == {"es": "Elija los proyectos que quiere."}
    (district,) = [d for d in services.cycle_ballot_canonical(without)["districts"] if d["code"] == "A"]
    assert "intro_translations" not in district["design"]  # the fingerprints of older cycles hold


def _rule_radios(html: str, district: str) -> list[tuple[str, bool]]:
    """The allocation rule's radio buttons of a district's form, in page order: (value, checked)."""
    tags = re.findall(rf'<input type="radio" name="design-{district}-allocation_rule"[^>]*>', html)
    return [(re.search(r'value="([^"]+)"', tag).group(1), " checked" in tag) for tag in tags]


def test_the_allocation_rule_is_guided_equal_shares_with_completion_first_and_chosen(client, official):
    cycle = vetting_cycle(official)
    client.force_login(official)
    html = client.get(reverse("staff_ballot", args=[cycle.slug])).content.decode()
    # A new design: equal shares with its completion first, and already chosen.
    assert _rule_radios(html, "A") == [("mes-greedy", True), ("mes", False), ("greedy", False)]
    assert "<legend>Allocation rule</legend>" in html
    for rule_text in (
        "whatever is left then funds the most-voted projects that still fit",
        "it can leave much of the budget unspent",
        "Projects are funded in order of votes",
    ):
        assert rule_text in html
    # The explanation is part of each radio's label (read out with it).
    assert re.search(
        r'<label for="id_design-A-allocation_rule_1"><strong>Method of Equal Shares</strong><br>'
        r'<span class="small">Each voter gets an equal share',
        html,
    )
    assert f'href="{reverse("staff_ballot_preview", args=[cycle.slug])}#preview-A"' in html
    # A saved design keeps its own rule.
    client.post(reverse("staff_ballot", args=[cycle.slug]), design_post(ward(cycle, "A"), allocation_rule="greedy"))
    html = client.get(reverse("staff_ballot", args=[cycle.slug])).content.decode()
    assert _rule_radios(html, "A") == [("mes-greedy", False), ("mes", False), ("greedy", True)]


def test_the_allocation_rules_are_explained_in_spanish(client, official, settings):
    cycle = vetting_cycle(official)
    client.force_login(official)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = client.get(reverse("staff_ballot", args=[cycle.slug])).content.decode()
    assert "lo que sobra financia los proyectos más votados que aún caben" in html
    assert "puede dejar sin gastar buena parte del presupuesto" in html


def test_the_design_form_marks_each_methods_fields_and_keeps_them_all_in_the_page(client, official):
    """Without JavaScript every field is in the page (nothing hidden by the server); each
    method-specific one is wrapped with the methods it is for, which the static script reads."""
    cycle = vetting_cycle(official)
    client.force_login(official)
    html = client.get(reverse("staff_ballot", args=[cycle.slug])).content.decode()
    form = html.split('value="design-A"')[1].split("</form>")[0]
    expected = {
        "min_picks": "approval knapsack ranked",
        "max_picks": "approval knapsack ranked cumulative",
        "min_spend_percent": "knapsack",
        "points_total": "cumulative",
        "points_cap": "cumulative",
    }
    for field, methods_for in expected.items():
        assert re.search(rf'<div data-methods="{methods_for}">\s*<label for="id_design-A-{field}">', form), field
    assert "hidden" not in form.replace('type="hidden"', "")
    assert "data-method-switch" in form and "data-ballot-design" in html
    assert re.search(r'<script src="/static/js/ballot-design(\.[0-9a-f]+)?\.js" defer></script>', html)
    # In Spanish too: each field still says which method it is for, for a page without JavaScript.
    html = client.get(reverse("staff_ballot", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    form = html.split('value="design-A"')[1].split("</form>")[0]
    assert re.search(
        r'<div data-methods="cumulative">\s*<label for="id_design-A-points_total">Puntos para repartir', form
    )
    assert "Solo para el método de mochila (presupuesto)." in form


@pytest.mark.parametrize(
    ("language", "help_text", "wrong"),
    [
        (
            "en",
            "Required for a ranked ballot: how many projects to rank. Otherwise leave empty for no maximum.",
            "Ranked: how many projects to rank. Leave empty",
        ),
        (
            "es",
            "Obligatorio en una boleta por orden de preferencia: cuántos proyectos ordenar. En los demás casos, "
            "déjelo vacío para no fijar un máximo.",
            "Por orden de preferencia: cuántos proyectos ordenar. Déjelo",
        ),
    ],
)
def test_the_maximum_picks_help_says_a_ranked_ballot_needs_it(client, official, language, help_text, wrong):
    """The server refuses a ranked ballot without it; the help under the field does not say otherwise."""
    cycle = vetting_cycle(official)
    client.force_login(official)
    html = client.get(reverse("staff_ballot", args=[cycle.slug]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    form = html.split('value="design-A"')[1].split("</form>")[0]
    assert re.search(rf'id="id_design-A-max_picks_helptext"[^>]*>\s*{re.escape(help_text)}', form)
    assert wrong not in html
