"""The periodic task that moves cycles whose scheduled dates have passed."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings

from budgets.phases import Phase
from budgets.tasks import cycles_advance_due_task
from core.models import AuditEvent
from pbplatform.celery import app
from tests.factories import CycleFactory

from .helpers import cycle_events

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("clean_transitions")]

NOW = datetime(2026, 9, 1, 13, 0, tzinfo=UTC)


def test_beat_schedules_the_registered_task():
    name = cycles_advance_due_task.name
    assert name == "budgets.tasks.cycles_advance_due"
    assert name in app.tasks
    assert name in {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


def test_the_task_moves_due_cycles_in_process():
    due = CycleFactory(
        phase=Phase.DRAFT,
        wards="A",
        ideas_open_at=NOW - timedelta(days=2),
        vetting_open_at=NOW - timedelta(days=1),
        voting_open_at=NOW + timedelta(days=1),
    )
    later = CycleFactory(phase=Phase.DRAFT, wards="A", ideas_open_at=NOW + timedelta(hours=1))
    with time_machine.travel(NOW, tick=False):
        result = cycles_advance_due_task.apply()
        assert result.successful()
        assert result.get() == 2  # draft → ideas → vetting
        due.refresh_from_db()
        later.refresh_from_db()
        assert (due.phase, later.phase) == (Phase.VETTING, Phase.DRAFT)
        events = list(cycle_events(due))
        assert [e.after["phase"] for e in events] == ["ideas", "vetting"]
        assert {e.actor_type for e in events} == {AuditEvent.ActorType.SYSTEM}

        again = cycles_advance_due_task.apply()
        assert again.get() == 0
        assert cycle_events(due).count() == 2


def test_the_task_with_nothing_due():
    CycleFactory(phase=Phase.IDEAS, wards="A")
    with time_machine.travel(NOW, tick=False):
        assert cycles_advance_due_task.apply().get() == 0
    assert not AuditEvent.objects.filter(action="cycle.phase_changed").exists()
