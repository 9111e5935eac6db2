"""Emptying the outbox for the archive (core/erase.py): the vote's messages from before the close,
the anonymised accounts' messages and everything already delivered or given up go; rows still
waiting for other people stay."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.erase import notifications_erase
from core.models import Notification
from core.services import NOTIFICATION_MAX_ATTEMPTS
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def _row(label: str, *, created, **fields) -> Notification:
    row = Notification.objects.create(kind=fields.pop("kind", "idea.decision"), address=f"{label}@example.org",
                                      subject=label, body=label, **fields)  # fmt: skip
    Notification.objects.filter(pk=row.pk).update(created_at=created)
    return row


def test_the_outbox_keeps_only_what_still_waits_for_someone_kept():
    now = timezone.now()
    closed = now - timedelta(days=400)
    kept_user, gone_user = user_with_role("resident"), user_with_role("resident")
    doomed = [
        _row("sms-sent", created=closed - timedelta(days=1), channel="sms", sent_at=closed),
        _row("sms-unsent", created=closed - timedelta(days=1), channel="sms"),
        _row("voted-unsent", created=closed - timedelta(days=2), kind="vote.confirmation", recipient=kept_user),
        _row("changed", created=closed - timedelta(days=2), kind="vote.changed", recipient=kept_user),
        _row("to-anonymised", created=now, recipient=gone_user),
        _row("delivered", created=now - timedelta(days=3), recipient=kept_user, sent_at=now),
        _row("given-up", created=now - timedelta(days=3), recipient=kept_user, attempts=NOTIFICATION_MAX_ATTEMPTS),
    ]
    kept = [
        _row("waiting", created=now - timedelta(minutes=5), recipient=kept_user),
        _row("later-vote", created=closed + timedelta(days=30), kind="vote.confirmation", recipient=kept_user),
        _row("later-sms", created=closed + timedelta(days=30), channel="sms"),
    ]
    assert notifications_erase(vote_closed_at=closed, recipient_ids=[gone_user.pk]) == len(doomed)
    assert set(Notification.objects.values_list("pk", flat=True)) == {row.pk for row in kept}
