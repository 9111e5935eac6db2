"""Fixtures for cross-app flows: a real Chromium (Debian's, never a downloaded one) and a real
Celery worker process."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.db import connection

from core.models import SchedulerHeartbeat

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("PB_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# Every page a browser test opens runs under the content security policy; a violation fails the test.
# The page reports each ``securitypolicyviolation`` event to Python through a binding (Playwright's
# init scripts and bindings are not subject to the page's policy), and Chromium's console message
# ("Refused to ...") is caught too, for documents where no script runs.
CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__pbCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""
CSP_VIOLATIONS: list[str] = []


def _is_csp_message(text: str) -> bool:
    return text.startswith("Refused to") or "Content Security Policy" in text


def csp_guard(context):
    """Collect the policy violations of every page of ``context`` into ``CSP_VIOLATIONS``."""
    context.expose_binding(
        "__pbCspViolation", lambda source, text: CSP_VIOLATIONS.append(f"{source['page'].url}: {text}")
    )
    context.add_init_script(CSP_REPORTER)
    context.on(
        "console",
        lambda message: (
            CSP_VIOLATIONS.append(f"{message.page.url if message.page else ''}: {message.text}")
            if _is_csp_message(message.text)
            else None
        ),
    )
    return context


class GuardedBrowser:
    """The Playwright browser, every new context guarded by ``csp_guard``."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **kwargs):
        return csp_guard(self._browser.new_context(**kwargs))

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(autouse=True)
def _no_csp_violations(request):
    """A browser test fails if any page it opened reported a content security policy violation."""
    if "browser" not in request.keywords:
        yield
        return
    CSP_VIOLATIONS.clear()
    yield
    found, CSP_VIOLATIONS[:] = list(CSP_VIOLATIONS), []
    assert not found, "content security policy violations:\n" + "\n".join(found)


@pytest.fixture(scope="session")
def browser():
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"Chromium not found at {CHROMIUM}: CI must install Debian's chromium")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are ordinary synchronous code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield GuardedBrowser(browser)
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 1024, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def worker_database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


@pytest.fixture
def worker(tmp_path):
    """Start `celery worker` on a queue of its own, with the test settings and the test database;
    its mail goes to files in ``tmp_path / "mail"``. Yields (queue, process, mail_dir)."""
    queue = f"pbtest-{uuid.uuid4().hex[:8]}"
    mail_dir = tmp_path / "mail"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": worker_database_url(),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(mail_dir),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "pbplatform",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    from pbplatform.celery import app as celery_app

    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False  # publish to the real broker for this test
    try:
        yield queue, proc, mail_dir
    finally:
        celery_app.conf.task_always_eager = eager
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@dataclass
class Scheduler:
    """What the ``scheduler`` fixture yields: the queue beat and the worker share, both processes,
    their log files, the folder the worker's mail goes to, and beat's interval for
    advance-due-cycles (seconds)."""

    queue: str
    worker: subprocess.Popen
    beat: subprocess.Popen
    worker_log: Path
    beat_log: Path
    mail_dir: Path
    interval: float

    def logs(self) -> str:
        return f"--- worker ---\n{self.worker_log.read_text()}\n--- beat ---\n{self.beat_log.read_text()}"

    def wait_until(self, check, timeout: float = 60.0):
        """Poll ``check()`` until it returns something truthy (returned), failing the test after
        ``timeout`` seconds or as soon as the worker or beat dies (with their logs)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = check()
            if result:
                return result
            for proc in (self.worker, self.beat):
                assert proc.poll() is None, f"a scheduler process died:\n{self.logs()}"
            time.sleep(0.2)
        pytest.fail(f"timed out after {timeout} s:\n{self.logs()}")


@pytest.fixture
def scheduler(tmp_path, transactional_db):
    """A real Celery worker and Celery beat, as production runs them: two processes with the test
    settings and the test database (PostgreSQL), sending and running the production beat schedule
    (CELERY_BEAT_SCHEDULE), with advance-due-cycles every ``PB_SCHEDULER_INTERVAL`` = 2 s.

    Beat sends to, and the worker reads from, a queue of their own (``PB_CELERY_QUEUE``), so parallel
    test runs on one broker never take each other's tasks. Tasks this test process publishes (the
    live server's notifications, for instance) still run in-process (eager), as in every test.

    Yields a ``Scheduler`` once beat has sent advance-due-cycles and the worker has run it (its
    heartbeat is in the database): a phase whose scheduled time passes is then moved within about
    one interval. Mail the worker sends goes to files in ``scheduler.mail_dir``. Both processes
    are stopped afterwards. Needs committed data (a transactional test, e.g. with ``live_server``)."""
    queue = f"pbtest-{uuid.uuid4().hex[:8]}"
    interval = 2.0
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": worker_database_url(),
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "DJANGO_EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "PB_CELERY_QUEUE": queue,
        "PB_SCHEDULER_INTERVAL": str(interval),
    }
    celery = [sys.executable, "-m", "celery", "-A", "pbplatform"]
    worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
    commands = {
        worker_log: [
            *celery,
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
        beat_log: [*celery, "beat", "--loglevel", "INFO", "--schedule", str(tmp_path / "celerybeat-schedule")],
    }
    procs = []
    for log, command in commands.items():
        with log.open("w") as out:
            procs.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT))
    running = Scheduler(queue, procs[0], procs[1], worker_log, beat_log, tmp_path / "mail", interval)
    try:
        running.wait_until(
            lambda: SchedulerHeartbeat.objects.filter(task="budgets.tasks.cycles_advance_due").exists(), timeout=60
        )
        yield running
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
