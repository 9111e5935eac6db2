"""Reading and checking the audit log: the complete export (auditors, ``audit_export``) and the public
one (a cycle's public record). The line formats and the checks are ``pbverify.chain``'s."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from pbverify import chain
from pbverify.canonical import canonical_bytes, to_jsonable
from pbverify.chain import ChainReport

from .audit_policy import withheld_paths
from .models import AuditEvent, SchedulerHeartbeat
from .services import audit_scope

__all__ = [
    "ChainReport",
    "audit_chain_verify",
    "audit_chain_verify_database",
    "audit_event_export",
    "audit_event_public",
    "audit_events_export_lines",
    "scheduler_state",
]


def audit_event_export(event: AuditEvent) -> dict:
    """The complete, self-describing form of an event (one line of the auditors' audit_log.jsonl):
    a version 1 event's fields flat; a version 2 event's public body and its withheld values — or,
    once the archive erased them, ``chain.ERASED`` in their place."""
    if event.version != chain.V2:
        return to_jsonable({"id": event.pk, **event.chain_payload(), "hash": event.hash})
    private = dict(chain.ERASED) if event.withheld_erased else {"salt": event.salt, "values": event.private_values()}
    return {
        "id": event.pk,
        "v": chain.V2,
        "prev_hash": event.prev_hash,
        "cycle": event.cycle_id,
        "event": event.public_body(),
        "private": private,
        "hash": event.hash,
    }


def audit_event_public(event: AuditEvent, *, cycle_id: int) -> dict:
    """An event as the public record of cycle ``cycle_id`` shows it.

    Version 2: an event of that cycle (and the format upgrade) as its public body; any other as its
    link only (``cycle`` and ``body_digest``). Version 1 (written before the split existed): in full
    — the client IP left out (``redacted``) — when it is about that cycle and today's table
    (``core.audit_policy``) publishes all of it; otherwise withheld, its link only.
    """
    if event.version == chain.V2:
        line = {"id": event.pk, "v": chain.V2, "prev_hash": event.prev_hash, "cycle": event.cycle_id}
        body = event.public_body()
        if event.cycle_id == cycle_id or event.action == chain.UPGRADE_ACTION:
            line["event"] = body
        else:
            line["body_digest"] = chain.body_digest(body)
        line["hash"] = event.hash
        return line
    scope = audit_scope(object_type=event.object_type, object_id=event.object_id, after=event.after)
    hidden = withheld_paths(
        action=event.action, actor_id=event.actor_id, before=event.before, after=event.after, reason=event.reason
    )
    if scope != cycle_id or hidden != ["ip"]:
        return {"id": event.pk, "prev_hash": event.prev_hash, "hash": event.hash, "withheld": True}
    exported = audit_event_export(event)
    if exported.get("ip") is not None:
        exported["ip"] = None
        exported["redacted"] = ["ip"]
    return exported


def audit_events_export_lines() -> Iterator[bytes]:
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        yield canonical_bytes(audit_event_export(event)) + b"\n"


def audit_chain_verify(events: Iterable[dict], *, public_cycle: int | None = None) -> ChainReport:
    """Check exported events (dicts as :func:`audit_event_export` or :func:`audit_event_public`
    make them), in order. Pure: works on an export read from a file as well as on the database."""
    return chain.chain_verify(events, public_cycle=public_cycle)


def audit_chain_verify_database() -> ChainReport:
    return audit_chain_verify(
        audit_event_export(e) for e in AuditEvent.objects.order_by("id").iterator(chunk_size=2000)
    )


# --- the scheduler's heartbeat ----------------------------------------------------------------------
# A periodic task counts as late after three missed runs plus a minute (a busy worker, a slow tally
# ahead of it in the queue): with the default PB_SCHEDULER_INTERVAL of 60 s, four minutes.
MISSED_RUNS = 3
GRACE = timedelta(minutes=1)


@dataclass(frozen=True)
class SchedulerState:
    stale: bool
    last_run_at: datetime | None  # the least recent of the periodic tasks' last runs; None: never ran
    stale_after: timedelta  # the longest tolerated gap, from the schedule's intervals


def _interval(schedule) -> timedelta:
    if isinstance(schedule, timedelta):
        return schedule
    if isinstance(schedule, int | float):
        return timedelta(seconds=schedule)
    return schedule.run_every  # a celery.schedules.schedule


def scheduler_state(*, now: datetime | None = None) -> SchedulerState:
    """Whether every task in the beat schedule (CELERY_BEAT_SCHEDULE) ran recently: within
    ``MISSED_RUNS`` × its interval + ``GRACE`` of ``now``. One query."""
    now = now or timezone.now()
    limits = {
        entry["task"]: _interval(entry["schedule"]) * MISSED_RUNS + GRACE
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    runs = dict(SchedulerHeartbeat.objects.filter(task__in=limits).values_list("task", "last_run_at"))
    stale = any(runs.get(task) is None or now - runs[task] > limit for task, limit in limits.items())
    last = None if len(runs) < len(limits) else min(runs.values(), default=None)
    return SchedulerState(stale=stale, last_run_at=last, stale_after=max(limits.values(), default=GRACE))
