"""What the archive erases of core's tables (core/erase.py).

The outbox: the vote's messages from before the close, the anonymised accounts' messages and
everything already delivered or given up go; rows still waiting for other people stay.

The audit log: the withheld values of the archived cycle's events (and of events about the
anonymised accounts) are blanked, once, and nothing else changes — the public bodies and hashes
stay, so the chain still verifies; on PostgreSQL the trigger lets only that update through."""

import importlib
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from core.context import reset_client_ip, set_client_ip
from core.erase import audit_withheld_erase, notifications_erase
from core.errors import Conflict
from core.models import AuditEvent, Notification
from core.selectors import audit_chain_verify_database, audit_event_export, audit_event_public
from core.services import NOTIFICATION_MAX_ATTEMPTS, audit_record
from pbverify import chain
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _row(label: str, *, created, **fields) -> Notification:
    row = Notification.objects.create(
        kind=fields.pop("kind", "idea.decision"), address=f"{label}@example.org", subject=label, body=label, **fields
    )
    Notification.objects.filter(pk=row.pk).update(created_at=created)
    return row


def test_the_outbox_keeps_only_what_still_waits_for_someone_kept():
    now = timezone.now()
    closed = now - timedelta(days=400)
    kept_user, gone_user = user_with_role("resident"), user_with_role("resident")
    doomed = [
        _row("sms-sent", created=closed - timedelta(days=1), channel="sms", sent_at=closed),
        _row("sms-unsent", created=closed - timedelta(days=1), channel="sms"),
        _row("voted-unsent", created=closed - timedelta(days=2), kind="vote.confirmation", recipient=kept_user),
        _row("changed", created=closed - timedelta(days=2), kind="vote.changed", recipient=kept_user),
        _row("to-anonymised", created=now, recipient=gone_user),
        _row("delivered", created=now - timedelta(days=3), recipient=kept_user, sent_at=now),
        _row("given-up", created=now - timedelta(days=3), recipient=kept_user, attempts=NOTIFICATION_MAX_ATTEMPTS),
    ]
    kept = [
        _row("waiting", created=now - timedelta(minutes=5), recipient=kept_user),
        _row("later-vote", created=closed + timedelta(days=30), kind="vote.confirmation", recipient=kept_user),
        _row("later-sms", created=closed + timedelta(days=30), channel="sms"),
    ]
    assert notifications_erase(vote_closed_at=closed, recipient_ids=[gone_user.pk]) == len(doomed)
    assert set(Notification.objects.values_list("pk", flat=True)) == {row.pk for row in kept}


# --- the audit log's withheld values ---------------------------------------------------------------------
SECRET_TITLE = "Bench outside Dana Whitfield's house"
SECRET_NOTE = "Spoke with Dana Whitfield, she owns the lot"
STAFF_IP = "203.0.113.9"


def _tamper(sql: str, params: list) -> None:
    """Change the log behind the application's back (a superuser bypassing the triggers)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = DEFAULT")


@pytest.fixture
def logged(cycle_factory, resident, official):
    """Events of two cycles and of an account, written from a client IP: a resident's idea (account
    id and title withheld), a vetting note (withheld), a phase change (all public but the IP)."""
    here, other = cycle_factory(), cycle_factory()
    token = set_client_ip(STAFF_IP)
    try:
        events = {
            "idea": audit_record(
                actor=resident,
                action="idea.submitted",
                object_type="cycle",
                object_id=here.pk,
                after={"title": SECRET_TITLE, "district": "A", "status": "submitted"},
            ),
            "review": audit_record(
                actor=official,
                action="review.recorded",
                object_type="cycle",
                object_id=here.pk,
                before={"feasibility": ""},
                after={"feasibility": "feasible", "internal_notes": SECRET_NOTE},
            ),
            "phase": audit_record(
                actor=official,
                action="cycle.phase_changed",
                object_type="cycle",
                object_id=here.pk,
                before={"phase": "ideas"},
                after={"phase": "vetting"},
                reason="The schedule.",
            ),
            "refused": audit_record(
                actor=official,
                action="provisional.reject",
                object_type="cycle",
                object_id=here.pk,
                after={"status": "rejected"},
                reason=f"{SECRET_NOTE}, twice",
            ),
            "other": audit_record(
                actor=official,
                action="review.recorded",
                object_type="cycle",
                object_id=other.pk,
                after={"feasibility": "feasible", "internal_notes": SECRET_NOTE},
            ),
            "account": audit_record(
                actor=resident,
                action="user.name_set",
                object_type="user",
                object_id=resident.pk,
                before={"display_name": ""},
                after={"display_name": "Dana Whitfield"},
            ),
        }
    finally:
        reset_client_ip(token)
    return {"here": here, "other": other, "events": events}


def _stored(event: AuditEvent) -> AuditEvent:
    return AuditEvent.objects.get(pk=event.pk)


def test_audit_record_stores_the_digest_the_body_commits_to(logged):
    for event in logged["events"].values():
        stored = _stored(event)
        assert stored.private_digest == chain.private_digest(stored.salt, stored.private_values())
        assert stored.public_body()["private_digest"] == stored.private_digest
        assert stored.withheld_erased_at is None


def test_erasing_a_cycle_blanks_only_its_events_withheld_values_once(logged, resident, official):
    here, events = logged["here"], logged["events"]
    bodies = {name: _stored(e).public_body() for name, e in events.items()}
    public = {name: audit_event_public(_stored(e), cycle_id=here.pk) for name, e in events.items()}
    of_cycle = AuditEvent.objects.filter(cycle_id=here.pk).count()

    assert audit_withheld_erase(cycle_id=here.pk) == of_cycle

    idea, review, phase, refused = (_stored(events[n]) for n in ("idea", "review", "phase", "refused"))
    # Withheld values gone: the resident's account id, the idea's title, the note, the reason, the IPs …
    assert (idea.actor_id, idea.after, idea.ip) == (None, {"district": "A", "status": "submitted"}, None)
    assert review.after == {"feasibility": "feasible"} and review.before == {"feasibility": ""}
    assert (refused.reason, refused.after) == ("", {"status": "rejected"})
    # … public values kept: the official's id, a public reason, before and after.
    assert (review.actor_id, phase.actor_id) == (official.pk, official.pk)
    assert (phase.reason, phase.before, phase.after, phase.ip) == (
        "The schedule.",
        {"phase": "ideas"},
        {"phase": "vetting"},
        None,
    )
    for event in (idea, review, phase, refused):
        assert event.withheld_erased_at is not None
    # Another cycle's event and the account's event are untouched.
    for name in ("other", "account"):
        kept = _stored(events[name])
        assert (kept.withheld_erased_at, kept.ip, kept.after) == (None, STAFF_IP, events[name].after)
    # The bodies (so the hashes and the public record) are what they were; the chain verifies.
    for name, event in events.items():
        assert _stored(event).public_body() == bodies[name]
        assert _stored(event).hash == event.hash
        assert audit_event_public(_stored(event), cycle_id=here.pk) == public[name]
    report = audit_chain_verify_database()
    assert (report.ok, report.erased) == (True, of_cycle), report.problem
    # Once: a second erasure of the cycle finds nothing left to do.
    erased_at = idea.withheld_erased_at
    assert audit_withheld_erase(cycle_id=here.pk) == 0
    assert _stored(events["idea"]).withheld_erased_at == erased_at

    # The anonymised accounts' events (about the account, of no cycle) go with them.
    assert audit_withheld_erase(cycle_id=here.pk, user_ids=[resident.pk]) >= 1
    account = _stored(events["account"])
    assert (account.after, account.before, account.withheld_erased_at is not None) == ({}, {}, True)
    assert _stored(events["other"]).withheld_erased_at is None
    assert audit_chain_verify_database().ok


def test_an_erased_events_export_says_erased_instead_of_its_values(logged):
    here, idea = logged["here"], logged["events"]["idea"]
    before = audit_event_export(_stored(idea))
    assert before["private"]["values"]["after.title"] == SECRET_TITLE
    audit_withheld_erase(cycle_id=here.pk)
    after = audit_event_export(_stored(idea))
    assert after["private"] == {"erased": True}
    assert {k: v for k, v in after.items() if k != "private"} == {k: v for k, v in before.items() if k != "private"}
    assert SECRET_TITLE not in str(after)
    out = io.StringIO()
    call_command("audit_verify", stdout=out)  # the database's chain, through the command
    erased = AuditEvent.objects.filter(withheld_erased_at__isnull=False).count()
    assert f"{erased} of them had their withheld values erased by the archive" in out.getvalue()


def test_an_event_whose_values_no_longer_match_its_digest_is_not_erased(logged):
    """The stored digest is what keeps the chain checking once the values are gone: if the values
    were altered behind the log's back, erasing them would hide it — the service refuses."""
    here, review = logged["here"], logged["events"]["review"]
    _tamper("UPDATE core_auditevent SET ip = %s WHERE id = %s", ["192.0.2.50", review.pk])  # a withheld value
    with pytest.raises(Conflict, match=f"Audit event {review.pk} does not match its own digest"):
        audit_withheld_erase(cycle_id=here.pk)
    assert not AuditEvent.objects.filter(withheld_erased_at__isnull=False).exists()


def _erasure_sql(**changes) -> tuple[str, list]:
    """An UPDATE of the idea event: the exact erasure, with ``changes`` (column → SQL) on top."""
    columns = {
        "ip": "NULL",
        "actor_id": "NULL",
        "after": """'{"district": "A", "status": "submitted"}'::jsonb""",
        "withheld_erased_at": "now()",
        **changes,
    }
    return "UPDATE core_auditevent SET " + ", ".join(f"{c} = {v}" for c, v in columns.items()) + " WHERE id = %s"


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("changes", "with_setting"),
    [
        ({}, False),  # the exact erasure, but outside a transaction that asked for it
        ({"action": "'idea.withdrawn'"}, True),  # a public column changed too
        ({"after": """'{"status": "submitted"}'::jsonb"""}, True),  # a public key removed
        ({"after": """'{"district": "B", "status": "submitted"}'::jsonb"""}, True),  # a public value changed
        ({"ip": "'192.0.2.1'"}, True),  # a withheld value replaced rather than erased
        ({"actor_id": "actor_id"}, True),  # a withheld value left
        ({"withheld_erased_at": "NULL"}, True),  # values blanked without saying so
        ({"private_digest": "'0000'"}, True),  # the stored digest changed
        ({"withheld": """'["ip"]'::jsonb"""}, True),  # the list of withheld paths changed
    ],
)
def test_the_trigger_refuses_any_other_update_of_an_event(logged, changes, with_setting):
    idea = logged["events"]["idea"]
    sql = _erasure_sql(**changes)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        if with_setting:
            cursor.execute("SELECT set_config('pb.audit_erase', 'on', true)")
        cursor.execute(sql, [idea.pk])
    assert _stored(idea).after["title"] == SECRET_TITLE


@pytest.mark.postgres
def test_the_trigger_lets_the_erasure_through_once_and_never_a_delete(logged):
    idea, here = logged["events"]["idea"], logged["here"]

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic(), connection.cursor() as cursor:  # the exact erasure passes
        cursor.execute("SELECT set_config('pb.audit_erase', 'on', true)")
        cursor.execute(_erasure_sql(), [idea.pk])
        assert _stored(idea).after == {"district": "A", "status": "submitted"}
        raise Undo
    assert _stored(idea).after["title"] == SECRET_TITLE
    audit_withheld_erase(cycle_id=here.pk)
    for sql in (_erasure_sql(), "DELETE FROM core_auditevent WHERE id = %s"):  # not twice, and never a delete
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT set_config('pb.audit_erase', 'on', true)")
            cursor.execute(sql, [idea.pk])
    assert AuditEvent.objects.filter(pk=idea.pk).exists()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pb.audit_erase', 'on', true)")
        cursor.execute("TRUNCATE core_auditevent")
    # The service's setting does not outlive its work.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('pb.audit_erase', true)")
        assert cursor.fetchone()[0] in ("off", "", None)


def test_the_migration_stores_the_digest_of_the_events_written_before(logged):
    """Version 2 events written before the column existed get the digest ``pbverify.chain`` computes;
    their erasure then keeps the chain verifying."""
    migration = importlib.import_module("core.migrations.0005_audit_event_private_digest")
    events = list(AuditEvent.objects.order_by("id"))
    _tamper("UPDATE core_auditevent SET private_digest = ''", [])
    state = MigrationExecutor(connection).loader.project_state(("core", "0005_audit_event_private_digest"))
    migration.fill_private_digests(state.apps, connection.schema_editor())  # (SQLite: not entered, no DDL)
    for event in events:
        assert _stored(event).private_digest == event.private_digest != ""
    assert audit_withheld_erase(cycle_id=logged["here"].pk) == 4
    assert audit_chain_verify_database().ok
