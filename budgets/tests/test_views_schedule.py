"""Officials are told when the schedule is overdue: the scheduler is not running, or it ran and a
guard refused the move (with the guard's reason). Rendered in the officials' area and on the cycle's
staff page, in the cycle's zone and the reader's language."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils.html import escape

from budgets.tasks import cycles_advance_due_task
from core.tasks import notifications_retry_unsent_task
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
DUE = datetime(2027, 1, 31, 20, 0, tzinfo=NEW_YORK)  # 8 p.m. Eastern; 01:00 UTC the next day

NOT_RUNNING_EN = "The scheduler is not running: the move to “Ideas” was due at Jan. 31, 2027, 8 p.m. (Eastern Time)."
NOT_RUNNING_ES = (
    "El programador de tareas no está en marcha: el paso a “Ideas” debía hacerse el "
    "31 de enero de 2027 a las 20:00 (hora oriental)."
)
REFUSED_EN = (
    "The scheduler is running, but it cannot make the move to “Voting” that was due at Jan. 31, 2027, 8 p.m. "
    "(Eastern Time): No district has projects to vote on."
)
REFUSED_ES = (
    "El programador de tareas está en marcha, pero no puede hacer el paso a “Votación” previsto para el "
    "31 de enero de 2027 a las 20:00 (hora oriental): Ningún distrito tiene proyectos para votar."
)


def _html(client, url, language="en") -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _beat_ran():
    """What beat and the worker do every interval: the periodic tasks run (and record it)."""
    cycles_advance_due_task.apply()
    notifications_retry_unsent_task.apply()


@pytest.fixture
def draft_overdue(time_machine):
    cycle = CycleFactory(name="Springfield PB", slug="springfield", wards="A", ideas_open_at=DUE)
    time_machine.move_to(DUE + timedelta(minutes=6), tick=False)
    return cycle


@pytest.mark.parametrize(("language", "expected"), [("en", NOT_RUNNING_EN), ("es", NOT_RUNNING_ES)])
def test_officials_are_told_the_scheduler_is_not_running(client, official, draft_overdue, language, expected):
    client.force_login(official)

    detail = _html(client, reverse("staff_cycle_detail", args=["springfield"]), language)
    listing = _html(client, reverse("staff_cycle_list"), language)

    assert escape(expected) in detail
    assert escape(expected) in listing
    # The officials' area names the cycle and links to it.
    assert f'<a href="{reverse("staff_cycle_detail", args=["springfield"])}">Springfield PB</a>: ' in listing
    assert draft_overdue.phase == "draft"


def test_the_warning_waits_five_minutes(client, official, time_machine):
    CycleFactory(slug="springfield", wards="A", ideas_open_at=DUE)
    time_machine.move_to(DUE + timedelta(minutes=4, seconds=59), tick=False)
    client.force_login(official)
    assert "The scheduler is not running" not in _html(client, reverse("staff_cycle_list"))

    time_machine.move_to(DUE + timedelta(minutes=5, seconds=1), tick=False)
    assert "The scheduler is not running" in _html(client, reverse("staff_cycle_list"))


def test_once_the_scheduler_runs_the_cycle_moves_and_the_warning_goes(client, official, draft_overdue):
    client.force_login(official)
    _beat_ran()

    draft_overdue.refresh_from_db()
    assert draft_overdue.phase == "ideas"
    for url in (reverse("staff_cycle_list"), reverse("staff_cycle_detail", args=["springfield"])):
        html = _html(client, url)
        assert "schedule-warning" not in html
        assert "The scheduler is" not in html


@pytest.mark.parametrize(("language", "expected"), [("en", REFUSED_EN), ("es", REFUSED_ES)])
def test_a_guard_refusal_is_said_as_such_with_its_reason(client, official, time_machine, language, expected):
    cycle = CycleFactory(
        slug="springfield", phase="vetting", wards="A", voting_open_at=DUE, voting_close_at=DUE + timedelta(days=7)
    )
    time_machine.move_to(DUE + timedelta(minutes=10), tick=False)
    _beat_ran()  # the scheduler tries: the ballot guard refuses (no projects)
    cycle.refresh_from_db()
    assert cycle.phase == "vetting"
    client.force_login(official)

    for url in (reverse("staff_cycle_list"), reverse("staff_cycle_detail", args=["springfield"])):
        html = _html(client, url, language)
        assert escape(expected) in html
        assert "))" not in html.split("schedule-warning")[1].split("</div>")[0]  # no parentheses within parentheses
        assert "not running" not in html
        assert "no está en marcha" not in html


def test_a_stale_heartbeat_is_not_running_even_when_a_guard_would_refuse(client, official, time_machine):
    CycleFactory(
        slug="springfield", phase="vetting", wards="A", voting_open_at=DUE, voting_close_at=DUE + timedelta(days=7)
    )
    time_machine.move_to(DUE + timedelta(minutes=1), tick=False)
    _beat_ran()
    time_machine.move_to(DUE + timedelta(minutes=10), tick=False)  # nothing ran for nine minutes
    client.force_login(official)

    html = _html(client, reverse("staff_cycle_detail", args=["springfield"]))
    assert escape("The scheduler is not running: the move to “Voting” was due at Jan. 31, 2027, 8 p.m.") in html
    assert "No district has projects" not in html


def test_vetting_staff_do_not_get_the_officials_warning(client, vetting_staff, draft_overdue):
    client.force_login(vetting_staff)
    assert "The scheduler is not running" not in _html(client, reverse("staff_cycle_list"))
