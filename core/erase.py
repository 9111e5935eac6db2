"""Emptying the notifications outbox of personal data, for the archive step (audit app).

The outbox is a queue, not a record: a row exists to be delivered. What the archive deletes:
- every notification of a vote — SMS (codes, to a phone number) and "you voted" / "ballot changed"
  messages — created before that vote closed, sent or not;
- every notification to an account being anonymised, sent or not;
- every notification already delivered, or given up on, created before now: its address and body
  (a person's email, an idea's title) serve nothing any more.
Unsent rows still being retried for other accounts stay, so nothing waiting is lost.
"""

from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from .models import Notification
from .services import NOTIFICATION_MAX_ATTEMPTS

VOTE_KIND_PREFIXES = ("vote.", "verification.")


def notifications_erase(*, vote_closed_at: datetime | None, recipient_ids) -> int:
    """Delete the outbox rows described in the module docstring; returns how many."""
    doomed = Q(recipient_id__in=list(recipient_ids)) | (
        (Q(sent_at__isnull=False) | Q(attempts__gte=NOTIFICATION_MAX_ATTEMPTS)) & Q(created_at__lte=timezone.now())
    )
    if vote_closed_at is not None:
        of_a_vote = Q(channel=Notification.Channel.SMS)
        for prefix in VOTE_KIND_PREFIXES:
            of_a_vote |= Q(kind__startswith=prefix)
        doomed |= of_a_vote & Q(created_at__lt=vote_closed_at)
    return Notification.objects.filter(doomed).delete()[0]
