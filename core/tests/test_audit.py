"""The append-only, hash-chained audit log: chain, canonical form, guards, verification."""

import datetime as dt
import hashlib
import json
import threading
import time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from core.context import get_client_ip
from core.middleware import RequestContextMiddleware
from core.models import AuditEvent
from core.selectors import audit_chain_verify_database
from core.services import audit_record
from pbverify.canonical import GENESIS_HASH, canonical_bytes, format_time, to_jsonable


def _sha(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _independent_hash(event: AuditEvent) -> str:
    """The event's hash recomputed from its stored fields without the app's canonical or chain
    modules (docs/audit-log.md, version 2)."""
    full = {
        "occurred_at": event.occurred_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor_type": event.actor_type,
        "actor_id": event.actor_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "ip": event.ip,
    }
    hidden = event.withheld
    values = {p: (full[p.split(".")[0]][p.split(".")[1]] if "." in p else full[p]) for p in hidden}
    body = {
        **full,
        "actor_id": None if "actor_id" in hidden else full["actor_id"],
        "before": {k: v for k, v in full["before"].items() if f"before.{k}" not in hidden},
        "after": {k: v for k, v in full["after"].items() if f"after.{k}" not in hidden},
        "reason": "" if "reason" in hidden else full["reason"],
        "withheld": hidden,
        "private_digest": _sha({"salt": event.salt, "values": values}),
    }
    del body["ip"]
    return _sha({"v": 2, "prev_hash": event.prev_hash, "cycle": event.cycle_id, "body": _sha(body)})


def _write_three(user=None):
    audit_record(actor=None, action="test.first", object_type="cycle", object_id=1, after={"phase": "ideas"})
    audit_record(
        actor=user,
        action="test.second",
        object_type="district",
        object_id="A",
        before={"budget": Decimal("100.00")},
        after={"budget": Decimal("250.50")},
        reason="Réunion — ward Ñ agreed",
    )
    audit_record(actor=None, action="test.third", reason="plain")
    # (Making the test user wrote its own event, a role given outside the role services.)
    return list(AuditEvent.objects.filter(action__startswith="test.").order_by("id"))


def _tamper(sql: str, params: list) -> None:
    """Change the log behind the application's back. PostgreSQL's triggers refuse that, so do
    what a superuser bypassing triggers would do; SQLite has no triggers to bypass."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


# --- the chain ------------------------------------------------------------------------------------
def test_audit_record_builds_a_chain_from_the_genesis_hash(db, resident):
    events = _write_three(user=resident)
    chain = list(AuditEvent.objects.order_by("id"))  # with the event of the test user's role

    assert len(events) == 3 and chain[-3:] == events
    assert chain[0].prev_hash == "0" * 64 == GENESIS_HASH
    for previous, event in zip(chain, chain[1:], strict=False):
        assert event.prev_hash == previous.hash
    assert len({e.hash for e in chain}) == len(chain)


def test_event_hash_commits_to_the_public_body_and_a_salted_digest_of_the_withheld_part(db, resident):
    events = _write_three(user=resident)
    for event in events:
        assert event.version == 2
        assert event.hash == _independent_hash(event)
    # Unknown actions publish nothing but what happened to which object: default deny.
    assert events[1].withheld == ["actor_id", "after.budget", "before.budget", "ip", "reason"]
    assert len({e.salt for e in events}) == 3  # a fresh salt per event


def test_audit_record_stores_decimals_as_strings_and_the_actor(db, resident):
    _first, second, _third = _write_three(user=resident)

    assert second.before == {"budget": "100.00"}
    assert second.after == {"budget": "250.50"}
    assert (second.actor_type, second.actor_id) == ("user", resident.pk)
    assert second.object_id == "A"


def test_audit_record_actor_kinds(db, resident):
    system = audit_record(actor=None, action="test.system")
    anonymous = audit_record(actor=AnonymousUser(), action="test.anonymous")
    user = audit_record(actor=resident, action="test.user")

    assert (system.actor_type, system.actor_id) == ("system", None)
    assert (anonymous.actor_type, anonymous.actor_id) == ("anonymous", None)
    assert (user.actor_type, user.actor_id) == ("user", resident.pk)


def test_audit_record_rolls_back_with_the_surrounding_transaction(db):
    audit_record(actor=None, action="test.kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        audit_record(actor=None, action="test.rolled_back")
        raise RuntimeError("the service failed after auditing")

    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.kept"]
    # The next event links to the surviving head, not to the rolled-back one.
    last = audit_record(actor=None, action="test.after")
    assert audit_chain_verify_database().ok
    assert last.prev_hash == AuditEvent.objects.get(action="test.kept").hash


def test_audit_record_refuses_floats_and_writes_nothing(db):
    with pytest.raises(TypeError):
        audit_record(actor=None, action="test.float", after={"budget": 12.5})
    assert not AuditEvent.objects.exists()


# --- canonical form -------------------------------------------------------------------------------
def test_canonical_decimal_is_a_string_with_its_exact_digits():
    assert canonical_bytes({"b": Decimal("1.10"), "a": [Decimal("0"), Decimal("-3.000")]}) == (
        b'{"a":["0","-3.000"],"b":"1.10"}'
    )


def test_canonical_datetimes_are_utc_with_microseconds():
    new_york = dt.datetime(2025, 3, 9, 1, 30, 0, tzinfo=ZoneInfo("America/New_York"))
    assert format_time(new_york) == "2025-03-09T06:30:00.000000Z"
    assert to_jsonable({"at": dt.datetime(2025, 1, 2, 3, 4, 5, 6789, tzinfo=dt.UTC)}) == {
        "at": "2025-01-02T03:04:05.006789Z"
    }


def test_canonical_bytes_are_sorted_compact_utf8():
    assert canonical_bytes({"z": "ñ", "a": {"y": 1, "b": None}}) == '{"a":{"b":null,"y":1},"z":"ñ"}'.encode()


@pytest.mark.parametrize("value", [1.5, {"nested": [0.1]}, (2.0,)])
def test_canonical_refuses_floats(value):
    with pytest.raises(TypeError):
        canonical_bytes(value)


def test_canonical_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="naive"):
        canonical_bytes({"at": dt.datetime(2025, 1, 1, 12, 0)})


# --- append-only guards in the ORM ------------------------------------------------------------------
def test_saving_an_existing_event_raises_and_changes_nothing(db):
    event = audit_record(actor=None, action="test.original")
    event.action = "test.rewritten"
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.original"


def test_deleting_an_event_raises(db):
    event = audit_record(actor=None, action="test.original")
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_queryset_update_and_delete_raise(db):
    audit_record(actor=None, action="test.original")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.filter(action="test.original").update(action="test.rewritten")
    with pytest.raises(TypeError, match="append-only"):
        AuditEvent.objects.all().delete()
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.original"]


# --- audit_verify / audit_export ---------------------------------------------------------------------
def test_audit_verify_passes_on_an_intact_chain(db, capsys):
    _write_three()
    call_command("audit_verify")
    assert "Audit chain intact: 3 events." in capsys.readouterr().out


def test_audit_verify_names_an_altered_event(db):
    _first, second, _third = _write_three()
    _tamper("UPDATE core_auditevent SET reason = %s WHERE id = %s", ["nothing happened", second.pk])
    assert AuditEvent.objects.get(pk=second.pk).reason == "nothing happened"

    with pytest.raises(CommandError) as excinfo:
        call_command("audit_verify")

    message = str(excinfo.value)
    assert f"broken at event {second.pk}:" in message
    assert "hash does not match" in message
    assert "(1 events before it are intact)" in message


def test_audit_verify_names_the_event_after_a_removed_one(db):
    _first, second, third = _write_three()
    _tamper("DELETE FROM core_auditevent WHERE id = %s", [second.pk])

    with pytest.raises(CommandError, match=rf"broken at event {third.pk}: prev_hash does not match"):
        call_command("audit_verify")


def test_export_lines_are_canonical_and_checkable_offline(db, tmp_path):
    events = _write_three()
    out = tmp_path / "audit_log.jsonl"
    call_command("audit_export", out=str(out))

    lines = out.read_bytes().splitlines()
    assert len(lines) == 3
    for line, event in zip(lines, events, strict=True):
        record = json.loads(line)
        assert record["id"] == event.pk
        assert record["hash"] == event.hash
        assert line == json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        # Checkable offline with nothing but SHA-256 and JSON: the withheld values match their
        # digest, the body and its place in the chain match the hash.
        body, private = record["event"], record["private"]
        assert sorted(private["values"]) == body["withheld"]
        assert _sha(private) == body["private_digest"]
        link = {"v": 2, "prev_hash": record["prev_hash"], "cycle": record["cycle"], "body": _sha(body)}
        assert _sha(link) == record["hash"]


def test_exported_log_verifies_and_an_edited_line_is_caught(db, tmp_path, capsys):
    _first, second, _third = _write_three()
    out = tmp_path / "audit_log.jsonl"
    call_command("audit_export", out=str(out))

    call_command("audit_verify", file=str(out))
    assert "Audit chain intact: 3 events." in capsys.readouterr().out

    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"after.budget":"250.50"' in lines[1]  # a withheld value (test.second is not public)
    lines[1] = lines[1].replace('"after.budget":"250.50"', '"after.budget":"950.50"')
    out.write_text("".join(lines), encoding="utf-8")

    with pytest.raises(CommandError, match=rf"broken at event {second.pk}: the withheld values do not match"):
        call_command("audit_verify", file=str(out))


# --- PostgreSQL refuses changes even to a superuser ------------------------------------------------
@pytest.mark.postgres
def test_postgres_test_connection_is_a_superuser(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is True


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE core_auditevent SET reason = 'rewritten'",
        "DELETE FROM core_auditevent",
        "TRUNCATE core_auditevent",
    ],
)
def test_postgres_refuses_update_delete_truncate(db, sql):
    event = audit_record(actor=None, action="test.original", reason="kept")
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone()[0] is True  # a superuser: privileges would not stop it, the trigger does

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)

    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.reason, stored.hash) == ("kept", event.hash)
    assert audit_chain_verify_database().ok


# --- concurrency --------------------------------------------------------------------------------------
def _run_threads(*targets):
    errors = []

    def wrap(target):
        def run():
            try:
                target()
            except BaseException as error:  # noqa: BLE001 - re-raised in the main thread
                errors.append(error)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(t)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if errors:
        raise errors[0]


@pytest.mark.postgres
def test_concurrent_writers_extend_one_chain(transactional_db):
    barrier = threading.Barrier(2, timeout=10)

    def writer(name):
        def run():
            barrier.wait()
            audit_record(actor=None, action=f"test.{name}")

        return run

    _run_threads(writer("a"), writer("b"))

    report = audit_chain_verify_database()
    assert report.ok, report
    assert report.checked == 2
    first, second = AuditEvent.objects.order_by("id")
    assert (first.prev_hash, second.prev_hash) == (GENESIS_HASH, first.hash)


@pytest.mark.postgres
def test_a_writer_waits_for_an_open_transaction_that_extended_the_chain(transactional_db):
    """Deterministic race: B starts while A's event is written but not committed. B must wait for
    A and link to A's event; a writer that read the head without the lock would fork the chain."""
    a_written = threading.Event()
    b_pid: list[int] = []
    b_started = threading.Event()
    b_done = threading.Event()

    def writer_a():
        with transaction.atomic():
            audit_record(actor=None, action="test.a")
            a_written.set()
            assert b_started.wait(10)
            deadline = time.monotonic() + 10
            with connection.cursor() as cursor:
                while not b_done.is_set() and time.monotonic() < deadline:
                    cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", b_pid)
                    row = cursor.fetchone()
                    if row and row[0] == "Lock":
                        break  # B is blocked behind A: commit now
                    time.sleep(0.01)

    def writer_b():
        assert a_written.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            b_pid.append(cursor.fetchone()[0])
        b_started.set()
        try:
            audit_record(actor=None, action="test.b")
        finally:
            b_done.set()

    _run_threads(writer_a, writer_b)

    a, b = AuditEvent.objects.order_by("id")
    assert (a.action, b.action) == ("test.a", "test.b")
    assert b.prev_hash == a.hash
    assert audit_chain_verify_database().ok


# --- request context ----------------------------------------------------------------------------------
def test_middleware_records_the_client_ip_on_audit_events(db):
    seen = []

    def view(request):
        seen.append(audit_record(actor=None, action="test.request"))
        return HttpResponse("ok")

    request = RequestFactory().post("/anything/", REMOTE_ADDR="10.1.2.3")
    response = RequestContextMiddleware(view)(request)

    assert response.status_code == 200
    assert seen[0].ip == "10.1.2.3"
    assert AuditEvent.objects.get(pk=seen[0].pk).ip == "10.1.2.3"
    assert get_client_ip() is None  # reset after the request
    assert audit_record(actor=None, action="test.outside").ip is None


def test_forwarded_for_is_ignored_without_a_trusted_proxy(db):
    seen = []

    def view(request):
        seen.append(audit_record(actor=None, action="test.request"))
        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="6.6.6.6")
    RequestContextMiddleware(view)(request)
    assert seen[0].ip == "10.1.2.3"


@override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_behind_the_proxy_the_last_forwarded_hop_is_recorded(db):
    seen = []

    def view(request):
        seen.append(audit_record(actor=None, action="test.request"))
        return HttpResponse("ok")

    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    RequestContextMiddleware(view)(request)
    assert seen[0].ip == "203.0.113.7"


def test_the_middleware_is_installed_for_real_requests(client, db, denials):
    response = client.get("/staff/cycles/", REMOTE_ADDR="10.1.2.3")

    assert response.status_code == 302
    [denial] = denials()  # the refusal's log line carries the client IP the middleware set
    assert (denial["ip"], denial["actor_type"]) == ("10.1.2.3", "anonymous")
