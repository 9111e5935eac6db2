from celery import shared_task

from core.services import scheduler_heartbeat_record

from .services import cycles_advance_due


@shared_task(name="budgets.tasks.cycles_advance_due", acks_late=True)
def cycles_advance_due_task() -> int:
    """Beat, every PB_SCHEDULER_INTERVAL seconds: move cycles whose scheduled dates have passed,
    then record the run (the scheduler's heartbeat). Idempotent: a cycle already moved is not moved
    again (the service returns early at its target)."""
    moved = len(cycles_advance_due())
    scheduler_heartbeat_record(task=cycles_advance_due_task.name)
    return moved
