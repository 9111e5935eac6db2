"""Voiding a ballot: officials with MFA, during counting, with a reason; the ballot
stays in the record marked void, the roll is unchanged, the void is audited, a second void is
refused, and certification then needs a new tally run (the district's input hash changed)."""

import pytest

from allocation.services import TallyRefused, cycle_certify, tally_cycle
from audit.services import AlreadyVoid, ballot_find, ballot_void
from budgets.phases import Capability
from core.errors import Conflict, NotAllowed, NotFound, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from voting import crypto
from voting.models import Ballot, BallotVoid, ProvisionalBallot, VoterRollEntry
from voting.services import receipt_check
from voting.tests.builders import assert_roll_matches_ballots, counts, voting_world

from .builders import cast, close_voting, public_id, results_world

pytestmark = pytest.mark.django_db
REASON = "Keying error found at reconciliation of box 3"


@pytest.fixture
def counting(official):
    return results_world(official, certified=False)


def a_ballot(district: str = "A") -> Ballot:
    return Ballot.objects.filter(district__code=district).order_by("id").first()


def test_an_official_voids_a_ballot_with_a_reason(counting, official):
    ballot = a_ballot()
    roll_before = VoterRollEntry.objects.count()

    void = ballot_void(actor=official, ballot_id=ballot.pk, reason=f"  {REASON}  ")

    assert BallotVoid.objects.get() == void
    assert (void.ballot_id, void.reason, void.actor_id) == (ballot.pk, REASON, official.pk)
    assert Ballot.objects.filter(pk=ballot.pk).exists()  # the ballot stays in the record
    assert VoterRollEntry.objects.count() == roll_before  # the roll is unchanged
    assert_roll_matches_ballots()
    event = AuditEvent.objects.get(action="ballot.void")
    assert (event.actor_id, event.object_type, event.object_id, event.reason) == (
        official.pk,
        "ballot",
        str(ballot.pk),
        REASON,
    )
    assert event.after == {"cycle": counting.cycle.slug, "district": "A"}  # no voter, no identity


def test_the_void_is_what_the_receipt_page_then_says(official):
    world = voting_world(official)
    code = cast(world, "A", ["A-01"], key="voter")
    close_voting(world)
    ballot = Ballot.objects.get(receipt_hash=crypto.receipt_hash(code))
    assert receipt_check(code=code) == "counted"
    ballot_void(actor=official, ballot_id=ballot.pk, reason=REASON)
    assert receipt_check(code=code) == "voided"


def test_a_second_void_is_refused(counting, official):
    ballot = a_ballot()
    ballot_void(actor=official, ballot_id=ballot.pk, reason=REASON)
    before = counts()
    with pytest.raises(AlreadyVoid):
        ballot_void(actor=official, ballot_id=ballot.pk, reason="again")
    assert counts() == before and BallotVoid.objects.count() == 1


def test_a_reason_is_required(counting, official):
    before = counts()
    with pytest.raises(ValidationFailed) as error:
        ballot_void(actor=official, ballot_id=a_ballot().pk, reason="   ")
    assert "reason" in error.value.extra
    assert counts() == before and not BallotVoid.objects.exists()


def test_an_unknown_ballot_is_not_found(counting, official):
    with pytest.raises(NotFound):
        ballot_void(actor=official, ballot_id="00000000-0000-4000-8000-000000000000", reason=REASON)
    with pytest.raises(NotFound):
        ballot_void(actor=official, ballot_id="not-a-ballot", reason=REASON)


@pytest.mark.parametrize("role", ["auditor", "volunteer", "resident", "vetting_staff", "official_without_mfa"])
def test_only_officials_with_mfa_void(counting, role, request):
    user = request.getfixturevalue(role)
    before = counts()
    with pytest.raises(NotAllowed):
        ballot_void(actor=user, ballot_id=a_ballot().pk, reason=REASON)
    assert counts() == before and not BallotVoid.objects.exists()


def test_voiding_is_refused_while_voting_and_after_certification(official):
    world = voting_world(official)
    cast(world, "A", ["A-01"], key="v1")
    with pytest.raises(PhaseClosed):  # during voting
        ballot_void(actor=official, ballot_id=a_ballot().pk, reason=REASON)
    close_voting(world)
    ballot_void(actor=official, ballot_id=a_ballot().pk, reason=REASON)  # counting: allowed
    cast_more = voting_world(official)  # another cycle, certified
    cast(cast_more, "A", ["A-02"], key="v2")
    close_voting(cast_more)
    from .builders import certify

    certify(cast_more)
    later = Ballot.objects.filter(district__cycle=cast_more.cycle).get()
    with pytest.raises(PhaseClosed):  # results
        ballot_void(actor=official, ballot_id=later.pk, reason=REASON)
    assert BallotVoid.objects.count() == 1


def test_a_pending_provisional_ballot_is_decided_by_the_review_not_voided(official):
    world = voting_world(official)
    from voting import methods, services
    from voting.tests.builders import voter

    services.ballot_cast(
        voter=voter("walk-in", channel="kiosk", provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED),
        district=world.district("A"),
        ballot=methods.Ballot(choices=("A-01",)),
    )
    close_voting(world)
    with pytest.raises(Conflict):
        ballot_void(actor=official, ballot_id=a_ballot().pk, reason=REASON)
    assert not BallotVoid.objects.exists()


def test_certification_after_a_void_needs_a_new_tally_run(counting, official):
    cycle = counting.cycle
    tally_cycle(cycle=cycle)
    ballot_void(actor=official, ballot_id=a_ballot("A").pk, reason=REASON)

    with pytest.raises(TallyRefused) as refused:
        cycle_certify(actor=official, cycle=cycle)
    assert "District A has no tally with its declared rule" in str(refused.value)
    cycle.refresh_from_db()
    assert not cycle.allows(Capability.VIEW_RESULTS)  # still counting: nothing published

    runs = tally_cycle(cycle=cycle)
    ward_a = next(run for run in runs if run.district.code == "A")
    assert ward_a.ballots == 11  # 12 cast, 1 void
    cycle = cycle_certify(actor=official, cycle=cycle)
    assert cycle.allows(Capability.VIEW_RESULTS)


def test_ballot_find_takes_the_id_as_ballots_csv_shows_it(counting):
    ballot = a_ballot("A")
    assert ballot_find(cycle=counting.cycle, district_code="A", ballot_id=public_id(ballot)) == ballot
    assert ballot_find(cycle=counting.cycle, district_code="A", ballot_id=str(ballot.pk)) == ballot
    assert ballot_find(cycle=counting.cycle, district_code="B", ballot_id=str(ballot.pk)) is None
    assert ballot_find(cycle=counting.cycle, district_code="A", ballot_id="") is None
