"""A real Celery worker process, on Redis, runs a task against the test database."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from budgets.models import Cycle
from budgets.phases import Phase
from budgets.tasks import cycles_advance_due_task
from core.models import AuditEvent
from tests.factories import CycleFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_worker_advances_a_cycle_whose_date_passed(worker):
    queue, proc, _mail = worker
    cycle = CycleFactory(ideas=True, vetting_open_at=timezone.now() - timedelta(minutes=5))
    cycles_advance_due_task.apply_async(queue=queue)

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cycle.refresh_from_db()
        if cycle.phase == Phase.VETTING:
            break
        if proc.poll() is not None:
            pytest.fail(f"worker exited early:\n{proc.stdout.read()}")
        time.sleep(0.2)
    assert cycle.phase == Phase.VETTING, "the worker did not run the task within 60 s"
    event = AuditEvent.objects.get(action="cycle.phase_changed", object_id=str(cycle.pk))
    assert event.actor_type == "system"
    assert event.after == {"phase": "vetting"}

    # Redelivery is harmless: the same task again changes nothing.
    cycles_advance_due_task.apply_async(queue=queue)
    time.sleep(1.0)
    assert Cycle.objects.get(pk=cycle.pk).phase == Phase.VETTING
    assert AuditEvent.objects.filter(action="cycle.phase_changed", object_id=str(cycle.pk)).count() == 1
