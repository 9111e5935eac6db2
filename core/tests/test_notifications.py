"""The notifications outbox: rows written in the change's transaction, delivered once, retried."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from core.models import Notification
from core.services import notification_deliver, notification_queue, notifications_retry_unsent
from core.tasks import notifications_retry_unsent_task

pytestmark = pytest.mark.django_db


def test_queue_writes_a_row_and_delivers_after_commit(resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        n = notification_queue(recipient=resident, kind="test", subject="Hello", body="Body text")
    assert len(callbacks) == 1
    n.refresh_from_db()
    assert n.sent_at is not None and n.attempts == 1
    assert [m.to for m in mail.outbox] == [[resident.email]]
    assert mail.outbox[0].subject == "Hello"


def test_rolled_back_change_leaves_no_notification(resident):
    with pytest.raises(RuntimeError), transaction.atomic():
        notification_queue(recipient=resident, kind="test", subject="s", body="b")
        raise RuntimeError("the change failed")
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_opted_out_resident_gets_no_update_but_essential_ones(resident):
    resident.notifications_enabled = False
    resident.save()
    assert notification_queue(recipient=resident, kind="news", subject="s", body="b") is None
    assert notification_queue(recipient=resident, kind="vote", subject="s", body="b", essential=True) is not None
    assert list(Notification.objects.values_list("kind", flat=True)) == ["vote"]


def test_delivery_is_idempotent(resident):
    n = Notification.objects.create(recipient=resident, address=resident.email, kind="k", subject="s", body="b")
    assert notification_deliver(notification_id=n.pk) is True
    assert notification_deliver(notification_id=n.pk) is False
    assert len(mail.outbox) == 1
    n.refresh_from_db()
    assert n.attempts == 1


def test_failed_send_is_recorded_and_retried_later(resident):
    n = Notification.objects.create(recipient=resident, address=resident.email, kind="k", subject="s", body="b")
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=ConnectionRefusedError("smtp down")):
        assert notification_deliver(notification_id=n.pk) is False
    n.refresh_from_db()
    assert n.sent_at is None and n.attempts == 1 and n.last_error == "ConnectionRefusedError"
    # Too recent for the retry sweep; then, later, it goes out.
    assert notifications_retry_unsent(older_than_seconds=30) == 0
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notifications_retry_unsent(older_than_seconds=30) == 1
    n.refresh_from_db()
    assert n.sent_at is not None and n.attempts == 2
    assert len(mail.outbox) == 1


def test_broker_failure_at_dispatch_does_not_break_the_change(resident, django_capture_on_commit_callbacks):
    down = mock.patch("core.tasks.notification_deliver_task.apply_async", side_effect=OSError("broker down"))
    with down, django_capture_on_commit_callbacks(execute=True):
        n = notification_queue(recipient=resident, kind="k", subject="s", body="b")
    n.refresh_from_db()
    assert n.sent_at is None  # kept for the periodic retry
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notifications_retry_unsent() == 1


def _backlog(resident, count: int) -> list[int]:
    rows = Notification.objects.bulk_create(
        Notification(
            recipient=resident,
            address=f"voter{i}@example.org",
            kind="vote.confirmation",
            subject="You voted",
            body=f"message {i}",
        )
        for i in range(count)
    )
    return [row.pk for row in rows]


def test_a_backlog_of_more_than_500_drains_in_one_run(resident):
    _backlog(resident, 1234)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert notifications_retry_unsent_task() == 1234
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert sorted(m.body for m in mail.outbox) == sorted(f"message {i}" for i in range(1234))
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}


def test_a_failing_row_is_tried_once_per_run_and_the_rest_still_go(resident):
    ids = _backlog(resident, 450)
    original = mail.EmailMessage.send

    def send(message, *args, **kwargs):
        if message.to == ["voter7@example.org"]:
            raise ConnectionResetError("mailbox refused")
        return original(message, *args, **kwargs)

    with (
        mock.patch("django.core.mail.EmailMessage.send", send),
        time_machine.travel(timezone.now() + timedelta(minutes=1)),
    ):
        assert notifications_retry_unsent(batch_size=100) == 449
    failed = Notification.objects.get(pk=ids[7])
    assert failed.sent_at is None and failed.attempts == 1 and failed.last_error == "ConnectionResetError"
    assert len(mail.outbox) == 449
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        assert notifications_retry_unsent() == 1  # the next run sends it
    assert Notification.objects.get(pk=ids[7]).attempts == 2


def test_a_spent_time_budget_leaves_the_rest_for_the_next_run(resident):
    _backlog(resident, 30)
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert notifications_retry_unsent(time_budget_seconds=0) == 0
        assert notifications_retry_unsent() == 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_never_send_a_message_twice(resident):
    """Two drains on two connections at once, in small batches with a slow mail server: the backlog
    is shared out between them, and every message goes out exactly once."""
    _backlog(resident, 600)
    original = mail.EmailMessage.send
    sent_by: dict[str, list[str]] = {"a": [], "b": []}
    start = threading.Barrier(2)

    results: dict[str, int] = {}
    # One patch for both threads, dispatching on the thread's name.
    local = threading.local()

    def send(message, *args, **kwargs):
        sent_by[local.name].append(message.body)
        threading.Event().wait(0.002)  # a slow mail server: the two drains overlap
        return original(message, *args, **kwargs)

    def run(name):
        local.name = name
        try:
            start.wait(10)
            results[name] = notifications_retry_unsent(older_than_seconds=0, batch_size=25)
        finally:
            connection.close()

    with mock.patch.object(mail.EmailMessage, "send", send):
        threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
    assert results["a"] + results["b"] == 600
    assert results["a"] > 0 and results["b"] > 0  # both drains did part of the work
    everything = sent_by["a"] + sent_by["b"]
    assert len(everything) == len(set(everything)) == 600
    assert sorted(m.body for m in mail.outbox) == sorted(everything)
    assert not Notification.objects.filter(sent_at__isnull=True).exists()
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}
