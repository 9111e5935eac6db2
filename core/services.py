"""The audit log and the notifications outbox: both written inside the caller's transaction."""

import logging
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.utils import timezone

from pbverify import chain
from pbverify.canonical import GENESIS_HASH, to_jsonable

from . import tasks
from .audit_policy import withheld_paths
from .context import get_client_ip
from .models import AuditEvent, Notification, SchedulerHeartbeat
from .publish import task_publish
from .sms import sms_send

logger = logging.getLogger(__name__)

# Arbitrary constant key for pg_advisory_xact_lock: one writer extends the chain at a time.
_AUDIT_CHAIN_LOCK = 0x70625F61756469  # "pb_audi"


def _actor_fields(actor) -> tuple[str, int | None]:
    if actor is None:
        return AuditEvent.ActorType.SYSTEM, None
    if not getattr(actor, "is_authenticated", False):
        return AuditEvent.ActorType.ANONYMOUS, None
    return AuditEvent.ActorType.USER, actor.pk


def event_hash(payload: dict) -> str:
    """A version 1 event's hash (``pbverify.chain.legacy_hash``)."""
    return chain.legacy_hash(payload)


# --- which cycle an event is about -----------------------------------------------------------------
# object type → resolver(object_id, after) → the cycle's id or None. Registered by the apps that own
# the object types (the audit app, which sees every model, registers them all at start-up); an
# object type without a resolver belongs to no cycle (its events are left out of every public record).
_SCOPES: dict[str, Callable[[str, dict], int | None]] = {}


def audit_scope_register(object_type: str, resolver: Callable[[str, dict], int | None]) -> None:
    _SCOPES[object_type] = resolver


def audit_scope(*, object_type: str, object_id: str, after: dict) -> int | None:
    """The id of the cycle an event about ``object_type``/``object_id`` belongs to, or None."""
    resolver = _SCOPES.get(object_type)
    if resolver is None:
        return None
    try:
        cycle_id = resolver(str(object_id), after or {})
    except (ObjectDoesNotExist, ValueError, TypeError, DjangoValidationError):
        return None
    return int(cycle_id) if cycle_id is not None else None


def _append(
    *,
    prev_hash: str,
    cycle_id: int | None,
    actor_type: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    before: dict,
    after: dict,
    reason: str,
) -> AuditEvent:
    withheld = withheld_paths(action=action, actor_id=actor_id, before=before, after=after, reason=reason)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reason=reason,
        # Stored as the database will give it back (an IPv6 address is normalised), so it hashes the same.
        ip=AuditEvent._meta.get_field("ip").get_prep_value(get_client_ip()),
        prev_hash=prev_hash,
        version=chain.V2,
        cycle_id=cycle_id,
        withheld=withheld,
        salt=secrets.token_hex(16),
    )
    event.private_digest = chain.private_digest(event.salt, event.private_values())
    event.hash = event.compute_hash()
    event.save(force_insert=True)
    return event


@transaction.atomic
def audit_record(
    *,
    actor,
    action: str,
    object_type: str = "",
    object_id: str | int = "",
    before: dict | None = None,
    after: dict | None = None,
    reason: str = "",
) -> AuditEvent:
    """Append one event to the chain. ``actor`` None means the system.

    The event is written in the current format (``pbverify.chain``, version 2): its cycle (``audit_scope``)
    and the parts the public may not see (``core.audit_policy``) are decided now and committed to by
    its hash. The first event written after a chain of version 1 events is preceded by the upgrade
    event (``pbverify.chain.UPGRADE_ACTION``), which counts them.

    Invariant: events form one chain in id order. Locking: a transaction-scoped advisory lock
    (PostgreSQL) serialises writers from reading the chain head until commit, so concurrent
    transactions cannot fork the chain; SQLite serialises writers itself.
    """
    object_id = str(object_id)
    before, after = to_jsonable(before or {}), to_jsonable(after or {})
    cycle_id = audit_scope(object_type=object_type, object_id=object_id, after=after)
    actor_type, actor_id = _actor_fields(actor)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-id").values_list("hash", "version").first()
    prev_hash = last[0] if last else GENESIS_HASH
    if last is not None and last[1] != chain.V2:
        marker = _append(
            prev_hash=prev_hash,
            cycle_id=None,
            actor_type=AuditEvent.ActorType.SYSTEM,
            actor_id=None,
            action=chain.UPGRADE_ACTION,
            object_type="",
            object_id="",
            before={},
            after={"format": chain.V2, "legacy_events": AuditEvent.objects.count()},
            reason="",
        )
        prev_hash = marker.hash
    return _append(
        prev_hash=prev_hash,
        cycle_id=cycle_id,
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reason=reason,
    )


# --- Notifications outbox --------------------------------------------------------------------------
NOTIFICATION_MAX_ATTEMPTS = 20  # the periodic task gives up on a row after this many attempts
SENT_BODY_ERASED = "[sent]"  # what an SMS body becomes once sent (or expired): the code is gone


def notification_queue(
    *, recipient, kind: str, subject: str, body: str, essential: bool = False, dispatch: bool = True
) -> object | None:
    """Write a notification row in the caller's transaction and dispatch delivery after commit.

    Skipped (None) when the recipient turned updates off, unless ``essential``. Never calls the
    broker inside the transaction: the dispatch is an ``on_commit`` callback that never fails the
    change (``core.publish``) — the periodic retry task picks up anything not dispatched.
    """
    if recipient is None or not recipient.email or not recipient.is_active:
        return None
    if not essential and not getattr(recipient, "notifications_enabled", True):
        return None
    notification = Notification.objects.create(
        recipient=recipient,
        channel=Notification.Channel.EMAIL,
        address=recipient.email,
        kind=kind,
        subject=str(subject)[:200],
        body=str(body),
    )
    if dispatch:
        transaction.on_commit(lambda: notification_dispatch(notification_id=notification.pk))
    # else: the periodic retry task delivers it (the vote path makes no broker call at all).
    return notification


@transaction.atomic
def notification_queue_sms(
    *, phone: str, kind: str, body: str, expires_at: datetime | None = None, dispatch: bool = True
) -> object:
    """Write an SMS row to ``phone`` (E.164, no recipient account) in the caller's transaction and
    dispatch delivery after commit, like ``notification_queue``. The body is erased once sent, and a
    row past its ``expires_at`` (a one-time code too old to be used) is never sent (see
    ``notification_deliver``)."""
    notification = Notification.objects.create(
        channel=Notification.Channel.SMS, address=phone, kind=kind, subject="", body=str(body), expires_at=expires_at
    )
    if dispatch:
        transaction.on_commit(lambda: notification_dispatch(notification_id=notification.pk))
    return notification


def notification_dispatch(*, notification_id: int) -> None:
    """Hand one notification to Celery without making the request wait for the broker
    (``core.publish``): a failed publish is only logged, and the row waits in the outbox for the
    periodic retry. In-process (eager) mode runs the task here."""
    task_publish(tasks.notification_deliver_task, notification_id)  # tasks imports this module


def notification_deliver(*, notification_id: int) -> bool:
    """Send one notification and mark it sent. Idempotent: a sent notification is not sent again,
    and two workers cannot send the same row at once (row lock, SKIP LOCKED). Returns True if sent.

    An SMS's body (a one-time code) is erased once sent; a row past its ``expires_at`` (a code older
    than its lifetime) is not sent at all: it is marked expired, its body erased and its attempts set
    to the cap so that the periodic task never picks it up again. Errors are recorded by type only
    (never the body)."""
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=notification_id, sent_at__isnull=True)
            .first()
        )
        if notification is None:
            return False
        fields = _notification_send(notification, connection=None)
        notification.save(update_fields=fields)
        return notification.sent_at is not None


def _notification_send(notification, *, connection) -> list[str]:
    """Send one locked, unsent row and update it in memory; returns the fields to save.
    ``connection`` is an open email connection to reuse (a batch), or None for the default one."""
    sms = notification.channel == Notification.Channel.SMS
    if notification.expires_at is not None and notification.expires_at <= timezone.now():
        notification.attempts = NOTIFICATION_MAX_ATTEMPTS
        notification.last_error = "expired"
        notification.body = SENT_BODY_ERASED
        return ["attempts", "last_error", "body"]
    notification.attempts += 1
    try:
        if sms:
            sms_send(notification.address, notification.body)
        else:
            EmailMessage(
                notification.subject, notification.body, None, [notification.address], connection=connection
            ).send(fail_silently=False)
    except Exception as exc:  # noqa: BLE001 - recorded; the periodic task retries
        notification.last_error = f"{type(exc).__name__}"[:300]
        return ["attempts", "last_error"]
    notification.sent_at = timezone.now()
    notification.last_error = ""
    fields = ["attempts", "sent_at", "last_error"]
    if sms:
        notification.body = SENT_BODY_ERASED  # the code must not stay in the database
        fields.append("body")
    return fields


NOTIFICATION_BATCH_SIZE = 200  # rows claimed, sent and marked in one transaction
NOTIFICATION_DRAIN_SECONDS = 50  # a drain stops taking new batches after this long (beat runs it again)


def notifications_retry_unsent(
    *,
    older_than_seconds: int = 10,
    batch_size: int = NOTIFICATION_BATCH_SIZE,
    time_budget_seconds: float = NOTIFICATION_DRAIN_SECONDS,
) -> int:
    """Drain the outbox: deliver every notification still unsent after ``older_than_seconds`` (the
    vote's "you voted" rows, which the vote request never dispatches; rows whose dispatch or send
    failed), batch after batch until none is left or ``time_budget_seconds`` is spent. Returns the
    number sent.

    Each batch is claimed with ``SELECT … FOR UPDATE SKIP LOCKED``, sent over one email connection
    and marked sent in the same transaction, so any number of drains (and single deliveries) can run
    at once and each row is sent once. The drain walks the rows in id order and never comes back to
    a row it tried: a failed send waits for the next run."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    deadline = time.monotonic() + time_budget_seconds
    last_id, sent = 0, 0
    while time.monotonic() < deadline:
        with transaction.atomic():
            batch = list(
                Notification.objects.select_for_update(skip_locked=True)
                .filter(
                    pk__gt=last_id,
                    sent_at__isnull=True,
                    created_at__lte=cutoff,
                    attempts__lt=NOTIFICATION_MAX_ATTEMPTS,
                )
                .order_by("id")[:batch_size]
            )
            if not batch:
                break
            changed: set[str] = set()
            email = get_connection(fail_silently=False)
            try:
                email.open()  # one connection for the batch; if it fails, each send records its error
            except Exception:  # noqa: BLE001
                logger.warning("email connection failed; sending one by one")
            try:
                for notification in batch:
                    changed.update(_notification_send(notification, connection=email))
            finally:
                email.close()
            Notification.objects.bulk_update(batch, sorted(changed))
        last_id = batch[-1].pk
        sent += sum(1 for notification in batch if notification.sent_at is not None)
    return sent


# --- the scheduler's heartbeat ----------------------------------------------------------------------
def scheduler_heartbeat_record(*, task: str) -> None:
    """Record that the periodic task ``task`` has just run. Idempotent (one row per task, the time
    only moves forward); its own small transaction, so it never holds up the task's work."""
    now = timezone.now()
    updated = SchedulerHeartbeat.objects.filter(task=task, last_run_at__lt=now).update(last_run_at=now)
    if not updated:
        SchedulerHeartbeat.objects.get_or_create(task=task, defaults={"last_run_at": now})
