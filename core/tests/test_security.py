"""core.security: refusals go to the security log, rate-limited, never to the audit chain."""

import uuid

import pytest
from django.core.cache import cache

from core.models import AuditEvent
from core.selectors import audit_chain_verify_database
from core.services import audit_record

pytestmark = pytest.mark.django_db

STAFF_POST = "/staff/cycles/new/"


def _fresh_ip() -> str:
    """A client address no other test used in this minute (the limit is counted per client)."""
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


def test_a_refused_post_is_logged_without_its_body_and_the_chain_is_unchanged(client, official, denials, caplog):
    audit_record(actor=official, action="cycle.updated", object_type="cycle", object_id=1)
    head = list(AuditEvent.objects.values_list("hash", flat=True))
    response = client.post(
        f"{STAFF_POST}?code=ABCD-1234-EFGH", {"name": "BODY-MARKER", "code": "K7Q2-9XZP-3MRT"}, REMOTE_ADDR="10.9.8.7"
    )

    assert response.status_code == 302
    [denial] = denials()
    assert denial["action"] == "access.denied"
    assert (denial["method"], denial["path"], denial["ip"], denial["status"]) == ("POST", STAFF_POST, "10.9.8.7", 302)
    text = caplog.text
    assert "BODY-MARKER" not in text and "K7Q2" not in text and "ABCD-1234" not in text
    assert list(AuditEvent.objects.values_list("hash", flat=True)) == head
    assert audit_chain_verify_database().ok


def test_refusals_are_rate_limited_per_client(client, denials, settings):
    settings.PB_DENIAL_LOG_PER_MINUTE = 3
    ip, other = _fresh_ip(), _fresh_ip()
    for _ in range(10):
        assert client.post(STAFF_POST, {"name": "x"}, REMOTE_ADDR=ip).status_code == 302
    assert client.post(STAFF_POST, {"name": "x"}, REMOTE_ADDR=other).status_code == 302

    logged = denials()
    # Three lines, then one saying the rest of the minute is not logged, then silence; another
    # client has its own allowance.
    assert [d["ip"] for d in logged] == [ip] * 4 + [other]
    assert [bool(d.get("suppressing")) for d in logged] == [False, False, False, True, False]
    assert not AuditEvent.objects.exists()


def test_a_cache_that_fails_does_not_turn_a_refusal_into_an_error(client, denials, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "incr", broken)
    response = client.post(STAFF_POST, {"name": "x"}, REMOTE_ADDR=_fresh_ip())

    assert response.status_code == 302
    assert len(denials()) == 1


def test_a_refused_api_call_is_logged_with_its_status_and_not_audited(client, denials, cycle_factory):
    cycle = cycle_factory(phase="counting")
    response = client.post(f"/api/v1/audit/cycles/{cycle.slug}/bundles/", {}, content_type="application/json")

    assert response.status_code in (401, 403)
    [denial] = denials()
    assert (denial["object_type"], denial["status"]) == ("api", response.status_code)
    assert not AuditEvent.objects.exists()
