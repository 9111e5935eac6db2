"""The "you voted" outbox under an evening rush: does the drain keep pace with the intake?

Intake: ``--rate`` confirmations a second (default 100) for ``--seconds`` (default 300), each
written by the real service (``core.services.notification_queue``, no dispatch, in its own
transaction, as the vote path does). Drain: a real Celery worker (prefork, ``--concurrency``) with
its embedded beat, so the periodic drain runs exactly as scheduled in production settings; mail
goes to Django's locmem backend (no SMTP server in the loop). Every second the script counts the
unsent rows.

Reports the largest backlog, the backlog when the intake ends, and how long after the end of the
intake the backlog was empty (target: within 60 s). Needs PostgreSQL and Redis on loopback:
    .venv/bin/python bench/outbox_drain.py [--rate 100] [--seconds 300] [--redis redis://127.0.0.1:6379/3]
It creates (and afterwards drops) the database ``pbplatform_bench_outbox``.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB = "pbplatform_bench_outbox"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
RECIPIENTS = 1000


def sh(*args, env=None):
    return subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, text=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=100, help="confirmations queued per second")
    parser.add_argument("--seconds", type=int, default=300, help="how long the intake lasts")
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/3")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "REDIS_URL": args.redis,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.local",
        "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
    }
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}")
    sh(PY, "manage.py", "migrate", "--noinput", env=env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.db import connection, transaction

    from accounts.models import User
    from core.models import Notification
    from core.services import notification_queue

    users = User.objects.bulk_create(
        [User(email=f"voter{i}@example.org", password="!", display_name=f"Voter {i}") for i in range(RECIPIENTS)]
    )
    sh("redis-cli", "-u", args.redis, "FLUSHDB")
    connection.close()

    schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
    worker = subprocess.Popen(
        [
            PY,
            "-m",
            "celery",
            "-A",
            "pbplatform",
            "worker",
            "-B",
            "-s",
            str(schedule),
            "--concurrency",
            str(args.concurrency),
            "--without-heartbeat",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    samples: list[tuple[float, int]] = []
    stop = threading.Event()
    started = time.monotonic()

    def monitor():
        while not stop.is_set():
            unsent = Notification.objects.filter(sent_at__isnull=True).count()
            samples.append((round(time.monotonic() - started, 1), unsent))
            stop.wait(1.0)
        connection.close()

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    total = args.rate * args.seconds
    late = 0
    try:
        for i in range(total):
            due = started + i / args.rate
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            elif pause < -1:
                late += 1
            with transaction.atomic():  # the ballot's transaction
                notification_queue(
                    recipient=users[i % RECIPIENTS],
                    kind="vote.confirmation",
                    subject="Thank you for voting",
                    body=f"Your ballot {i} has been recorded.",
                    essential=True,
                    dispatch=False,
                )
        intake_end = time.monotonic() - started
        at_end = Notification.objects.filter(sent_at__isnull=True).count()
        empty_at = None
        while time.monotonic() - started < intake_end + 300:
            if Notification.objects.filter(sent_at__isnull=True).count() == 0:
                empty_at = time.monotonic() - started
                break
            time.sleep(0.5)
    finally:
        stop.set()
        watcher.join(5)
        worker.terminate()
        worker.wait(30)
    sent = Notification.objects.filter(sent_at__isnull=False).count()
    attempts_over_one = Notification.objects.filter(attempts__gt=1).count()
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "rate": args.rate,
        "seconds": args.seconds,
        "queued": total,
        "intake_seconds": round(intake_end, 1),
        "intake_late_rows": late,
        "max_backlog": max(unsent for _t, unsent in samples),
        "backlog_at_end_of_intake": at_end,
        "empty_after_end_seconds": None if empty_at is None else round(empty_at - intake_end, 1),
        "sent": sent,
        "rows_with_more_than_one_attempt": attempts_over_one,
    }
    connection.close()
    if not args.keep:
        sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "outbox_drain.json").write_text(json.dumps({**result, "samples": samples}, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
