"""The embedded SQLite default under concurrent requests: refusals write nothing, so a flood of them
cannot lock the database, and concurrent writers (officials' audited actions) wait for each other
instead of failing with "database is locked".

Runs in a child process on a SQLite file made for the test (the test session's own database may be
PostgreSQL), with the settings a deployment without DATABASE_URL gets.
"""

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

SCRIPT = """
import json, threading, django
django.setup()
from django.db import connection
from django.test import Client
from budgets.services import DistrictInput, cycle_create
from core.models import AuditEvent
from core.selectors import audit_chain_verify_database
from tests.factories import user_with_role

ANONYMOUS, POSTS, WRITERS, ACTIONS = 12, 15, 4, 5
official = user_with_role("official")
start = AuditEvent.objects.count()
barrier = threading.Barrier(ANONYMOUS + WRITERS)
statuses, errors = [], []


def anonymous():
    client = Client(raise_request_exception=False)
    barrier.wait()
    try:
        for _ in range(POSTS):
            statuses.append(client.post("/staff/cycles/new/", {"name": "Take over"}).status_code)
    finally:
        connection.close()


def official_acts(n):
    barrier.wait()
    try:
        for i in range(ACTIONS):
            cycle_create(actor=official, name=f"Cycle {n}-{i}", slug=f"cycle-{n}-{i}",
                         districts=[DistrictInput(code="A", name="Ward A", budget=1000)])
    except Exception as exc:
        errors.append(repr(exc))
    finally:
        connection.close()


threads = [threading.Thread(target=anonymous) for _ in range(ANONYMOUS)]
threads += [threading.Thread(target=official_acts, args=(n,)) for n in range(WRITERS)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(120)
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal = cursor.fetchone()[0]
print(json.dumps({
    "statuses": sorted(set(statuses)), "answered": len(statuses), "errors": errors,
    "new_events": AuditEvent.objects.count() - start,
    "actions": sorted(set(AuditEvent.objects.order_by("id")[start:].values_list("action", flat=True))),
    "chain_ok": audit_chain_verify_database().ok, "journal": journal,
    "expected": {"answered": ANONYMOUS * POSTS, "events": WRITERS * ACTIONS},
}))
"""


def test_concurrent_anonymous_posts_on_sqlite_are_refused_not_500_and_write_nothing(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "PB_CELERY_EAGER": "true",
    }
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stderr
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])

    assert result["answered"] == result["expected"]["answered"]
    assert result["statuses"] == [302]  # to log in: never a 500
    assert result["errors"] == []  # no "database is locked" for the officials either
    # Only the officials' real actions are in the chain (one event each); the refusals are not.
    assert result["new_events"] == result["expected"]["events"]
    assert result["actions"] == ["cycle.created"]
    assert result["chain_ok"]
    assert result["journal"] == "wal"  # readers never block the writer
