"""The voting demo content (voting/demo.py, run by budgets.demo): knapsack designs frozen when
voting opens, and 300 ballots cast through the real vote path."""

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from budgets.demo import demo_load
from budgets.phases import Phase
from core.models import AuditEvent
from pbverify.canonical import canonical_bytes
from voting import methods, services
from voting.models import Ballot, BallotDesign, BallotFreeze, Identity, ProvisionalBallot, VoterRollEntry

from .builders import assert_roll_matches_ballots, voter

pytestmark = pytest.mark.django_db


def state() -> dict:
    return {
        "ballots": sorted(Ballot.objects.values_list("id", "district__code", "choices", "receipt_hash")),
        "roll": sorted(VoterRollEntry.objects.values_list("district__code", "identity_key", "channel", "voted_on")),
        "identities": Identity.objects.count(),
        "designs": sorted(BallotDesign.objects.values_list("district__code", "method", "updated_at")),
        "freezes": list(BallotFreeze.objects.values_list("cycle_id", "fingerprint", "frozen_at")),
        "audit": AuditEvent.objects.count(),
    }


@pytest.fixture
def demo_voting():
    return demo_load(phase=Phase.VOTING).cycle


def test_the_demo_casts_300_ballots_through_the_vote_path(demo_voting):
    cycle = demo_voting
    assert cycle.phase == Phase.VOTING
    assert Ballot.objects.count() == 300
    per_district = dict(Ballot.objects.values_list("district__code").annotate(n=Count("id")))
    assert per_district == {ward: 50 for ward in "ABCDEF"}
    assert_roll_matches_ballots()
    assert VoterRollEntry.objects.values("identity_key").distinct().count() == 300
    assert set(VoterRollEntry.objects.values_list("channel", flat=True)) == {"online"}
    assert set(Ballot.objects.values_list("channel", flat=True)) == {"online"}
    # Every ballot went through the rules: valid under its district's frozen design, with a receipt.
    for district in cycle.districts.order_by("code"):
        assert district.ballot_design.method == "knapsack"
        rules = services.ballot_rules(district)
        for choices, receipt_hash in Ballot.objects.filter(district=district).values_list("choices", "receipt_hash"):
            assert methods.validate(rules, methods.Ballot(choices=tuple(choices))) == [], (district.code, choices)
            assert receipt_hash and len(receipt_hash) == 64
    # Casting wrote no audit event naming a ballot.
    ballot_ids = {str(i) for i in Ballot.objects.values_list("id", flat=True)}
    assert not AuditEvent.objects.filter(object_id__in=ballot_ids).exists()


def test_the_demo_froze_the_ballot_when_voting_opened(demo_voting):
    freeze = BallotFreeze.objects.get(cycle=demo_voting)
    assert freeze.fingerprint == hashlib.sha256(freeze.canonical.encode("utf-8")).hexdigest()
    assert freeze.canonical == canonical_bytes(services.cycle_ballot_canonical(demo_voting)).decode("utf-8")
    assert AuditEvent.objects.filter(action="ballot.frozen", after={"fingerprint": freeze.fingerprint}).count() == 1


def test_loading_the_demo_again_changes_nothing(demo_voting):
    before = state()
    report = demo_load(phase=Phase.VOTING)
    assert (report.created, report.moved, report.cycle.pk) == (False, [], demo_voting.pk)
    assert state() == before
    demo_load(phase=Phase.VETTING)  # an earlier phase: nothing either
    assert state() == before


def test_load_demo_past_voting_with_undecided_provisional_ballots_says_what_to_do(demo_voting):
    """People cast provisional ballots in the demo; the tally refuses to run while they wait for a
    decision, and the command says so in a sentence, not a traceback, and changes nothing."""
    district = demo_voting.districts.get(code="A")
    for key in ("walk-in-1", "walk-in-2", "walk-in-3"):
        services.ballot_cast(
            voter=voter(
                key,
                channel="kiosk",
                site="Main Library",
                provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
                provisional_note="Not on the list.",
                checkin={"volunteer": "Sam"},
            ),
            district=district,
            ballot=methods.Ballot(choices=(Ballot.objects.filter(district=district).first().choices[0],)),
        )
    assert ProvisionalBallot.objects.filter(status=ProvisionalBallot.Status.PENDING).count() == 3
    before = state()
    with pytest.raises(CommandError) as refused:
        call_command("load_demo", "--phase", "results", stdout=StringIO())
    message = str(refused.value)
    assert "3 provisional ballots are still waiting for a decision." in message
    assert "could not be taken to “results” (it is in the “voting” phase)" in message
    assert "Nothing was changed." in message
    assert f"/staff/cycles/{demo_voting.slug}/" in message and "run the command again" in message
    assert "Traceback" not in message
    assert state() == before
    demo_voting.refresh_from_db()
    assert demo_voting.phase == Phase.VOTING
