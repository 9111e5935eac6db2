"""Paper ballots: printed per district and language, collected in
batches (one ballot box: a site, a district, a label), keyed in twice by different volunteers,
mismatches settled by an official, then reconciled.

Keying records stay as they were typed (``PaperEntry``: one row per sheet and pass; what an
official read on a disputed sheet is a ``PaperResolution``), so the auditors' bundle can show the
double entry. A sheet is read in one of three ways:

- a **keying error** — a project code that is not on the ballot, a project keyed twice, a value
  that is not a whole number: the volunteer's mistake, refused with nothing stored;
- an **invalid sheet** — marks that break the ballot's rules (too many picks, over budget, ranks
  with gaps, too many points, nothing marked) or a sheet the volunteer cannot read: the voter's
  mistake, stored with its reason in plain words; counted in reconciliation, never in the tally;
- a **valid sheet**, stored in canonical order.

Reconciliation (an official) checks that both passes cover sheets 1..N with no gap (N = issued −
spoiled), that every mismatch is resolved, and that issued = valid + invalid + spoiled; then, in
one transaction, it stores each valid sheet as an anonymous ``Ballot`` (channel "paper", no
receipt) with one synthetic roll entry each — so roll = ballots holds — and freezes the batch.

Locking: every write locks the cycle row, then the batch row (always in that order), so a keying,
a resolution and a reconciliation of one batch run one after the other, and none commits after a
phase transition (which locks the cycle) has closed paper entry. Both are FOR NO KEY UPDATE locks:
ballots being cast meanwhile (whose rows reference the cycle and the district) are not held up.
"""

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from budgets.models import Cycle, District
from budgets.phases import Capability
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.money import format_money
from core.services import audit_record
from pbverify.canonical import format_time

from .. import crypto, methods
from ..methods.base import ballot_from_points, ballot_from_ranks
from ..methods.messages import problem_message
from ..models import BallotDesign, Channel, PaperBatch, PaperEntry, PaperResolution, VotingSite
from ..permissions import check_official, check_site_worker
from . import record
from .design import ballot_rules

MAX_ISSUED = 100_000
PASSES = (1, 2)

MSG_PAPER_CLOSED = _("Paper ballots can be keyed in only while voting and counting are under way.")
MSG_RECONCILED = _("This batch is reconciled: nothing in it can change any more.")
MSG_DISTRICT = _("Choose a district that has a ballot.")
MSG_SITE = _("Choose an open voting site of this cycle.")
MSG_LABEL = _("Give the batch a label, e.g. the ballot box number.")
MSG_LABEL_TAKEN = _("This site already has a batch with this label for this district.")
MSG_ISSUED = _("Enter how many ballots were handed out: a whole number from 1 to %(max)s.")
MSG_SPOILED = _("Spoiled ballots must be a whole number from 0 up to the number issued.")
MSG_DAY_FUTURE = _("The voting day cannot be in the future.")
MSG_PASS = _("Choose pass 1 or pass 2.")
MSG_OTHER_PASS = _(
    "You keyed pass %(other)s of this batch, so you cannot key pass %(pass)s: the two passes must be keyed "
    "by two different people."
)
MSG_SHEET_RANGE = _(
    "Sheet numbers run from 1 to %(n)s in this batch (%(issued)s issued − %(spoiled)s spoiled). "
    "If there are more sheets in the box, ask an official to correct the counts first."
)
MSG_ALREADY_KEYED = _("Sheet %(sheet)s is already keyed in pass %(pass)s. Check the sheet number.")
MSG_UNKNOWN_CODE = _("Not a project code on this ballot: %(codes)s. Check what you typed.")
MSG_KEYED_TWICE = _("Keyed more than once: %(codes)s. Each project counts once.")
MSG_NOT_WHOLE = _("Ranks and points must be whole numbers (0 or more): check %(codes)s.")
MSG_WRONG_MARKS = _("This ballot is marked with %(method)s; key the sheet's marks that way.")
MSG_UNREADABLE_AND_MARKS = _("Either key the marks or say why the sheet cannot be counted, not both.")
MSG_UNREADABLE = _("Cannot be counted: %(reason)s")
MSG_NOT_BOTH_PASSES = _("Sheet %(sheet)s must be keyed in both passes before it can be resolved.")
MSG_NOTHING_TO_RESOLVE = _("The two keyings of sheet %(sheet)s agree: there is nothing to resolve.")
MSG_COUNTS_BELOW_KEYED = _(
    "Sheets up to number %(sheet)s are keyed already: issued minus spoiled cannot be below %(sheet)s."
)
MSG_REASON = _("Say why the counts change.")
MSG_NOT_RECONCILABLE = _("The batch cannot be reconciled yet.")
MSG_MISSING = _("Sheets not keyed in pass %(pass)s yet: %(sheets)s.")
MSG_BEYOND = ngettext_lazy(
    "Sheets keyed beyond the %(n)s sheet of this batch: %(sheets)s.",
    "Sheets keyed beyond the %(n)s sheets of this batch: %(sheets)s.",
    "n",
)
MSG_UNRESOLVED = _("Sheets whose two keyings differ, not resolved by an official yet: %(sheets)s.")
MSG_COUNTS = _("Issued (%(issued)s) must equal valid (%(valid)s) + invalid (%(invalid)s) + spoiled (%(spoiled)s).")


class BatchReconciled(Conflict):
    code = "paper_batch_reconciled"
    default_message = MSG_RECONCILED


class SheetKeyed(Conflict):
    code = "paper_sheet_keyed"


MARK_KINDS = {
    methods.Method.APPROVAL: _("checked boxes"),
    methods.Method.KNAPSACK: _("checked boxes"),
    methods.Method.RANKED: _("ranks"),
    methods.Method.CUMULATIVE: _("points"),
}


@dataclass(frozen=True)
class SheetMarks:
    """What a person read on one sheet, as typed. Approval and knapsack: the codes of the marked
    projects; ranked: {code: rank written}; cumulative: {code: points written} (0 = none). A
    non-empty ``unreadable`` says why the sheet cannot be counted (then no marks)."""

    picks: Sequence[str] = ()
    ranks: Mapping[str, int] = field(default_factory=dict)
    points: Mapping[str, int] = field(default_factory=dict)
    unreadable: str = ""


@dataclass(frozen=True)
class Reading:
    """A sheet as stored: choices in canonical order; ``points`` the points (cumulative) or the
    ranks as written (ranked), aligned with ``choices``; a non-empty ``invalid_reason`` makes the
    sheet invalid."""

    choices: tuple[str, ...]
    points: tuple[int, ...] | None
    invalid_reason: str

    @property
    def valid(self) -> bool:
        return not self.invalid_reason

    def key(self) -> tuple:
        """What two keyings must agree on (an invalid sheet's free-text reason aside)."""
        return (self.choices, self.points, self.valid)

    @classmethod
    def of(cls, row: PaperEntry | PaperResolution) -> "Reading":
        points = tuple(row.points) if row.points is not None else None
        return cls(choices=tuple(row.choices), points=points, invalid_reason=row.invalid_reason)


# --- reading a sheet ---------------------------------------------------------------------------------
def _codes(items) -> str:
    return ", ".join(str(c) for c in items)


def _whole(values: Mapping[str, object]) -> list[str]:
    return [c for c, v in values.items() if isinstance(v, bool) or not isinstance(v, int) or v < 0]


def sheet_read(*, district: District, design: BallotDesign, marks: SheetMarks) -> Reading:
    """Turn what was typed for one sheet into a ``Reading``: keying errors raise
    ``ValidationFailed`` (``marks``); a sheet that breaks the rules comes back invalid, with every
    problem in plain words (in the site's language: the record is one document)."""
    method = methods.Method(design.method)
    reason = (marks.unreadable or "").strip()
    picks = [str(c).strip() for c in marks.picks]
    ranks, points = dict(marks.ranks), {c: v for c, v in marks.points.items() if v != 0}
    if reason:
        if picks or ranks or points:
            raise ValidationFailed(extra={"marks": [MSG_UNREADABLE_AND_MARKS]})
        with translation.override(settings.LANGUAGE_CODE):
            return Reading(choices=(), points=None, invalid_reason=str(MSG_UNREADABLE) % {"reason": reason[:500]})
    wanted = {
        methods.Method.APPROVAL: picks,
        methods.Method.KNAPSACK: picks,
        methods.Method.RANKED: ranks,
        methods.Method.CUMULATIVE: points,
    }[method]
    if any(kind and kind is not wanted for kind in (picks, ranks, points)):
        raise ValidationFailed(extra={"marks": [MSG_WRONG_MARKS % {"method": MARK_KINDS[method]}]})
    rules = ballot_rules(district, design)
    keyed = list(picks) or list(ranks) or list(points)
    unknown = list(dict.fromkeys(c for c in keyed if c not in rules.projects))
    if unknown:
        raise ValidationFailed(extra={"marks": [MSG_UNKNOWN_CODE % {"codes": _codes(unknown)}]})
    twice = list(dict.fromkeys(c for c in picks if picks.count(c) > 1))
    if twice:
        raise ValidationFailed(extra={"marks": [MSG_KEYED_TWICE % {"codes": _codes(twice)}]})
    not_whole = _whole(ranks) + _whole(points)
    if not_whole:
        raise ValidationFailed(extra={"marks": [MSG_NOT_WHOLE % {"codes": _codes(not_whole)}]})

    problems: list[methods.Problem] = []
    if method == methods.Method.RANKED:
        ballot, problems = ballot_from_ranks(ranks)
        stored_points = tuple(ranks[c] for c in ballot.choices)
    elif method == methods.Method.CUMULATIVE:
        ballot = ballot_from_points(points)
        stored_points = ballot.points
    else:
        ballot, stored_points = methods.Ballot(choices=tuple(sorted(picks))), None
    problems = [*problems, *methods.validate(rules, ballot)]
    invalid = ""
    if problems:
        currency = district.cycle.currency
        with translation.override(settings.LANGUAGE_CODE):
            invalid = " ".join(
                problem_message(p, money=lambda amount: format_money(amount, currency)) for p in problems
            )
    return Reading(choices=tuple(ballot.choices), points=stored_points, invalid_reason=invalid)


# --- locks and checks ----------------------------------------------------------------------------------
def _lock(batch: PaperBatch | int) -> tuple[Cycle, PaperBatch]:
    """Lock the cycle, then the batch (always in this order), and check that paper entry is open
    and the batch still being keyed."""
    batch_id = batch.pk if isinstance(batch, PaperBatch) else batch
    cycle_id = PaperBatch.objects.filter(pk=batch_id).values_list("district__cycle_id", flat=True).get()
    cycle = Cycle.objects.select_for_update(no_key=True).get(pk=cycle_id)
    batch = (
        PaperBatch.objects.select_for_update(of=("self",), no_key=True)
        .select_related("district", "site")
        .get(pk=batch_id)
    )
    batch.district.cycle = cycle
    if not cycle.allows(Capability.ENTER_PAPER_BALLOTS):
        raise PhaseClosed(MSG_PAPER_CLOSED)
    if batch.status != PaperBatch.Status.KEYING:
        raise BatchReconciled()
    return cycle, batch


def _sheets_expected(batch: PaperBatch) -> int:
    return batch.issued - batch.spoiled


def _check_counts(issued, spoiled) -> dict:
    errors: dict[str, list] = {}
    if isinstance(issued, bool) or not isinstance(issued, int) or not 1 <= issued <= MAX_ISSUED:
        errors["issued"] = [MSG_ISSUED % {"max": MAX_ISSUED}]
    if isinstance(spoiled, bool) or not isinstance(spoiled, int) or spoiled < 0 or (not errors and spoiled > issued):
        errors["spoiled"] = [MSG_SPOILED]
    return errors


def _design(district: District) -> BallotDesign:
    design = BallotDesign.objects.filter(district=district).first()
    if design is None:
        raise ValidationFailed(extra={"district": [MSG_DISTRICT]})
    return design


# --- batches -------------------------------------------------------------------------------------------
@transaction.atomic
def paper_batch_create(
    *, actor, district: District, site: VotingSite, label: str, voted_on: date, issued: int, spoiled: int = 0
) -> PaperBatch:
    """Open a batch (one ballot box) for keying. Site workers, while paper entry is open.

    Errors: NotAllowed, PhaseClosed, ValidationFailed (district without a ballot, a site that is
    not open or of another cycle, an empty or repeated label, counts, a day in the future).
    Locking: the cycle row."""
    check_site_worker(actor)
    cycle = Cycle.objects.select_for_update(no_key=True).get(pk=district.cycle_id)
    if not cycle.allows(Capability.ENTER_PAPER_BALLOTS):
        raise PhaseClosed(MSG_PAPER_CLOSED)
    errors = _check_counts(issued, spoiled)
    label = (label or "").strip()
    if not label:
        errors["label"] = [MSG_LABEL]
    if site.cycle_id != cycle.pk or not VotingSite.objects.filter(pk=site.pk, active=True).exists():
        errors["site"] = [MSG_SITE]
    if not BallotDesign.objects.filter(district=district).exists() or not district.projects.published().exists():
        errors["district"] = [MSG_DISTRICT]
    if voted_on > timezone.localdate(timezone=ZoneInfo(cycle.time_zone)):
        errors["voted_on"] = [MSG_DAY_FUTURE]
    if errors:
        raise ValidationFailed(extra=errors)
    try:
        with transaction.atomic():
            batch = PaperBatch.objects.create(
                district=district,
                site=site,
                label=label[:60],
                voted_on=voted_on,
                issued=issued,
                spoiled=spoiled,
                created_by_id=actor.pk,
            )
    except IntegrityError as exc:
        raise ValidationFailed(extra={"label": [MSG_LABEL_TAKEN]}) from exc
    audit_record(
        actor=actor,
        action="paper_batch.create",
        object_type="paper_batch",
        object_id=batch.pk,
        after={
            "district": district.code,
            "site": site.name,
            "label": batch.label,
            "voted_on": voted_on,
            "issued": issued,
            "spoiled": spoiled,
        },
    )
    return batch


@transaction.atomic
def paper_batch_counts_update(*, actor, batch: PaperBatch, issued: int, spoiled: int, reason: str) -> PaperBatch:
    """Correct a batch's issued and spoiled counts (officials, with a reason; audited). Refused
    once reconciled, and below the highest sheet number keyed already.

    Errors: NotAllowed, PhaseClosed, Conflict (reconciled), ValidationFailed. Locking: cycle, batch."""
    check_official(actor)
    _cycle, batch = _lock(batch)
    errors = _check_counts(issued, spoiled)
    if not (reason or "").strip():
        errors["reason"] = [MSG_REASON]
    highest = max(batch.entries.values_list("sheet", flat=True), default=0)
    if not errors and issued - spoiled < highest:
        errors["issued"] = [MSG_COUNTS_BELOW_KEYED % {"sheet": highest}]
    if errors:
        raise ValidationFailed(extra=errors)
    if (batch.issued, batch.spoiled) == (issued, spoiled):
        return batch
    before = {"issued": batch.issued, "spoiled": batch.spoiled}
    batch.issued, batch.spoiled = issued, spoiled
    batch.save(update_fields=["issued", "spoiled"])
    audit_record(
        actor=actor,
        action="paper_batch.counts_update",
        object_type="paper_batch",
        object_id=batch.pk,
        before=before,
        after={"issued": issued, "spoiled": spoiled},
        reason=reason.strip(),
    )
    return batch


# --- keying --------------------------------------------------------------------------------------------
@transaction.atomic
def paper_sheet_key(*, actor, batch: PaperBatch, pass_no: int, sheet: int, marks: SheetMarks) -> PaperEntry:
    """One person keys one sheet in pass 1 or 2. A sheet that breaks the rules is stored as
    invalid with its reason; a keying error stores nothing.

    Invariant: nobody keys both passes of a batch (checked under the batch lock); a sheet is keyed
    once per pass (the unique constraint); sheet numbers run from 1 to issued − spoiled. The audit
    event names the batch, sheet and pass, never the marks.
    Errors: NotAllowed (not a site worker; keyed the other pass), PhaseClosed, Conflict (reconciled;
    already keyed), ValidationFailed (pass, sheet number, keying errors). Locking: cycle, batch."""
    check_site_worker(actor)
    _cycle, batch = _lock(batch)
    if pass_no not in PASSES:
        raise ValidationFailed(extra={"pass_no": [MSG_PASS]})
    other = 3 - pass_no
    if batch.entries.filter(pass_no=other, keyed_by_id=actor.pk).exists():
        raise NotAllowed(MSG_OTHER_PASS % {"other": other, "pass": pass_no})
    n = _sheets_expected(batch)
    if isinstance(sheet, bool) or not isinstance(sheet, int) or not 1 <= sheet <= n:
        raise ValidationFailed(
            extra={"sheet": [MSG_SHEET_RANGE % {"n": n, "issued": batch.issued, "spoiled": batch.spoiled}]}
        )
    if batch.entries.filter(pass_no=pass_no, sheet=sheet).exists():
        raise SheetKeyed(MSG_ALREADY_KEYED % {"sheet": sheet, "pass": pass_no})
    reading = sheet_read(district=batch.district, design=_design(batch.district), marks=marks)
    entry = PaperEntry.objects.create(
        batch=batch,
        sheet=sheet,
        pass_no=pass_no,
        keyed_by_id=actor.pk,
        choices=list(reading.choices),
        points=list(reading.points) if reading.points is not None else None,
        invalid_reason=reading.invalid_reason,
    )
    audit_record(
        actor=actor,
        action="paper_sheet.key",
        object_type="paper_batch",
        object_id=batch.pk,
        after={"sheet": sheet, "pass": pass_no, "invalid": not reading.valid},
    )
    return entry


@dataclass(frozen=True)
class Mismatch:
    """A sheet keyed in one pass only, or keyed differently in the two passes."""

    sheet: int
    first: PaperEntry | None
    second: PaperEntry | None
    resolution: PaperResolution | None

    @property
    def missing_pass(self) -> int | None:
        if self.first is None:
            return 1
        if self.second is None:
            return 2
        return None

    @property
    def resolved(self) -> bool:
        return self.missing_pass is None and self.resolution is not None


def _entries(batch: PaperBatch) -> dict[int, dict[int, PaperEntry]]:
    """pass → sheet → entry."""
    keyed: dict[int, dict[int, PaperEntry]] = {1: {}, 2: {}}
    for entry in batch.entries.order_by("sheet", "pass_no"):
        keyed[entry.pass_no][entry.sheet] = entry
    return keyed


def paper_mismatches(batch: PaperBatch) -> list[Mismatch]:
    """Sheets where the two passes differ (resolved or not) or one pass is missing, by sheet."""
    return paper_batch_state(batch).mismatches


@transaction.atomic
def paper_sheet_resolve(*, actor, batch: PaperBatch, sheet: int, marks: SheetMarks, note: str = "") -> PaperResolution:
    """An official records what a sheet whose two keyings differ says (read from the paper); a
    second resolution of the same sheet replaces the first (audited) until reconciliation.

    Errors: NotAllowed, PhaseClosed, Conflict (reconciled; not keyed in both passes; keyings
    agree), ValidationFailed (keying errors). Locking: cycle, batch."""
    check_official(actor)
    _cycle, batch = _lock(batch)
    first = batch.entries.filter(pass_no=1, sheet=sheet).first()
    second = batch.entries.filter(pass_no=2, sheet=sheet).first()
    if first is None or second is None:
        raise Conflict(MSG_NOT_BOTH_PASSES % {"sheet": sheet})
    if Reading.of(first).key() == Reading.of(second).key():
        raise Conflict(MSG_NOTHING_TO_RESOLVE % {"sheet": sheet})
    reading = sheet_read(district=batch.district, design=_design(batch.district), marks=marks)
    previous = batch.resolutions.filter(sheet=sheet).first()
    before = {"sheet": sheet, "invalid": bool(previous.invalid_reason)} if previous else None
    resolution, _created = PaperResolution.objects.update_or_create(
        batch=batch,
        sheet=sheet,
        defaults={
            "choices": list(reading.choices),
            "points": list(reading.points) if reading.points is not None else None,
            "invalid_reason": reading.invalid_reason,
            "note": (note or "").strip(),
            "resolved_by_id": actor.pk,
        },
    )
    audit_record(
        actor=actor,
        action="paper_sheet.resolve",
        object_type="paper_batch",
        object_id=batch.pk,
        before=before,
        after={"sheet": sheet, "invalid": not reading.valid},
        reason=resolution.note,
    )
    return resolution


# --- reconciliation ------------------------------------------------------------------------------------
@dataclass
class BatchState:
    """Where a batch stands: what is keyed, what is settled, and what stops reconciliation."""

    expected: int  # issued − spoiled: the sheets to key
    keyed: dict[int, int]  # pass → sheets keyed
    readings: dict[int, Reading]  # sheet → settled reading (both passes agree, or resolved)
    mismatches: list[Mismatch]
    problems: list[str]

    @property
    def valid(self) -> int:
        return sum(1 for r in self.readings.values() if r.valid)

    @property
    def invalid(self) -> int:
        return sum(1 for r in self.readings.values() if not r.valid)

    @property
    def unresolved(self) -> list[Mismatch]:
        return [m for m in self.mismatches if m.missing_pass is None and m.resolution is None]


def _ranges(sheets: list[int]) -> str:
    """[1, 2, 3, 5] → "1–3, 5"."""
    parts, start = [], None
    for i, n in enumerate(sheets):
        if start is None:
            start = n
        if i + 1 == len(sheets) or sheets[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}–{n}")
            start = None
    return ", ".join(parts)


def paper_batch_state(batch: PaperBatch) -> BatchState:
    """The batch's keying progress, its settled sheets and, in plain words, every reason it
    cannot be reconciled now (empty: it can)."""
    keyed = _entries(batch)
    resolutions = {r.sheet: r for r in batch.resolutions.all()}
    expected = _sheets_expected(batch)
    readings: dict[int, Reading] = {}
    mismatches = []
    for sheet in sorted(set(keyed[1]) | set(keyed[2])):
        first, second = keyed[1].get(sheet), keyed[2].get(sheet)
        if first and second and Reading.of(first).key() == Reading.of(second).key():
            readings[sheet] = Reading.of(first)
            continue
        mismatch = Mismatch(sheet=sheet, first=first, second=second, resolution=resolutions.get(sheet))
        mismatches.append(mismatch)
        if mismatch.resolved:
            readings[sheet] = Reading.of(mismatch.resolution)
    problems = []
    for pass_no in PASSES:
        missing = [s for s in range(1, expected + 1) if s not in keyed[pass_no]]
        if missing:
            problems.append(str(MSG_MISSING % {"pass": pass_no, "sheets": _ranges(missing)}))
    beyond = sorted(s for s in set(keyed[1]) | set(keyed[2]) if s > expected)
    if beyond:
        problems.append(str(MSG_BEYOND % {"n": expected, "sheets": _ranges(beyond)}))
    state = BatchState(
        expected=expected,
        keyed={p: len(keyed[p]) for p in PASSES},
        readings=readings,
        mismatches=mismatches,
        problems=problems,
    )
    if state.unresolved:
        problems.append(str(MSG_UNRESOLVED % {"sheets": _ranges([m.sheet for m in state.unresolved])}))
    if batch.issued != state.valid + state.invalid + batch.spoiled:
        problems.append(
            str(
                MSG_COUNTS
                % {"issued": batch.issued, "valid": state.valid, "invalid": state.invalid, "spoiled": batch.spoiled}
            )
        )
    return state


@transaction.atomic
def paper_batch_reconcile(*, actor, batch: PaperBatch) -> PaperBatch:
    """Check the batch and store its valid sheets as ballots, in one transaction.

    Invariant: after it, the district's roll entries = ballots still (one synthetic roll entry per
    valid sheet, channel "paper", the batch's site and day); ballots carry no receipt and are
    inserted in random order, not sheet order; invalid sheets are no ballots. The batch is then
    frozen. Errors: NotAllowed, PhaseClosed, Conflict (reconciled already; ``extra["reconcile"]``
    lists every problem). Locking: cycle, batch."""
    check_official(actor)
    cycle, batch = _lock(batch)
    state = paper_batch_state(batch)
    if state.problems:
        raise Conflict(MSG_NOT_RECONCILABLE, extra={"reconcile": state.problems})
    district, design = batch.district, _design(batch.district)
    ballots, roll_keys = [], []
    for sheet, reading in sorted(state.readings.items()):
        if not reading.valid:
            continue
        points = reading.points if design.method == methods.Method.CUMULATIVE else None
        stored = record.canonical_order(design, methods.Ballot(choices=reading.choices, points=points))
        ballots.append(
            record.BallotRow(
                choices=list(stored.choices), points=list(stored.points) if stored.points is not None else None
            )
        )
        roll_keys.append(crypto.identity_key("paper", f"{batch.pk}:{sheet}"))
    random.SystemRandom().shuffle(ballots)  # the table's order must not follow the sheets
    # Paper voters get no receipt; one synthetic roll entry per valid sheet (the batch's site and day).
    record.ballots_insert(district=district, channel=Channel.PAPER, rows=ballots)
    record.roll_entries_insert(
        cycle=cycle,
        district=district,
        channel=Channel.PAPER,
        verification="paper",
        identity_keys=roll_keys,
        site=batch.site.name,
        voted_on=batch.voted_on,
    )
    batch.status = PaperBatch.Status.RECONCILED
    batch.reconciled_by_id = actor.pk
    batch.reconciled_at = timezone.now()
    batch.save(update_fields=["status", "reconciled_by_id", "reconciled_at"])
    audit_record(
        actor=actor,
        action="paper_batch.reconcile",
        object_type="paper_batch",
        object_id=batch.pk,
        after={"issued": batch.issued, "spoiled": batch.spoiled, "valid": state.valid, "invalid": state.invalid},
    )
    return batch


# --- selectors -----------------------------------------------------------------------------------------
def paper_batches(cycle: Cycle) -> QuerySet[PaperBatch]:
    return (
        PaperBatch.objects.filter(district__cycle=cycle)
        .select_related("district", "site")
        .order_by("-voted_on", "site__name", "district__code", "label")
    )


def paper_batches_unreconciled(cycle: Cycle) -> QuerySet[PaperBatch]:
    """Batches of ``cycle`` still being keyed: the tally waits for them."""
    return paper_batches(cycle).filter(status=PaperBatch.Status.KEYING)


def paper_batch_get(cycle: Cycle, batch_id: int) -> PaperBatch | None:
    return paper_batches(cycle).filter(pk=batch_id).first()


def paper_passes_open_to(batch: PaperBatch, user) -> list[int]:
    """The passes ``user`` may key in this batch: not the one opposite to a pass they keyed."""
    mine = set(batch.entries.filter(keyed_by_id=user.pk).values_list("pass_no", flat=True))
    return [p for p in PASSES if (3 - p) not in mine]


def paper_next_sheet(batch: PaperBatch, pass_no: int) -> int | None:
    """The lowest sheet number not keyed yet in this pass (None: all sheets are keyed)."""
    done = set(batch.entries.filter(pass_no=pass_no).values_list("sheet", flat=True))
    return next((s for s in range(1, _sheets_expected(batch) + 1) if s not in done), None)


def _reading_record(row: PaperEntry | PaperResolution | None, *, who: str) -> dict | None:
    if row is None:
        return None
    return {
        "choices": list(row.choices),
        "points": list(row.points) if row.points is not None else None,
        "invalid_reason": row.invalid_reason,
        who: getattr(row, who),
    }


def paper_record(cycle: Cycle) -> dict:
    """Every paper batch of ``cycle`` with both keyings of every sheet, the resolutions and the
    reconciliation (JSON-able: the auditors' ``paper.json``). Keyers and resolvers by account id."""
    batches = []
    for batch in paper_batches(cycle).order_by("pk").prefetch_related("entries", "resolutions"):
        state = paper_batch_state(batch)
        entries: dict[int, dict[int, PaperEntry]] = {}
        for entry in batch.entries.all():
            entries.setdefault(entry.sheet, {})[entry.pass_no] = entry
        resolutions = {r.sheet: r for r in batch.resolutions.all()}
        sheets = []
        for sheet in sorted(set(entries) | set(resolutions)):
            keyings = entries.get(sheet, {})
            resolution = resolutions.get(sheet)
            settled = state.readings.get(sheet)
            sheets.append(
                {
                    "sheet": sheet,
                    "pass_1": _reading_record(keyings.get(1), who="keyed_by_id"),
                    "pass_2": _reading_record(keyings.get(2), who="keyed_by_id"),
                    "resolution": {**_reading_record(resolution, who="resolved_by_id"), "note": resolution.note}
                    if resolution
                    else None,
                    "counted_as": None if settled is None else ("valid" if settled.valid else "invalid"),
                }
            )
        batches.append(
            {
                "id": batch.pk,
                "district": batch.district.code,
                "site": batch.site.name,
                "label": batch.label,
                "voted_on": batch.voted_on.isoformat(),
                "method": getattr(getattr(batch.district, "ballot_design", None), "method", None),
                "issued": batch.issued,
                "spoiled": batch.spoiled,
                "valid": state.valid,
                "invalid": state.invalid,
                "status": batch.status,
                "reconciled_by_id": batch.reconciled_by_id,
                "reconciled_at": format_time(batch.reconciled_at) if batch.reconciled_at else None,
                "sheets": sheets,
            }
        )
    return {"cycle": cycle.slug, "batches": batches}
