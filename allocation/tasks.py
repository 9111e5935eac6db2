from celery import shared_task

from budgets.models import Cycle

# ``tally`` dispatches this task after commit: a service and its own Celery task, the one circle allowed.
from .services import tally


@shared_task(name="allocation.tasks.tally_cycle", acks_late=True)
def tally_cycle_task(cycle_id: int, rules: list[str] | None = None) -> list[int]:
    """Run the cycle's tally (each district's declared rule, or ``rules`` for a comparison).
    Idempotent: runs are keyed by (district, rule, parameters, input hash), so a redelivered task
    finds them done and computes nothing twice."""
    return [run.pk for run in tally.tally_cycle(cycle=Cycle.objects.get(pk=cycle_id), rules=rules)]
