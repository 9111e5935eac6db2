"""Reading and checking the audit log."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .canonical import GENESIS_HASH, canonical_bytes, to_jsonable
from .models import AuditEvent
from .services import event_hash


def audit_event_export(event: AuditEvent) -> dict:
    """The canonical, self-describing form of an event (one line of audit_log.jsonl)."""
    return to_jsonable({"id": event.pk, **event.chain_payload(), "hash": event.hash})


def audit_events_export_lines() -> Iterator[bytes]:
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        yield canonical_bytes(audit_event_export(event)) + b"\n"


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    broken_id: int | None = None
    problem: str = ""


def audit_chain_verify(events: Iterable[dict]) -> ChainReport:
    """Check exported events (dicts as :func:`audit_event_export` makes them), in order.

    Pure: works on an export read from a file as well as on the database.
    """
    prev = GENESIS_HASH
    checked = 0
    for event in events:
        payload = {k: v for k, v in event.items() if k not in ("id", "hash")}
        if payload.get("prev_hash") != prev:
            return ChainReport(False, checked, event.get("id"), "prev_hash does not match the previous event")
        if event_hash(payload) != event.get("hash"):
            return ChainReport(False, checked, event.get("id"), "hash does not match the event's content")
        prev = event["hash"]
        checked += 1
    return ChainReport(True, checked)


def audit_chain_verify_database() -> ChainReport:
    return audit_chain_verify(
        audit_event_export(e) for e in AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    )
