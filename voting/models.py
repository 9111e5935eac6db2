"""Eligibility, ballot designs and the vote record.

Two records, written in one transaction, never linked:
- ``VoterRollEntry`` — who took part (identity key, district, channel, method, site, language):
  unique per (district, identity key); that constraint is what stops a second ballot.
- ``Ballot`` — random UUIDv4, district, channel, choices, points, receipt hash. No user, IP, date,
  time, sequence number or site.
Both are insert-only (a PostgreSQL trigger refuses UPDATE, DELETE, TRUNCATE). Personal details live
in ``Identity``, which the archive step can erase. ``voting.services.record`` is the only module that writes
the record (ballots, their sources, the roll, voids).
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.db.append_only import AppendOnlyModel

from .methods import Method


class Channel(models.TextChoices):
    ONLINE = "online", _("Online (resident account)")
    PHONE = "phone", _("Phone (SMS code)")
    CODE = "code", _("Printed access code")
    KIOSK = "kiosk", _("Kiosk at a voting site")
    PAPER = "paper", _("Paper ballot")
    IMPORT = "import", _("Imported")


class AllocationRule(models.TextChoices):
    GREEDY = "greedy", _("Greedy (most votes first)")
    MES = "mes", _("Method of Equal Shares")
    MES_GREEDY = "mes-greedy", _("Method of Equal Shares, then greedy")


# Each rule in one plain sentence (the design form, the previews). The order is the order offered:
# equal shares with its completion first, the default for a new design.
RULE_EXPLANATIONS: dict[str, str] = {
    AllocationRule.MES_GREEDY: _(
        "Recommended: each voter gets an equal share of the budget to spend on the projects they chose, "
        "and whatever is left then funds the most-voted projects that still fit, so little money stays unspent."
    ),
    AllocationRule.MES: _(
        "Each voter gets an equal share of the budget and a project is funded only if its supporters can pay "
        "for it together; fair to smaller groups, but it can leave much of the budget unspent."
    ),
    AllocationRule.GREEDY: _(
        "Projects are funded in order of votes, most first, skipping any that no longer fit; simple, but the "
        "largest group can win everything. The only rule for ranked ballots."
    ),
}
RULE_ORDER: tuple[str, ...] = tuple(RULE_EXPLANATIONS)


class Eligibility(models.Model):
    """Who may vote in a cycle (US PB: no census; attested residence and age)."""

    cycle = models.OneToOneField("budgets.Cycle", on_delete=models.CASCADE, related_name="eligibility")
    minimum_age = models.PositiveSmallIntegerField(_("minimum age"), default=14, validators=[MaxValueValidator(120)])
    age_on = models.DateField(
        _("age counted on"), null=True, blank=True, help_text=_("Default: the day voting closes.")
    )
    allow_live_work_study = models.BooleanField(_("people who work or study here may vote too"), default=False)
    # Off by default. When on, a voter may cast again in the same district until
    # voting closes; the new ballot supersedes the earlier one (BallotChangeKey, erased at close).
    allow_ballot_change = models.BooleanField(_("voters may change their ballot until voting closes"), default=False)

    def __str__(self):
        return f"Eligibility for {self.cycle}"


class BallotDesign(models.Model):
    """A district's ballot: method, limits, allocation rule. Frozen when voting opens."""

    district = models.OneToOneField("budgets.District", on_delete=models.CASCADE, related_name="ballot_design")
    method = models.CharField(_("ballot method"), max_length=16, choices=[(m.value, m.value) for m in Method])
    min_picks = models.PositiveSmallIntegerField(_("minimum picks"), default=1)
    max_picks = models.PositiveSmallIntegerField(_("maximum picks (ranked: how many to rank)"), null=True, blank=True)
    min_spend_percent = models.PositiveSmallIntegerField(
        _("minimum share of the budget to spend (%)"), default=0, validators=[MaxValueValidator(100)]
    )
    points_total = models.PositiveSmallIntegerField(_("points to spread"), null=True, blank=True)
    points_cap = models.PositiveSmallIntegerField(_("most points per project"), null=True, blank=True)
    allocation_rule = models.CharField(
        _("allocation rule"), max_length=16, choices=AllocationRule.choices, default=AllocationRule.GREEDY
    )
    intro = models.TextField(_("introduction shown above the ballot"), blank=True)
    # The introduction in the cycle's other languages, each optional: {"es": "Elija…"}. A reader
    # whose language has none reads ``intro``, marked with the main language (``intro_for``).
    intro_translations = models.JSONField(_("introduction in other languages"), default=dict, blank=True)
    shuffle = models.BooleanField(_("show projects in a random order for each voter"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(method__in=[m.value for m in Method]), name="ballot_design_method_valid"
            ),
            models.CheckConstraint(
                condition=models.Q(allocation_rule__in=["greedy", "mes", "mes-greedy"]),
                name="ballot_design_rule_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(max_picks__isnull=True) | models.Q(max_picks__gte=models.F("min_picks")),
                name="ballot_design_picks_ordered",
            ),
        ]

    def __str__(self):
        return f"{self.district}: {self.method}"

    def intro_for(self, language: str) -> "IntroText":
        """The introduction in ``language`` ("zh-hans", then "zh"), else the main text, which
        ``fallback`` says is in ``language`` of its own (the site's main language)."""
        wanted = (language or "").lower()
        translations = self.intro_translations or {}
        for code in (wanted, wanted.split("-")[0]):
            if code and (translations.get(code) or "").strip():
                return IntroText(text=translations[code], language=code, fallback=False)
        main = (settings.LANGUAGE_CODE or "en").lower()
        return IntroText(text=self.intro, language=main, fallback=main.split("-")[0] != wanted.split("-")[0])


@dataclass(frozen=True)
class IntroText:
    """A ballot's introduction as one reader sees it. ``fallback``: not in the reader's language."""

    text: str
    language: str
    fallback: bool


class BallotFreeze(models.Model):
    """The canonical form of a cycle's ballot designs when voting opened, and its SHA-256."""

    cycle = models.OneToOneField("budgets.Cycle", on_delete=models.PROTECT, related_name="ballot_freeze")
    canonical = models.TextField()
    fingerprint = models.CharField(max_length=64)
    frozen_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.fingerprint


class Identity(models.Model):
    """Personal details of a voter, kept apart from the roll; erased at archive."""

    identity_key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=150, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    address = models.CharField(max_length=300, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    # Keyed hash of the normalised (name, date of birth, address) when all three are known: two
    # identity keys sharing it are a possible duplicate person across channels.
    match_key = models.CharField(max_length=64, blank=True, db_index=True)
    checkin = models.JSONField(default=dict, blank=True)  # check-in details (site, volunteer, ID seen)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "identities"

    def __str__(self):
        return self.identity_key[:12]


class VoterRollEntry(AppendOnlyModel):
    """Who took part. The database refuses a second ballot: one entry per (district, identity), and
    one ward ballot (and one citywide ballot) per identity in a cycle."""

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="roll_entries")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="roll_entries")
    scope = models.CharField(max_length=10)  # the district's kind: "ward" or "citywide"
    identity_key = models.CharField(max_length=64)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    verification = models.CharField(max_length=32)
    site = models.CharField(max_length=120, blank=True)
    language = models.CharField(max_length=8, blank=True)
    voted_on = models.DateField()  # turnout per day comes from here, never from ballots

    class Meta:
        verbose_name_plural = "voter roll entries"
        constraints = [
            models.UniqueConstraint(fields=["district", "identity_key"], name="roll_one_ballot_per_voter"),
            models.UniqueConstraint(
                fields=["cycle", "scope", "identity_key"], name="roll_one_ward_ballot_per_voter_per_cycle"
            ),
            models.CheckConstraint(condition=models.Q(scope__in=["ward", "citywide"]), name="roll_scope_valid"),
        ]

    def __str__(self):
        return f"{self.district_id}:{self.identity_key[:8]}"


class Ballot(AppendOnlyModel):
    """An anonymous ballot: nothing here points at a person, a place or a time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="ballots")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    choices = models.JSONField()  # project codes in ballot order
    points = models.JSONField(null=True, blank=True)
    receipt_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(channel__in=["online", "phone", "code", "kiosk", "paper", "import"]),
                name="ballot_channel_valid",
            ),
        ]
        # A district's ballots in id order (its .pb export, the tally's input) without a sort.
        indexes = [models.Index(fields=["district", "id"], name="ballot_district_id_idx")]

    def __str__(self):
        return str(self.id)


class VoidReason(models.TextChoices):
    """Why a ballot is out of the count."""

    SUPERSEDED = "superseded"  # the voter cast again, in a cycle that lets them change their ballot
    PROVISIONAL_REJECTED = "provisional_rejected"  # officials rejected a provisional ballot
    OFFICIAL = "official"  # an official voided it (a keying error …), in their own words


# The words ``ballots.csv`` shows for the reasons that have fixed words (part of the bundle's format:
# never translated, never reworded). An official's void shows the official's words.
VOID_WORDS: dict[str, str] = {
    VoidReason.SUPERSEDED: "superseded by the voter's later ballot",
    VoidReason.PROVISIONAL_REJECTED: "provisional ballot rejected",
}


class BallotVoid(models.Model):
    """A ballot taken out of the count, with the reason. The ballot stays."""

    ballot = models.OneToOneField(Ballot, on_delete=models.PROTECT, related_name="void")
    kind = models.CharField(max_length=24, choices=VoidReason.choices, default=VoidReason.OFFICIAL)
    reason = models.TextField()  # the words ballots.csv shows: VOID_WORDS[kind], or the official's own
    actor_id = models.BigIntegerField(null=True)
    # Now, unless the void says otherwise: a supersession carries no time of its own (services).
    voided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind=VoidReason.OFFICIAL, reason__gt="")
                | models.Q(kind=VoidReason.SUPERSEDED, reason=VOID_WORDS[VoidReason.SUPERSEDED])
                | models.Q(kind=VoidReason.PROVISIONAL_REJECTED, reason=VOID_WORDS[VoidReason.PROVISIONAL_REJECTED]),
                name="ballot_void_reason_valid",
            ),
        ]

    def __str__(self):
        return f"void {self.ballot_id}"


class BallotChangeKey(models.Model):
    """Only in a cycle that lets voters change their ballot, only while voting is open: which ballot a
    voter cast last in a district. ``voter_key`` is a keyed hash of (district, identity key) and the
    ballot id is sealed (encrypted), so neither table nor dump shows the link without the
    deployment's secret; every row of the cycle is deleted when voting closes, after which no link
    exists. A ballot that was superseded has a ``BallotVoid`` of kind
    ``VoidReason.SUPERSEDED`` and no time of its own."""

    district = models.ForeignKey("budgets.District", on_delete=models.CASCADE, related_name="+")
    voter_key = models.CharField(max_length=64)
    sealed_ballot = models.TextField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["district", "voter_key"], name="ballot_change_key_once")]

    def __str__(self):
        return f"change key {self.voter_key[:8]}"


class AccessCodeBatch(models.Model):
    """Printed one-time access codes for a district (only their keyed hashes are stored)."""

    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="access_code_batches")
    size = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"{self.size} codes for {self.district}"


class AccessCode(models.Model):
    batch = models.ForeignKey(AccessCodeBatch, on_delete=models.PROTECT, related_name="codes")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="access_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.code_hash[:8]


class PhoneChallenge(models.Model):
    """An SMS code sent to a phone: a keyed hash of the number and of the code, an expiry, and a
    count of wrong guesses."""

    phone_hash = models.CharField(max_length=64, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    verified_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.phone_hash[:8]


class VerificationAttempt(models.Model):
    """Rate limits for codes and SMS, counted in PostgreSQL (no cache on the vote path)."""

    class Kind(models.TextChoices):
        ACCESS_CODE = "access_code"
        SMS_SEND = "sms_send"
        SMS_CHECK = "sms_check"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    key_hash = models.CharField(max_length=64)
    success = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "key_hash", "at"], name="verification_rate_idx")]

    def __str__(self):
        return f"{self.kind} {self.at}"


class VotingSite(models.Model):
    """A named place where volunteers run kiosks and hand out paper ballots."""

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="voting_sites")
    name = models.CharField(_("name"), max_length=120)
    address = models.CharField(_("address"), max_length=300, blank=True)
    active = models.BooleanField(_("open for voting"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["cycle", "name"], name="voting_site_unique_name")]
        permissions = [("run_voting_site", "Can run a kiosk and key in paper ballots at a voting site")]

    def __str__(self):
        return self.name


class ProvisionalBallot(models.Model):
    """A ballot whose eligibility could not be confirmed when it was cast.

    The ballot itself is in ``Ballot`` like any other; this side table holds the *sealed* link to
    it: the ballot id encrypted under the deployment's key (``crypto.seal``), next to the roll entry
    it belongs to. Officials decide from the roll entry and the identity, never seeing the
    choices. Accepting erases the link (the ballot is counted like any other); rejecting voids the
    ballot with the reason and erases the link too. ``ballot_tag`` (a keyed hash of the ballot id)
    lets the receipt page say "under review" while it is pending; it is erased with the link.
    """

    class Reason(models.TextChoices):
        NOT_CONFIRMED = "not_confirmed", _("Eligibility could not be confirmed at check-in")
        POSSIBLE_DUPLICATE = "possible_duplicate", _("Possible duplicate: same name, date of birth and address")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for review")
        ACCEPTED = "accepted", _("Accepted and counted")
        REJECTED = "rejected", _("Rejected, not counted")

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="provisional_ballots")
    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="provisional_ballots")
    roll_entry = models.OneToOneField(VoterRollEntry, on_delete=models.PROTECT, related_name="provisional")
    reason = models.CharField(max_length=24, choices=Reason.choices)
    note = models.TextField(blank=True)  # what the volunteer wrote at check-in
    sealed_ballot = models.TextField(blank=True)
    ballot_tag = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decision_reason = models.TextField(blank=True)
    decided_by_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status="pending", sealed_ballot__gt="", ballot_tag__gt="")
                | (~models.Q(status="pending") & models.Q(sealed_ballot="", ballot_tag="")),
                name="provisional_link_only_while_pending",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected") | models.Q(decision_reason__gt=""),
                name="provisional_rejection_has_reason",
            ),
        ]

    def __str__(self):
        return f"provisional {self.pk} ({self.status})"


class DuplicateReview(models.Model):
    """An official's decision on a group of identities that share name, date of birth and address."""

    class Decision(models.TextChoices):
        DISTINCT = "distinct", _("Different people")
        SAME_PERSON = "same_person", _("The same person")

    cycle = models.ForeignKey("budgets.Cycle", on_delete=models.PROTECT, related_name="duplicate_reviews")
    match_key = models.CharField(max_length=64)
    decision = models.CharField(max_length=12, choices=Decision.choices)
    note = models.TextField(blank=True)
    decided_by_id = models.BigIntegerField(null=True)
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["cycle", "match_key"], name="duplicate_review_once")]

    def __str__(self):
        return f"{self.match_key[:8]}: {self.decision}"


class PaperBatch(models.Model):
    """The paper ballots of one ballot box (a site, a district): keyed in twice by two different
    volunteers, mismatches resolved, then reconciled (issued = valid + invalid + spoiled), which
    stores its valid sheets as ballots."""

    class Status(models.TextChoices):
        KEYING = "keying", _("Being keyed in")
        RECONCILED = "reconciled", _("Reconciled")

    district = models.ForeignKey("budgets.District", on_delete=models.PROTECT, related_name="paper_batches")
    site = models.ForeignKey(VotingSite, on_delete=models.PROTECT, related_name="paper_batches")
    label = models.CharField(_("batch label"), max_length=60)
    voted_on = models.DateField(_("voting day"))
    issued = models.PositiveIntegerField(_("ballots issued"))
    spoiled = models.PositiveIntegerField(_("ballots spoiled"), default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.KEYING)
    created_by_id = models.BigIntegerField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    reconciled_by_id = models.BigIntegerField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["district", "site", "label"], name="paper_batch_unique_label"),
            models.CheckConstraint(condition=models.Q(spoiled__lte=models.F("issued")), name="paper_spoiled_le_issued"),
        ]

    def __str__(self):
        return f"{self.site} / {self.label}"


class PaperEntry(models.Model):
    """One volunteer's keying of one paper sheet, in pass 1 or pass 2."""

    batch = models.ForeignKey(PaperBatch, on_delete=models.PROTECT, related_name="entries")
    sheet = models.PositiveIntegerField()
    pass_no = models.PositiveSmallIntegerField()
    keyed_by_id = models.BigIntegerField()
    choices = models.JSONField(default=list)  # project codes as marked on the sheet
    points = models.JSONField(null=True, blank=True)
    invalid_reason = models.TextField(blank=True)  # non-empty: the sheet breaks the rules (or is unreadable)
    keyed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "pass_no", "sheet"], name="paper_entry_once_per_pass"),
            models.CheckConstraint(condition=models.Q(pass_no__in=[1, 2]), name="paper_entry_pass_valid"),
            models.CheckConstraint(condition=models.Q(sheet__gte=1), name="paper_entry_sheet_positive"),
        ]

    def __str__(self):
        return f"{self.batch_id}#{self.sheet} pass {self.pass_no}"


class PaperResolution(models.Model):
    """What an official read on a sheet whose two keyings differ."""

    batch = models.ForeignKey(PaperBatch, on_delete=models.PROTECT, related_name="resolutions")
    sheet = models.PositiveIntegerField()
    choices = models.JSONField(default=list)
    points = models.JSONField(null=True, blank=True)
    invalid_reason = models.TextField(blank=True)
    note = models.TextField(blank=True)
    resolved_by_id = models.BigIntegerField()
    resolved_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["batch", "sheet"], name="paper_resolution_once")]

    def __str__(self):
        return f"{self.batch_id}#{self.sheet} resolved"


class BallotSource(models.Model):
    """For a ballot imported from a Pabulib file: the file's ``voter_id``, which the district's
    export writes back (so export → import → export is byte-identical). Nothing else has one."""

    ballot = models.OneToOneField(Ballot, on_delete=models.PROTECT, primary_key=True, related_name="source")
    voter_id = models.CharField(max_length=200)

    def __str__(self):
        return self.voter_id
