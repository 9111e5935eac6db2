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
    "cache": settings.CACHES["default"],
    "session_engine": settings.SESSION_ENGINE,
    "debug": settings.DEBUG,
}))
"""


def _run(args: list[str], env: dict[str, str], *, drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    # Start from this process's environment without anything the settings read, so the test run's
    # own DATABASE_URL / REDIS_URL (PostgreSQL runs) cannot leak in.
    base = {
        k: v for k, v in os.environ.items() if not k.startswith("DJANGO_") and k not in ("DATABASE_URL", "REDIS_URL")
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


def test_without_redis_tasks_run_in_process_and_the_cache_is_local():
    values = _settings()

    assert values["eager"] is True
    assert values["celery_eager"] is True
    assert values["broker"] == "memory://"
    assert values["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_sessions_are_in_the_database():
    # The vote path must need only PostgreSQL: not the cache, even with Redis.
    assert _settings(REDIS_URL="redis://127.0.0.1:6379/0")["session_engine"] == "django.contrib.sessions.backends.db"
