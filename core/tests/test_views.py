"""/healthz: the database decides; a Redis outage or a stale scheduler is reported, never fatal."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from budgets.tasks import cycles_advance_due_task
from core.errors import ServiceUnavailable
from core.models import SchedulerHeartbeat
from core.tasks import notifications_retry_unsent_task
from core.tests.outage import database_down

BROKEN_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
    }
}


def test_healthz_reports_ok(client, db):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "cache": "ok",
        "scheduler": "stale",
        "scheduler_last_run_at": None,
    }
    assert "no-cache" in response["Cache-Control"]  # a load balancer must never see a cached answer
    assert cache.get("healthz") == "1"  # it really went through the cache


def test_healthz_with_redis_down_is_degraded_but_up_and_quick(client, db, settings):
    settings.CACHES = BROKEN_REDIS
    cache.set("probe", "1")
    assert cache.get("probe") is None  # the override took effect: writes are lost, not raised

    started = time.monotonic()
    response = client.get("/healthz")
    elapsed = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["cache"] == "degraded"
    assert elapsed < 2.0


def test_healthz_without_the_database_is_503(client, db, monkeypatch):
    class _BrokenConnection:
        def cursor(self):
            raise DatabaseError("connection refused")

    monkeypatch.setattr("core.views.connection", _BrokenConnection())
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "unavailable",
        "cache": "ok",
        "scheduler": "unknown",
        "scheduler_last_run_at": None,
    }


def _run_the_periodic_tasks():
    """What beat does: send every task of the schedule (the worker runs them; here, in-process)."""
    cycles_advance_due_task.apply()
    notifications_retry_unsent_task.apply()


def test_healthz_scheduler_is_fresh_once_the_periodic_tasks_ran(client, db):
    _run_the_periodic_tasks()

    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["scheduler"] == "ok"
    last = SchedulerHeartbeat.objects.order_by("last_run_at").first().last_run_at
    assert body["scheduler_last_run_at"] == last.isoformat().replace("+00:00", "Z")
    response = client.get("/healthz/scheduler")
    assert response.status_code == 200
    assert response.json() == {"scheduler": "ok", "scheduler_last_run_at": body["scheduler_last_run_at"]}


def test_healthz_reports_a_scheduler_that_missed_three_runs_and_a_minute_as_stale(client, db, time_machine):
    _run_the_periodic_tasks()
    # advance-due-cycles runs every 60 s: late after 3 × 60 s + 60 s.
    time_machine.move_to(timezone.now() + timedelta(minutes=4, seconds=-5), tick=False)
    notifications_retry_unsent_task.apply()  # the outbox drain still runs; the cycles task does not
    assert client.get("/healthz").json()["scheduler"] == "ok"

    time_machine.move_to(timezone.now() + timedelta(seconds=10), tick=False)
    notifications_retry_unsent_task.apply()
    response = client.get("/healthz")
    assert response.status_code == 200  # a load balancer keeps sending votes to this server
    assert response.json()["status"] == "ok"
    assert response.json()["scheduler"] == "stale"
    stale = client.get("/healthz/scheduler")
    assert stale.status_code == 503
    assert stale.json()["scheduler"] == "stale"


def test_healthz_scheduler_follows_the_configured_interval(client, db, settings, time_machine):
    schedule = {name: dict(entry) for name, entry in settings.CELERY_BEAT_SCHEDULE.items()}
    schedule["advance-due-cycles"]["schedule"] = 2.0  # PB_SCHEDULER_INTERVAL=2: late after 66 s
    settings.CELERY_BEAT_SCHEDULE = schedule
    _run_the_periodic_tasks()
    time_machine.move_to(timezone.now() + timedelta(seconds=70), tick=False)
    notifications_retry_unsent_task.apply()

    assert client.get("/healthz").json()["scheduler"] == "stale"
    assert client.get("/healthz/scheduler").status_code == 503


def test_a_scheduler_that_never_ran_is_stale(client, db):
    assert client.get("/healthz/scheduler").status_code == 503
    notifications_retry_unsent_task.apply()  # one periodic task is not the schedule
    assert client.get("/healthz/scheduler").json() == {"scheduler": "stale", "scheduler_last_run_at": None}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_healthz_only_answers_get(client, db, method):
    assert getattr(client, method)("/healthz").status_code == 405


@pytest.mark.parametrize("logged_in", [False, True])
def test_pages_during_a_database_outage_are_a_friendly_503(db, resident, logged_in):
    # Logged in, the session is read (from the database) before any view runs.
    client = Client(raise_request_exception=False)
    if logged_in:
        client.force_login(resident)
    with database_down():
        response = client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == str(ServiceUnavailable.retry_after)
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "<h1>Unavailable for a moment</h1>" in html
    assert "The site cannot reach its database right now. Please try again in a minute." in html
