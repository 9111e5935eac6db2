"""A real Celery worker process, on Redis, runs a task against the test database."""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from budgets.models import Cycle
from budgets.phases import Phase
from budgets.tasks import cycles_advance_due_task
from core.models import AuditEvent
from tests.factories import CycleFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent


def _test_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker():
    """Start `celery worker` on a queue of its own, with the test settings and the test database."""
    queue = f"pbtest-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": _test_database_url(),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "pbplatform", "worker", "--pool", "solo", "-Q", queue,
         "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    yield queue, proc
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_worker_advances_a_cycle_whose_date_passed(worker):
    queue, proc = worker
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
