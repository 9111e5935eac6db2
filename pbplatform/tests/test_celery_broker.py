"""Without Redis, a task run leaves no kombu warning behind: the broker URL names its host (kombu
warns "No hostname was supplied" about one that does not), in-process (tests) and queued (`make run`)."""

import os
import re
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent.parent

RUN_TASKS = """
import logging, warnings
warnings.simplefilter("always")
logging.basicConfig(level=logging.DEBUG)
import django
django.setup()
from celery.result import EagerResult
from core.tasks import notifications_retry_unsent_task
result = notifications_retry_unsent_task.delay(older_than_seconds=0)
print(f"eager {result.get()}" if isinstance(result, EagerResult) else "queued")
"""

# A logged warning ("… WARNING kombu…", "WARNING:py.warnings:…"), not a setting's name that contains the word.
WARNING_LINE = re.compile(r"\bWARNING\b")


def _run(settings_module: str, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PB_", "CELERY"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PB_VAR_DIR=str(tmp_path / "var"),
    )
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    return subprocess.run(
        [sys.executable, "-c", RUN_TASKS], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )


def test_an_in_process_task_logs_no_kombu_hostname_warning(tmp_path):
    run = _run("pbplatform.settings.test", tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "eager 0"  # it really ran, here
    assert "succeeded" in run.stderr  # the log was captured (celery's own line for the task)
    assert "No hostname was supplied" not in run.stderr
    assert not WARNING_LINE.search(run.stderr), run.stderr  # no warning of any kind


def test_a_task_queued_to_the_embedded_broker_logs_no_kombu_hostname_warning(tmp_path):
    run = _run("pbplatform.settings.local", tmp_path)

    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "queued"
    messages = list((tmp_path / "var" / "celery" / "messages").glob("*.msg"))
    assert len(messages) == 1  # waiting for the worker (`make run` starts one)
    assert "notifications_retry_unsent" in messages[0].read_text()
    assert "No hostname was supplied" not in run.stderr
    assert not WARNING_LINE.search(run.stderr), run.stderr  # no warning of any kind
