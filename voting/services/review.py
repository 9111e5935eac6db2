"""Provisional ballots and possible duplicate identities: officials settle them
during counting, and certification waits until they are settled.

- A provisional ballot is a ballot whose eligibility could not be confirmed when it was cast. Its
  ``ProvisionalBallot`` row holds the roll entry and a *sealed* link to the ballot. Accepting erases
  the link (the ballot is counted like any other); rejecting voids the ballot with the reason
  (``BallotVoid``: the ballot stays in the record, out of the count) and erases the link too. That
  is the only way a ballot can still be removed once cast.
- A duplicate group is two or more identity keys on a cycle's roll whose identities share a
  ``match_key`` (same name, date of birth and address). Officials record once per group whether
  they are different people or the same person.

Privacy: no audit event names a ballot id (an audit event always names a person, the actor). The
ballot id exists in clear only inside ``provisional_reject``, long enough to write the void record.
Officials see the roll entry and the identity, never the choices.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Case, Count, IntegerField, QuerySet, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.models import User
from budgets.models import Cycle
from budgets.phases import Capability, phase_allows
from core.errors import Conflict, GuardFailed, NotFound, PhaseClosed, ValidationFailed
from core.services import audit_record

from .. import crypto
from ..models import DuplicateReview, Identity, ProvisionalBallot, VoidReason, VoterRollEntry
from ..permissions import check_official
from . import record
from .paper import paper_batches_unreconciled

MSG_REVIEW_CLOSED = _("Provisional ballots are accepted or rejected during counting, after voting has closed.")
MSG_ALREADY_DECIDED = _("This provisional ballot has already been decided: %(status)s.")
MSG_REJECT_REASON = _("Give the reason for rejecting this ballot.")
MSG_DUPLICATES_CLOSED = _("Possible duplicates are reviewed while voting is open or during counting.")
MSG_DUPLICATE_DECIDED = _("This group of possible duplicates has already been reviewed.")
MSG_DUPLICATE_UNKNOWN = _("There is no such group of possible duplicates in this cycle.")
MSG_DUPLICATE_DECISION = _("Choose whether these are different people or the same person.")

MAX_TEXT = 2000


class AlreadyDecided(Conflict):
    code = "already_decided"
    default_message = _("This has already been decided.")


# --- provisional ballots ------------------------------------------------------------------------------
def _lock_for_review(provisional: ProvisionalBallot | int) -> tuple[Cycle, ProvisionalBallot]:
    """Lock the cycle, then the provisional ballot (the order the phase change takes: the cycle
    first), so that no decision commits after certification has read the pending count."""
    pk = provisional.pk if isinstance(provisional, ProvisionalBallot) else provisional
    cycle_id = ProvisionalBallot.objects.filter(pk=pk).values_list("cycle_id", flat=True).first()
    if cycle_id is None:
        raise NotFound()
    cycle = Cycle.objects.select_for_update().get(pk=cycle_id)
    locked = ProvisionalBallot.objects.select_for_update().select_related("district").get(pk=pk)
    return cycle, locked


def _lock_pending(*, actor, provisional: ProvisionalBallot | int) -> tuple[Cycle, ProvisionalBallot]:
    """What both decisions check, in this order: an official, the locks, counting, still pending."""
    check_official(actor)
    cycle, provisional = _lock_for_review(provisional)
    if not cycle.allows(Capability.REVIEW_PROVISIONAL):
        raise PhaseClosed(MSG_REVIEW_CLOSED)
    if provisional.status != ProvisionalBallot.Status.PENDING:
        status = ProvisionalBallot.Status(provisional.status).label
        raise AlreadyDecided(MSG_ALREADY_DECIDED % {"status": status})
    return cycle, provisional


def _decide(provisional: ProvisionalBallot, *, cycle: Cycle, actor, status: str, reason: str, action: str) -> None:
    """Store the decision, erase the sealed link, and write the audit event (never the ballot)."""
    provisional.status = status
    provisional.decision_reason = reason
    provisional.sealed_ballot = ""  # the link is gone for good
    provisional.ballot_tag = ""
    provisional.decided_by_id = getattr(actor, "pk", None)
    provisional.decided_at = timezone.now()
    provisional.save(
        update_fields=["status", "decision_reason", "sealed_ballot", "ballot_tag", "decided_by_id", "decided_at"]
    )
    audit_record(
        actor=actor,
        action=action,
        object_type="provisional_ballot",
        object_id=provisional.pk,
        before={"status": ProvisionalBallot.Status.PENDING},
        after={"status": provisional.status, "district": provisional.district.code, "cycle": cycle.slug},
        reason=reason,
    )


@transaction.atomic
def provisional_accept(*, actor, provisional: ProvisionalBallot | int, note: str = "") -> ProvisionalBallot:
    """Accept a provisional ballot: its sealed link is erased, and the ballot counts like any other.

    Invariant: afterwards nothing links the ballot to its roll entry. The audit event names the
    provisional ballot and its district, never the ballot. Errors: NotAllowed (officials with MFA
    only), PhaseClosed (only during counting), AlreadyDecided (decided before). Locking: the cycle
    row, then the provisional ballot row.
    """
    cycle, provisional = _lock_pending(actor=actor, provisional=provisional)
    note = (note or "").strip()[:MAX_TEXT]
    _decide(
        provisional,
        cycle=cycle,
        actor=actor,
        status=ProvisionalBallot.Status.ACCEPTED,
        reason=note,
        action="provisional.accept",
    )
    return provisional


@transaction.atomic
def provisional_reject(*, actor, provisional: ProvisionalBallot | int, reason: str) -> ProvisionalBallot:
    """Reject a provisional ballot: the ballot is voided with the reason (it stays in the record,
    marked void, out of the count) and the sealed link is erased. The roll entry stays: the person
    took part, and roll entries = ballots per district still holds.

    Invariant: the ballot id is read from the seal only to write the void record; the audit event
    names the provisional ballot, its district and the reason, never the ballot. Errors:
    NotAllowed, PhaseClosed (only during counting), ValidationFailed (no reason), AlreadyDecided.
    Locking: the cycle row, then the provisional ballot row.
    """
    cycle, provisional = _lock_pending(actor=actor, provisional=provisional)
    reason = (reason or "").strip()[:MAX_TEXT]
    if not reason:
        raise ValidationFailed(extra={"reason": [MSG_REJECT_REASON]})
    ballot_id = crypto.unseal(provisional.sealed_ballot)
    if crypto.ballot_tag(ballot_id) != provisional.ballot_tag:  # pragma: no cover - a tampered row
        raise Conflict(_("The sealed link of this provisional ballot does not match its ballot."))
    # A fixed reason: the official's words (which may name the voter) stay on the provisional row
    # and in the audit log, never next to the ballot's choices in the exported record. A ballot
    # void already stays as it is.
    record.ballot_void_insert(
        ballot_id=ballot_id, kind=VoidReason.PROVISIONAL_REJECTED, actor_id=getattr(actor, "pk", None)
    )
    _decide(
        provisional,
        cycle=cycle,
        actor=actor,
        status=ProvisionalBallot.Status.REJECTED,
        reason=reason,
        action="provisional.reject",
    )
    return provisional


@dataclass(frozen=True)
class CheckinFacts:
    """A voting site's check-in, in words: where, which volunteer, whether proof of age and address
    was seen, and when (``None``: not recorded)."""

    site: str
    volunteer: str
    proof_seen: bool | None
    at: datetime | None


def _checkin_facts(checkin: dict, names: dict[int, str]) -> CheckinFacts | None:
    if not checkin:
        return None
    try:
        at = datetime.fromisoformat(checkin["at"]) if checkin.get("at") else None
    except (TypeError, ValueError):
        at = None
    seen = checkin.get("id_seen")
    return CheckinFacts(
        site=str(checkin.get("site") or ""),
        volunteer=names.get(checkin.get("volunteer_id"), ""),
        proof_seen=seen if isinstance(seen, bool) else None,
        at=at,
    )


@dataclass(frozen=True)
class ProvisionalRow:
    """One provisional ballot as the officials' page shows it: never its choices."""

    provisional: ProvisionalBallot
    identity: Identity | None
    decided_by: str = ""
    duplicate_group: str = ""  # the match key, when this voter is in a group of possible duplicates
    checkin: CheckinFacts | None = None

    @property
    def pending(self) -> bool:
        return self.provisional.status == ProvisionalBallot.Status.PENDING


def _user_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return {user.pk: str(user) for user in User.objects.filter(pk__in=ids).only("pk", "display_name", "email")}


def provisional_list(cycle: Cycle) -> list[ProvisionalRow]:
    """The cycle's provisional ballots, pending first (then by district and day), each with its roll
    entry and identity. At most four queries, whatever the number of rows."""
    provisionals = list(
        ProvisionalBallot.objects.filter(cycle=cycle)
        .select_related("district", "roll_entry")
        .annotate(
            pending_first=Case(
                When(status=ProvisionalBallot.Status.PENDING, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("pending_first", "district__code", "roll_entry__voted_on", "pk")
    )
    if not provisionals:
        return []
    keys = {p.roll_entry.identity_key for p in provisionals}
    identities = {i.identity_key: i for i in Identity.objects.filter(identity_key__in=keys)}
    in_groups = set(
        _group_keys(cycle)
        .filter(match_key__in={i.match_key for i in identities.values() if i.match_key})
        .values_list("match_key", flat=True)
    )
    volunteers = [i.checkin.get("volunteer_id") for i in identities.values() if isinstance(i.checkin, dict)]
    names = _user_names([*(p.decided_by_id for p in provisionals), *(v for v in volunteers if isinstance(v, int))])
    rows = []
    for p in provisionals:
        identity = identities.get(p.roll_entry.identity_key)
        match = identity.match_key if identity and identity.match_key in in_groups else ""
        checkin = identity.checkin if identity and isinstance(identity.checkin, dict) else {}
        rows.append(
            ProvisionalRow(
                provisional=p,
                identity=identity,
                decided_by=names.get(p.decided_by_id, ""),
                duplicate_group=match,
                checkin=_checkin_facts(checkin, names),
            )
        )
    return rows


def provisional_pending_count(cycle: Cycle) -> int:
    return ProvisionalBallot.objects.filter(cycle=cycle, status=ProvisionalBallot.Status.PENDING).count()


# --- possible duplicates ------------------------------------------------------------------------------
def _roll_keys(cycle: Cycle) -> QuerySet:
    return VoterRollEntry.objects.filter(cycle=cycle).values("identity_key")


def _group_keys(cycle: Cycle) -> QuerySet:
    """Match keys shared by two or more identity keys on this cycle's roll (a subquery)."""
    return (
        Identity.objects.filter(match_key__gt="", identity_key__in=_roll_keys(cycle))
        .values("match_key")
        .annotate(members=Count("id"))
        .filter(members__gte=2)
        .values("match_key")
    )


@dataclass
class DuplicateMember:
    identity: Identity
    entries: list[VoterRollEntry] = field(default_factory=list)  # with district and provisional

    @property
    def lines(self) -> list[tuple[VoterRollEntry, ProvisionalBallot | None]]:
        """Each roll entry with its provisional ballot, if it has one (for the page)."""
        return [(entry, _provisional_of(entry)) for entry in self.entries]


@dataclass
class DuplicateGroup:
    match_key: str
    members: list[DuplicateMember] = field(default_factory=list)
    review: DuplicateReview | None = None
    decided_by: str = ""

    @property
    def anchor(self) -> str:
        return f"group-{self.match_key[:12]}"

    def _entries(self):
        return [entry for member in self.members for entry in member.entries]

    @property
    def channels(self) -> list[str]:
        return sorted({e.get_channel_display() for e in self._entries()})

    @property
    def sites(self) -> list[str]:
        return sorted({e.site for e in self._entries() if e.site})

    @property
    def districts(self) -> list[str]:
        return sorted({e.district.name for e in self._entries()})

    @property
    def days(self) -> list:
        return sorted({e.voted_on for e in self._entries()})

    @property
    def pending_provisional(self) -> bool:
        return any(_pending(e) for e in self._entries())

    @property
    def pending_provisional_count(self) -> int:
        return sum(_pending(e) for e in self._entries())

    @property
    def ballot_count(self) -> int:
        return len(self._entries())


def _provisional_of(entry: VoterRollEntry) -> ProvisionalBallot | None:
    try:
        return entry.provisional
    except ProvisionalBallot.DoesNotExist:
        return None


def _pending(entry: VoterRollEntry) -> bool:
    provisional = _provisional_of(entry)
    return provisional is not None and provisional.status == ProvisionalBallot.Status.PENDING


def duplicate_groups(cycle: Cycle) -> list[DuplicateGroup]:
    """Groups of identity keys on the cycle's roll that share name, date of birth and address: each
    member's roll entries (district, channel, site, day, provisional status), the group's decision.
    Groups without a decision first. At most four queries, whatever the number of groups."""
    identities = list(
        Identity.objects.filter(match_key__in=_group_keys(cycle), identity_key__in=_roll_keys(cycle)).order_by(
            "match_key", "name", "identity_key"
        )
    )
    if not identities:
        return []
    groups: dict[str, DuplicateGroup] = {}
    members: dict[str, DuplicateMember] = {}
    for identity in identities:
        member = members[identity.identity_key] = DuplicateMember(identity=identity)
        groups.setdefault(identity.match_key, DuplicateGroup(match_key=identity.match_key)).members.append(member)
    entries = (
        VoterRollEntry.objects.filter(cycle=cycle, identity_key__in=list(members))
        .select_related("district", "provisional")
        .order_by("voted_on", "district__code", "pk")
    )
    for entry in entries:
        members[entry.identity_key].entries.append(entry)
    reviews = list(DuplicateReview.objects.filter(cycle=cycle, match_key__in=list(groups)))
    names = _user_names(r.decided_by_id for r in reviews)
    for review in reviews:
        group = groups[review.match_key]
        group.review, group.decided_by = review, names.get(review.decided_by_id, "")
    return sorted(
        groups.values(), key=lambda g: (g.review is not None, not g.pending_provisional, g.members[0].identity.name)
    )


def duplicate_review_open(cycle: Cycle) -> bool:
    """Duplicates may be settled while voting is open (paused or not) and during counting."""
    return phase_allows(cycle.phase, Capability.CAST_BALLOTS) or cycle.allows(Capability.REVIEW_PROVISIONAL)


@transaction.atomic
def duplicate_review_record(*, actor, cycle: Cycle, match_key: str, decision: str, note: str = "") -> DuplicateReview:
    """Record, once, whether a group of possible duplicates are different people or the same person.

    "The same person" removes no ballot: a ballot that is not provisional cannot be removed once
    cast; a provisional one is rejected on the provisional ballots page. The decision is kept for
    the audit. Errors: NotAllowed, PhaseClosed (only while voting or counting), NotFound (no such
    group), ValidationFailed (no decision), AlreadyDecided (the group has its decision; the unique
    constraint backs this check). Locking: the cycle row.
    """
    check_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if not duplicate_review_open(cycle):
        raise PhaseClosed(MSG_DUPLICATES_CLOSED)
    if decision not in DuplicateReview.Decision.values:
        raise ValidationFailed(extra={"decision": [MSG_DUPLICATE_DECISION]})
    members = (
        Identity.objects.filter(match_key=match_key, identity_key__in=_roll_keys(cycle)).count() if match_key else 0
    )
    if members < 2:
        raise NotFound(MSG_DUPLICATE_UNKNOWN)
    if DuplicateReview.objects.filter(cycle=cycle, match_key=match_key).exists():
        raise AlreadyDecided(MSG_DUPLICATE_DECIDED)
    note = (note or "").strip()[:MAX_TEXT]
    try:
        with transaction.atomic():
            review = DuplicateReview.objects.create(
                cycle=cycle, match_key=match_key, decision=decision, note=note, decided_by_id=getattr(actor, "pk", None)
            )
    except IntegrityError as exc:  # pragma: no cover - the cycle lock serialises decisions
        raise AlreadyDecided(MSG_DUPLICATE_DECIDED) from exc
    audit_record(
        actor=actor,
        action="duplicate_review.record",
        object_type="duplicate_review",
        object_id=review.pk,
        # Never the match key: a keyed hash of name, date of birth and address, which the log would
        # keep for good (the review's id is the event's object).
        after={"cycle": cycle.slug, "decision": decision, "members": members},
        reason=note,
    )
    return review


def duplicate_undecided_count(cycle: Cycle) -> int:
    decided = DuplicateReview.objects.filter(cycle=cycle).values("match_key")
    return _group_keys(cycle).exclude(match_key__in=decided).count()


# --- what stops the tally and certification -------------------------------------------------------------
def tally_blockers(cycle: Cycle) -> list[str]:
    """Why the tally cannot run yet, in plain language (empty: it may run): provisional ballots
    waiting for a decision, paper batches not reconciled."""
    problems = []
    if pending := provisional_pending_count(cycle):
        problems.append(
            ngettext(
                "%(count)s provisional ballot is still waiting for a decision.",
                "%(count)s provisional ballots are still waiting for a decision.",
                pending,
            )
            % {"count": pending}
        )
    if unreconciled := paper_batches_unreconciled(cycle).count():
        problems.append(
            ngettext(
                "%(count)s paper ballot batch is not reconciled yet.",
                "%(count)s paper ballot batches are not reconciled yet.",
                unreconciled,
            )
            % {"count": unreconciled}
        )
    return problems


def counting_blockers(cycle: Cycle) -> list[str]:
    """Why the results cannot be certified yet: the tally's blockers, and groups of possible
    duplicates without a decision."""
    problems = tally_blockers(cycle)
    if undecided := duplicate_undecided_count(cycle):
        problems.append(
            ngettext(
                "%(count)s group of possible duplicate voters has not been reviewed yet.",
                "%(count)s groups of possible duplicate voters have not been reviewed yet.",
                undecided,
            )
            % {"count": undecided}
        )
    return problems


def guard_review_settled(*, cycle: Cycle) -> None:
    """counting → results (certification): every provisional ballot decided, every paper batch
    reconciled, every group of possible duplicates reviewed."""
    problems = counting_blockers(cycle)
    if problems:
        raise GuardFailed(" ".join(problems), extra={"review": problems})
