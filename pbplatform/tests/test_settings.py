"""Settings per environment, checked in fresh interpreters (settings are read once per process)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "pbplatform.settings.production",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),  # 80 random characters
    "DJANGO_ALLOWED_HOSTS": "pb.example.org",
    "DATABASE_URL": "sqlite:////tmp/x.sqlite3",
    "REDIS_URL": "",
}

DUMP_SETTINGS = """
import json
import django
from django.conf import settings
django.setup()
from pbplatform.celery import app
print(json.dumps({
    "eager": settings.CELERY_TASK_ALWAYS_EAGER,
    "celery_eager": app.conf.task_always_eager,
    "broker": settings.CELERY_BROKER_URL,
    "broker_options": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
    "beat": settings.CELERY_BEAT_SCHEDULE,
    "cache": settings.CACHES["default"],
    "session_engine": settings.SESSION_ENGINE,
    "debug": settings.DEBUG,
}))
"""


def _run(args: list[str], env: dict[str, str], *, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    # Start from this process's environment without anything the settings read, so the test run's
    # own DATABASE_URL / REDIS_URL (PostgreSQL runs) cannot leak in.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "PB_")) and k not in ("DATABASE_URL", "REDIS_URL")
    }
    full = {**base, **env}
    for name in drop:
        full.pop(name, None)
    return subprocess.run(
        [sys.executable, *args], cwd=BASE_DIR, env=full, capture_output=True, text=True, timeout=60, check=False
    )


def _settings(**env) -> dict:
    result = _run(["-c", DUMP_SETTINGS], {"DJANGO_SETTINGS_MODULE": "pbplatform.settings.local", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_passes_the_deploy_check():
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"])
def test_production_refuses_to_start_without(missing):
    result = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, drop=(missing,))

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"{missing} must be set in production" in result.stderr


def test_with_redis_celery_queues_and_the_cache_fails_soft():
    values = _settings(REDIS_URL="redis://127.0.0.1:6379/0")

    assert values["eager"] is False
    assert values["celery_eager"] is False
    assert values["broker"] == "redis://127.0.0.1:6379/0"
    cache = values["cache"]
    assert cache["BACKEND"] == "django_redis.cache.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/0"
    options = cache["OPTIONS"]
    assert options["IGNORE_EXCEPTIONS"] is True
    assert 0 < options["SOCKET_CONNECT_TIMEOUT"] <= 1
    assert 0 < options["SOCKET_TIMEOUT"] <= 1


def test_without_redis_tasks_are_queued_to_the_embedded_broker_and_the_cache_is_local(tmp_path):
    values = _settings(PB_VAR_DIR=str(tmp_path))

    # Queued for a real worker (`make run` starts one), not run in-process.
    assert values["eager"] is False
    assert values["celery_eager"] is False
    assert values["broker"] == "filesystem://localhost/"
    options = values["broker_options"]
    assert options["data_folder_in"] == options["data_folder_out"] == str(tmp_path / "celery" / "messages")
    assert options["control_folder"] == str(tmp_path / "celery" / "control")
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_the_scheduler_interval_comes_from_the_environment():
    assert _settings()["beat"]["advance-due-cycles"]["schedule"] == 60.0
    assert _settings(PB_SCHEDULER_INTERVAL="2.5")["beat"]["advance-due-cycles"]["schedule"] == 2.5


def test_sessions_are_in_the_database():
    # The vote path must need only PostgreSQL: not the cache, even with Redis.
    assert _settings(REDIS_URL="redis://127.0.0.1:6379/0")["session_engine"] == "django.contrib.sessions.backends.db"
