"""The notifications outbox: rows written in the change's transaction, delivered once, retried."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from core.models import Notification
from core.services import notification_deliver, notification_queue, notifications_retry_unsent

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
    with mock.patch("django.core.mail.send_mail", side_effect=ConnectionRefusedError("smtp down")):
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
