"""The vote record's only writer: every row of ``Ballot``, ``BallotSource``, ``VoterRollEntry`` and
``BallotVoid`` is written here, and nowhere else (a test reads every other module and names any
line that writes one of these tables).

The record is what the audit bundle publishes and what outlives the vote: the anonymous ballots
(with, for an imported ballot, its file's voter id), the roll of who took part, and the voids that
take a ballot out of the count. The ballot-change keys and the provisional ballots' sealed links
are not part of it: they are working state, erased when voting closes or the review decides, and
their services write them.

These are low-level writers, not services: no permission, phase or lock is checked here. Each runs
inside its caller's transaction — the cast, a paper reconciliation, a Pabulib import, a provisional
review, an official's void, the archive — and refuses to run outside one, so a ballot and its roll
entry can never be committed apart.

Where PostgreSQL and SQLite take different paths, both are here side by side: the vote path's
single-statement inserts (``ON CONFLICT``, no savepoint) and their ORM twins, and the archive's
erasure of roll keys. On PostgreSQL, triggers refuse UPDATE, DELETE and TRUNCATE on the ballot and
roll tables (``core.db.append_only``, installed by migrations); elsewhere the models refuse them.
"""

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import timezone

from budgets.models import Cycle, District

from .. import methods
from ..methods.base import ballot_from_points
from ..models import VOID_WORDS, Ballot, BallotDesign, BallotSource, BallotVoid, VoidReason, VoterRollEntry

ERASED_PREFIX = "erased:"  # an erased roll key: this, then a random value (see ``roll_keys_erase``)


def _inside_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError("the vote record is written only inside the caller's transaction")


# --- ballots ------------------------------------------------------------------------------------------
def canonical_order(design: BallotDesign, ballot: methods.Ballot) -> methods.Ballot:
    """The order a ballot is stored in, whatever order the voter's client sent: a chosen order
    (or the per-voter shuffle of the page) must not make a ballot recognisable in the record, so a
    vote cannot be proven to a buyer. Approval and knapsack: sorted codes; cumulative: by points,
    then code (as Pabulib writes them); ranked: the order is the vote itself. The cast and paper
    reconciliation both store their ballots in it."""
    method = methods.Method(design.method)
    if method in (methods.Method.APPROVAL, methods.Method.KNAPSACK):
        return methods.Ballot(choices=tuple(sorted(ballot.choices)))
    if method == methods.Method.CUMULATIVE:
        return ballot_from_points(dict(zip(ballot.choices, ballot.points, strict=True)))
    return ballot


_BALLOT_INSERT = """
    INSERT INTO voting_ballot (id, district_id, channel, choices, points, receipt_hash)
    VALUES (%s, %s, %s, %s, %s, %s)
"""


def ballot_insert(
    *, district: District, channel: str, choices: list[str], points: list[int] | None, receipt_hash: str | None
) -> Ballot:
    """One anonymous ballot row (a random UUIDv4 id; nothing else about when, where or who), as the
    cast stores it. Returns the ballot (not read back)."""
    _inside_transaction()
    if connection.vendor != "postgresql":
        return Ballot.objects.create(
            district=district, channel=channel, choices=choices, points=points, receipt_hash=receipt_hash
        )
    # The same row in SQL: the vote path keeps the ORM's statement building off its clock.
    cast = Ballot(
        id=uuid.uuid4(), district=district, channel=channel, choices=choices, points=points, receipt_hash=receipt_hash
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _BALLOT_INSERT,
            [
                cast.id,
                district.pk,
                channel,
                json.dumps(choices),
                json.dumps(points) if points is not None else None,
                receipt_hash,
            ],
        )
    return cast


@dataclass(frozen=True)
class BallotRow:
    """A ballot stored without a voter at hand (a paper sheet, a line of a Pabulib file), in the
    order it is to be stored. ``source_voter_id``: an imported ballot's voter id in its file."""

    choices: list[str]
    points: list[int] | None = None
    source_voter_id: str = ""


def ballots_insert(*, district: District, channel: str, rows: Iterable[BallotRow]) -> int:
    """Many ballots of one district and channel (no receipt), in the order given, each with a random
    UUIDv4 id; an imported one with its ``BallotSource``. Returns how many."""
    _inside_transaction()
    ballots, sources = [], []
    for row in rows:
        ballot = Ballot(id=uuid.uuid4(), district=district, channel=channel, choices=row.choices, points=row.points)
        ballots.append(ballot)
        if row.source_voter_id:
            sources.append(BallotSource(ballot=ballot, voter_id=row.source_voter_id))
    Ballot.objects.bulk_create(ballots)
    BallotSource.objects.bulk_create(sources)
    return len(ballots)


# --- the roll -----------------------------------------------------------------------------------------
_ROLL_INSERT = """
    INSERT INTO voting_voterrollentry
        (cycle_id, district_id, scope, identity_key, channel, verification, site, language, voted_on)
    VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
    ON CONFLICT DO NOTHING
    RETURNING id
"""


def roll_entry_insert(
    *,
    cycle: Cycle,
    district: District,
    identity_key: str,
    channel: str,
    verification: str,
    site: str,
    language: str,
    voted_on: date,
) -> int | None:
    """One voter's roll entry for a district: its id, or None when the roll already has this voter
    for the district or for the ballot's scope in the cycle — the unique constraints decide, not a
    prior check, and nothing is inserted."""
    _inside_transaction()
    values = {
        "cycle_id": cycle.pk,
        "district_id": district.pk,
        "scope": district.kind,
        "identity_key": identity_key,
        "channel": channel,
        "verification": verification,
        "site": site,
        "language": language,
        "voted_on": voted_on,
    }
    if connection.vendor == "postgresql":
        # One statement, no savepoint: a conflict on either unique constraint inserts nothing.
        with connection.cursor() as cursor:
            cursor.execute(_ROLL_INSERT, list(values.values()))
            row = cursor.fetchone()
        return row[0] if row is not None else None
    try:
        with transaction.atomic():
            return VoterRollEntry.objects.create(**values).pk
    except IntegrityError:
        return None


def roll_entries_insert(
    *,
    cycle: Cycle,
    district: District,
    channel: str,
    verification: str,
    identity_keys: Iterable[str],
    voted_on: date,
    site: str = "",
    language: str = "",
) -> int:
    """One synthetic roll entry per key (a paper sheet's, an imported voter's), so that roll entries
    = ballots holds for ballots stored without a voter. Returns how many."""
    _inside_transaction()
    entries = [
        VoterRollEntry(
            cycle=cycle,
            district=district,
            scope=district.kind,
            identity_key=key,
            channel=channel,
            verification=verification,
            site=site,
            language=language,
            voted_on=voted_on,
        )
        for key in identity_keys
    ]
    VoterRollEntry.objects.bulk_create(entries)
    return len(entries)


def roll_keys_erase(*, cycle: Cycle) -> int:
    """Replace every identity key on ``cycle``'s roll with a random value of its own (idempotent:
    keys already erased are left). Two rows of one voter (a ward and a citywide ballot) get two
    unrelated values, so the uniqueness constraints still hold and the rows no longer link.

    The one change the roll allows: on PostgreSQL its row trigger lets exactly this UPDATE through
    inside a transaction that set ``pb.roll_erase`` — nothing but the identity key, once, to an
    ``erased:`` value (migration 0009). Returns how many keys were erased."""
    _inside_transaction()
    params = [cycle.pk, f"{ERASED_PREFIX}%"]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT set_config('pb.roll_erase', 'on', true)")
            cursor.execute(
                "UPDATE voting_voterrollentry SET identity_key = 'erased:' || replace(gen_random_uuid()::text, '-', '')"
                " WHERE cycle_id = %s AND identity_key NOT LIKE %s",
                params,
            )
            count = cursor.rowcount
            cursor.execute("SELECT set_config('pb.roll_erase', 'off', true)")
        else:
            cursor.execute(
                "UPDATE voting_voterrollentry SET identity_key = 'erased:' || lower(hex(randomblob(16)))"
                " WHERE cycle_id = %s AND identity_key NOT LIKE %s",
                params,
            )
            count = cursor.rowcount
    return count


# --- voids --------------------------------------------------------------------------------------------
_VOID_INSERT = """
    INSERT INTO voting_ballotvoid (ballot_id, kind, reason, actor_id, voided_at)
    VALUES (%s, %s, %s, %s, %s)
    ON CONFLICT (ballot_id) DO NOTHING
    RETURNING id
"""


def ballot_void_insert(
    *,
    ballot_id: uuid.UUID | str,
    kind: VoidReason,
    reason: str = "",
    actor_id: int | None = None,
    voided_at: datetime | None = None,
) -> BallotVoid | None:
    """Take a ballot out of the count; the ballot stays. ``reason``, the words ``ballots.csv``
    shows, is an official's own for ``VoidReason.OFFICIAL`` (required) and the fixed words of the
    kind otherwise (then not given). Returns the void, or None when the ballot was void already
    (one void per ballot: the unique ballot id decides, and nothing is inserted)."""
    _inside_transaction()
    kind = VoidReason(kind)
    if kind == VoidReason.OFFICIAL:
        if not reason:
            raise ValueError("an official's void needs the official's reason")
    elif reason:
        raise ValueError(f"a {kind.value} void has fixed words, not a reason of its own")
    else:
        reason = VOID_WORDS[kind]
    void = BallotVoid(
        ballot_id=ballot_id, kind=kind, reason=reason, actor_id=actor_id, voided_at=voided_at or timezone.now()
    )
    if connection.vendor == "postgresql":
        # One statement, no savepoint: the supersession is written on the vote path.
        with connection.cursor() as cursor:
            cursor.execute(_VOID_INSERT, [str(void.ballot_id), kind.value, reason, actor_id, void.voided_at])
            row = cursor.fetchone()
        if row is None:
            return None
        void.pk = row[0]
        void._state.adding, void._state.db = False, connection.alias
        return void
    try:
        with transaction.atomic():
            void.save(force_insert=True)
    except IntegrityError:
        return None
    return void
