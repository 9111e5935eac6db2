"""Notifications through a real Celery worker on Redis: delivered when the broker is up; when it is
unreachable the change still commits, and the outbox row is delivered once Redis is back."""

import os
import subprocess
import sys
import time

import pytest

from core.models import Notification
from core.tasks import notifications_retry_unsent_task
from pbplatform.celery import app as celery_app
from proposals import services
from tests.conftest import ROOT, worker_database_url
from tests.factories import CycleFactory

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _wait(predicate, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc.poll() is not None:
            pytest.fail(f"worker exited early:\n{proc.stdout.read()}")
        time.sleep(0.2)
    return False


def _submit(resident, cycle, title):
    return services.idea_submit(
        actor=resident,
        cycle=cycle,
        data=services.IdeaInput(
            title=title, description="Shade for the playground.", district=cycle.districts.first(), address="1 Main St"
        ),
    )


@pytest.fixture
def worker_queue(worker):
    """Route this test's tasks to the test worker's own queue."""
    queue, proc, mail_dir = worker
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield queue, proc, mail_dir
    celery_app.conf.task_default_queue = previous


def test_notification_delivered_by_the_worker(worker_queue, resident):
    _queue, proc, mail_dir = worker_queue
    cycle = CycleFactory(ideas=True)
    _submit(resident, cycle, "Trees on Grand Street")
    notification = Notification.objects.get(kind="idea.received")
    assert _wait(lambda: Notification.objects.get(pk=notification.pk).sent_at is not None, proc)
    sent = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert "Trees on Grand Street" in sent and resident.email in sent


SUBMIT_SCRIPT = """
import time, django
django.setup()
from accounts.models import User
from budgets.models import Cycle
from proposals import services
cycle = Cycle.objects.get(pk={cycle})
started = time.monotonic()
services.idea_submit(actor=User.objects.get(pk={user}), cycle=cycle, data=services.IdeaInput(
    title="Benches at bus stops", description="Rest for older riders.", district=cycle.districts.first(),
    address="1 Main St"))
print(round(time.monotonic() - started, 3))
# An app server lives on: let the background publish finish (and fail) before this process ends.
import threading
for thread in threading.enumerate():
    if thread.name.startswith("dispatch-"):
        thread.join(10)
"""


def test_unreachable_broker_delays_but_loses_nothing(worker_queue, resident):
    """An app server whose Redis is unreachable (nothing listens on port 1) still commits the idea
    and its outbox row; once a worker can reach Redis, the periodic retry delivers it."""
    queue, proc, mail_dir = worker_queue
    cycle = CycleFactory(ideas=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "PB_CELERY_EAGER": "false",  # an app server: publish to the (unreachable) broker
    }
    out = subprocess.run(
        [sys.executable, "-c", SUBMIT_SCRIPT.format(cycle=cycle.pk, user=resident.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip().splitlines()[-1]) < 5  # the broker error did not stall the request
    assert "not dispatched" in out.stderr
    notification = Notification.objects.get(kind="idea.received")
    assert notification.sent_at is None  # not lost: waiting in the outbox

    # Redis is reachable again: the periodic retry (sent here instead of waiting for beat) delivers it.
    notifications_retry_unsent_task.apply_async(kwargs={"older_than_seconds": 0}, queue=queue)
    assert _wait(lambda: Notification.objects.get(pk=notification.pk).sent_at is not None, proc)
    assert "Benches at bus stops" in "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert Notification.objects.get(pk=notification.pk).attempts == 1
