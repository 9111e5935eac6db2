"""Bundles built for auditors and the public record: one row per requested zip.

The zip itself is a file under ``settings.PB_BUNDLE_ROOT`` (never MEDIA_ROOT, which a web server
serves publicly); only the audit views hand it out, after their permission check.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Bundle(models.Model):
    """One audit bundle of a cycle: built by a Celery task, with its progress while it runs."""

    class Variant(models.TextChoices):
        AUDITOR = "auditor", _("Auditor bundle (with receipt hashes)")
        PUBLIC = "public", _("Public record (no receipt hashes, small groups merged)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to be built")
        BUILDING = "building", _("Being built")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="audit_bundles")
    variant = models.CharField(max_length=8, choices=Variant.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    stage = models.CharField(max_length=40, blank=True)  # the file being written
    # What the public record was built from (the published runs): a newer result makes a new one.
    results_key = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=300, blank=True)  # relative to PB_BUNDLE_ROOT
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    ballots = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(variant__in=["auditor", "public"]), name="bundle_variant_valid"),
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "building", "ready", "failed"]), name="bundle_status_valid"
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="bundle_progress_percent"),
            models.CheckConstraint(
                condition=~models.Q(status="ready") | (models.Q(path__gt="") & models.Q(sha256__gt="")),
                name="bundle_ready_has_file",
            ),
        ]

    def __str__(self):
        return f"{self.variant} bundle {self.pk} ({self.status})"

    @property
    def filename(self) -> str:
        kind = "record" if self.variant == self.Variant.PUBLIC else "audit-bundle"
        return f"{self.cycle.slug}-{kind}-{self.pk}.zip"
