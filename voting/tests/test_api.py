"""API v1 for ballots: the public designs, casting (every refusal stores nothing), receipts, and the
receipt code appearing in exactly one response. After every test the voter roll has as many entries
as there are ballots, district by district."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.db import connection
from django.db.models import Count
from django.utils import timezone
from rest_framework.test import APIClient

import core.services
from accounts.models import User
from budgets import services as budget_services
from budgets.models import Cycle
from budgets.phases import Phase
from core import times
from core.api import PROBLEM_CONTENT_TYPE
from core.api_input import MSG_TOO_DEEP, MSG_UNKNOWN_FIELD
from core.errors import ServiceUnavailable
from core.models import AuditEvent, Notification
from core.tests.outage import database_down
from proposals.tests.builders import make_project, move, new_resident, submit, ward
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, DistrictFactory, user_with_role
from voting import crypto, permissions, services
from voting.methods import Problem
from voting.methods.messages import problem_message
from voting.models import Ballot, BallotFreeze, BallotVoid, Identity, VoterRollEntry

pytestmark = pytest.mark.django_db

ADULT = "1990-04-01"
ADDRESS = "12 Grove St, Jersey City, NJ"
STORED = (Ballot, VoterRollEntry, Identity, Notification)


# --- helpers --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def _roll_matches_ballots():
    """Voter-roll entries = ballots per district, whatever the test did."""
    yield
    roll = dict(VoterRollEntry.objects.values_list("district_id").annotate(n=Count("id")).order_by())
    ballots = dict(Ballot.objects.values_list("district_id").annotate(n=Count("id")).order_by())
    assert roll == ballots


def client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def assert_problem(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    body = response.json()
    assert body["status"] == status
    assert body["type"] == f"urn:pbplatform:problem:{body['code']}"
    assert body["instance"] == response.wsgi_request.path
    if code is not None:
        assert body["code"] == code
    return body


def counts() -> dict[str, int]:
    """Everything a cast writes; equal before and after a refusal."""
    return {model.__name__: model.objects.count() for model in STORED}


def build(official, *, open_voting: bool = True) -> Cycle:
    """Cycle "jc" built through the services: wards A (knapsack, three projects), B (ranked, two),
    C (no projects: no ballot) and a citywide pot CW (cumulative, 10 points, at most 6 each)."""
    cycle = CycleFactory(ideas=True, wards="ABC", slug="jc")
    DistrictFactory(cycle=cycle, code="CW", name="Citywide", kind="citywide", budget=Decimal("100000.00"))
    author = new_resident()
    ideas = {code: submit(cycle, author, title=f"Idea for {code}", district=ward(cycle, code)) for code in ("A", "B")}
    ideas["CW"] = submit(cycle, author, title="Idea for the city", district=ward(cycle, "CW"))
    move(cycle, official, "vetting")
    for code, district, cost in [
        ("A-02", "A", "15000"),
        ("A-01", "A", "20000"),
        ("A-03", "A", "30000"),
        ("B-01", "B", "10000"),
        ("B-02", "B", "12000"),
        ("CW-01", "CW", "40000"),
        ("CW-02", "CW", "60000"),
    ]:
        make_project(cycle, official, [ideas[district]], code=code, cost=cost, district=district)
    ballot_prepare(cycle, official)
    set_design = services.ballot_design_set
    set_design(
        actor=official,
        district=ward(cycle, "A"),
        method="knapsack",
        intro="Spend up to the budget.",
        intro_translations={"es": "Gaste hasta el presupuesto."},
    )
    set_design(actor=official, district=ward(cycle, "B"), method="ranked", max_picks=2, shuffle=False)
    set_design(actor=official, district=ward(cycle, "CW"), method="cumulative", points_total=10, points_cap=6)
    if open_voting:
        budget_services.cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Voting opens.")
    cycle.refresh_from_db()
    return cycle


@pytest.fixture
def cycle(official):
    return build(official)


def cast_url(code: str, slug: str = "jc") -> str:
    return f"/api/v1/cycles/{slug}/ballots/{code}/cast/"


def cast(client, code: str, choices=None, **body):
    payload = {"date_of_birth": ADULT, "address": ADDRESS, "attest": True}
    if choices is not None:
        payload["choices"] = choices
    payload.update(body)
    return client.post(cast_url(code), payload, format="json")


def check(code: str):
    return APIClient().post("/api/v1/receipts/check/", {"code": code}, format="json")


# --- public reads ---------------------------------------------------------------------------------
BALLOT_FIELDS = {
    "district",
    "name",
    "kind",
    "budget",
    "currency",
    "method",
    "min_picks",
    "max_picks",
    "min_spend_percent",
    "points_total",
    "points_cap",
    "allocation_rule",
    "intro",
    "intro_translations",
    "shuffle",
    "fingerprint",
}


def test_ballot_list_before_voting_has_no_fingerprint(official):
    build(official, open_voting=False)
    response = APIClient().get("/api/v1/cycles/jc/ballots/")
    assert response.status_code == 200
    body = response.json()
    # Districts in their usual order (kind, then code); C has no projects, so no ballot.
    assert [entry["district"] for entry in body] == ["CW", "A", "B"]
    assert all(set(entry) == BALLOT_FIELDS for entry in body)
    assert all(entry["fingerprint"] is None for entry in body)
    citywide, a, b = body
    assert a == {
        "district": "A",
        "name": "Ward A",
        "kind": "ward",
        "budget": "50000.00",
        "currency": "USD",
        "method": "knapsack",
        "min_picks": 1,
        "max_picks": None,
        "min_spend_percent": 0,
        "points_total": None,
        "points_cap": None,
        "allocation_rule": "greedy",
        "intro": "Spend up to the budget.",
        "intro_translations": {"es": "Gaste hasta el presupuesto."},
        "shuffle": True,
        "fingerprint": None,
    }
    assert (b["method"], b["max_picks"], b["shuffle"]) == ("ranked", 2, False)
    assert (citywide["kind"], citywide["budget"], citywide["method"]) == ("citywide", "100000.00", "cumulative")
    assert (citywide["points_total"], citywide["points_cap"]) == (10, 6)


def test_ballot_list_carries_the_frozen_fingerprint_once_voting_opens(cycle, django_assert_num_queries):
    fingerprint = BallotFreeze.objects.get(cycle=cycle).fingerprint
    assert len(fingerprint) == 64
    # Cycle, its districts, the ballots, the fingerprint: the same four queries for any number of ballots.
    with django_assert_num_queries(4):
        body = APIClient().get("/api/v1/cycles/jc/ballots/").json()
    assert [entry["fingerprint"] for entry in body] == [fingerprint] * 3


def test_ballot_detail_lists_projects_in_code_order_with_their_texts(cycle, django_assert_num_queries):
    with django_assert_num_queries(7):
        response = APIClient().get("/api/v1/cycles/jc/ballots/A/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == BALLOT_FIELDS | {"projects"}
    assert (body["district"], body["method"], body["fingerprint"]) == ("A", "knapsack", cycle.ballot_freeze.fingerprint)
    assert [(p["code"], p["cost"], p["category"]) for p in body["projects"]] == [
        ("A-01", "20000.00", None),
        ("A-02", "15000.00", None),
        ("A-03", "30000.00", None),
    ]
    assert body["projects"][0]["texts"] == {
        "en": {
            "title": "Drinking fountains",
            "summary": "Drinking fountains for the ward.",
            "description": "Two year-round fountains.",
        },
        "es": {
            "title": "Fuentes de agua",
            "summary": "Fuentes de agua para el distrito.",
            "description": "Dos fuentes todo el año.",
        },
    }


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/cycles/jc/ballots/C/",  # a district without projects has no ballot
        "/api/v1/cycles/jc/ballots/Z/",
        "/api/v1/cycles/nope/ballots/",
        "/api/v1/cycles/nope/ballots/A/",
        "/api/v1/cycles/secret/ballots/",
    ],
)
def test_unknown_ballots_and_cycles_are_404(cycle, url):
    CycleFactory(slug="secret", wards="A")  # a draft: not public
    assert_problem(APIClient().get(url), 404, "not_found")


# --- casting --------------------------------------------------------------------------------------
def test_cast_stores_one_anonymous_ballot_and_one_roll_entry(cycle, resident):
    response = cast(client_for(resident), "A", ["A-01", "A-03"])

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"receipt_code", "district", "replaced"} and body["replaced"] is False
    assert body["district"] == "A"
    assert "no-store" in response["Cache-Control"]
    code = body["receipt_code"]
    assert len(crypto.code_normalize(code)) == 20

    ballot = Ballot.objects.get()
    assert (ballot.district.code, ballot.channel, ballot.choices, ballot.points) == (
        "A",
        "online",
        ["A-01", "A-03"],
        None,
    )
    assert ballot.receipt_hash == crypto.receipt_hash(code)
    entry = VoterRollEntry.objects.get()
    assert entry.identity_key == crypto.identity_key("account", str(resident.pk))
    assert (entry.district.code, entry.channel, entry.verification, entry.language) == ("A", "online", "account", "en")
    identity = Identity.objects.get()
    assert (identity.identity_key, identity.email, identity.address, identity.date_of_birth) == (
        entry.identity_key,
        resident.email,
        ADDRESS,
        date(1990, 4, 1),
    )
    (notification,) = Notification.objects.filter(kind="vote.confirmation")
    assert notification.recipient_id == resident.pk
    assert check(code).json() == {"status": "counted"}


def test_cast_a_ranked_ballot_from_ranks(cycle, resident):
    response = cast(client_for(resident), "B", ranks={"B-01": 2, "B-02": 1})
    assert response.status_code == 201, response.content
    assert Ballot.objects.get().choices == ["B-02", "B-01"]


def test_cast_a_cumulative_ballot_with_points(cycle, resident):
    response = cast(client_for(resident), "CW", ["CW-02", "CW-01"], points=[6, 4])
    assert response.status_code == 201, response.content
    ballot = Ballot.objects.get()
    assert (ballot.choices, ballot.points) == (["CW-02", "CW-01"], [6, 4])


def test_the_roll_records_the_language_the_voter_used(cycle, resident):
    response = client_for(resident).post(
        cast_url("A"),
        {"choices": ["A-01"], "date_of_birth": ADULT, "address": ADDRESS, "attest": True},
        format="json",
        HTTP_ACCEPT_LANGUAGE="es",
    )
    assert response.status_code == 201, response.content
    assert VoterRollEntry.objects.get().language == "es"


def test_a_voter_casts_a_ward_and_the_citywide_ballot(cycle, resident):
    client = client_for(resident)
    assert cast(client, "A", ["A-01"]).status_code == 201
    assert cast(client, "CW", ["CW-01"], points=[5]).status_code == 201
    key = crypto.identity_key("account", str(resident.pk))
    assert sorted(VoterRollEntry.objects.filter(identity_key=key).values_list("district__code", flat=True)) == [
        "A",
        "CW",
    ]
    assert Identity.objects.count() == 1


def _msg(code: str, **params) -> str:
    return problem_message(Problem(code, params))


BAD_BALLOTS = [
    pytest.param("A", {"choices": ["Z-99"]}, [_msg("unknown_project", projects=["Z-99"])], id="unknown-project"),
    pytest.param(
        "A", {"choices": ["A-01", "B-01"]}, [_msg("unknown_project", projects=["B-01"])], id="project-of-another-ward"
    ),
    pytest.param("A", {"choices": ["A-01", "A-01"]}, [_msg("duplicate_project", projects=["A-01"])], id="duplicate"),
    pytest.param("A", {"choices": []}, [_msg("empty")], id="empty"),
    pytest.param(
        "A",
        {"choices": ["A-01", "A-02", "A-03"]},
        ["Your choices cost $65,000, more than the budget of $50,000."],
        id="over-budget",
    ),
    pytest.param("A", {"choices": ["A-01"], "points": [3]}, [_msg("unexpected_points")], id="points-on-knapsack"),
    pytest.param("B", {"ranks": {"B-01": 1, "B-02": 3}}, [_msg("rank_gap", ranks=[1, 3])], id="ranks-with-gaps"),
    pytest.param("B", {"ranks": {"B-01": 1, "B-02": 1}}, [_msg("rank_repeated")], id="ranks-repeated"),
    pytest.param("B", {"ranks": {"B-01": 0}}, [_msg("rank_invalid")], id="rank-zero"),
    pytest.param(
        "B",
        {"ranks": {"B-01": 1, "A-01": 3}},
        [_msg("rank_gap", ranks=[1, 3]), _msg("unknown_project", projects=["A-01"])],
        id="ranks-with-gaps-and-a-project-of-another-ward",
    ),
    pytest.param(
        "CW",
        {"choices": ["CW-01", "CW-02"], "points": [6, 5]},
        [_msg("points_over_total", total=11, max=10)],
        id="points-over-total",
    ),
    pytest.param(
        "CW",
        {"choices": ["CW-01"], "points": [7]},
        [_msg("points_over_cap", cap=6, projects=["CW-01"])],
        id="points-over-cap",
    ),
    pytest.param("CW", {"choices": ["CW-01"]}, [_msg("points_mismatch")], id="points-missing"),
    # Ranks belong to ranked ballots only: on a knapsack ballot they were stored as its choices.
    pytest.param("A", {"ranks": {"A-01": 1}}, [_msg("unexpected_ranks")], id="ranks-on-knapsack"),
    pytest.param(
        "CW", {"ranks": {"CW-01": 1}}, [_msg("unexpected_ranks"), _msg("points_mismatch")], id="ranks-on-cumulative"
    ),
]


@pytest.mark.parametrize(("district", "ballot", "messages"), BAD_BALLOTS)
def test_an_invalid_ballot_is_400_and_stores_nothing(cycle, resident, district, ballot, messages):
    before = counts()
    response = client_for(resident).post(
        cast_url(district), {"date_of_birth": ADULT, "address": ADDRESS, "attest": True, **ballot}, format="json"
    )
    body = assert_problem(response, 400, "ballot_invalid")
    assert body["detail"] == str(services.BallotInvalid.default_message)
    assert body["errors"] == {"ballot": messages}
    assert "receipt_code" not in body
    assert counts() == before


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        pytest.param(
            {"choices": ["B-01"], "ranks": {"B-01": 1}},
            {"ranks": ["Send either “choices” or “ranks”, not both."]},
            id="choices-and-ranks",
        ),
        pytest.param(
            {"ranks": {"B-01": 1}, "points": [1]},
            {"points": ["Points go with “choices” on a cumulative ballot, not with “ranks”."]},
            id="ranks-and-points",
        ),
        pytest.param({"choices": ["B-01"], "date_of_birth": None}, {"date_of_birth": None}, id="no-date-of-birth"),
        pytest.param({"choices": ["B-01"], "date_of_birth": "01/04/1990"}, {"date_of_birth": None}, id="bad-date"),
        pytest.param({"choices": ["B-01"], "address": ""}, {"address": None}, id="no-address"),
        pytest.param({"ranks": {"B-01": "first"}}, {"ranks": None}, id="rank-not-a-number"),
        pytest.param({"choices": "B-01"}, {"choices": None}, id="choices-not-a-list"),
    ],
)
def test_malformed_input_is_400_and_stores_nothing(cycle, resident, payload, errors):
    before = counts()
    body = {"date_of_birth": ADULT, "address": ADDRESS, "attest": True, **payload}
    problem = assert_problem(client_for(resident).post(cast_url("B"), body, format="json"), 400, "invalid")
    assert set(problem["errors"]) == set(errors)
    for field, messages in errors.items():
        if messages is not None:
            assert problem["errors"][field] == messages
    assert counts() == before


def test_an_unknown_field_with_a_large_body_is_400_and_stores_nothing(cycle, resident):
    # A field the cast does not take was ignored, and the ballot stored.
    before = counts()
    response = cast(client_for(resident), "A", ["A-01"], comment="x" * 1_000_000)
    problem = assert_problem(response, 400, "invalid")
    assert problem["errors"] == {"comment": [str(MSG_UNKNOWN_FIELD)]}
    assert counts() == before


def test_deeply_nested_json_is_400_and_stores_nothing(cycle, resident):
    before = counts()
    document = '{"choices": ' + "[" * 2048 + "]" * 2048 + f', "date_of_birth": "{ADULT}", "attest": true}}'
    response = client_for(resident).post(cast_url("A"), document, content_type="application/json")
    assert assert_problem(response, 400, "parse_error")["detail"] == str(MSG_TOO_DEEP)
    assert counts() == before


def test_a_body_over_the_limit_is_413_and_stores_nothing(cycle, resident, settings):
    before = counts()
    response = cast(client_for(resident), "A", ["A-01"], address="x" * settings.PB_API_MAX_BODY_BYTES)
    assert assert_problem(response, 413, "too_large")["title"] == "Request too large"
    assert counts() == before


def test_during_a_database_outage_a_cast_is_503_with_retry_after(cycle, resident):
    client = client_for(resident)
    before = counts()
    with database_down():
        response = cast(client, "A", ["A-01"])
    assert assert_problem(response, 503, "unavailable")["detail"] == str(ServiceUnavailable.default_message)
    assert response["Retry-After"] == str(ServiceUnavailable.retry_after)
    assert counts() == before
    # Once the database is back, the same request is a ballot.
    assert cast(client, "A", ["A-01"]).status_code == 201


def test_a_form_post_is_refused_415(cycle, resident):
    before = counts()
    response = client_for(resident).post(cast_url("A"), {"choices": "A-01", "date_of_birth": ADULT, "address": "x"})
    assert_problem(response, 415)
    assert counts() == before


def test_too_young_is_403_not_eligible_and_stores_nothing(cycle, resident):
    before = counts()
    born = timezone.localdate() - timedelta(days=365 * 10)
    response = cast(client_for(resident), "A", ["A-01"], date_of_birth=born.isoformat())
    body = assert_problem(response, 403, "not_eligible")
    age_on = timezone.localtime(cycle.voting_close_at, ZoneInfo(cycle.time_zone)).date()
    assert body["detail"] == str(services.MSG_TOO_YOUNG % {"age": 14, "date": times.format_day(age_on)})
    assert counts() == before


@pytest.mark.parametrize("attest", [False, None], ids=["attest-false", "attest-missing"])
def test_without_attestation_is_403_not_eligible_and_stores_nothing(cycle, resident, attest):
    before = counts()
    payload = {"choices": ["A-01"], "date_of_birth": ADULT, "address": ADDRESS}
    if attest is not None:
        payload["attest"] = attest
    body = assert_problem(client_for(resident).post(cast_url("A"), payload, format="json"), 403, "not_eligible")
    assert body["detail"] == str(services.MSG_ATTEST)
    assert counts() == before


def test_a_second_ballot_in_the_same_district_is_409_already_voted(cycle, resident):
    client = client_for(resident)
    first = cast(client, "A", ["A-01"])
    assert first.status_code == 201
    before = counts()
    body = assert_problem(cast(client, "A", ["A-02"]), 409, "already_voted")
    assert body["detail"] == str(services.AlreadyVoted.default_message)
    # Also with an invalid ballot the first ballot stands; and with ranks for a ranked ballot.
    assert_problem(cast(client, "A", ["A-02", "A-02"]), 400, "ballot_invalid")
    assert counts() == before
    assert Ballot.objects.get().choices == ["A-01"]
    # One ward ballot per person per cycle: another ward's ballot is refused too.
    assert_problem(cast(client, "B", ranks={"B-01": 1}), 409, "already_voted")
    assert counts() == before


def test_while_voting_is_paused_a_cast_is_409_with_the_pause_message(cycle, resident, official):
    budget_services.voting_pause(actor=official, cycle=cycle, reason="Power outage at the library.")
    before = counts()
    body = assert_problem(cast(client_for(resident), "A", ["A-01"]), 409, "voting_paused")
    assert body["detail"] == str(services.VotingPaused.default_message)
    assert counts() == before
    # Closed and paused come before the ballot's own problems.
    assert_problem(cast(client_for(resident), "B", ranks={"B-01": 2}), 409, "voting_paused")
    assert counts() == before
    budget_services.voting_resume(actor=official, cycle=cycle, reason="Power is back.")
    assert cast(client_for(resident), "A", ["A-01"]).status_code == 201


def test_after_the_close_a_cast_is_409_voting_closed(cycle, resident):
    before = counts()
    with time_machine.travel(cycle.voting_close_at + timedelta(seconds=1)):
        body = assert_problem(cast(client_for(resident), "A", ["A-01"]), 409, "voting_closed")
    assert body["detail"] == str(services.VotingClosed.default_message)
    assert counts() == before


def test_before_voting_opens_a_cast_is_409_voting_closed(official, resident):
    build(official, open_voting=False)
    before = counts()
    assert_problem(cast(client_for(resident), "A", ["A-01"]), 409, "voting_closed")
    assert counts() == before


def test_anonymous_cast_is_403_asking_to_log_in(cycle, denials):
    # Session authentication comes first and has no WWW-Authenticate challenge, so DRF answers
    # 403 rather than 401 — for no credentials and for a bad token alike.
    before, events = counts(), AuditEvent.objects.count()
    body = assert_problem(cast(APIClient(), "A", ["A-01"]), 403, "forbidden")
    assert body["detail"] == str(permissions.MSG_LOGIN_REQUIRED)
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = cast(bad_token, "A", ["A-01"])
    assert_problem(response, 403, "authentication_failed")
    assert "WWW-Authenticate" not in response
    assert counts() == before
    assert [d["status"] for d in denials()] == [403, 403]
    assert AuditEvent.objects.count() == events  # refusals are logged, outside the audit chain


@pytest.mark.parametrize(
    ("who", "message"),
    [
        ("unverified", permissions.MSG_VERIFY_EMAIL),
        ("auditor", permissions.MSG_AUDITOR_READ_ONLY),
    ],
)
def test_unverified_and_auditor_accounts_cannot_cast(cycle, who, message):
    user = user_with_role("resident" if who == "unverified" else "auditor")
    if who == "unverified":
        EmailAddress.objects.filter(user=user).update(verified=False)
    before = counts()
    body = assert_problem(cast(client_for(user), "A", ["A-01"]), 403, "forbidden")
    assert body["detail"] == str(message)
    assert counts() == before


def test_an_official_may_vote_as_a_resident(cycle, official):
    assert cast(client_for(official), "A", ["A-01"]).status_code == 201


@pytest.mark.parametrize("url", ["/api/v1/cycles/jc/ballots/C/cast/", "/api/v1/cycles/nope/ballots/A/cast/"])
def test_cast_where_there_is_no_ballot_is_404(cycle, resident, url):
    body = {"choices": ["A-01"], "date_of_birth": ADULT, "address": ADDRESS, "attest": True}
    assert_problem(client_for(resident).post(url, body, format="json"), 404, "not_found")
    assert counts()["Ballot"] == 0


def test_reads_of_ballots_do_not_allow_a_cast_by_get(cycle, resident):
    assert_problem(client_for(resident).get(cast_url("A")), 405)


# --- receipts -------------------------------------------------------------------------------------
def test_receipt_check_counted_voided_unknown(cycle, resident):
    code = cast(client_for(resident), "A", ["A-01"]).json()["receipt_code"]
    assert check(code).json() == {"status": "counted"}
    # As typed by a person: lower case, no dashes, O for 0 and I for 1 are read the same.
    typed = code.replace("-", "").lower().replace("0", "o").replace("1", "i")
    assert check(typed).json() == {"status": "counted"}
    assert check("AAAA-BBBB-CCCC-DDDD-EEEE").json() == {"status": "unknown"}
    BallotVoid.objects.create(ballot=Ballot.objects.get(), reason="Keying error.")
    response = check(code)
    assert response.status_code == 200
    assert response.json() == {"status": "voided"}
    assert "no-store" in response["Cache-Control"]


def test_receipt_check_needs_a_code_in_the_body(cycle):
    body = assert_problem(APIClient().post("/api/v1/receipts/check/", {}, format="json"), 400, "invalid")
    assert set(body["errors"]) == {"code"}
    assert_problem(APIClient().get("/api/v1/receipts/check/?code=AAAA"), 405)


def test_the_receipt_code_is_in_the_casts_201_and_nowhere_else(cycle, resident):
    client = client_for(resident)
    code = cast(client, "A", ["A-01"]).json()["receipt_code"]
    bare = crypto.code_normalize(code)
    responses = [
        client.get("/api/v1/cycles/jc/ballots/"),
        client.get("/api/v1/cycles/jc/ballots/A/"),
        client.get("/api/v1/cycles/jc/"),
        cast(client, "A", ["A-02"]),  # 409
        cast(client, "A", ["Z-99"]),  # 400
        check(code),
        client.post("/api/v1/receipts/check/", {"code": code + "X" * 50}, format="json"),  # 400: too long
    ]
    for response in responses:
        content = response.content.decode()
        assert code not in content and bare not in content, response.wsgi_request.path
    # Nor in what was stored: the ballot keeps a keyed hash, the email outbox and audit log nothing.
    stored = [
        *Notification.objects.values_list("subject", "body"),
        *AuditEvent.objects.values_list("action", "object_id", "before", "after", "reason"),
        *Ballot.objects.values_list("choices", "receipt_hash"),
        *Identity.objects.values_list("name", "email", "address"),
    ]
    assert code not in str(stored) and bare not in str(stored)


# --- concurrency ----------------------------------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_100_voters_each_casting_twice_at_once_get_100_ballots(official, monkeypatch):
    build(official)
    # No broker traffic from this test: the outbox rows are enough.
    monkeypatch.setattr(core.services, "notification_dispatch", lambda **kwargs: None)
    voter_ids = [user_with_role("resident").pk for _ in range(100)]
    lock = threading.Lock()
    results, unexpected = [], []

    def cast_once(user_id: int, n: int):
        try:
            client = APIClient()
            client.force_authenticate(User.objects.get(pk=user_id))
            response = cast(client, "A", ["A-01"] if n == 0 else ["A-02"])
            with lock:
                results.append((user_id, response.status_code, response.json()))
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=30) as pool:
        futures = [pool.submit(cast_once, user_id, n) for user_id in voter_ids for n in (0, 1)]
        for future in futures:
            future.result(timeout=120)

    assert unexpected == []
    assert Counter(status for _u, status, _b in results) == {201: 100, 409: 100}
    assert all(body["code"] == "already_voted" for _u, status, body in results if status == 409)
    assert sorted(user_id for user_id, status, _b in results if status == 201) == sorted(voter_ids)
    codes = {body["receipt_code"] for _u, status, body in results if status == 201}
    assert len(codes) == 100
    assert Ballot.objects.filter(district__code="A").count() == 100
    assert VoterRollEntry.objects.filter(district__code="A").count() == 100
    assert Identity.objects.count() == 100
    assert set(Ballot.objects.values_list("receipt_hash", flat=True)) == {crypto.receipt_hash(c) for c in codes}


def test_the_stored_order_never_follows_the_clients_order(cycle, resident):
    """A buyer could dictate an order and look for it in the record: the service stores a canonical
    order whatever the client sends."""
    response = cast(client_for(resident), "A", ["A-02", "A-01"])
    assert response.status_code == 201, response.content
    assert Ballot.objects.get().choices == ["A-01", "A-02"]
