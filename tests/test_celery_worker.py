"""A real Celery worker process, on Redis, runs a task against the test database. The worker's own
log names each task it ran (by the id this process gave it) and what it returned, so a task run in
this process instead (eagerly) or never run fails the test."""

import re
import threading
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


class WorkerLog:
    """The worker's output, read line by line on a thread of its own as the worker writes it."""

    def __init__(self, proc):
        self.proc = proc
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line)

    def succeeded(self, task_id: str, timeout: float = 60) -> str:
        """What the worker logged the task with id ``task_id`` returned, once it has run it."""
        task = re.escape(cycles_advance_due_task.name)
        done = re.compile(rf"Task {task}\[{re.escape(task_id)}\] succeeded in .*s: (.*)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := done.search(line):
                    return match.group(1).strip()
            if self.proc.poll() is not None:
                time.sleep(0.5)  # the rest of its output
                pytest.fail("the worker exited early:\n" + "".join(self.lines))
            time.sleep(0.2)
        pytest.fail(f"the worker did not run task {task_id} within {timeout} s:\n" + "".join(self.lines))


def test_worker_advances_a_cycle_whose_date_passed(worker):
    queue, proc, _mail = worker
    log = WorkerLog(proc)
    cycle = CycleFactory(ideas=True, vetting_open_at=timezone.now() - timedelta(minutes=5))
    sent = cycles_advance_due_task.apply_async(queue=queue)

    assert log.succeeded(sent.id) == "1"  # the worker moved one cycle
    cycle.refresh_from_db()
    assert cycle.phase == Phase.VETTING
    event = AuditEvent.objects.get(action="cycle.phase_changed", object_id=str(cycle.pk))
    assert event.actor_type == "system"
    assert event.after == {"phase": "vetting"}

    # Redelivery is harmless: the same task again, run by the worker, changes nothing.
    again = cycles_advance_due_task.apply_async(queue=queue)
    assert again.id != sent.id
    assert log.succeeded(again.id) == "0"
    assert Cycle.objects.get(pk=cycle.pk).phase == Phase.VETTING
    assert AuditEvent.objects.filter(action="cycle.phase_changed", object_id=str(cycle.pk)).count() == 1
