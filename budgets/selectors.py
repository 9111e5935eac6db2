"""Reads for pages and the API. Public lists show only cycles whose phase is public."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Prefetch, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from core.errors import GuardFailed
from core.models import AuditEvent
from core.selectors import scheduler_state

from .models import Cycle, District
from .phases import CAPABILITIES, PHASE_ORDER, TRANSITIONS, Capability, Phase, phase_index

PUBLIC_PHASES = [p.value for p in PHASE_ORDER if Capability.PUBLIC in CAPABILITIES[p]]


def cycle_list_public() -> QuerySet[Cycle]:
    return (
        Cycle.objects.filter(phase__in=PUBLIC_PHASES)
        .prefetch_related(Prefetch("districts", queryset=District.objects.order_by("kind", "code")))
        .annotate(total_budget=Sum("districts__budget"))
        .order_by("-created_at", "id")
    )


def cycle_list_staff() -> QuerySet[Cycle]:
    return (
        Cycle.objects.prefetch_related(Prefetch("districts", queryset=District.objects.order_by("kind", "code")))
        .annotate(total_budget=Sum("districts__budget"))
        .order_by("-created_at", "id")
    )


def cycle_get_public(slug: str) -> Cycle | None:
    return cycle_list_public().filter(slug=slug).first()


def cycle_get_staff(slug: str) -> Cycle | None:
    return cycle_list_staff().filter(slug=slug).first()


# For views (HTML and API): a missing cycle is a 404.
def cycle_get_public_or_404(slug: str) -> Cycle:
    cycle = cycle_get_public(slug)
    if cycle is None:
        raise Http404
    return cycle


def cycle_get_staff_or_404(slug: str) -> Cycle:
    cycle = cycle_get_staff(slug)
    if cycle is None:
        raise Http404
    return cycle


@dataclass(frozen=True)
class TimelineEntry:
    phase: Phase
    scheduled_at: datetime | None  # when the phase is scheduled to begin
    entered_at: datetime | None  # when the cycle actually entered it
    state: str  # "past" | "current" | "future"


def _entered_at(cycle_ids) -> dict[str, dict[str, datetime]]:
    """cycle id (as the audit log stores it) → phase → when the cycle entered it; one query."""
    entered: dict[str, dict[str, datetime]] = {}
    for object_id, after, at in (
        AuditEvent.objects.filter(
            object_type="cycle", object_id__in=[str(pk) for pk in cycle_ids], action="cycle.phase_changed"
        )
        .order_by("id")
        .values_list("object_id", "after", "occurred_at")
    ):
        entered.setdefault(object_id, {})[after.get("phase")] = at
    return entered


def cycle_timelines(cycles) -> dict[int, list[TimelineEntry]]:
    """``cycle_timeline`` for a list page: one audit query for all the cycles, not one each."""
    entered = _entered_at([cycle.pk for cycle in cycles])
    return {cycle.pk: cycle_timeline(cycle, entered=entered.get(str(cycle.pk), {})) for cycle in cycles}


def cycle_timeline(cycle: Cycle, *, entered: dict[str, datetime] | None = None) -> list[TimelineEntry]:
    """Every phase with its scheduled start and, for phases reached, when it actually began."""
    scheduled = {t.target: getattr(cycle, t.scheduled_field) for t in TRANSITIONS.values() if t.scheduled_field}
    if entered is None:
        entered = _entered_at([cycle.pk]).get(str(cycle.pk), {})
    current = phase_index(cycle.phase)
    entries = []
    for index, phase in enumerate(PHASE_ORDER):
        state = "past" if index < current else "current" if index == current else "future"
        entries.append(TimelineEntry(phase, scheduled.get(phase), entered.get(phase.value), state))
    return entries


def cycle_voting_window(cycle: Cycle) -> tuple[datetime | None, datetime | None]:
    """When voting actually opened and closed: the cycle's moves into and out of a phase that casts
    ballots, from the audit log (its first opening, its last closing). A cycle that has not got
    there yet (or never went through the phase machine) falls back on its schedule."""
    opened = closed = None
    casting = False
    for after, at in (
        AuditEvent.objects.filter(object_type="cycle", object_id=str(cycle.pk), action="cycle.phase_changed")
        .order_by("id")
        .values_list("after", "occurred_at")
    ):
        phase = (after or {}).get("phase")
        if phase not in Phase.values:
            continue
        was_casting, casting = casting, Capability.CAST_BALLOTS in CAPABILITIES[Phase(phase)]
        if casting and opened is None:
            opened = at
        elif was_casting and not casting:
            closed = at
    if casting:  # open now: it closes as scheduled
        closed = None
    return opened or cycle.voting_open_at, closed or cycle.voting_close_at


# --- the schedule, overdue --------------------------------------------------------------------------
# The scheduler runs every PB_SCHEDULER_INTERVAL (a minute by default): a boundary this far behind
# means it is not running, or that it ran and a guard refused the move.
OVERDUE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class ScheduleWarning:
    cycle: Cycle
    target: Phase  # the phase the cycle should have moved to
    due_at: datetime
    scheduler_running: bool  # the heartbeat is recent (core.selectors.scheduler_state)
    refusal: str  # why the move is refused now (a guard's message); "" when nothing refuses it


def _scheduled_transition(cycle: Cycle):
    return next((t for t in TRANSITIONS.values() if t.source == cycle.phase and t.scheduled_field and t.generic), None)


def _refusal(cycle: Cycle, transition) -> str:
    """The first guard's refusal, checked now (guards only read)."""
    for guard in transition.guards:
        try:
            guard(cycle=cycle)
        except GuardFailed as exc:
            return str(exc.message)
    return ""


def cycle_schedule_warnings(cycles, *, now: datetime | None = None) -> list[ScheduleWarning]:
    """The cycles whose next scheduled boundary passed more than ``OVERDUE_AFTER`` ago without the
    cycle moving, with whether the scheduler is running and, if so, what refuses the move. Reads
    the heartbeat once, and runs guards only for overdue cycles."""
    now = now or timezone.now()
    warnings = []
    running = None
    for cycle in cycles:
        transition = _scheduled_transition(cycle)
        due = getattr(cycle, transition.scheduled_field) if transition else None
        if due is None or now - due <= OVERDUE_AFTER:
            continue
        if running is None:
            running = not scheduler_state(now=now).stale
        refusal = _refusal(cycle, transition) if running else ""
        warnings.append(ScheduleWarning(cycle, transition.target, due, running, refusal))
    return warnings
