"""API v1: cycles, districts, phases, and the transition endpoint (RFC 7807 errors)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from budgets import permissions, services
from budgets.phases import CAPABILITIES, PHASE_ORDER, RESIDENT_GUIDANCE, TRANSITIONS, Capability, Phase
from core.api import PROBLEM_CONTENT_TYPE
from tests.factories import CycleFactory

from .helpers import cycle_events

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def official_api(api, official):
    api.force_authenticate(official)
    return api


def _assert_problem(response, status, code=None):
    assert response.status_code == status
    assert response["Content-Type"].startswith(PROBLEM_CONTENT_TYPE)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("urn:pbplatform:problem:")
    assert body["title"]
    assert "detail" in body
    if code is not None:
        assert body["code"] == code
        assert body["type"] == f"urn:pbplatform:problem:{code}"
    return body


# --- reads ---------------------------------------------------------------------------------------
def test_anonymous_sees_public_cycles_only(api):
    CycleFactory(slug="secret-draft", phase=Phase.DRAFT)
    CycleFactory(slug="open-ideas", phase=Phase.IDEAS)
    CycleFactory(slug="in-voting", voting=True)
    response = api.get("/api/v1/cycles/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {c["slug"] for c in body["results"]} == {"open-ideas", "in-voting"}
    assert api.get("/api/v1/cycles/secret-draft/").status_code == 404


def test_an_official_also_sees_drafts(official_api):
    CycleFactory(slug="secret-draft", phase=Phase.DRAFT)
    CycleFactory(slug="open-ideas", phase=Phase.IDEAS)
    body = official_api.get("/api/v1/cycles/").json()
    assert {c["slug"] for c in body["results"]} == {"secret-draft", "open-ideas"}
    assert official_api.get("/api/v1/cycles/secret-draft/").status_code == 200


def test_a_resident_does_not_see_drafts(api, resident):
    CycleFactory(slug="secret-draft", phase=Phase.DRAFT)
    api.force_authenticate(resident)
    assert api.get("/api/v1/cycles/").json()["count"] == 0


def test_cycle_list_entry(api):
    CycleFactory(slug="jc", phase=Phase.VOTING, wards="AB", voting_paused_at="2026-01-01T00:00Z")
    (entry,) = api.get("/api/v1/cycles/").json()["results"]
    assert entry["slug"] == "jc"
    assert entry["phase"] == "voting"
    assert entry["currency"] == "USD"
    assert entry["voting_paused"] is True
    # Paused: casting ballots is not among what the cycle allows right now.
    assert Capability.CAST_BALLOTS.value not in entry["capabilities"]
    assert set(entry["capabilities"]) == {c.value for c in CAPABILITIES[Phase.VOTING]} - {"cast_ballots"}
    assert entry["districts"] == [
        {"code": "A", "name": "Ward A", "kind": "ward", "budget": "50000.00"},
        {"code": "B", "name": "Ward B", "kind": "ward", "budget": "50000.00"},
    ]
    assert "timeline" not in entry


@pytest.mark.usefixtures("clean_transitions")
def test_cycle_detail_has_a_timeline(api, official):
    cycle = CycleFactory(slug="jc", phase=Phase.DRAFT)
    services.cycle_transition(actor=official, cycle=cycle, target=Phase.IDEAS, reason="Launch.")
    response = api.get("/api/v1/cycles/jc/")
    assert response.status_code == 200
    body = response.json()
    assert body["phase"] == "ideas"
    assert [entry["phase"] for entry in body["timeline"]] == [p.value for p in PHASE_ORDER]
    states = {entry["phase"]: entry["state"] for entry in body["timeline"]}
    assert (states["draft"], states["ideas"], states["vetting"]) == ("past", "current", "future")
    ideas = next(entry for entry in body["timeline"] if entry["phase"] == "ideas")
    assert ideas["entered_at"] is not None


def test_unknown_cycle_is_a_problem_404(api):
    _assert_problem(api.get("/api/v1/cycles/nope/"), 404, "not_found")


def test_phases_match_the_tables(api):
    response = api.get("/api/v1/phases/")
    assert response.status_code == 200
    body = response.json()
    assert [p["phase"] for p in body] == [p.value for p in PHASE_ORDER]
    for entry in body:
        phase = Phase(entry["phase"])
        assert entry["label"] == str(phase.label)
        assert entry["capabilities"] == sorted(c.value for c in CAPABILITIES[phase])
        assert entry["next"] == [t.target.value for (s, _t), t in TRANSITIONS.items() if s == phase and t.generic]
        assert entry["guidance"] == str(RESIDENT_GUIDANCE[phase])
    by_phase = {p["phase"]: p for p in body}
    assert by_phase["ideas"]["next"] == ["vetting"]
    assert by_phase["counting"]["next"] == []  # certification is not a generic move
    assert by_phase["archived"]["next"] == []


def test_districts_endpoints(api):
    CycleFactory(slug="jc", phase=Phase.IDEAS, wards="BA")
    response = api.get("/api/v1/cycles/jc/districts/")
    assert response.status_code == 200
    assert [d["code"] for d in response.json()] == ["A", "B"]
    detail = api.get("/api/v1/cycles/jc/districts/B/")
    assert detail.status_code == 200
    assert detail.json() == {"code": "B", "name": "Ward B", "kind": "ward", "budget": "50000.00"}
    _assert_problem(api.get("/api/v1/cycles/jc/districts/Z/"), 404)


def test_districts_of_a_draft_are_staff_only(api, official):
    CycleFactory(slug="secret", phase=Phase.DRAFT, wards="A")
    _assert_problem(api.get("/api/v1/cycles/secret/districts/"), 404)
    _assert_problem(api.get("/api/v1/cycles/secret/districts/A/"), 404)
    api.force_authenticate(official)
    assert [d["code"] for d in api.get("/api/v1/cycles/secret/districts/").json()] == ["A"]


# --- the transition endpoint ----------------------------------------------------------------------
@pytest.fixture
def ideas_cycle(db, clean_transitions):
    return CycleFactory(slug="jc", phase=Phase.IDEAS, wards="A")


URL = "/api/v1/cycles/jc/transition/"


def test_an_official_moves_the_phase(official_api, official, ideas_cycle):
    response = official_api.post(URL, {"target": "vetting", "reason": "Ideas collected."}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["phase"] == "vetting"
    assert "timeline" in body
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.VETTING
    (event,) = cycle_events(ideas_cycle)
    assert (event.actor_id, event.reason) == (official.pk, "Ideas collected.")


def test_repeating_the_same_transition_is_idempotent(official_api, ideas_cycle):
    for _ in range(2):
        response = official_api.post(URL, {"target": "vetting", "reason": "Ideas collected."}, format="json")
        assert response.status_code == 200
        assert response.json()["phase"] == "vetting"
    assert cycle_events(ideas_cycle).count() == 1


@pytest.mark.parametrize("target", ["results", "draft", "archived"])
def test_a_forbidden_target_is_a_409_problem(official_api, ideas_cycle, target):
    response = official_api.post(URL, {"target": target, "reason": "Skip."}, format="json")
    body = _assert_problem(response, 409, "transition_not_allowed")
    assert body["detail"] == str(
        services.MSG_TRANSITION_FORBIDDEN % {"source": Phase.IDEAS.label, "target": Phase(target).label}
    )
    assert body["instance"] == URL
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS
    assert not cycle_events(ideas_cycle).exists()


def test_certification_is_not_available_here(official_api, clean_transitions):
    cycle = CycleFactory(slug="jc", phase=Phase.COUNTING, wards="A")
    response = official_api.post(URL, {"target": "results", "reason": "Counted."}, format="json")
    _assert_problem(response, 409, "transition_not_allowed")
    cycle.refresh_from_db()
    assert cycle.phase == Phase.COUNTING


@pytest.mark.parametrize("payload", [{"target": "vetting"}, {"target": "vetting", "reason": ""}])
def test_a_missing_reason_is_a_400_with_the_field(official_api, ideas_cycle, payload):
    body = _assert_problem(official_api.post(URL, payload, format="json"), 400, "invalid")
    assert "reason" in body["errors"]
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_a_whitespace_reason_is_refused_by_the_service(official_api, ideas_cycle):
    # DRF trims it to "" and calls it blank, so the answer is the same 400 on "reason".
    body = _assert_problem(official_api.post(URL, {"target": "vetting", "reason": "   "}, format="json"), 400)
    assert "reason" in body["errors"]
    assert not cycle_events(ideas_cycle).exists()


def test_an_unknown_target_is_a_400(official_api, ideas_cycle):
    body = _assert_problem(official_api.post(URL, {"target": "later", "reason": "Hm."}, format="json"), 400)
    assert "target" in body["errors"]


def test_a_resident_gets_403(api, resident, ideas_cycle):
    api.force_authenticate(resident)
    body = _assert_problem(api.post(URL, {"target": "vetting", "reason": "Let me."}, format="json"), 403, "forbidden")
    assert body["detail"] == str(permissions.MSG_ROLE_REQUIRED)
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_an_official_without_totp_gets_403(api, official_without_mfa, ideas_cycle):
    api.force_authenticate(official_without_mfa)
    body = _assert_problem(api.post(URL, {"target": "vetting", "reason": "Go."}, format="json"), 403, "forbidden")
    assert body["detail"] == str(permissions.MSG_MFA_REQUIRED)
    assert body["errors"] == {"mfa": ["required"]}


def test_anonymous_gets_403(api, ideas_cycle):
    body = _assert_problem(api.post(URL, {"target": "vetting", "reason": "Let me."}, format="json"), 403, "forbidden")
    assert body["detail"] == str(permissions.MSG_LOGIN_REQUIRED)
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_unknown_cycle_transition_is_404(official_api, clean_transitions):
    _assert_problem(official_api.post(URL, {"target": "vetting", "reason": "Go."}, format="json"), 404)


def test_token_authentication(api, official, ideas_cycle):
    CycleFactory(slug="secret-draft", phase=Phase.DRAFT)
    token = Token.objects.create(user=official)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert "secret-draft" in {c["slug"] for c in api.get("/api/v1/cycles/").json()["results"]}
    response = api.post(URL, {"target": "vetting", "reason": "Via the API."}, format="json")
    assert response.status_code == 200
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.VETTING


def test_a_bad_token_is_refused(api, ideas_cycle):
    # Session authentication is listed first, so DRF answers 403 rather than 401 (no WWW-Authenticate).
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    body = _assert_problem(api.get("/api/v1/cycles/"), 403, "authentication_failed")
    assert body["detail"]
    response = api.post(URL, {"target": "vetting", "reason": "Forged."}, format="json")
    _assert_problem(response, 403, "authentication_failed")
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.IDEAS


def test_session_login_through_the_test_client_works_too(client, official, ideas_cycle):
    client.force_login(official)
    response = client.post(URL, {"target": "vetting", "reason": "From the browser."}, content_type="application/json")
    assert response.status_code == 200
    ideas_cycle.refresh_from_db()
    assert ideas_cycle.phase == Phase.VETTING


@pytest.mark.parametrize(("language", "zone_name"), [("en", "New Zealand Time"), ("es", "hora de Nueva Zelanda")])
def test_the_schedule_reads_on_the_cycles_clock_with_the_zone_in_words(api, language, zone_name):
    """9 a.m. on Jan 10 in Auckland (20:00 UTC on Jan 9) comes out with Auckland's offset."""
    auckland = ZoneInfo("Pacific/Auckland")
    CycleFactory(
        slug="akl",
        phase=Phase.IDEAS,
        time_zone="Pacific/Auckland",
        ideas_open_at=datetime(2026, 12, 1, 9, 0, tzinfo=auckland),
        vetting_open_at=datetime(2027, 1, 10, 9, 0, tzinfo=auckland),
    )
    body = api.get("/api/v1/cycles/akl/", HTTP_ACCEPT_LANGUAGE=language).json()
    assert body["time_zone"] == "Pacific/Auckland" and body["time_zone_name"] == zone_name
    assert body["vetting_open_at"] == "2027-01-10T09:00:00+13:00"
    assert datetime.fromisoformat(body["vetting_open_at"]) == datetime(2027, 1, 9, 20, 0, tzinfo=ZoneInfo("UTC"))
    vetting = next(entry for entry in body["timeline"] if entry["phase"] == "vetting")
    assert vetting["scheduled_at"] == "2027-01-10T09:00:00+13:00"
    (listed,) = [c for c in api.get("/api/v1/cycles/").json()["results"] if c["slug"] == "akl"]
    assert listed["vetting_open_at"] == "2027-01-10T09:00:00+13:00"
