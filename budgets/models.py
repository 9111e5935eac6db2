from zoneinfo import available_timezones

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .phases import SCHEDULE_FIELDS, Capability, Phase, phase_allows

TIME_ZONE_CHOICES = sorted((tz, tz) for tz in available_timezones() if "/" in tz or tz == "UTC")
district_code_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$",
    _("Use 1–64 letters, digits, '-' or '_', starting with a letter or digit."),
)


def _schedule_order_constraints():
    constraints = []
    for earlier, later in zip(SCHEDULE_FIELDS, SCHEDULE_FIELDS[1:], strict=False):
        constraints.append(
            models.CheckConstraint(
                condition=models.Q(**{f"{earlier}__isnull": True})
                | models.Q(**{f"{later}__isnull": True})
                | models.Q(**{f"{earlier}__lt": models.F(later)}),
                name=f"cycle_{earlier}_before_{later}",
            )
        )
    return constraints


class TieBreak(models.TextChoices):
    DECLARED = "declared", _("Declared order (project codes)")
    LOTTERY = "lottery", _("Public lottery")


class Cycle(models.Model):
    """One PB process ("Jersey City PB 2026"). Its phase changes only through
    ``budgets.services.cycle_transition`` (or a transition's own service)."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("short name for links"), max_length=80, unique=True)
    description = models.TextField(_("description"), blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/New_York")
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    phase = models.CharField(_("phase"), max_length=20, choices=Phase.choices, default=Phase.DRAFT)
    ideas_open_at = models.DateTimeField(_("ideas open"), null=True, blank=True)
    vetting_open_at = models.DateTimeField(_("vetting starts"), null=True, blank=True)
    voting_open_at = models.DateTimeField(_("voting opens"), null=True, blank=True)
    voting_close_at = models.DateTimeField(_("voting closes"), null=True, blank=True)
    ideas_per_resident = models.PositiveSmallIntegerField(
        _("ideas per resident"), default=10, help_text=_("How many ideas one resident may submit in this cycle.")
    )
    extra_languages = models.JSONField(
        _("more languages for project texts and ballots"),
        default=list,
        blank=True,
        help_text=_("Language codes beyond English and Spanish, e.g. zh-hans, ar, hi."),
    )
    voting_paused_at = models.DateTimeField(_("voting paused since"), null=True, blank=True)
    voting_pause_reason = models.TextField(_("reason for the pause"), blank=True)
    # Ties in the tally: the declared order (projects' codes), or a public lottery whose draw (the
    # seed, e.g. numbers drawn in public) an official records before the tally (allocation.services.lottery).
    tie_break = models.CharField(_("tie-break"), max_length=10, choices=TieBreak.choices, default=TieBreak.DECLARED)
    lottery_seed = models.CharField(_("lottery draw"), max_length=100, blank=True)
    lottery_drawn_at = models.DateTimeField(_("lottery drawn at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "id"]
        permissions = [
            ("manage_cycle", "Can configure budget cycles and move them through their phases"),
            ("view_staff_area", "Can use the staff area"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(phase__in=Phase.values), name="cycle_phase_valid"),
            models.CheckConstraint(condition=models.Q(currency__regex=r"^[A-Z]{3}$"), name="cycle_currency_iso4217"),
            models.CheckConstraint(
                condition=models.Q(tie_break__in=["declared", "lottery"]), name="cycle_tie_break_valid"
            ),
            *_schedule_order_constraints(),
        ]

    def __str__(self):
        return self.name

    def content_languages(self) -> list[tuple[str, str]]:
        """Languages project texts and ballots are written in: the site's, then the cycle's own."""
        site = list(settings.LANGUAGES)
        known = {code for code, _name in site}
        return site + [(c, LANG_INFO[c]["name"]) for c in self.extra_languages if c in LANG_INFO and c not in known]

    def allows(self, capability: Capability) -> bool:
        """What the current phase allows, with the pause applied to casting ballots."""
        if capability == Capability.CAST_BALLOTS and self.voting_paused_at is not None:
            return False
        return phase_allows(self.phase, capability)

    @property
    def is_paused(self) -> bool:
        return self.voting_paused_at is not None


class District(models.Model):
    """A ward or the citywide pot: its own budget and its own ballot."""

    class Kind(models.TextChoices):
        WARD = "ward", _("Ward")
        CITYWIDE = "citywide", _("Citywide")

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="districts")
    code = models.CharField(_("code"), max_length=64, validators=[district_code_validator])
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WARD)
    budget = models.DecimalField(_("budget"), max_digits=14, decimal_places=2, validators=[MinValueValidator(0)])
    # For a district imported from a Pabulib file: the file's descriptive META (description,
    # country, unit, instance, dates…), written back by the district's export.
    source_meta = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["cycle_id", "kind", "code"]
        constraints = [
            models.UniqueConstraint(fields=["cycle", "code"], name="district_code_unique_in_cycle"),
            models.UniqueConstraint(
                fields=["cycle"], condition=models.Q(kind="citywide"), name="district_one_citywide_per_cycle"
            ),
            models.CheckConstraint(condition=models.Q(budget__gte=0), name="district_budget_non_negative"),
            models.CheckConstraint(condition=models.Q(kind__in=["ward", "citywide"]), name="district_kind_valid"),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"
