"""Casting a ballot: who is voting, the eligibility check, the one-ballot rule, the cast itself,
changing a ballot where the cycle allows it, and what a receipt code says.

``ballot_cast`` is the vote path: one database transaction that touches PostgreSQL only — no cache,
broker, email or SMS call inside it, no audit event naming the ballot (the roll entry is the
record), no log line with the ballot id or receipt code.
"""

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop, ngettext_lazy
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle, District
from budgets.phases import Capability, phase_allows
from core import times
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.money import format_money
from core.services import notification_queue

from .. import crypto, matching, methods
from ..methods.base import ballot_from_ranks
from ..methods.messages import problem_message
from ..models import (
    VOID_WORDS,
    AccessCode,
    Ballot,
    BallotChangeKey,
    BallotDesign,
    BallotVoid,
    Eligibility,
    Identity,
    ProvisionalBallot,
    VoidReason,
    VoterRollEntry,
)
from . import record
from .design import ballot_rules


class AlreadyVoted(Conflict):
    code = "already_voted"
    default_message = _(
        "You have already voted: one ballot per person in this district (and one ward ballot per cycle). "
        "Thank you for voting!"
    )


class VotingClosed(PhaseClosed):
    code = "voting_closed"
    default_message = _("Voting is closed. Your ballot was not recorded.")


class VotingPaused(PhaseClosed):
    code = "voting_paused"
    default_message = _("Voting is paused for the moment. Your ballot was not recorded; please try again later.")


class BallotInvalid(ValidationFailed):
    code = "ballot_invalid"
    default_message = _("The ballot is not valid. Nothing was recorded.")


class NoBallot(Conflict):
    code = "no_ballot"
    default_message = _("There is no ballot for this district.")


class CodeNotUsable(Conflict):
    code = "code_not_usable"
    default_message = _("This access code cannot be used: it was used already, has expired, or is for another ballot.")


class NotEligible(NotAllowed):
    code = "not_eligible"
    default_message = _("You are not eligible to vote in this district.")


MSG_TOO_YOUNG = ngettext_lazy(
    "Voters must be at least %(age)s year old on %(date)s.",
    "Voters must be at least %(age)s years old on %(date)s.",
    "age",
)
MSG_BIRTH_FUTURE = _("The date of birth is in the future: check the day, month and year.")
MSG_BIRTH_TOO_LONG_AGO = _("The date of birth is more than %(years)s years ago: check the year.")
BIRTH_MAX_YEARS = 120  # older than this is a typing mistake, not a voter
MSG_ATTEST = _("Please confirm that the information you gave is true.")
MSG_BIRTH_NEEDED = _("Enter your date of birth: there is a minimum age to vote.")
MSG_NAME_NEEDED = _("Enter your full name.")
MSG_ADDRESS_NEEDED = _("Enter your home address.")


@dataclass(frozen=True)
class Voter:
    """Who is casting, as the vote path needs it: the identity key, and details for the erasable
    identity table and the eligibility check."""

    identity_key: str
    channel: str
    verification: str
    language: str = "en"
    site: str = ""
    date_of_birth: date | None = None
    name: str = ""
    email: str = ""
    phone: str = ""
    address: str = ""
    notify_user: object = None  # an account to send the "you voted" confirmation to
    access_code_hash: str = ""  # a printed code, used up in the ballot's own transaction
    checkin: Mapping | None = None  # check-in details at a voting site (kept in the erasable identity)
    # Set when eligibility could not be confirmed (ProvisionalBallot.Reason): the ballot is stored
    # as provisional. A possible duplicate (same name, date of birth, address as someone on the
    # roll of this ballot) is made provisional by ``ballot_cast`` itself.
    provisional_reason: str = ""
    provisional_note: str = ""


@dataclass(frozen=True)
class CastResult:
    receipt_code: str  # shown once, on screen only
    provisional: bool = False
    replaced: bool = False  # this ballot replaced the voter's earlier one (a cycle that allows changes)


def _age_on(cycle: Cycle, eligibility: Eligibility) -> date:
    if eligibility.age_on:
        return eligibility.age_on
    close = cycle.voting_close_at or timezone.now()
    return timezone.localtime(close, ZoneInfo(cycle.time_zone)).date()  # the cycle's day, not UTC's


def _years_between(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _check_open(cycle: Cycle) -> None:
    if cycle.is_paused and phase_allows(cycle.phase, Capability.CAST_BALLOTS):
        raise VotingPaused()
    if not cycle.allows(Capability.CAST_BALLOTS):
        raise VotingClosed()
    if cycle.voting_close_at is not None and timezone.now() >= cycle.voting_close_at:
        raise VotingClosed()


_FROZEN: dict[tuple, tuple] = {}  # (district, cycle, cycle.updated_at) → (eligibility, design, rules)


def _ballot_setup(cycle: Cycle, district: District):
    """The district's eligibility, design and rules. Once the ballot is frozen (nothing about it
    can change while voting: the capability table forbids it) they are read once per process."""
    frozen = not (cycle.allows(Capability.DESIGN_BALLOT) or cycle.allows(Capability.EDIT_PROJECTS))
    key = (district.pk, cycle.pk, cycle.updated_at)
    if frozen and key in _FROZEN:
        return _FROZEN[key]
    eligibility = Eligibility.objects.filter(cycle=cycle).first() or Eligibility(cycle=cycle)
    design = BallotDesign.objects.filter(district=district).first()
    setup = (eligibility, design, ballot_rules(district, design) if design else None)
    if frozen:
        if len(_FROZEN) > 1000:
            _FROZEN.clear()
        _FROZEN[key] = setup
    return setup


# Every channel on which a person casts their own ballot. Paper sheets and imported ballots carry
# no identity (paper is reconciled by batch); every other ballot goes through ``ballot_cast``.
IDENTIFIED_CHANNELS = frozenset({"online", "phone", "code", "kiosk"})


def eligibility_check(
    *, cycle: Cycle, date_of_birth: date | None, attested: bool = True, eligibility: Eligibility | None = None
) -> None:
    """The cycle's eligibility rule, the one place it is applied, the same on every channel (an
    account, an SMS code, a printed access code, a kiosk's check-in; paper wherever a date of birth
    is keyed): the voter attests that they live (or work or study, where the cycle allows it) in
    the district and that what they gave is true, gives a date of birth, and is at least the
    minimum age on the cycle's day for counting age (default: the day voting closes, in the
    cycle's zone). A date of birth in the future, or more than ``BIRTH_MAX_YEARS`` years before
    the cycle's today, is a mistake and is refused as such. NotEligible (403) with the reason;
    nothing is read but the cycle's rule."""
    if not attested:
        raise NotEligible(MSG_ATTEST)
    if eligibility is None:
        eligibility = Eligibility.objects.filter(cycle=cycle).first() or Eligibility(cycle=cycle)
    age_on = _age_on(cycle, eligibility)
    if date_of_birth is None:
        raise NotEligible(MSG_BIRTH_NEEDED)
    today = timezone.localdate(timezone=ZoneInfo(cycle.time_zone))
    if date_of_birth > today:
        raise NotEligible(MSG_BIRTH_FUTURE)
    if _years_between(date_of_birth, today) > BIRTH_MAX_YEARS:
        raise NotEligible(MSG_BIRTH_TOO_LONG_AGO % {"years": BIRTH_MAX_YEARS})
    if _years_between(date_of_birth, age_on) < eligibility.minimum_age:
        raise NotEligible(MSG_TOO_YOUNG % {"age": eligibility.minimum_age, "date": times.format_day(age_on)})


def voter_identity_check(voter: Voter) -> None:
    """What finding one person on two channels needs, from every voter who casts their own ballot:
    a name and a home address (the date of birth is the eligibility rule's). An account gives its
    name before its first ballot. ValidationFailed (400) naming each missing field."""
    if voter.channel not in IDENTIFIED_CHANNELS:
        return
    errors = {}
    if not matching.name_normalize(voter.name):
        errors["name"] = [MSG_NAME_NEEDED]
    if not matching.address_normalize(voter.address):
        errors["address"] = [MSG_ADDRESS_NEEDED]
    if errors:
        raise ValidationFailed(" ".join(str(m[0]) for m in errors.values()), extra=errors)


def _roll_blocks(*, scope_taken: bool, may_replace) -> bool:
    """The one-ballot rule as the roll applies it: a voter already on the cycle's roll for this
    ballot's scope (their one ward ballot, or the citywide one) casts no other ballot of that scope,
    unless the cycle lets them replace the ballot they cast here (``may_replace()``, asked only
    then). ``ballot_check``, ``voter_check`` and the ballot lists (``ballot_standings``) all ask it."""
    return scope_taken and not may_replace()


def _check_not_on_roll(district: District, voter: Voter) -> None:
    scope_taken = VoterRollEntry.objects.filter(
        cycle_id=district.cycle_id, scope=district.kind, identity_key=voter.identity_key
    ).exists()

    # A voter who may replace their ballot here passes (the cast decides again, under a lock).
    def may_replace() -> bool:
        return not voter.provisional_reason and ballot_changeable(district=district, identity_key=voter.identity_key)

    if _roll_blocks(scope_taken=scope_taken, may_replace=may_replace):
        raise AlreadyVoted()


@dataclass(frozen=True)
class BallotStanding:
    """Where one voter stands on one ballot of a cycle, as the vote path would judge it now: what a
    ballot list offers. Nothing about the ballot's contents: only the voter's own roll entries."""

    district: District
    voted_on: date | None = None  # the day (cycle's zone) this voter's ballot here went on the roll
    changeable: bool = False  # voted here, in a cycle that lets them replace it
    may_cast: bool = True  # the one-ballot rule lets them cast (or replace) a ballot here
    cast_in: District | None = None  # where they cast this scope's ballot, when not here

    @property
    def voted(self) -> bool:
        return self.voted_on is not None


def ballot_standings(*, cycle: Cycle, districts: list[District], identity_key: str | None) -> list[BallotStanding]:
    """Each of ``districts`` (a cycle's ballots) with this voter's standing: voted there (on which
    day), may still cast there, or not — a ward ballot cast in another ward rules out every other
    ward's (``_roll_blocks``, the rule ``ballot_check`` applies). Advisory, like ``ballot_check``:
    the roll's unique constraints decide at the cast. No identity (nobody verified yet): every
    ballot open. One query on the roll, one per ballot voted in a cycle that allows changes."""
    if not identity_key:
        return [BallotStanding(district=d) for d in districts]
    entries = list(
        VoterRollEntry.objects.filter(cycle_id=cycle.pk, identity_key=identity_key).values_list(
            "district_id", "scope", "voted_on"
        )
    )
    voted_on = {district_id: day for district_id, _scope, day in entries}
    scope_district = {scope: district_id for district_id, scope, _day in entries}
    by_pk = {d.pk: d for d in districts}
    standings = []
    for district in districts:
        day = voted_on.get(district.pk)
        changeable = day is not None and ballot_changeable(district=district, identity_key=identity_key)
        taken_in = scope_district.get(district.kind)
        standings.append(
            BallotStanding(
                district=district,
                voted_on=day,
                changeable=changeable,
                may_cast=not _roll_blocks(scope_taken=taken_in is not None, may_replace=lambda c=changeable: c),
                cast_in=(by_pk.get(taken_in) or District.objects.filter(pk=taken_in).first())
                if taken_in is not None and day is None
                else None,
            )
        )
    return standings


def _cast_checks(
    *, cycle: Cycle, district: District, voter: Voter, ballot: methods.Ballot, attested: bool, rank_problems=()
) -> tuple[Eligibility, BallotDesign]:
    """Everything ``ballot_cast`` refuses before it writes, in order: paused/closed, attestation,
    age, then every problem with the ballot. Returns the eligibility and design it checked against."""
    _check_open(cycle)
    voter_identity_check(voter)
    eligibility, design, rules = _ballot_setup(cycle, district)
    eligibility_check(cycle=cycle, date_of_birth=voter.date_of_birth, attested=attested, eligibility=eligibility)
    if design is None:
        raise NoBallot()
    problems = [*rank_problems, *methods.validate(rules, ballot)]
    if problems:
        money = lambda amount: format_money(amount, cycle.currency)  # noqa: E731
        raise BallotInvalid(extra={"ballot": [problem_message(p, money=money) for p in problems]})
    return eligibility, design


@transaction.atomic
def ballot_cast(
    *,
    voter: Voter,
    district: District | int,
    ballot: methods.Ballot | None = None,
    ranks: Mapping[str, int] | None = None,
    attested: bool = True,
    district_read_now: bool = False,
) -> CastResult:
    """Store one voter's whole ballot for one district, or nothing.

    ``ranks`` ({project code: rank}, 1 = first choice) may stand for ``ballot`` on a ranked ballot,
    as a form or the API sends it: gaps and repeated ranks are refused with the other problems.

    Invariant: one roll entry per (district, identity key) — the database's unique constraint, not a
    check — and one anonymous ballot for it, in the same transaction; nothing links the two.
    Errors: VotingPaused / VotingClosed (409), ValidationFailed (400: no name or address from a voter
    on an identified channel), NotEligible (403: ``eligibility_check``), BallotInvalid (400, every
    problem), AlreadyVoted (409).

    One person, one ballot across channels: the identity's match key (normalised name, date of
    birth and address, keyed) is compared with every identity already on this ballot's roll; a
    match makes this ballot provisional (duplicate review). Casts with one match key run that
    comparison one after the other (a transaction-scoped advisory lock on the key), so two
    channels at once still find each other. Locking: none on the cycle (a hot row shared by every ballot);
    instead the last statement before commit re-reads the phase, the pause and the clock, so a ballot
    commits only while voting is open — a pause or close counts from the moment it is committed.

    The district and its cycle are read again here, unless the caller says (``district_read_now``)
    that it has just read them with ``selectors.ballot_district_for_cast`` in this request (the API).
    """
    if (ballot is None) == (ranks is None):
        raise TypeError("ballot_cast takes either a ballot or ranks")
    if not (district_read_now and isinstance(district, District)):
        district = District.objects.select_related("cycle").get(
            pk=district.pk if isinstance(district, District) else district
        )
    cycle = district.cycle
    rank_problems = []
    if ranks is not None:
        ballot, rank_problems = ballot_from_ranks(ranks)
    eligibility, design = _cast_checks(
        cycle=cycle, district=district, voter=voter, ballot=ballot, attested=attested, rank_problems=rank_problems
    )

    try:
        roll_id = _roll_insert(cycle=cycle, district=district, voter=voter)
    except AlreadyVoted:
        # On the roll already: in a cycle that allows it, a voter with a change key in this
        # district replaces their ballot; anyone else has voted.
        if not eligibility.allow_ballot_change:
            raise
        return _ballot_replace(cycle=cycle, district=district, design=design, voter=voter, ballot=ballot)
    if voter.access_code_hash:
        # Conditional UPDATE: of two ballots racing on one code, exactly one uses it up.
        used = AccessCode.objects.filter(
            code_hash=voter.access_code_hash, district=district, used_at__isnull=True, expires_at__gt=timezone.now()
        ).update(used_at=timezone.now())
        if used != 1:
            raise CodeNotUsable()
    match = crypto.match_key(name=voter.name, date_of_birth=voter.date_of_birth, address=voter.address)
    _identity_upsert(voter, match)
    if match:
        _match_lock(match)
    provisional_reason = voter.provisional_reason or (
        ProvisionalBallot.Reason.POSSIBLE_DUPLICATE if match and _possible_duplicate(district, voter, match) else ""
    )
    code = crypto.code_new()
    cast = _ballot_store(district=district, design=design, channel=voter.channel, ballot=ballot, code=code)
    if eligibility.allow_ballot_change and voter.channel in CHANGEABLE_CHANNELS and not provisional_reason:
        # Only a voter who can come back as the same identity: not a printed code (used up) or a
        # paper sheet (keyed in, also during counting); a provisional ballot is settled by officials.
        BallotChangeKey.objects.create(
            district=district,
            voter_key=_change_key(district, voter.identity_key),
            sealed_ballot=crypto.seal(str(cast.pk)),
        )
    if provisional_reason:
        ProvisionalBallot.objects.create(
            cycle=cycle,
            district=district,
            roll_entry_id=roll_id,
            reason=provisional_reason,
            note=voter.provisional_note,
            sealed_ballot=crypto.seal(str(cast.pk)),
            ballot_tag=crypto.ballot_tag(cast.pk),
        )
    _confirmation_queue(
        voter=voter, district=district, kind="vote.confirmation", subject=MSG_VOTED_SUBJECT, body=MSG_VOTED_BODY
    )
    _still_open(cycle)
    return CastResult(receipt_code=code, provisional=bool(provisional_reason))


MSG_VOTED_SUBJECT = gettext_noop("Thank you for voting")
MSG_VOTED_BODY = gettext_noop(
    "Your ballot for %(district)s in %(cycle)s has been recorded. "
    "Keep the receipt code you were shown to check that it is counted."
)
MSG_VOTING_CLOSES = gettext_noop("Voting closes %(close)s; the results are published after the count.")
MSG_CHANGED_SUBJECT = gettext_noop("Your ballot has been changed")
# The words ballots.csv shows for a supersession, under the name audit/verify.py reads them by.
VOID_REASON_SUPERSEDED = VOID_WORDS[VoidReason.SUPERSEDED]
CHANGEABLE_CHANNELS = frozenset({"online", "phone", "kiosk"})
MSG_CHANGED_BODY = gettext_noop(
    "Your new ballot for %(district)s in %(cycle)s has been recorded and replaces the one you cast before. "
    "Keep the new receipt code you were shown to check that it is counted."
)


def _confirmation_queue(*, voter: Voter, district: District, kind: str, subject: str, body: str) -> None:
    """The "you voted" email (no code, no choices) as an outbox row in the ballot's transaction, in
    the voter's language; no broker call from the vote request: the periodic task sends it."""
    if voter.notify_user is None:
        return
    cycle = district.cycle
    with translation.override(voter.language or "en"):
        text = gettext(body) % {"district": district.name, "cycle": cycle.name}
        if cycle.voting_close_at:
            text += " " + gettext(MSG_VOTING_CLOSES) % {"close": times.format_datetime(cycle.voting_close_at, cycle)}
        notification_queue(
            recipient=voter.notify_user,
            kind=kind,
            subject=gettext(subject),
            body=text,
            essential=True,
            dispatch=False,
        )


def _change_key(district: District, identity_key: str) -> str:
    return crypto.keyed_hash("ballot-change", f"{district.pk}:{identity_key}")


def _ballot_store(*, district: District, design: BallotDesign, channel: str, ballot: methods.Ballot, code: str):
    stored = record.canonical_order(design, ballot)
    return record.ballot_insert(
        district=district,
        channel=channel,
        choices=list(stored.choices),
        points=list(stored.points) if stored.points is not None else None,
        receipt_hash=crypto.receipt_hash(code),
    )


def _ballot_replace(*, cycle: Cycle, district: District, design: BallotDesign, voter: Voter, ballot) -> CastResult:
    """A voter already on this district's roll casts again where the cycle allows it:
    their last ballot gets a supersession (a void with a fixed reason and no time of its own) and the
    new ballot takes its place; the roll keeps its one entry. The change key's row is locked, so two
    changes by one voter at once supersede one after the other and exactly one ballot stays counted.
    No change key (a ward ballot cast in another ward, a provisional ballot, a printed code, or keys
    erased at close): AlreadyVoted."""
    voter_key = _change_key(district, voter.identity_key)
    key = BallotChangeKey.objects.select_for_update().filter(district=district, voter_key=voter_key).first()
    if key is None or voter.provisional_reason:
        raise AlreadyVoted()
    previous = Ballot.objects.filter(pk=crypto.unseal(key.sealed_ballot)).values_list("pk", "channel").first()
    if previous is None or previous[1] != voter.channel:
        raise AlreadyVoted()
    # No time of its own: the cycle's opening, not the moment of the change.
    record.ballot_void_insert(
        ballot_id=previous[0], kind=VoidReason.SUPERSEDED, actor_id=None, voided_at=cycle.voting_open_at or NO_TIME
    )
    code = crypto.code_new()
    cast = _ballot_store(district=district, design=design, channel=voter.channel, ballot=ballot, code=code)
    key.sealed_ballot = crypto.seal(str(cast.pk))
    key.save(update_fields=["sealed_ballot"])
    _confirmation_queue(
        voter=voter, district=district, kind="vote.changed", subject=MSG_CHANGED_SUBJECT, body=MSG_CHANGED_BODY
    )
    _still_open(cycle)
    return CastResult(receipt_code=code, replaced=True)


NO_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # a supersession's "voided_at": a fixed value that says nothing


def ballot_changes_erase(*, cycle: Cycle) -> int:
    """Delete every change key of the cycle (when voting closes): no link from a voter to a ballot
    is left anywhere. Returns how many were erased."""
    erased, _by_model = BallotChangeKey.objects.filter(district__cycle=cycle).delete()
    return erased


def hook_erase_change_keys(*, cycle: Cycle, actor) -> None:
    """voting → counting: erase the cycle's change keys, the last link from a voter to a ballot."""
    ballot_changes_erase(cycle=cycle)


def ballot_changeable(*, district: District, identity_key: str) -> bool:
    """Whether this voter, already on the district's roll, may still replace their ballot."""
    eligibility = Eligibility.objects.filter(cycle_id=district.cycle_id).first()
    if eligibility is None or not eligibility.allow_ballot_change:
        return False
    return BallotChangeKey.objects.filter(district=district, voter_key=_change_key(district, identity_key)).exists()


def _identity_upsert(voter: Voter, match: str) -> None:
    identity = {
        "name": voter.name,
        "email": voter.email,
        "phone": voter.phone,
        "address": voter.address,
        "date_of_birth": voter.date_of_birth,
        "match_key": match,
        "checkin": dict(voter.checkin or {}),
    }
    # What this channel knows; a detail it lacks does not erase one another channel gave.
    identity = {k: v for k, v in identity.items() if v not in ("", None, {})}
    if not identity:
        return
    if connection.vendor == "postgresql":
        # The same upsert in SQL: the vote path keeps the ORM's statement building off its clock.
        # Column names come from the fixed keys above, never from input.
        columns = ["identity_key", *identity, "created_at"]
        values = [voter.identity_key, *identity.values(), timezone.now()]
        if "checkin" in identity:
            values[columns.index("checkin")] = json.dumps(identity["checkin"], cls=DjangoJSONEncoder)
        defaults = {"name": "", "email": "", "phone": "", "address": "", "match_key": "", "checkin": "{}"}
        missing = [c for c in defaults if c not in identity]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO voting_identity ({', '.join([*columns, *missing])})"  # noqa: S608 - fixed names
                f" VALUES ({', '.join(['%s'] * (len(columns) + len(missing)))})"
                f" ON CONFLICT (identity_key) DO UPDATE SET {', '.join(f'{c} = EXCLUDED.{c}' for c in identity)}",
                [*values, *(defaults[c] for c in missing)],
            )
        return
    Identity.objects.bulk_create(  # one INSERT … ON CONFLICT DO UPDATE
        [Identity(identity_key=voter.identity_key, **identity)],
        update_conflicts=True,
        unique_fields=["identity_key"],
        update_fields=list(identity),
    )


def _match_lock(match: str) -> None:
    """Until this transaction ends, no other cast with this match key gets past this point: the one
    that comes second sees the first on the roll. Other people are not held up."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"voting.match:{match}"])


_POSSIBLE_DUPLICATE = """
    SELECT 1 FROM voting_identity i
    CROSS JOIN LATERAL (
        SELECT 1 FROM voting_voterrollentry r
        WHERE r.cycle_id = %s AND r.scope = %s AND r.identity_key = i.identity_key LIMIT 1
    ) AS on_roll
    WHERE i.match_key = %s AND i.identity_key <> %s
    LIMIT 1
"""


def _possible_duplicate(district: District, voter: Voter, match: str) -> bool:
    """Someone else with the same name, date of birth and address is already on this ballot's roll
    (in this district, or for a ward ballot in another ward of the cycle).

    On PostgreSQL the LATERAL join fixes the plan: the few identities with this match key come
    first, each probed in the roll's unique (cycle, scope, identity) index, so the cost does not
    grow with turnout whatever the planner's statistics say (they are stale when voting opens on an
    empty roll, and a plain semi-join can then be driven by the roll: bench/README.md)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_POSSIBLE_DUPLICATE, [district.cycle_id, district.kind, match, voter.identity_key])
            return cursor.fetchone() is not None
    return (
        Identity.objects.filter(
            match_key=match,
            identity_key__in=VoterRollEntry.objects.filter(cycle_id=district.cycle_id, scope=district.kind).values(
                "identity_key"
            ),
        )
        .exclude(identity_key=voter.identity_key)
        .exists()
    )


_STILL_OPEN = """
    SELECT phase, voting_paused_at IS NOT NULL,
           voting_close_at IS NOT NULL AND clock_timestamp() >= voting_close_at
    FROM budgets_cycle WHERE id = %s
    FOR KEY SHARE
"""


def _still_open(cycle: Cycle) -> None:
    """The last statement of a cast: the close of voting is a timestamp and a pause takes effect
    when it commits; a ballot that would commit after either is not stored. ``FOR KEY SHARE`` makes
    the order strict: a pause or close that holds the cycle row (``FOR UPDATE``) makes the cast wait
    and then read what it committed, and a cast that read first makes the pause or close wait for it."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_STILL_OPEN, [cycle.pk])
        phase, paused, closed = cursor.fetchone()
    if paused and phase_allows(phase, Capability.CAST_BALLOTS):
        raise VotingPaused()
    if closed or not phase_allows(phase, Capability.CAST_BALLOTS):
        raise VotingClosed()


def _roll_insert(*, cycle: Cycle, district: District, voter: Voter) -> int:
    """The roll entry's id, or AlreadyVoted: the unique constraints decide, not a prior check."""
    roll_id = record.roll_entry_insert(
        cycle=cycle,
        district=district,
        identity_key=voter.identity_key,
        channel=voter.channel,
        verification=voter.verification,
        site=voter.site,
        language=voter.language,
        voted_on=timezone.localdate(timezone=ZoneInfo(cycle.time_zone)),
    )
    if roll_id is None:
        raise AlreadyVoted()
    return roll_id


def ballot_check(*, voter: Voter, district: District | int, ballot: methods.Ballot, attested: bool = True) -> None:
    """What ``ballot_cast`` would refuse now, without writing anything (the ballot page's review
    step): the same errors with the same messages, plus AlreadyVoted when the roll already has this
    voter. Advisory only — ``ballot_cast`` checks everything again under its lock, and the roll's
    unique constraint is what finally stops a second ballot. No lock taken."""
    district = District.objects.select_related("cycle").get(
        pk=district.pk if isinstance(district, District) else district
    )
    _cast_checks(cycle=district.cycle, district=district, voter=voter, ballot=ballot, attested=attested)
    _check_not_on_roll(district, voter)


def voter_check(*, voter: Voter, district: District | int) -> None:
    """What ``ballot_cast`` would refuse about the voter alone, before there is a ballot (a kiosk's
    check-in): paused/closed, age, no ballot in the district, already on this ballot's roll — the
    same errors and messages as ``ballot_check``. Advisory: no lock; the cast checks again."""
    district = District.objects.select_related("cycle").get(
        pk=district.pk if isinstance(district, District) else district
    )
    _check_open(district.cycle)
    voter_identity_check(voter)
    eligibility, design, _rules = _ballot_setup(district.cycle, district)
    eligibility_check(cycle=district.cycle, date_of_birth=voter.date_of_birth, eligibility=eligibility)
    if design is None:
        raise NoBallot()
    _check_not_on_roll(district, voter)


def receipt_check(*, code: str) -> str:
    """ "counted", "pending" (a provisional ballot waiting for review), "replaced" (the voter cast a
    newer ballot, which is the one counted), "voided" (rejected or voided) or "unknown" — nothing
    about the choices."""
    ballot_id = Ballot.objects.filter(receipt_hash=crypto.receipt_hash(code)).values_list("id", flat=True).first()
    if ballot_id is None:
        return "unknown"
    void_kind = BallotVoid.objects.filter(ballot_id=ballot_id).values_list("kind", flat=True).first()
    if void_kind is not None:
        return "replaced" if void_kind == VoidReason.SUPERSEDED else "voided"
    if ProvisionalBallot.objects.filter(ballot_tag=crypto.ballot_tag(ballot_id)).exists():
        return "pending"
    return "counted"
