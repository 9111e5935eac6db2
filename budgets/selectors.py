"""Reads for pages and the API. Public lists show only cycles whose phase is public."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, QuerySet, Sum

from core.models import AuditEvent

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


@dataclass(frozen=True)
class TimelineEntry:
    phase: Phase
    scheduled_at: datetime | None  # when the phase is scheduled to begin
    entered_at: datetime | None  # when the cycle actually entered it
    state: str  # "past" | "current" | "future"


def cycle_timeline(cycle: Cycle) -> list[TimelineEntry]:
    """Every phase with its scheduled start and, for phases reached, when it actually began."""
    scheduled = {t.target: getattr(cycle, t.scheduled_field) for t in TRANSITIONS.values() if t.scheduled_field}
    entered: dict[str, datetime] = {}
    for after, at in AuditEvent.objects.filter(
        object_type="cycle", object_id=str(cycle.pk), action="cycle.phase_changed"
    ).values_list("after", "occurred_at"):
        entered[after.get("phase")] = at
    current = phase_index(cycle.phase)
    entries = []
    for index, phase in enumerate(PHASE_ORDER):
        state = "past" if index < current else "current" if index == current else "future"
        entries.append(TimelineEntry(phase, scheduled.get(phase), entered.get(phase.value), state))
    return entries
