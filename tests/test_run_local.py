"""`make run`'s stack, started the way `make run` starts it (`manage.py run_local`), on a SQLite file
and the embedded broker, with no Redis anywhere: beat moves a cycle whose opening has passed, the
worker sends a queued e-mail, and Ctrl-C stops all three processes."""

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import ROOT

SEED = """
import threading
from datetime import timedelta
from django.db import transaction
from django.utils import timezone
from budgets.models import Cycle
from core.services import notification_queue
from tests.factories import CycleFactory, user_with_role

CycleFactory(slug="springfield", wards="A", ideas_open_at=timezone.now() - timedelta(seconds=1))
assert Cycle.objects.get(slug="springfield").phase == "draft"
voter = user_with_role("resident", email="nora@example.org")
with transaction.atomic():
    notification_queue(recipient=voter, kind="vote.confirmation", subject="Thank you for voting",
                       body="Your ballot was counted.", essential=True)
for thread in threading.enumerate():
    if thread.name.startswith("dispatch-"):
        thread.join(10)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _wait_for(check, timeout: float, proc, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        assert proc.poll() is None, f"run_local exited while waiting for {what}"
        time.sleep(0.3)
    pytest.fail(f"timed out waiting for {what}")


def _phase(db_path) -> str | None:
    with sqlite3.connect(db_path, timeout=20) as db:
        row = db.execute("SELECT phase FROM budgets_cycle WHERE slug = 'springfield'").fetchone()
    return row[0] if row else None


def _healthz(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return json.loads(response.read())
    except OSError:
        return None


def test_run_local_runs_the_schedule_and_the_outbox_on_the_embedded_broker_and_stops_cleanly(tmp_path):
    db_path = tmp_path / "db.sqlite3"
    mail_dir = tmp_path / "mail"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PB_", "CELERY"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)  # no Redis: the embedded broker
    env.update(
        DJANGO_SETTINGS_MODULE="pbplatform.settings.local",
        DATABASE_URL=f"sqlite:///{db_path}",
        PB_VAR_DIR=str(tmp_path / "var"),
        PB_SCHEDULER_INTERVAL="1",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        DJANGO_EMAIL_FILE_PATH=str(mail_dir),
    )
    manage = [sys.executable, "manage.py"]
    for step in (["migrate", "--noinput"], ["shell", "-c", SEED]):
        done = subprocess.run([*manage, *step], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
    assert _phase(db_path) == "draft"
    assert not mail_dir.exists()  # nothing was sent in-process: the e-mail waits in the broker

    port = _free_port()
    log = tmp_path / "run_local.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*manage, "run_local", "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        health = _wait_for(lambda: _healthz(port), 40, proc, "the web server")
        assert health["database"] == "ok"

        assert _wait_for(lambda: _phase(db_path) == "ideas", 40, proc, "the scheduler to open ideas")
        sent = _wait_for(
            lambda: "".join(p.read_text() for p in mail_dir.glob("*.log")) if mail_dir.exists() else "",
            40,
            proc,
            "the worker to send the e-mail",
        )
        assert "Subject: Thank you for voting" in sent
        assert "To: nora@example.org" in sent
        assert _wait_for(lambda: (_healthz(port) or {}).get("scheduler") == "ok", 30, proc, "a fresh heartbeat")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # Ctrl-C
        code = proc.wait(timeout=40)
    output = log.read_text()
    assert code == 0, output
    pids = [int(pid) for pid in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 3, output  # server, worker, beat
    assert not [pid for pid in pids if _alive(pid)], output
    assert "all stopped." in output
    # The move was the scheduler's (the system), not a person's.
    with sqlite3.connect(db_path) as db:
        actor, reason = db.execute(
            "SELECT actor_type, reason FROM core_auditevent WHERE action = 'cycle.phase_changed'"
        ).fetchone()
    assert (actor, reason) == ("system", "scheduled: ideas_open_at")
    assert "No hostname was supplied" not in output


def test_run_local_reports_a_worker_that_dies_and_stops_the_others(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PB_", "CELERY"))}
    env.pop("REDIS_URL", None)
    env.update(
        DJANGO_SETTINGS_MODULE="pbplatform.settings.local",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        PB_VAR_DIR=str(tmp_path / "var"),
    )
    log = tmp_path / "run_local.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "manage.py", "run_local", "--port", str(_free_port())],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        worker = _wait_for(
            lambda: re.search(r"started the Celery worker \(pid (\d+)\)", log.read_text()), 30, proc, "the worker"
        )
        pid = int(worker.group(1))
        _wait_for(lambda: "ready." in log.read_text(), 40, proc, "the worker to be ready")
        os.kill(pid, signal.SIGKILL)  # a crash
        code = proc.wait(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert code != 0
    assert "the Celery worker stopped by itself (exit code -9); stopping the others." in output
    pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", output)]
    assert len(pids) == 3
    assert not [p for p in pids if _alive(p)], output


def test_make_run_starts_run_local_on_the_port_it_is_given():
    def commands(*args):
        dry = subprocess.run(["make", "-n", "run", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
        assert dry.returncode == 0, dry.stderr
        return [line for line in dry.stdout.splitlines() if "manage.py" in line]

    assert [line.split("manage.py ", 1)[1] for line in commands("PORT=8001")] == [
        "migrate --noinput",
        "load_demo --phase ideas",
        "run_local --port 8001",
    ]
    assert commands()[-1].endswith("manage.py run_local --port 8000")
