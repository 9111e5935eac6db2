"""Small helpers shared by the budgets tests."""

from core.models import AuditEvent


def cycle_events(cycle, action="cycle.phase_changed"):
    """The audit events of one action on one cycle, oldest first."""
    return AuditEvent.objects.filter(object_type="cycle", object_id=str(cycle.pk), action=action).order_by("id")
