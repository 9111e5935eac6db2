from celery import shared_task

from .services import cycles_advance_due


@shared_task(name="budgets.tasks.cycles_advance_due", acks_late=True)
def cycles_advance_due_task() -> int:
    """Beat, every minute: move cycles whose scheduled dates have passed. Idempotent: a cycle
    already moved is not moved again (the service returns early at its target)."""
    return len(cycles_advance_due())
