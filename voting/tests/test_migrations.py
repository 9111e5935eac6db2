"""The data migrations: match keys computed again with the normalised name and address; the kind of
existing voids."""

import importlib
from datetime import date

import pytest
from django.apps import apps

from voting import crypto, services
from voting.methods import Ballot
from voting.models import Ballot as StoredBallot
from voting.models import BallotVoid, DuplicateReview, Identity, VoidReason

from .builders import voter, voting_world

pytestmark = pytest.mark.django_db

recompute = importlib.import_module("voting.migrations.0008_identity_match_key_normalised").recompute
classify = importlib.import_module("voting.migrations.0011_ballot_void_reason").classify
BORN = date(1980, 5, 5)


def test_old_match_keys_are_computed_again_and_a_decision_follows_an_unchanged_group(official):
    cycle = voting_world(official).cycle
    old = {"street": "a" * 64, "st": "b" * 64, "solo": "c" * 64}  # keys of the old folding
    Identity.objects.create(
        identity_key="k1", name="Alice Example", date_of_birth=BORN, address="12 Elm Street", match_key=old["street"]
    )
    Identity.objects.create(
        identity_key="k2", name="Alice Example", date_of_birth=BORN, address="12 Elm St", match_key=old["st"]
    )
    Identity.objects.create(
        identity_key="k3", name="Bob Other", date_of_birth=BORN, address="9 Oak Ave", match_key=old["solo"]
    )
    Identity.objects.create(identity_key="k4", name="", date_of_birth=None, address="", match_key="")
    DuplicateReview.objects.create(cycle=cycle, match_key=old["street"], decision="distinct")
    DuplicateReview.objects.create(cycle=cycle, match_key=old["solo"], decision="distinct")

    recompute(apps, None)

    alice = crypto.match_key(name="Alice Example", date_of_birth=BORN, address="12 Elm St")
    bob = crypto.match_key(name="Bob Other", date_of_birth=BORN, address="9 Oak Avenue")
    keys = dict(Identity.objects.values_list("identity_key", "match_key"))
    assert keys == {"k1": alice, "k2": alice, "k3": bob, "k4": ""}
    # Alice's two old groups are one now, with a member nobody decided on: reviewed again.
    assert set(DuplicateReview.objects.values_list("match_key", flat=True)) == {old["street"], bob}


def test_existing_voids_get_their_kind_from_their_words_which_stay(official):
    """The migration that added ``BallotVoid.kind``: each void's words are kept (ballots.csv shows
    them), and its kind read from them."""
    world = voting_world(official)
    words = ["superseded by the voter's later ballot", "provisional ballot rejected", "keyed twice"]
    for text in words:
        result = services.ballot_cast(voter=voter(text), district=world.district("A"), ballot=Ballot(choices=("A-01",)))
        ballot = StoredBallot.objects.get(receipt_hash=crypto.receipt_hash(result.receipt_code))
        BallotVoid.objects.create(ballot=ballot, kind=VoidReason.OFFICIAL, reason=text)  # as before the migration
    classify(apps, None)

    assert sorted(BallotVoid.objects.values_list("reason", "kind")) == [
        ("keyed twice", "official"),
        ("provisional ballot rejected", "provisional_rejected"),
        ("superseded by the voter's later ballot", "superseded"),
    ]
