"""The append-only, hash-chained audit log (DESIGN.md §6)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from .db.append_only import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """One state change or denied access. Written by services inside their own transaction.

    ``hash`` = SHA-256 of the canonical JSON of :meth:`chain_payload`, which includes
    ``prev_hash``; so changing, removing or reordering any event breaks every later hash.
    The actor is stored as a plain id, not a foreign key, so erasing a person never has to touch
    (and cannot touch) the log.
    """

    class ActorType(models.TextChoices):
        USER = "user", _("User")
        SYSTEM = "system", _("System")
        ANONYMOUS = "anonymous", _("Anonymous")

    occurred_at = models.DateTimeField()
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.TextField(blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]
        permissions = [("view_audit_log", "Can view and export the audit log")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(actor_type__in=["user", "system", "anonymous"]),
                name="audit_actor_type_valid",
            ),
        ]

    def __str__(self):
        return f"#{self.pk} {self.action} {self.object_type}:{self.object_id}"

    def chain_payload(self) -> dict:
        return {
            "occurred_at": self.occurred_at,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
            "ip": self.ip,
            "prev_hash": self.prev_hash,
        }


class Notification(models.Model):
    """The outbox (DESIGN.md §5): a notification is a row written in the same transaction as the
    change it reports; a Celery task delivers it and marks it sent, a periodic task retries. So a
    broker outage delays a notification and never loses one."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    recipient = models.ForeignKey(
        "accounts.User", on_delete=models.CASCADE, null=True, blank=True, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices, default=Channel.EMAIL)
    address = models.CharField(max_length=254)
    kind = models.CharField(max_length=64)
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="notification_unsent_idx"
            )
        ]

    def __str__(self):
        return f"{self.kind} → {self.address}"
