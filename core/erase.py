"""What the archive step (audit app) erases of core's tables: the notifications outbox's personal
data, and the audit log's withheld values.

The outbox is a queue, not a record: a row exists to be delivered. What the archive deletes:
- every notification of a vote — SMS (codes, to a phone number) and "you voted" / "ballot changed"
  messages — created before that vote closed, sent or not;
- every notification to an account being anonymised, sent or not;
- every notification already delivered, or given up on, created before now: its address and body
  (a person's email, an idea's title) serve nothing any more.
Unsent rows still being retried for other accounts stay, so nothing waiting is lost.

The audit log is the record, so its events stay; what goes is what each version 2 event withholds
from the public (``audit_withheld_erase``): the body that the hash covers is unchanged.
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from pbverify import chain

from .errors import Conflict
from .models import AuditEvent, Notification
from .services import NOTIFICATION_MAX_ATTEMPTS

VOTE_KIND_PREFIXES = ("vote.", "verification.")


def notifications_erase(*, vote_closed_at: datetime | None, recipient_ids) -> int:
    """Delete the outbox rows described in the module docstring; returns how many."""
    doomed = Q(recipient_id__in=list(recipient_ids)) | (
        (Q(sent_at__isnull=False) | Q(attempts__gte=NOTIFICATION_MAX_ATTEMPTS)) & Q(created_at__lte=timezone.now())
    )
    if vote_closed_at is not None:
        of_a_vote = Q(channel=Notification.Channel.SMS)
        for prefix in VOTE_KIND_PREFIXES:
            of_a_vote |= Q(kind__startswith=prefix)
        doomed |= of_a_vote & Q(created_at__lt=vote_closed_at)
    return Notification.objects.filter(doomed).delete()[0]


# The table is append-only; its PostgreSQL trigger (migration 0006) lets exactly one UPDATE through:
# inside a transaction that set AUDIT_ERASE_SETTING, a version 2 event not erased yet, with a stored
# digest, whose withheld values become blank and ``withheld_erased_at`` set — every other column,
# and so the public body and the hash, unchanged. On SQLite this service is the only writer.
AUDIT_ERASE_SETTING = "pb.audit_erase"
_ERASE_BATCH = 500
_ERASED_COLUMNS = ["before", "after", "reason", "ip", "actor_id", "withheld_erased_at"]
MSG_AUDIT_INCONSISTENT = _(
    "Audit event %(id)s does not match its own digest, so its withheld values cannot be erased without "
    "breaking the chain. Check the log with audit_verify first."
)


def _erase_withheld(event: AuditEvent, at) -> None:
    """Blank ``event``'s withheld values in memory, keeping its public body as it was."""
    hidden = set(event.withheld)
    event.before = {k: v for k, v in (event.before or {}).items() if f"before.{k}" not in hidden}
    event.after = {k: v for k, v in (event.after or {}).items() if f"after.{k}" not in hidden}
    if "reason" in hidden:
        event.reason = ""
    if "actor_id" in hidden:
        event.actor_id = None
    event.ip = None  # always withheld
    event.withheld_erased_at = at


@transaction.atomic
def audit_withheld_erase(*, cycle_id: int, user_ids: Iterable[int] = ()) -> int:
    """Erase the withheld values (client IP, residents' account ids, staff's and residents' free
    text — whatever ``withheld`` lists) of the version 2 events of cycle ``cycle_id`` and of the
    events about the accounts ``user_ids`` (the ones the archive anonymises). Returns how many.

    The public body is rebuilt around the stored ``private_digest``, so every hash still checks;
    an export then says ``"private": {"erased": true}`` instead of the values (``pbverify.chain``).
    Idempotent: an erased event is left alone (erasure happens once). Version 1 events, hashed
    whole, cannot be changed and are left. Errors: Conflict when an event's stored digest no longer
    matches its values (the log was altered: erasing would hide it).
    """
    users = [str(pk) for pk in user_ids]
    target = Q(cycle_id=cycle_id)
    if users:
        target |= Q(object_type="user", object_id__in=users)
    pending = (
        AuditEvent.objects.filter(target, version=chain.V2, withheld_erased_at__isnull=True)
        .exclude(private_digest="")
        .order_by("id")
    )
    at, erased, last = timezone.now(), 0, 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # transaction-local: undone with this transaction, or below
            cursor.execute("SELECT set_config(%s, 'on', true)", [AUDIT_ERASE_SETTING])
    while batch := list(pending.filter(id__gt=last)[:_ERASE_BATCH]):
        for event in batch:
            if event.public_body()["private_digest"] != event.private_digest:
                raise Conflict(str(MSG_AUDIT_INCONSISTENT % {"id": event.pk}))
            _erase_withheld(event, at)
        # A plain queryset: the model's own manager refuses updates (the trigger is the real guard).
        QuerySet(model=AuditEvent).bulk_update(batch, _ERASED_COLUMNS)
        erased += len(batch)
        last = batch[-1].pk
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config(%s, 'off', true)", [AUDIT_ERASE_SETTING])
    return erased
