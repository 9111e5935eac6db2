"""The archive's erasure of a cycle's vote (voting/erase.py): the roll's keys become random values
no secret can recompute, on every database, once; other cycles' rolls are untouched; officials'
reasons on provisional ballots go."""

import pytest

from budgets.phases import Phase
from budgets.services import cycle_transition
from voting import crypto, methods, services
from voting.erase import ERASED_PREFIX, ERASED_REASON, vote_personal_data_erase
from voting.models import ProvisionalBallot, VoterRollEntry
from voting.services.record import roll_keys_erase
from voting.services.review import provisional_accept, provisional_reject

from .builders import assert_roll_matches_ballots, voter, voting_world

pytestmark = pytest.mark.django_db


def cast(world, district: str, choices, *, key: str) -> None:
    services.ballot_cast(
        voter=voter(key), district=world.district(district), ballot=methods.Ballot(choices=tuple(choices))
    )


def test_roll_keys_become_random_once_and_only_in_that_cycle(official):
    world, other = voting_world(official), voting_world(official)
    for n in range(3):
        cast(world, "A", ["A-01"], key=f"v-{n}")
    cast(other, "A", ["A-01"], key="v-0")  # the same person in another cycle
    before = dict(VoterRollEntry.objects.filter(cycle=world.cycle).values_list("pk", "identity_key"))
    other_keys = list(VoterRollEntry.objects.filter(cycle=other.cycle).values_list("identity_key", flat=True))

    assert roll_keys_erase(cycle=world.cycle) == 3
    after = dict(VoterRollEntry.objects.filter(cycle=world.cycle).values_list("pk", "identity_key"))
    assert after.keys() == before.keys()
    assert all(key.startswith(ERASED_PREFIX) and len(key) <= 64 for key in after.values())
    assert len(set(after.values())) == 3 and not set(after.values()) & set(before.values())
    assert crypto.identity_key("test", "v-0") not in after.values()  # what the secret recomputes
    assert list(VoterRollEntry.objects.filter(cycle=other.cycle).values_list("identity_key", flat=True)) == other_keys
    assert roll_keys_erase(cycle=world.cycle) == 0
    assert dict(VoterRollEntry.objects.filter(cycle=world.cycle).values_list("pk", "identity_key")) == after
    assert_roll_matches_ballots()


def test_officials_reasons_on_provisional_ballots_are_erased(official):
    """Free text that may name the voter: an acceptance's note goes, a rejection keeps a stand-in
    (it must have a reason); another cycle's decisions are untouched."""
    worlds = [voting_world(official), voting_world(official)]
    for world in worlds:
        for n in range(2):
            services.ballot_cast(
                voter=voter(f"p-{n}", provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED),
                district=world.district("A"),
                ballot=methods.Ballot(choices=("A-01",)),
            )
        world.cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Closed.")
        first, second = ProvisionalBallot.objects.filter(cycle=world.cycle).order_by("id")
        provisional_accept(actor=official, provisional=first, note="Dana Whitfield showed her ID later")
        provisional_reject(actor=official, provisional=second, reason="Dana Whitfield voted twice")
    here, other = worlds

    summary = vote_personal_data_erase(cycle=here.cycle, live_phases=[])

    assert summary["provisional_reasons_erased"] == 2
    erased = dict(ProvisionalBallot.objects.filter(cycle=here.cycle).values_list("status", "decision_reason"))
    assert erased == {"accepted": "", "rejected": ERASED_REASON}
    kept = set(ProvisionalBallot.objects.filter(cycle=other.cycle).values_list("decision_reason", flat=True))
    assert kept == {"Dana Whitfield showed her ID later", "Dana Whitfield voted twice"}
    assert vote_personal_data_erase(cycle=here.cycle, live_phases=[])["provisional_reasons_erased"] == 0
