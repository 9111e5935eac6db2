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


@shared_task(name="budgets.tasks.tally_cycle", acks_late=True)
def tally_cycle_task(cycle_id: int, rules: list[str] | None = None) -> list[int]:
    """Run the cycle's tally (each district's declared rule, or ``rules`` for a comparison).
    Idempotent: runs are keyed by (district, rule, parameters, input hash), so a redelivered task
    finds them done and computes nothing twice."""
    from .models import Cycle
    from .tally import tally_cycle

    return [run.pk for run in tally_cycle(cycle=Cycle.objects.get(pk=cycle_id), rules=rules)]
