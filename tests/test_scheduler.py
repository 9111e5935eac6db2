"""The ``scheduler`` fixture: real beat and a real worker on a queue of their own move a cycle when
its scheduled time passes, with nothing else asking them to."""

from datetime import timedelta

import pytest
from django.utils import timezone

from budgets.models import Cycle
from core.models import AuditEvent, SchedulerHeartbeat
from tests.factories import CycleFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_beat_and_the_worker_open_ideas_when_the_time_comes(scheduler):
    assert scheduler.interval == 2.0
    assert scheduler.queue.startswith("pbtest-")
    cycle = CycleFactory(wards="A", ideas_open_at=timezone.now() + timedelta(seconds=3))
    assert Cycle.objects.get(pk=cycle.pk).phase == "draft"

    scheduler.wait_until(lambda: Cycle.objects.get(pk=cycle.pk).phase == "ideas", timeout=30)

    event = AuditEvent.objects.get(action="cycle.phase_changed", object_id=str(cycle.pk))
    assert (event.actor_type, event.reason) == ("system", "scheduled: ideas_open_at")
    assert event.occurred_at >= cycle.ideas_open_at
    # The worker reads only the fixture's queue, so beat sent there; and it keeps beating.
    assert "Sending due task advance-due-cycles" in scheduler.beat_log.read_text()
    first = SchedulerHeartbeat.objects.get(task="budgets.tasks.cycles_advance_due").last_run_at
    scheduler.wait_until(
        lambda: SchedulerHeartbeat.objects.get(task="budgets.tasks.cycles_advance_due").last_run_at > first,
        timeout=15,
    )
