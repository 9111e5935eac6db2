"""Tally runs over a district's counted ballots, and the published results that certify them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TallyRun(models.Model):
    """One rule run over one district's counted ballots.

    Keyed by (district, rule, parameters, input hash): the input is the district's deterministic
    ``.pb`` export and ``input_hash`` its SHA-256, so a redelivered or doubled trigger finds the run
    already there, and several rules can be compared on one input. ``output`` is the canonical JSON
    of the outcome: same input → byte-identical output.
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="tally_runs")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="tally_runs")
    rule = models.CharField(max_length=16)
    params = models.CharField(max_length=200, default="{}")  # canonical JSON of the rule's parameters
    input_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    output = models.TextField(blank=True)  # canonical JSON (pbverify.rules.outcome_to_json)
    output_hash = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    ballots = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)  # how long the rule took (for officials' information)

    class Meta:
        ordering = ["district_id", "rule", "-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["district", "rule", "params", "input_hash"], name="tally_run_once"),
            models.CheckConstraint(
                condition=models.Q(rule__in=["greedy", "mes", "mes-greedy"]), name="tally_rule_valid"
            ),
        ]

    def __str__(self):
        return f"{self.district_id} {self.rule} {self.input_hash[:8]}"


class DistrictResult(models.Model):
    """The published result of a district: the certified run, and any later revision (a funded
    project withdrawn, the tally re-run without it). The newest row is the one shown."""

    class Kind(models.TextChoices):
        CERTIFIED = "certified", _("Certified")
        REVISED = "revised", _("Revised after a project was withdrawn")

    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="results")
    run = models.ForeignKey(TallyRun, on_delete=models.PROTECT, related_name="results")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    reason = models.TextField(blank=True)
    actor_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["district_id", "-created_at", "-id"]

    def __str__(self):
        return f"{self.district_id}: {self.kind}"
