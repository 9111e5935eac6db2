"""Provisional ballots and possible duplicate voters: ballot_cast stores a provisional
ballot for an unconfirmed or possibly duplicate voter; during counting officials accept it (link
erased, counted) or reject it (voided with the reason, the roll unchanged); no audit event names a
ballot; duplicate groups across channels, found in a constant number of queries, are decided once;
certification is refused while anything is unsettled; the officials' pages and who may use them."""

import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from budgets.models import Cycle
from budgets.phases import TRANSITIONS, Phase
from budgets.services import cycle_transition, cycle_transition_via
from core import times
from core.errors import GuardFailed, NotAllowed, NotFound, PhaseClosed, TransitionNotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.concurrency import run_at_once
from tests.factories import user_with_role
from voting import crypto, methods, services
from voting.models import (
    Ballot,
    BallotVoid,
    DuplicateReview,
    Identity,
    PaperBatch,
    ProvisionalBallot,
    VoterRollEntry,
)
from voting.services import kiosk, review
from voting.sites import voting_site_create
from voting.tests.builders import PROJECTS, assert_roll_matches_ballots, voter, voting_world

pytestmark = pytest.mark.django_db

ANA = {"name": "Ana Díaz", "address": "1 Grove St, Jersey City", "born": date(1980, 5, 17)}
ANA_AGAIN = {"name": "ANA  DIAZ", "address": "1 grove st. jersey city", "born": date(1980, 5, 17)}  # same match key
REASON = "Lives outside the city: address checked against the county list."


# --- helpers -----------------------------------------------------------------------------------------
@pytest.fixture
def world(official):
    return voting_world(official, wards="AB")


def cast(world, key, *, district="A", choices=None, **kwargs) -> services.CastResult:
    choices = choices or (f"{district}-01",)
    return services.ballot_cast(
        voter=voter(key, **kwargs), district=world.district(district), ballot=methods.Ballot(choices=choices)
    )


def kiosk_unconfirmed(world, key="kiosk-1", **kwargs):
    """A kiosk voter the volunteer could not find on the expected list."""
    details = {**ANA, **kwargs}
    return cast(
        world,
        key,
        channel="kiosk",
        site="Main Library",
        provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
        provisional_note="Not on the list; showed a utility bill.",
        checkin={"volunteer": "Sam", "document": "utility bill"},
        **details,
    )


def ballot_of(result) -> Ballot:
    return Ballot.objects.get(receipt_hash=crypto.receipt_hash(result.receipt_code))


def to_counting(world) -> Cycle:
    world.cycle = cycle_transition(
        actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: voting closes."
    )
    return world.cycle


def set_phase(cycle, phase) -> None:
    Cycle.objects.filter(pk=cycle.pk).update(phase=phase)
    cycle.refresh_from_db()


def audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.order_by("pk").values()), default=str)


def assert_no_audit_event_names(ballot: Ballot) -> None:
    text = audit_text()
    assert str(ballot.pk) not in text and ballot.pk.hex not in text


def state(provisional: ProvisionalBallot) -> dict:
    """Everything a decision may change."""
    provisional.refresh_from_db()
    return {
        "provisional": (
            provisional.status,
            provisional.sealed_ballot,
            provisional.ballot_tag,
            provisional.decision_reason,
            provisional.decided_by_id,
        ),
        "voids": list(BallotVoid.objects.values_list("ballot_id", "reason")),
        "roll": VoterRollEntry.objects.count(),
        "ballots": Ballot.objects.count(),
        "reviews": DuplicateReview.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def main(html) -> str:
    """The page's own content (the header has forms of its own: log out, language)."""
    return html.split("<main", 1)[1].split("</main>")[0]


def _text(message, **params) -> str:
    return escape(str(message) % params if params else str(message))


# --- casting: what becomes provisional -----------------------------------------------------------------
def test_an_unconfirmed_kiosk_voter_casts_a_provisional_ballot(world):
    result = kiosk_unconfirmed(world)
    assert result.provisional
    ballot = ballot_of(result)
    provisional = ProvisionalBallot.objects.get()
    assert provisional.status == ProvisionalBallot.Status.PENDING
    assert provisional.reason == ProvisionalBallot.Reason.NOT_CONFIRMED
    assert provisional.note == "Not on the list; showed a utility bill."
    assert provisional.roll_entry == VoterRollEntry.objects.get(channel="kiosk")
    assert crypto.unseal(provisional.sealed_ballot) == str(ballot.pk)  # sealed: not the id in clear
    assert str(ballot.pk) not in provisional.sealed_ballot
    assert provisional.ballot_tag == crypto.ballot_tag(ballot.pk)
    assert services.receipt_check(code=result.receipt_code) == "pending"
    assert not cast(world, "online-1").provisional  # an ordinary voter is not
    assert ProvisionalBallot.objects.count() == 1
    assert_roll_matches_ballots()
    assert_no_audit_event_names(ballot)


def test_a_possible_duplicate_across_channels_is_made_provisional_by_itself(world):
    first = cast(world, "kiosk-ana", channel="kiosk", site="Main Library", **ANA)
    assert not first.provisional
    # Same person by name, date of birth and address (spelt differently), another identity key.
    online = cast(world, "online-ana", channel="online", choices=("A-02",), **ANA_AGAIN)
    assert online.provisional
    (provisional,) = ProvisionalBallot.objects.all()
    assert provisional.reason == ProvisionalBallot.Reason.POSSIBLE_DUPLICATE
    assert provisional.roll_entry.channel == "online"
    # The ward ballot is one per cycle: the same person in ward B is a possible duplicate too.
    assert cast(world, "phone-ana", channel="phone", district="B", **ANA).provisional
    # A neighbour at the same address with another name is not.
    assert not cast(world, "online-bo", name="Bo Díaz", address=ANA["address"], born=ANA["born"]).provisional
    assert services.receipt_check(code=first.receipt_code) == "counted"
    assert services.receipt_check(code=online.receipt_code) == "pending"
    assert_roll_matches_ballots()


def test_the_duplicate_check_finds_the_same_person_among_many(world):
    """Among many others on the roll (PostgreSQL runs its own statement for this check)."""
    district = world.district("A")
    keys = [crypto.identity_key("test", f"crowd-{n}") for n in range(50)]
    Identity.objects.bulk_create(Identity(identity_key=key, match_key=f"{n:064d}") for n, key in enumerate(keys))
    VoterRollEntry.objects.bulk_create(
        VoterRollEntry(
            cycle=world.cycle,
            district=district,
            scope=district.kind,
            identity_key=key,
            channel="online",
            verification="test",
            voted_on=date(2026, 5, 1),
        )
        for key in keys
    )
    assert not cast(world, "kiosk-ana", channel="kiosk", site="Main Library", **ANA).provisional
    assert cast(world, "online-ana", **ANA_AGAIN).provisional
    assert not cast(world, "online-bo", name="Bo Díaz", address=ANA["address"], born=ANA["born"]).provisional


# --- accept and reject -------------------------------------------------------------------------------
def test_accepting_erases_the_link_and_the_ballot_counts(world, official):
    result = kiosk_unconfirmed(world)
    ballot = ballot_of(result)
    to_counting(world)
    provisional = ProvisionalBallot.objects.get()
    roll = VoterRollEntry.objects.count()

    review.provisional_accept(actor=official, provisional=provisional, note="Found on the county list.")

    provisional.refresh_from_db()
    assert provisional.status == ProvisionalBallot.Status.ACCEPTED
    assert (provisional.sealed_ballot, provisional.ballot_tag) == ("", "")
    assert provisional.decided_by_id == official.pk and provisional.decided_at is not None
    assert provisional.decision_reason == "Found on the county list."
    assert not BallotVoid.objects.exists()
    assert services.receipt_check(code=result.receipt_code) == "counted"
    assert not ProvisionalBallot.objects.filter(ballot_tag=crypto.ballot_tag(ballot.pk)).exists()
    assert VoterRollEntry.objects.count() == roll and Ballot.objects.filter(pk=ballot.pk).exists()
    event = AuditEvent.objects.get(action="provisional.accept")
    assert (event.actor_id, event.object_type, event.object_id) == (
        official.pk,
        "provisional_ballot",
        str(provisional.pk),
    )
    assert event.after["district"] == "A" and event.reason == "Found on the county list."
    assert_no_audit_event_names(ballot)
    assert review.provisional_pending_count(world.cycle) == 0
    assert_roll_matches_ballots()


def test_rejecting_voids_the_ballot_with_the_reason_and_keeps_the_roll(world, official):
    result = kiosk_unconfirmed(world)
    other = cast(world, "online-1", choices=("A-03",))
    ballot = ballot_of(result)
    to_counting(world)
    provisional = ProvisionalBallot.objects.get()
    roll = list(VoterRollEntry.objects.order_by("pk").values())

    review.provisional_reject(actor=official, provisional=provisional.pk, reason=f"  {REASON}  ")

    provisional.refresh_from_db()
    assert provisional.status == ProvisionalBallot.Status.REJECTED
    assert provisional.decision_reason == REASON
    assert (provisional.sealed_ballot, provisional.ballot_tag) == ("", "")
    void = BallotVoid.objects.get()
    assert void.ballot_id == ballot.pk  # the ballot stays in the record, marked void
    assert void.reason == "provisional ballot rejected"  # the official's words stay off the ballot record
    assert REASON not in void.reason
    assert void.actor_id == official.pk
    assert Ballot.objects.filter(pk=ballot.pk).exists()
    assert list(VoterRollEntry.objects.order_by("pk").values()) == roll  # the roll is unchanged
    assert services.receipt_check(code=result.receipt_code) == "voided"
    assert services.receipt_check(code=other.receipt_code) == "counted"
    event = AuditEvent.objects.get(action="provisional.reject")
    assert event.reason == REASON and event.object_id == str(provisional.pk) and event.after["district"] == "A"
    assert_no_audit_event_names(ballot)
    assert_roll_matches_ballots()
    # The officials' list of voided ballots leaves it out: next to the provisional page (who was
    # rejected, when) its id and time would link the person to the ballot.
    client = Client()
    client.force_login(official)
    page = client.get(reverse("staff_ballot_void", args=[world.cycle.slug]))
    assert page.status_code == 200 and str(ballot.pk) not in page.content.decode()


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_rejecting_without_a_reason_is_refused_and_changes_nothing(world, official, reason):
    kiosk_unconfirmed(world)
    to_counting(world)
    provisional = ProvisionalBallot.objects.get()
    before = state(provisional)
    with pytest.raises(ValidationFailed) as excinfo:
        review.provisional_reject(actor=official, provisional=provisional, reason=reason)
    assert excinfo.value.extra == {"reason": [review.MSG_REJECT_REASON]}
    assert state(provisional) == before
    assert provisional.status == ProvisionalBallot.Status.PENDING and provisional.sealed_ballot


def test_deciding_twice_is_refused(world, official):
    kiosk_unconfirmed(world)
    kiosk_unconfirmed(world, key="kiosk-2", name="Cy Park")
    to_counting(world)
    first, second = ProvisionalBallot.objects.order_by("pk")
    review.provisional_accept(actor=official, provisional=first)
    review.provisional_reject(actor=official, provisional=second, reason=REASON)
    after = (state(first), state(second))
    for provisional, decided in ((first, "Accepted and counted"), (second, "Rejected, not counted")):
        for decide in (
            lambda p: review.provisional_accept(actor=official, provisional=p),
            lambda p: review.provisional_reject(actor=official, provisional=p, reason="Again."),
        ):
            with pytest.raises(review.AlreadyDecided) as excinfo:
                decide(provisional)
            assert excinfo.value.message == review.MSG_ALREADY_DECIDED % {"status": decided}
    assert (state(first), state(second)) == after
    assert BallotVoid.objects.count() == 1


def test_decisions_are_taken_only_during_counting(world, official):
    kiosk_unconfirmed(world)
    provisional = ProvisionalBallot.objects.get()
    for phase in (Phase.VOTING, Phase.RESULTS):  # before counting (voting still open), after it
        set_phase(world.cycle, phase)
        before = state(provisional)
        with pytest.raises(PhaseClosed) as excinfo:
            review.provisional_accept(actor=official, provisional=provisional)
        assert excinfo.value.message == review.MSG_REVIEW_CLOSED
        with pytest.raises(PhaseClosed):
            review.provisional_reject(actor=official, provisional=provisional, reason=REASON)
        assert state(provisional) == before


@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "auditor", "official_without_mfa"])
def test_only_officials_with_mfa_decide(world, role):
    kiosk_unconfirmed(world)
    to_counting(world)
    provisional = ProvisionalBallot.objects.get()
    user = user_with_role("official", mfa=False) if role == "official_without_mfa" else user_with_role(role)
    before = state(provisional)
    with pytest.raises(NotAllowed):
        review.provisional_accept(actor=user, provisional=provisional)
    with pytest.raises(NotAllowed):
        review.provisional_reject(actor=user, provisional=provisional, reason=REASON)
    with pytest.raises(NotAllowed):
        review.duplicate_review_record(actor=user, cycle=world.cycle, match_key="x", decision="distinct")
    assert state(provisional) == before


# --- duplicate groups ----------------------------------------------------------------------------------
def _group_world(world, other_cycle_official):
    """Ana through four channels (kiosk, online, phone, printed code), Bo twice, Cy alone, and an
    identity sharing Ana's details that voted only in another cycle."""
    cast(world, "ana-kiosk", channel="kiosk", site="Main Library", **ANA)
    cast(world, "ana-online", channel="online", **ANA_AGAIN)
    cast(world, "ana-phone", channel="phone", district="B", **ANA)
    cast(world, "ana-code", channel="code", district="B", choices=("B-02",), **ANA)
    bo = {"name": "Bo Lee", "address": "9 Erie St", "born": date(1970, 1, 2)}
    cast(world, "bo-online", **bo)
    cast(world, "bo-kiosk", channel="kiosk", site="City Hall", district="B", **bo)
    cast(world, "cy", name="Cy Park", address="3 Bay St", born=date(1990, 3, 4))
    elsewhere = voting_world(other_cycle_official, wards="A", projects={"A": PROJECTS["A"]})
    cast(elsewhere, "ana-elsewhere", **ANA)


def test_duplicate_groups_are_found_across_channels(world, official):
    _group_world(world, official)
    groups = review.duplicate_groups(world.cycle)
    assert len(groups) == 2
    ana, bo = sorted(groups, key=lambda g: len(g.members), reverse=True)
    assert len(ana.members) == 4  # not the identity that voted only in the other cycle
    assert {m.identity.name for m in ana.members} == {"Ana Díaz", "ANA  DIAZ"}
    assert ana.channels == [
        "Kiosk at a voting site",
        "Online (resident account)",
        "Phone (SMS code)",
        "Printed access code",
    ]
    assert ana.districts == ["Ward A", "Ward B"]
    assert ana.sites == ["Main Library"]
    assert ana.days == [timezone.localdate(timezone=ZoneInfo(world.cycle.time_zone))]  # the cycle's day
    assert ana.pending_provisional  # the three after the first were made provisional
    assert ana.review is None
    assert bo.sites == ["City Hall"] and len(bo.members) == 2 and bo.pending_provisional
    assert review.duplicate_undecided_count(world.cycle) == 2
    assert_roll_matches_ballots()


def test_the_duplicates_page_counts_the_provisional_ballots_of_each_group(client, world, official, settings):
    _group_world(world, official)
    ana, bo = sorted(review.duplicate_groups(world.cycle), key=lambda g: len(g.members), reverse=True)
    assert (ana.pending_provisional_count, ana.ballot_count) == (3, 4)
    assert (bo.pending_provisional_count, bo.ballot_count) == (1, 2)
    client.force_login(official)
    url = reverse("staff_duplicates", args=[world.cycle.slug])
    html = main(client.get(url).content.decode())
    assert "3 of this group's 4 ballots are provisional and waiting for a decision" in html
    assert "One of this group's 2 ballots is provisional and waiting for a decision" in html
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = main(client.get(url).content.decode())
    assert "3 de las 4 boletas de este grupo son provisionales y están pendientes de decisión" in html
    assert "Una de las 2 boletas de este grupo es provisional y está pendiente de decisión" in html
    assert "Una boleta de este grupo es provisional" not in html


def test_duplicate_groups_take_a_constant_number_of_queries(world, official, django_assert_num_queries):
    eve = {"name": "Eve Ng", "address": "7 Pine St", "born": date(1975, 6, 7)}
    cast(world, "eve-online", **eve)
    cast(world, "eve-kiosk", channel="kiosk", site="City Hall", district="B", **eve)
    to_counting(world)
    (group,) = review.duplicate_groups(world.cycle)
    review.duplicate_review_record(actor=official, cycle=world.cycle, match_key=group.match_key, decision="distinct")
    with django_assert_num_queries(4):  # identities, roll entries (with provisionals), decisions, who decided
        (group,) = review.duplicate_groups(world.cycle)
        assert group.review.decision == "distinct" and group.decided_by == str(official)
        assert group.pending_provisional and group.channels and group.days

    set_phase(world.cycle, Phase.VOTING)
    _group_world(world, official)
    for n in range(5):
        cast(
            world,
            f"dee-{n}",
            channel=["kiosk", "online", "phone"][n % 3],
            name="Dee Fox",
            address="4 Oak St",
            born=date(1985, 1, 1),
            district="AB"[n % 2],
        )
    with django_assert_num_queries(4):
        groups = review.duplicate_groups(world.cycle)
        assert sorted(len(g.members) for g in groups) == [2, 2, 4, 5]
        assert all(g.pending_provisional and g.channels and g.districts for g in groups)
    set_phase(world.cycle, Phase.COUNTING)
    review.provisional_accept(actor=official, provisional=ProvisionalBallot.objects.order_by("pk").first())
    with django_assert_num_queries(4):  # provisionals with roll entries, identities, groups, who decided
        rows = review.provisional_list(world.cycle)
        assert len(rows) == 1 + 3 + 1 + 4 and all(r.identity and r.duplicate_group for r in rows)
        assert rows[0].pending


def test_a_duplicate_group_is_decided_once(world, official):
    cast(world, "ana-kiosk", channel="kiosk", site="Main Library", **ANA)
    cast(world, "ana-online", **ANA_AGAIN)
    (group,) = review.duplicate_groups(world.cycle)

    with pytest.raises(ValidationFailed) as excinfo:
        review.duplicate_review_record(actor=official, cycle=world.cycle, match_key=group.match_key, decision="maybe")
    assert excinfo.value.extra == {"decision": [review.MSG_DUPLICATE_DECISION]}
    for key in ("", "0" * 64):
        with pytest.raises(NotFound) as excinfo:
            review.duplicate_review_record(actor=official, cycle=world.cycle, match_key=key, decision="distinct")
        assert excinfo.value.message == review.MSG_DUPLICATE_UNKNOWN
    assert not DuplicateReview.objects.exists()

    # While voting is open (and during counting) officials may settle a group.
    decision = review.duplicate_review_record(
        actor=official, cycle=world.cycle, match_key=group.match_key, decision="same_person", note=" One woman. "
    )
    assert (decision.decision, decision.note, decision.decided_by_id) == ("same_person", "One woman.", official.pk)
    event = AuditEvent.objects.get(action="duplicate_review.record")
    assert event.after == {"cycle": world.cycle.slug, "decision": "same_person", "members": 2}
    assert event.reason == "One woman." and group.match_key not in str(event.chain_payload())
    to_counting(world)
    with pytest.raises(review.AlreadyDecided) as excinfo:
        review.duplicate_review_record(
            actor=official, cycle=world.cycle, match_key=group.match_key, decision="distinct"
        )
    assert excinfo.value.message == review.MSG_DUPLICATE_DECIDED
    assert DuplicateReview.objects.get().decision == "same_person"
    # "The same person" removes nothing: the provisional ballot still waits for its own decision.
    assert review.provisional_pending_count(world.cycle) == 1
    assert review.duplicate_undecided_count(world.cycle) == 0
    assert_roll_matches_ballots()


def test_duplicates_are_not_reviewed_after_counting(world, official):
    cast(world, "ana-kiosk", channel="kiosk", **ANA)
    cast(world, "ana-online", **ANA_AGAIN)
    (group,) = review.duplicate_groups(world.cycle)
    set_phase(world.cycle, Phase.RESULTS)
    with pytest.raises(PhaseClosed) as excinfo:
        review.duplicate_review_record(
            actor=official, cycle=world.cycle, match_key=group.match_key, decision="distinct"
        )
    assert excinfo.value.message == review.MSG_DUPLICATES_CLOSED
    assert not DuplicateReview.objects.exists()


# --- what stops the tally and certification ------------------------------------------------------------
@pytest.fixture
def only_review_guard():
    """Certification's guards reduced to this module's (the tally registers its own)."""
    transition = TRANSITIONS[(Phase.COUNTING, Phase.RESULTS)]
    saved = list(transition.guards)
    assert review.guard_review_settled in saved  # registered by the wiring
    transition.guards[:] = [review.guard_review_settled]
    yield
    transition.guards[:] = saved


def certify(world):
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().get(pk=world.cycle.pk)
        return cycle_transition_via(
            actor=world.official, cycle=locked, target=Phase.RESULTS, reason="Tally certified.", via="certification"
        )


@pytest.mark.usefixtures("only_review_guard")
def test_certification_is_refused_while_anything_is_unsettled(world, official):
    kiosk_unconfirmed(world, name="Cy Park")
    cast(world, "ana-kiosk", channel="kiosk", **ANA)
    cast(world, "ana-online", **ANA_AGAIN)  # provisional too: two pending
    site = voting_site_create(actor=official, cycle=world.cycle, name="Main Library")
    batch = PaperBatch.objects.create(
        district=world.district("A"), site=site, label="Box 1", voted_on=timezone.localdate(), issued=10
    )
    to_counting(world)

    blockers = [
        "2 provisional ballots are still waiting for a decision.",
        "1 paper ballot batch is not reconciled yet.",
        "1 group of possible duplicate voters has not been reviewed yet.",
    ]
    assert review.counting_blockers(world.cycle) == blockers
    assert review.tally_blockers(world.cycle) == blockers[:2]
    with pytest.raises(GuardFailed) as excinfo:
        certify(world)
    assert excinfo.value.extra == {"review": blockers}
    assert excinfo.value.message == " ".join(blockers)
    world.cycle.refresh_from_db()
    assert world.cycle.phase == Phase.COUNTING

    first, second = ProvisionalBallot.objects.order_by("pk")
    review.provisional_accept(actor=official, provisional=first)
    review.provisional_reject(actor=official, provisional=second, reason="Voted twice.")
    assert review.tally_blockers(world.cycle) == ["1 paper ballot batch is not reconciled yet."]
    PaperBatch.objects.filter(pk=batch.pk).update(status=PaperBatch.Status.RECONCILED)
    assert review.tally_blockers(world.cycle) == []
    assert review.counting_blockers(world.cycle) == [blockers[2]]
    with pytest.raises(GuardFailed):
        certify(world)
    (group,) = review.duplicate_groups(world.cycle)
    review.duplicate_review_record(actor=official, cycle=world.cycle, match_key=group.match_key, decision="same_person")
    assert review.counting_blockers(world.cycle) == []
    assert certify(world).phase == Phase.RESULTS
    assert_roll_matches_ballots()


def test_the_generic_transition_cannot_reach_results(world):
    to_counting(world)
    with pytest.raises(TransitionNotAllowed):  # certification only
        cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.RESULTS, reason="Skip.")


# --- pages ---------------------------------------------------------------------------------------------
ROLES = ("anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor")


def login_as(client, role):
    if role == "anonymous":
        return None
    user = user_with_role("official", mfa=False) if role == "official_without_mfa" else user_with_role(role)
    client.force_login(user)
    return user


def expect_refusal(response, role):
    if role == "anonymous":
        assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    elif role == "official_without_mfa":
        assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_permissions_matrix_of_the_review_pages(client, world, role, denials):
    kiosk_unconfirmed(world)
    cast(world, "ana-online", **ANA_AGAIN)  # a duplicate group, with a second provisional ballot
    to_counting(world)
    provisional = ProvisionalBallot.objects.order_by("pk").first()
    (group,) = review.duplicate_groups(world.cycle)
    login_as(client, role)
    pages = [reverse(name, args=[world.cycle.slug]) for name in ("staff_provisional", "staff_duplicates")]
    actions = [
        (reverse("staff_provisional_accept", args=[world.cycle.slug, provisional.pk]), {"note": ""}),
        (reverse("staff_provisional_reject", args=[world.cycle.slug, provisional.pk]), {"reason": REASON}),
        (
            reverse("staff_duplicate_decide", args=[world.cycle.slug]),
            {"group": group.match_key, "decision": "distinct"},
        ),
    ]
    before = state(provisional)
    denied = len(denials())

    for url in pages:
        response = client.get(url)
        if role in ("official", "auditor"):
            assert response.status_code == 200
            html = response.content.decode()
            assert ("<form" in main(html)) == (role == "official")  # auditors: read-only
            assert ("Ana Díaz" in html) == (role == "official")  # personal details: officials only
            if role == "auditor":
                assert "Voters' personal details are shown only to officials." in html
        else:
            expect_refusal(response, role)
        assert client.post(url).status_code == 405

    if role != "official":
        for url, data in actions:
            expect_refusal(client.post(url, data), role)
        assert state(provisional) == before
        expected = len(actions) + (0 if role == "auditor" else len(pages))  # one denial per refusal
        assert len(denials()) - denied == expected
        return
    response = client.post(*actions[0])
    assert response.status_code == 302
    provisional.refresh_from_db()
    assert provisional.status == ProvisionalBallot.Status.ACCEPTED


def test_an_official_accepts_and_rejects_on_the_page(client, world, official):
    accepted = kiosk_unconfirmed(world)
    rejected = kiosk_unconfirmed(world, key="kiosk-2", name="Cy Park", address="3 Bay St")
    to_counting(world)
    first, second = ProvisionalBallot.objects.order_by("pk")
    client.force_login(official)
    url = reverse("staff_provisional", args=[world.cycle.slug])
    html = client.get(url).content.decode()
    assert "<span data-pending>2</span>" in html
    for text in (
        "Main Library",
        "Not on the list; showed a utility bill.",
        "Ana Díaz",
        "1980-05-17",
        "1 Grove St, Jersey City",
        "utility bill",
        "Eligibility could not be confirmed at check-in",
        f"Accept provisional ballot {first.pk}",
        f"Reject provisional ballot {second.pk}",
    ):
        assert escape(text) in html
    for code in ("A-01", "A-02", "A-03"):  # never the choices
        assert code not in html
    assert str(ballot_of(accepted).pk) not in html

    response = client.post(reverse("staff_provisional_accept", args=[world.cycle.slug, first.pk]), {"note": ""})
    assert response.status_code == 302 and response["Location"] == f"{url}#provisional-{first.pk}"
    html = client.get(url).content.decode()
    assert "Provisional ballot accepted: it is counted." in html
    assert "<span data-pending>1</span>" in html

    # No reason: the form again, with the error as an alert, and nothing changed.
    reject = reverse("staff_provisional_reject", args=[world.cycle.slug, second.pk])
    before = state(second)
    response = client.post(reject, {"reason": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'role="alert"' in html and _text(review.MSG_REJECT_REASON) in html
    assert f'href="#id_reject{second.pk}_reason"' in html
    assert state(second) == before

    response = client.post(reject, {"reason": REASON})
    assert response.status_code == 302
    html = client.get(url).content.decode()
    assert "Provisional ballot rejected: it is voided and not counted." in html
    assert escape(REASON) in html and "<form" not in main(html)  # all decided: no forms
    assert services.receipt_check(code=accepted.receipt_code) == "counted"
    assert services.receipt_check(code=rejected.receipt_code) == "voided"

    # Deciding again (an old page): a message, nothing changed.
    before = state(second)
    response = client.post(reject, {"reason": "Again."}, follow=True)
    assert _text(review.MSG_ALREADY_DECIDED, status="Rejected, not counted") in response.content.decode()
    assert state(second) == before
    assert_roll_matches_ballots()


def test_review_pages_before_and_after_counting(client, world, official):
    result = kiosk_unconfirmed(world)
    cast(world, "ana-online", **ANA_AGAIN)
    provisional = ProvisionalBallot.objects.order_by("pk").first()
    client.force_login(official)
    url = reverse("staff_provisional", args=[world.cycle.slug])
    duplicates = reverse("staff_duplicates", args=[world.cycle.slug])

    html = client.get(url).content.decode()  # voting: the list, no decisions yet
    assert "Decisions are taken during counting, after voting has closed." in html
    assert "Ana Díaz" in html and "<form" not in main(html)
    before = state(provisional)
    response = client.post(reverse("staff_provisional_accept", args=[world.cycle.slug, provisional.pk]), follow=True)
    assert _text(review.MSG_REVIEW_CLOSED) in response.content.decode()
    assert state(provisional) == before
    assert services.receipt_check(code=result.receipt_code) == "pending"
    assert "Record the decision" in client.get(duplicates).content.decode()  # duplicates: during voting too

    set_phase(world.cycle, Phase.RESULTS)
    html = client.get(url).content.decode()
    assert "Counting is over: these decisions can no longer change." in html and "<form" not in main(html)
    html = client.get(duplicates).content.decode()
    assert "Counting is over" in html and "Record the decision" not in html


def test_the_review_pages_give_spanish_dates_in_spanish(client, world, official, settings):
    cast(world, "ana-kiosk", channel="kiosk", site="Main Library", **ANA)
    cast(world, "ana-online", **ANA_AGAIN)
    voted_on = VoterRollEntry.objects.values_list("voted_on", flat=True).first()
    with translation.override("es"):
        day = times.format_day(voted_on)
    client.force_login(official)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    for name in ("staff_duplicates", "staff_provisional"):
        html = main(client.get(reverse(name, args=[world.cycle.slug])).content.decode())
        assert '<time datetime="1980-05-17">17 de mayo de 1980</time>' in html, name
        assert f'<time datetime="{voted_on.isoformat()}">{day}</time>' in html, name
        assert f">{voted_on.isoformat()}<" not in html and ">1980-05-17<" not in html, name
    assert "Día" in html and "Fecha de nacimiento" in html


def test_an_official_decides_a_duplicate_group_on_the_page(client, world, official, auditor):
    cast(world, "ana-kiosk", channel="kiosk", site="Main Library", **ANA)
    cast(world, "ana-online", **ANA_AGAIN)
    to_counting(world)
    (group,) = review.duplicate_groups(world.cycle)
    provisional = ProvisionalBallot.objects.get()
    client.force_login(official)
    url = reverse("staff_duplicates", args=[world.cycle.slug])
    html = client.get(url).content.decode()
    assert "<span data-undecided>1</span>" in html
    assert f'id="{group.anchor}"' in html and "Main Library" in html and "1980-05-17" in html
    assert f'href="/staff/cycles/{world.cycle.slug}/provisional/#provisional-{provisional.pk}"' in html
    assert "<legend>Decision:</legend>" in html  # the radio buttons in a fieldset

    response = client.post(reverse("staff_duplicate_decide", args=[world.cycle.slug]), {"group": group.match_key})
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert _text(review.MSG_DUPLICATE_DECISION) in response.content.decode()
    assert not DuplicateReview.objects.exists()

    response = client.post(
        reverse("staff_duplicate_decide", args=[world.cycle.slug]),
        {"group": group.match_key, "decision": "same_person", "note": "Same woman, two channels."},
    )
    assert response.status_code == 302 and response["Location"] == f"{url}#{group.anchor}"
    html = client.get(url).content.decode()
    assert "Decision recorded for this group." in html and 'data-decision="same_person"' in html
    assert "<span data-undecided>0</span>" in html and "Record the decision" not in html

    response = client.post(
        reverse("staff_duplicate_decide", args=[world.cycle.slug]),
        {"group": "f" * 64, "decision": "distinct"},
        follow=True,
    )
    assert _text(review.MSG_DUPLICATE_UNKNOWN) in response.content.decode()
    assert DuplicateReview.objects.count() == 1

    client.force_login(auditor)
    html = client.get(url).content.decode()
    assert 'data-decision="same_person"' in html and "Voter 1" in html
    assert "Ana" not in html and "Grove" not in html and "1980-05-17" not in html


def test_the_officials_cycle_page_links_to_the_review_pages(client, world, official):
    client.force_login(official)
    html = client.get(reverse("staff_cycle_detail", args=[world.cycle.slug])).content.decode()
    assert reverse("staff_provisional", args=[world.cycle.slug]) in html
    assert reverse("staff_duplicates", args=[world.cycle.slug]) in html


def test_the_receipt_page_follows_the_decision(client, world, official):
    accepted = kiosk_unconfirmed(world)
    rejected = kiosk_unconfirmed(world, key="kiosk-2", name="Cy Park")
    to_counting(world)

    def receipt(code):
        html = client.post(reverse("receipt"), {"code": code}).content.decode()
        return re.sub(r"\s+", " ", html)

    assert "recorded as provisional" in receipt(accepted.receipt_code)
    first, second = ProvisionalBallot.objects.order_by("pk")
    review.provisional_accept(actor=official, provisional=first)
    review.provisional_reject(actor=official, provisional=second, reason=REASON)
    assert "Your ballot is in the count." in receipt(accepted.receipt_code)
    assert "This ballot was voided: it is not in the count." in receipt(rejected.receipt_code)


def test_no_audit_event_ever_names_a_ballot(world, official):
    """Every decision path, then a scan of the whole audit log for every ballot id."""
    kiosk_unconfirmed(world)
    kiosk_unconfirmed(world, key="kiosk-2", name="Cy Park")
    cast(world, "ana-online", **ANA_AGAIN)
    to_counting(world)
    first, second, third = ProvisionalBallot.objects.order_by("pk")
    review.provisional_accept(actor=official, provisional=first, note="ok")
    review.provisional_reject(actor=official, provisional=second, reason=REASON)
    (group,) = review.duplicate_groups(world.cycle)
    review.duplicate_review_record(actor=official, cycle=world.cycle, match_key=group.match_key, decision="distinct")
    review.provisional_accept(actor=official, provisional=third)
    assert AuditEvent.objects.filter(action__startswith="provisional.").count() == 3
    assert AuditEvent.objects.filter(action="duplicate_review.record").count() == 1
    for ballot in Ballot.objects.all():
        assert_no_audit_event_names(ballot)
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 3
    assert_roll_matches_ballots()


def test_provisional_list_queries_do_not_grow_with_rows(world, official):
    kiosk_unconfirmed(world)
    to_counting(world)
    review.provisional_accept(actor=official, provisional=ProvisionalBallot.objects.get())
    with CaptureQueriesContext(connection) as one:
        review.provisional_list(world.cycle)
    set_phase(world.cycle, Phase.VOTING)
    for n in range(6):
        kiosk_unconfirmed(world, key=f"kiosk-x{n}", name=f"Person {n}")
    set_phase(world.cycle, Phase.COUNTING)
    review.provisional_accept(actor=official, provisional=ProvisionalBallot.objects.order_by("pk").last())
    with CaptureQueriesContext(connection) as many:
        rows = review.provisional_list(world.cycle)
    assert len(rows) == 7 and len(many) == len(one) <= 4
    assert [r.pending for r in rows] == [True] * 5 + [False] * 2  # pending first


# --- concurrency -----------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_racing_decisions_on_one_provisional_ballot_decide_it_once(transactional_db, official):
    world = voting_world(official, wards="AB")
    kiosk_unconfirmed(world)
    to_counting(world)
    provisional = ProvisionalBallot.objects.get()
    jobs = [
        (lambda: review.provisional_accept(actor=official, provisional=provisional.pk))
        if n % 2
        else (lambda: review.provisional_reject(actor=official, provisional=provisional.pk, reason=REASON))
        for n in range(10)
    ]
    outcomes = [outcome for outcome, _value in run_at_once(jobs)]
    assert sorted(outcomes) == ["AlreadyDecided"] * 9 + ["ok"]
    provisional.refresh_from_db()
    assert provisional.status != ProvisionalBallot.Status.PENDING and provisional.sealed_ballot == ""
    assert BallotVoid.objects.count() == (provisional.status == ProvisionalBallot.Status.REJECTED)
    assert AuditEvent.objects.filter(action__startswith="provisional.").count() == 1
    assert_roll_matches_ballots()


def test_the_provisional_page_gives_the_kiosk_check_in_in_words(client, world, official, settings):
    """Site, the volunteer's name, whether proof was seen and when, in the cycle's zone: not a raw
    dictionary with account ids; and still never the ballot's choices."""
    volunteer = user_with_role("volunteer")
    volunteer.display_name = "Sam Okafor"
    volunteer.save(update_fields=["display_name"])
    site = voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    opened = kiosk.kiosk_open(actor=volunteer, site=site)
    checked_in = kiosk.kiosk_checkin(
        actor=volunteer,
        kiosk=opened,
        district=world.district("A"),
        language="en",
        eligibility_confirmed=False,
        note="No proof of address.",
        name="Ana Díaz",
        date_of_birth=date(1980, 5, 17),
        address="1 Grove St",
    )
    services.ballot_cast(voter=checked_in.voter(), district=checked_in.district_id, ballot=methods.Ballot(("A-02",)))
    to_counting(world)
    at = datetime.fromisoformat(Identity.objects.get().checkin["at"])
    client.force_login(official)
    url = reverse("staff_provisional", args=[world.cycle.slug])
    html = main(client.get(url).content.decode())
    assert "<li>Site: City Hall</li>" in html
    assert "<li>Volunteer: Sam Okafor</li>" in html
    assert "<li>Proof of age and address seen: no</li>" in html
    moment = escape(times.format_datetime(at, world.cycle))
    assert f'<li>Checked in: <time datetime="{at.isoformat()}">{moment}</time></li>' in html
    for raw in ("volunteer_id", "id_seen", f": {volunteer.pk}<", "{'"):
        assert raw not in html
    assert "A-02" not in html  # never the choices

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = main(client.get(url).content.decode())
    assert "<li>Centro de votación: City Hall</li>" in html and "<li>Voluntario: Sam Okafor</li>" in html
    assert "<li>Se vio prueba de edad y domicilio: no</li>" in html
    with translation.override("es"):
        moment = escape(times.format_datetime(at, world.cycle))
    assert f'<li>Hora del registro: <time datetime="{at.isoformat()}">{moment}</time></li>' in html
