"""The vote never waits for Redis: with the broker refusing connections, or accepting
them and never answering, a ballot is cast within a second; its confirmation waits in the outbox and
is delivered once a worker reaches a working Redis."""

import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from budgets.services import cycle_transition
from core.models import Notification
from core.tasks import notifications_retry_unsent_task
from proposals.tests.builders import make_project, move, submit
from tests.ballots import ballot_prepare
from tests.conftest import ROOT, worker_database_url
from tests.factories import CycleFactory, user_with_role
from voting.models import Ballot, VoterRollEntry

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CAST_SCRIPT = """
import time, threading, datetime, django
django.setup()
from accounts.models import User
from budgets.models import District
from voting import crypto, methods, services
user = User.objects.get(pk={user})
started = time.monotonic()
result = services.ballot_cast(
    voter=services.Voter(identity_key=crypto.identity_key("account", str(user.pk)), channel="online",
                         verification="account", date_of_birth=datetime.date(1990, 1, 1), notify_user=user,
                         name="Nora Redis", address="4 Grove St"),
    district=District.objects.get(pk={district}), ballot=methods.Ballot(choices=("A-01",)))
print(round(time.monotonic() - started, 3))
for thread in threading.enumerate():
    if thread.name.startswith("dispatch-"):
        thread.join(10)
"""


class SilentServer:
    """Accepts TCP connections and never says a word (a hung Redis)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                client, _addr = self.sock.accept()
            except OSError:
                return
            self.clients.append(client)

    def close(self):
        for client in self.clients:
            client.close()
        self.sock.close()


@pytest.fixture
def voting_cycle():
    official = user_with_role("official")
    cycle = CycleFactory(ideas=True, wards="A")
    idea = submit(cycle, user_with_role("resident"))
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="10000")
    ballot_prepare(cycle, official)
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Voting opens.")
    return cycle


def _cast_in_app_server(redis_url: str, user, district) -> tuple[float, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.test",
        "DATABASE_URL": worker_database_url(),
        "REDIS_URL": redis_url,
        "PB_CELERY_EAGER": "false",
    }
    out = subprocess.run(
        [sys.executable, "-c", CAST_SCRIPT.format(user=user.pk, district=district.pk)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.parametrize("redis", ["refusing", "silent"])
def test_a_ballot_is_cast_within_a_second_without_redis(voting_cycle, worker, redis):
    queue, proc, mail_dir = worker
    voter = user_with_role("resident")
    district = voting_cycle.districts.get()
    server = SilentServer() if redis == "silent" else None
    url = f"redis://127.0.0.1:{server.port}/0" if server else "redis://127.0.0.1:1/0"
    try:
        elapsed, stderr = _cast_in_app_server(url, voter, district)
    finally:
        if server:
            server.close()
    assert elapsed < 1.0, f"casting took {elapsed} s with a {redis} Redis"
    assert Ballot.objects.filter(district=district).count() == 1
    assert VoterRollEntry.objects.filter(district=district).count() == 1
    notification = Notification.objects.get(kind="vote.confirmation", recipient=voter)
    assert notification.sent_at is None  # waiting in the outbox, not lost

    # A worker on the working Redis: the periodic retry delivers the confirmation.
    notifications_retry_unsent_task.apply_async(kwargs={"older_than_seconds": 0}, queue=queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and Notification.objects.get(pk=notification.pk).sent_at is None:
        assert proc.poll() is None, proc.stdout.read()
        time.sleep(0.2)
    assert Notification.objects.get(pk=notification.pk).sent_at is not None
    sent = "".join(p.read_text() for p in mail_dir.glob("*.log"))
    assert "Thank you for voting" in sent
