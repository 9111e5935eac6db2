"""Writing the audit log. Call from inside the service transaction whose change it records."""

from django.db import connection, transaction
from django.utils import timezone

from .canonical import GENESIS_HASH, canonical_bytes, sha256_hex, to_jsonable
from .context import get_client_ip
from .models import AuditEvent

# Arbitrary constant key for pg_advisory_xact_lock: one writer extends the chain at a time.
_AUDIT_CHAIN_LOCK = 0x70625F61756469  # "pb_audi"


def _actor_fields(actor) -> tuple[str, int | None]:
    if actor is None:
        return AuditEvent.ActorType.SYSTEM, None
    if not getattr(actor, "is_authenticated", False):
        return AuditEvent.ActorType.ANONYMOUS, None
    return AuditEvent.ActorType.USER, actor.pk


def event_hash(payload: dict) -> str:
    return sha256_hex(canonical_bytes(payload))


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

    Invariant: events form one chain in id order. Locking: a transaction-scoped advisory lock
    (PostgreSQL) serialises writers from reading the chain head until commit, so concurrent
    transactions cannot fork the chain; SQLite serialises writers itself.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_AUDIT_CHAIN_LOCK])
    last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
    actor_type, actor_id = _actor_fields(actor)
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_type=actor_type,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=to_jsonable(before or {}),
        after=to_jsonable(after or {}),
        reason=reason,
        ip=get_client_ip(),
        prev_hash=last or GENESIS_HASH,
    )
    event.hash = event_hash(event.chain_payload())
    event.save(force_insert=True)
    return event
