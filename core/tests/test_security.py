"""core.security: refusals go to the security log, rate-limited, never to the audit chain."""

import threading
import uuid

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client

from budgets.services import DistrictInput, cycle_create
from core.models import AuditEvent
from core.selectors import audit_chain_verify_database
from core.services import audit_record
from tests.factories import user_with_role

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


@pytest.mark.postgres
def test_a_flood_of_concurrent_refusals_writes_nothing_while_a_staff_action_appends_one_event(transactional_db):
    """Real concurrent requests on PostgreSQL: anonymous POSTs to a staff page from many threads
    while an official acts. Every refusal is answered (302 to log in, never a 500), none touches the
    audit chain; the official's action appends exactly its one event."""
    official = user_with_role("official")
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0  # the official's appointment
    threads_n, posts = 8, 15
    barrier = threading.Barrier(threads_n + 1, timeout=30)
    statuses, errors = [], []

    def anonymous():
        client = Client(raise_request_exception=False)
        try:
            barrier.wait()
            for _ in range(posts):
                statuses.append(client.post(STAFF_POST, {"name": "Take over"}).status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    def official_acts():
        try:
            barrier.wait()
            cycle_create(
                actor=official,
                name="Flooded",
                slug="flooded",
                districts=[DistrictInput(code="A", name="Ward A", budget=1000)],
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=anonymous) for _ in range(threads_n)] + [threading.Thread(target=official_acts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert len(statuses) == threads_n * posts and set(statuses) == {302}
    assert list(AuditEvent.objects.filter(id__gt=start).values_list("action", flat=True)) == ["cycle.created"]
    assert audit_chain_verify_database().ok
