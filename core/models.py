"""The append-only, hash-chained audit log."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from pbverify import chain
from pbverify.canonical import to_jsonable

from .db.append_only import AppendOnlyModel


class AuditEvent(AppendOnlyModel):
    """One state change by a person (or the system). Written by services inside their own transaction.

    ``hash`` chains every event to the one before (``prev_hash``), so changing, removing or
    reordering any event breaks every later hash. Version 1 events hash :meth:`chain_payload`
    whole; version 2 events hash their public body, which commits to the withheld parts through a
    salted digest, plus their cycle (``pbverify.chain``) — so a public record can leave those parts (or
    another cycle's events) out and still be checked. The actor and the cycle are plain ids, not
    foreign keys, so erasing a person never has to touch the log's public parts. The one change a
    row ever takes: the archive erases a version 2 event's withheld values, once, leaving its body
    and hash as they were (``core.erase.audit_withheld_erase``; the PostgreSQL trigger allows only that).
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
    # Version 2 (pbverify.chain): 1 for the events written before the public record was made private.
    version = models.PositiveSmallIntegerField(default=1)
    cycle_id = models.BigIntegerField(null=True, blank=True)  # the cycle the event is about, if any
    withheld = models.JSONField(default=list, blank=True)  # paths kept out of the public record
    salt = models.CharField(max_length=32, blank=True)  # for the digest of the withheld values
    # Version 2: the digest of the withheld values, as the body commits to it (``pbverify.chain``), kept so
    # that the body can be rebuilt once the values are erased (``core.erase.audit_withheld_erase``).
    private_digest = models.CharField(max_length=64, blank=True)
    # When the archive erased the withheld values (they are blank from then on); null: still held.
    withheld_erased_at = models.DateTimeField(null=True, blank=True)

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

    def full_fields(self) -> dict:
        """Everything the event records (JSON-native), without its place in the chain."""
        payload = to_jsonable(self.chain_payload())
        del payload["prev_hash"]
        return payload

    @property
    def withheld_erased(self) -> bool:
        return self.withheld_erased_at is not None

    def public_body(self) -> dict:
        """Version 2: the public body (public fields, withheld paths, digest of the withheld values).
        Once the withheld values are erased, the body is rebuilt around the stored digest."""
        digest = self.private_digest if self.withheld_erased else None
        return chain.public_body(self.full_fields(), self.withheld, self.salt, digest=digest)

    def private_values(self) -> dict:
        return chain.private_values(self.full_fields(), self.withheld)

    def compute_hash(self) -> str:
        if self.version == chain.V2:
            return chain.v2_hash(
                prev_hash=self.prev_hash, cycle=self.cycle_id, digest=chain.body_digest(self.public_body())
            )
        return chain.legacy_hash(to_jsonable(self.chain_payload()))


class Notification(models.Model):
    """The outbox: a notification is a row written in the same transaction as the
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
    # Not sent after this moment (a one-time code past its lifetime): the sender that wrote the row
    # decides; None sends whenever delivery succeeds.
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="notification_unsent_idx"
            )
        ]

    def __str__(self):
        return f"{self.kind} → {self.address}"


class SchedulerHeartbeat(models.Model):
    """When each periodic task of the beat schedule last ran, written by the task itself at the end
    of a run (``core.services.scheduler_heartbeat_record``). A recent row proves that beat sent the
    task and a worker ran it; ``/healthz`` and the officials' pages read it (``scheduler_state``)."""

    task = models.CharField(max_length=200, unique=True)  # the Celery task's name
    last_run_at = models.DateTimeField()

    def __str__(self):
        return f"{self.task} @ {self.last_run_at:%Y-%m-%d %H:%M:%S}"
