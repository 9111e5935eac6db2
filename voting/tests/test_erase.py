"""The archive's erasure of a cycle's vote (voting/erase.py): the roll's keys become random values
no secret can recompute, on every database, once; other cycles' rolls are untouched."""

import pytest

from voting import crypto, methods, services
from voting.erase import ERASED_PREFIX, roll_keys_erase
from voting.models import VoterRollEntry

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
