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

    def returned(self, sent: list[str], timeout: float = 60) -> list[str]:
        """What the worker returned for each task in ``sent`` (ids, in the order sent), once its log
        shows every one of them run. A log redacted as the web process's is (ids as [redacted-id])
        still counts, in order."""
        done = re.compile(rf"Task {re.escape(cycles_advance_due_task.name)}\[(.+?)\] succeeded in \S+s: (.*)")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = [match.groups() for line in list(self.lines) if (match := done.search(line))]
            if len(runs) >= len(sent):
                assert len(runs) == len(sent), f"the worker ran tasks this test did not send: {runs}"
                logged = [task_id for task_id, _ in runs]
                assert all(seen in (task_id, "[redacted-id]") for seen, task_id in zip(logged, sent, strict=True)), runs
                return [value.strip() for _, value in runs]
            if self.proc.poll() is not None:
                time.sleep(0.5)  # the rest of its output
                pytest.fail("the worker exited early:\n" + "".join(self.lines))
            time.sleep(0.2)
        pytest.fail(f"the worker did not run tasks {sent} within {timeout} s:\n" + "".join(self.lines))


def test_worker_advances_a_cycle_whose_date_passed(worker):
    queue, proc, _mail = worker
    log = WorkerLog(proc)
    cycle = CycleFactory(ideas=True, vetting_open_at=timezone.now() - timedelta(minutes=5))
    sent = cycles_advance_due_task.apply_async(queue=queue)

    assert log.returned([sent.id]) == ["1"]  # the worker moved one cycle
    cycle.refresh_from_db()
    assert cycle.phase == Phase.VETTING
    event = AuditEvent.objects.get(action="cycle.phase_changed", object_id=str(cycle.pk))
    assert event.actor_type == "system"
    assert event.after == {"phase": "vetting"}

    # Redelivery is harmless: the same task again, run by the worker, changes nothing.
    again = cycles_advance_due_task.apply_async(queue=queue)
    assert again.id != sent.id
    assert log.returned([sent.id, again.id]) == ["1", "0"]
    assert Cycle.objects.get(pk=cycle.pk).phase == Phase.VETTING
    assert AuditEvent.objects.filter(action="cycle.phase_changed", object_id=str(cycle.pk)).count() == 1
