"""`make run`: the development server, a Celery worker and Celery beat, started and stopped together.

The worker and beat are the production ones (same tasks, same CELERY_BEAT_SCHEDULE); without
REDIS_URL they use the embedded broker, files under PB_VAR_DIR (README, "The embedded default").
Each child runs in a process group of its own, so Ctrl-C reaches this command only, which stops
the children in order and waits for them. A child that dies by itself is reported and the others
are stopped: a platform without its worker must not look as if it were running.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

STOP_TIMEOUT = 20  # seconds a child has to finish its work (a worker's warm shutdown) before it is killed
NAMES = {"server": "the web server", "worker": "the Celery worker", "beat": "Celery beat"}


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat together; Ctrl-C stops all three."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host, port, **options):
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._relays = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)
        children = {}
        try:
            for name, command in self._commands(host, port).items():
                children[name] = self._start(name, command)
            failed = self._watch(children)
        finally:
            self._stop(children)
        if failed:
            name, code = failed
            raise CommandError(f"{NAMES[name]} stopped by itself (exit code {code}); the others were stopped too.")
        self._say("main", "all stopped.")

    def _commands(self, host: str, port: int) -> dict[str, list[str]]:
        manage = str(Path(settings.BASE_DIR) / "manage.py")
        celery = [sys.executable, "-m", "celery", "-A", "pbplatform"]
        beat_file = Path(settings.PB_VAR_DIR) / "celerybeat-schedule"
        beat_file.parent.mkdir(parents=True, exist_ok=True)
        return {
            # No autoreloader: it would run the server in a grandchild that outlives a stop.
            "server": [sys.executable, manage, "runserver", f"{host}:{port}", "--noreload"],
            # Gossip, mingle and heartbeats are for several workers watching each other: one here.
            "worker": [
                *celery,
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            "beat": [*celery, "beat", "--loglevel", "INFO", "--schedule", str(beat_file)],
        }

    def _start(self, name: str, command: list[str]) -> subprocess.Popen:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"]}
        proc = subprocess.Popen(
            command,
            cwd=settings.BASE_DIR,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # Ctrl-C goes to this command, which stops the children in order
        )
        self._say("main", f"started {NAMES[name]} (pid {proc.pid}).")
        relay = threading.Thread(target=self._relay, args=(name, proc), daemon=True)
        relay.start()
        self._relays.append(relay)
        return proc

    def _relay(self, name: str, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            self._say(name, line.rstrip("\n"))

    def _say(self, name: str, line: str) -> None:
        with self._lock:
            self.stdout.write(f"{name:>6} | {line}")
            self.stdout.flush()

    def _on_signal(self, signum, frame):
        self._stopping.set()

    def _watch(self, children: dict[str, subprocess.Popen]) -> tuple[str, int] | None:
        """Until a signal: None. A child that exits first: (its name, its exit code)."""
        while not self._stopping.wait(0.5):
            for name, proc in children.items():
                code = proc.poll()
                if code is not None:
                    self._say("main", f"{NAMES[name]} stopped by itself (exit code {code}); stopping the others.")
                    return name, code
        self._say("main", "stopping…")
        return None

    def _stop(self, children: dict[str, subprocess.Popen]) -> None:
        # Signalled in this order: beat (no new tasks), the server, the worker (a warm shutdown: it
        # finishes the task it holds); then each is waited for, within one shared deadline.
        order = [name for name in ("beat", "server", "worker") if name in children]
        for name in order:
            proc = children[name]
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        for name in order:
            proc = children[name]
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self._say("main", f"{NAMES[name]} did not stop within {STOP_TIMEOUT} s; killed.")
                _signal_group(proc, signal.SIGKILL)
                proc.wait()
        for relay in self._relays:  # the children's last lines before ours
            relay.join(timeout=2)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.killpg(proc.pid, sig)
