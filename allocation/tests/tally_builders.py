"""Building tally state through the real services, for the tally tests: ballots cast through
``ballot_cast``, voting closed through the phase machine, tallied and certified through
``allocation.services``.

Ward A ($50,000; A-01 $20,000, A-02 $15,000, A-03 $30,000), 12 approval ballots: six for A-03, three
for A-01, three for A-02. Greedy funds A-03 then A-01 (tied with A-02 at 3 votes, A-01 is first in
the declared order) and spends all $50,000; equal shares funds A-02 and A-03 ($45,000). Ward B
($50,000; B-01 $30,000, B-02 $25,000, B-03 $10,000): four ballots for B-03, two for B-01; every
rule funds B-01 and B-03. Ward C has no projects and no ballot.
"""

from datetime import date

from django.utils import timezone

from allocation.models import TallyRun
from allocation.services import cycle_certify, tally_cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from voting import crypto, methods, services
from voting.models import Ballot, VoterRollEntry
from voting.tests.builders import World, voter, voting_world

A_BALLOTS = [("A-03",)] * 6 + [("A-01",)] * 3 + [("A-02",)] * 3
B_BALLOTS = [("B-03",)] * 4 + [("B-01",)] * 2
GREEDY_A = ["A-01", "A-03"]
MES_A = ["A-02", "A-03"]


def cast(world: World, district: str, choices, *, key: str, **voter_kwargs):
    return services.ballot_cast(
        voter=voter(key, **voter_kwargs),
        district=world.district(district),
        ballot=methods.Ballot(choices=tuple(choices)),
    )


def cast_all(world: World) -> None:
    for n, choices in enumerate(A_BALLOTS):
        cast(world, "A", choices, key=f"a-{n}")
    for n, choices in enumerate(B_BALLOTS):
        cast(world, "B", choices, key=f"b-{n}")


def close_voting(world: World) -> World:
    world.cycle = cycle_transition(
        actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: close."
    )
    return world


def counting_world(official, *, designs: dict | None = None, before_close=None) -> World:
    """The two wards voted (see the module doc) and voting closed. ``before_close(world)`` runs
    while voting is still open (e.g. to cast a provisional ballot)."""
    world = voting_world(official, designs=designs)
    cast_all(world)
    if before_close is not None:
        before_close(world)
    return close_voting(world)


def certified_world(official, **kwargs) -> World:
    world = counting_world(official, **kwargs)
    tally_cycle(cycle=world.cycle)
    world.cycle = cycle_certify(actor=official, cycle=world.cycle, reason="Test: certified.")
    return world


def paper_ballot(world: World, district: str, choices, *, key: str) -> Ballot:
    """A ballot arriving during counting (as a reconciled paper batch stores it): a roll entry and
    a ballot, written directly."""
    VoterRollEntry.objects.create(
        cycle=world.cycle,
        district=world.district(district),
        scope="ward",
        identity_key=crypto.identity_key("paper", key),
        channel="paper",
        verification="paper",
        voted_on=timezone.localdate(),
    )
    return Ballot.objects.create(district=world.district(district), channel="paper", choices=list(choices))


def run_key_counts(cycle) -> dict[tuple[str, str, str, str], int]:
    """How many runs each (district, rule, params, input hash) has: 1 everywhere when exactly once."""
    counts: dict = {}
    for run in TallyRun.objects.filter(cycle=cycle):
        key = (run.district.code, run.rule, run.params, run.input_hash)
        counts[key] = counts.get(key, 0) + 1
    return counts


BORN = date(1980, 5, 17)
