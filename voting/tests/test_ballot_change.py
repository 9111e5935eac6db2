"""Changing a ballot before close: a cycle option, off by default. The voter's new
ballot supersedes the earlier one (kept, voided with a fixed reason and no time of its own), the
roll keeps one entry, and the change keys — the only link from a voter to a ballot — are erased when
voting closes."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts.models import User
from audit.bundle import bundle_write
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.models import AuditEvent, Notification
from tests.concurrency import run_at_once
from voting import crypto, methods, services
from voting.models import Ballot, BallotChangeKey, BallotVoid, ProvisionalBallot, VoidReason, VoterRollEntry
from voting.services import verification

from .builders import assert_roll_matches_ballots, counts, design, open_voting, vetting_world, voter

pytestmark = pytest.mark.django_db


def changeable_world(official, *, allow=True):
    world = vetting_world(official, wards="AB")
    design(world, {})
    services.eligibility_set(
        actor=official,
        cycle=world.cycle,
        minimum_age=14,
        age_on=None,
        allow_live_work_study=False,
        allow_ballot_change=allow,
    )
    open_voting(world)
    return world


@pytest.fixture
def world(official):
    return changeable_world(official)


def cast(world, key, choices, *, district="A", **kwargs) -> services.CastResult:
    return services.ballot_cast(
        voter=voter(key, **kwargs), district=world.district(district), ballot=methods.Ballot(choices=tuple(choices))
    )


def counted(world, district="A") -> list[list[str]]:
    return sorted(b.choices for b in Ballot.objects.filter(district=world.district(district), void__isnull=True))


def audit_text() -> str:
    return json.dumps(list(AuditEvent.objects.values()), default=str)


# --- the service ---------------------------------------------------------------------------------------
def test_a_voter_changes_their_ballot_and_only_the_last_one_counts(world):
    first = cast(world, "ana", ["A-01"])
    assert not first.replaced
    cast(world, "bo", ["A-03"])
    second = cast(world, "ana", ["A-02"])
    third = cast(world, "ana", ["A-02", "A-03"])
    assert second.replaced and third.replaced

    assert VoterRollEntry.objects.filter(district=world.district("A")).count() == 2  # ana once, bo once
    assert Ballot.objects.filter(district=world.district("A")).count() == 4  # every ballot is kept
    assert counted(world) == [["A-02", "A-03"], ["A-03"]]
    assert [services.receipt_check(code=r.receipt_code) for r in (first, second, third)] == [
        "replaced",
        "replaced",
        "counted",
    ]
    # The supersession is a void with the fixed reason, no official, and no time of its own.
    voids = list(BallotVoid.objects.all())
    assert {(v.kind, v.reason) for v in voids} == {(VoidReason.SUPERSEDED, "superseded by the voter's later ballot")}
    assert all(v.actor_id is None and v.voided_at in (world.cycle.voting_open_at, services.NO_TIME) for v in voids)
    assert BallotChangeKey.objects.count() == 2  # one per voter and district, the sealed id moved on
    for ballot in Ballot.objects.all():  # nothing in the audit log names a ballot
        assert str(ballot.pk) not in audit_text()
    assert_roll_matches_ballots()


def test_the_change_key_holds_no_ballot_id_or_identity_in_clear(world):
    cast(world, "ana", ["A-01"])
    key = BallotChangeKey.objects.get()
    ballot = Ballot.objects.get()
    who = voter("ana").identity_key
    assert str(ballot.pk) not in key.sealed_ballot and ballot.pk.hex not in key.sealed_ballot
    assert who not in key.voter_key and crypto.unseal(key.sealed_ballot) == str(ballot.pk)


def test_without_the_option_a_second_ballot_is_refused_and_nothing_changes(official):
    world = changeable_world(official, allow=False)
    first = cast(world, "ana", ["A-01"])
    before = counts()
    with pytest.raises(services.AlreadyVoted):
        cast(world, "ana", ["A-02"])
    assert counts() == before and BallotChangeKey.objects.count() == 0
    assert services.receipt_check(code=first.receipt_code) == "counted"


def test_a_ward_ballot_is_changed_only_in_its_own_ward(world):
    cast(world, "ana", ["A-01"])
    before = counts()
    with pytest.raises(services.AlreadyVoted):
        cast(world, "ana", ["B-01"], district="B")  # one ward ballot per cycle: not a change
    assert counts() == before and counted(world) == [["A-01"]]


def test_an_invalid_new_ballot_leaves_the_old_one_counted(world):
    first = cast(world, "ana", ["A-01"])
    before = counts()
    with pytest.raises(services.BallotInvalid):
        cast(world, "ana", ["A-01", "Z-99"])
    assert counts() == before and services.receipt_check(code=first.receipt_code) == "counted"


def test_provisional_printed_code_and_paper_ballots_cannot_be_changed(world):
    result = cast(
        world,
        "kiosk-ana",
        ["A-01"],
        channel="kiosk",
        site="Library",
        provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
    )
    assert result.provisional and BallotChangeKey.objects.count() == 0
    with pytest.raises(services.AlreadyVoted):
        cast(world, "kiosk-ana", ["A-02"], channel="kiosk", site="Library")

    (code,) = verification.access_codes_generate(
        actor=world.official, district=world.district("B"), count=1, expires_at=world.cycle.voting_close_at
    )
    redeemed = verification.access_code_redeem(code=code, client_key="test-client")
    by_code = services.Voter(
        identity_key=redeemed.identity_key,
        channel=redeemed.channel,
        verification=redeemed.verification,
        access_code_hash=redeemed.access_code_hash,
        name="Code Voter",
        address="7 Birch Ave",
        date_of_birth=date(1990, 1, 1),
    )
    services.ballot_cast(voter=by_code, district=world.district("B"), ballot=methods.Ballot(choices=("B-01",)))
    assert BallotChangeKey.objects.count() == 0  # a used-up code cannot come back
    cast(world, "paper-sheet-1", ["A-02"], channel="paper", site="Library")
    assert BallotChangeKey.objects.count() == 0  # a paper sheet neither (it may be keyed during counting)
    assert_roll_matches_ballots()


def test_the_keys_are_erased_when_voting_closes_and_no_change_is_possible_after(world):
    cast(world, "ana", ["A-01"])
    cast(world, "bo", ["A-02"])
    assert BallotChangeKey.objects.count() == 2
    world.cycle = cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test.")
    assert BallotChangeKey.objects.count() == 0
    with pytest.raises(services.VotingClosed):
        cast(world, "ana", ["A-02"])
    assert counted(world) == [["A-01"], ["A-02"]]


def test_the_option_is_part_of_the_frozen_design(official):
    off = changeable_world(official, allow=False)
    on = changeable_world(official)
    assert "allow_ballot_change" not in off.cycle.ballot_freeze.canonical
    assert '"allow_ballot_change":true' in on.cycle.ballot_freeze.canonical
    with pytest.raises(Exception) as refused:  # frozen: the option cannot be turned on or off any more
        services.eligibility_set(
            actor=official,
            cycle=on.cycle,
            minimum_age=14,
            age_on=None,
            allow_live_work_study=False,
            allow_ballot_change=False,
        )
    assert "frozen" in str(refused.value.message)


# --- concurrency -----------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_changes_sent_at_once_leave_exactly_one_counted_ballot(transactional_db, official):
    world = changeable_world(official)
    cast(world, "ana", ["A-01"])
    district_id = world.district("A").pk
    choices = [("A-02",), ("A-03",), ("A-02", "A-03")] * 6

    def change(picks):
        return lambda: services.ballot_cast(
            voter=voter("ana"), district=district_id, ballot=methods.Ballot(choices=picks)
        )

    outcomes = run_at_once([change(picks) for picks in choices])
    assert [kind for kind, _value in outcomes] == ["ok"] * len(choices)
    assert len(counted(world)) == 1
    assert Ballot.objects.filter(district_id=district_id).count() == 1 + len(choices)
    assert BallotVoid.objects.count() == len(choices)
    codes = [value.receipt_code for _kind, value in outcomes]
    assert sorted(services.receipt_check(code=c) for c in codes) == ["counted"] + ["replaced"] * (len(choices) - 1)
    assert_roll_matches_ballots()


# --- pages, API, confirmation ------------------------------------------------------------------------------
def _resident() -> User:
    from allauth.account.models import EmailAddress

    from tests.factories import user_with_role

    user = user_with_role("resident")
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"verified": True, "primary": True})
    return user


def test_the_ballot_page_and_the_api_offer_and_make_the_change(world):
    user = _resident()
    client = Client()
    client.force_login(user)
    url = f"/api/v1/cycles/{world.cycle.slug}/ballots/A/cast/"
    body = {"choices": ["A-01"], "date_of_birth": "1980-05-17", "address": "1 Grove St", "attest": True}
    first = client.post(url, body, content_type="application/json")
    assert first.status_code == 201 and first.json()["replaced"] is False

    index = client.get(reverse("vote_index", args=[world.cycle.slug])).content.decode()
    assert "Change your ballot for" in index
    page = client.get(reverse("vote_ballot", args=[world.cycle.slug, "A"])).content.decode()
    assert 'id="ballot-change-notice"' in page and 'name="step"' in page

    second = client.post(url, {**body, "choices": ["A-02"]}, content_type="application/json")
    assert second.status_code == 201 and second.json()["replaced"] is True
    page = client.post(
        reverse("vote_ballot", args=[world.cycle.slug, "A"]),
        {
            "step": "cast",
            "project": "A-03",
            "date_of_birth": "1980-05-17",
            "address": "1 Grove St",
            "attest": "on",
        },
    ).content.decode()
    assert 'id="ballot-replaced"' in page and 'id="receipt-code"' in page
    assert counted(world) == [["A-03"]]
    kinds = list(Notification.objects.filter(recipient=user).values_list("kind", flat=True))
    assert kinds == ["vote.confirmation", "vote.changed", "vote.changed"]
    assert all(code not in n.body for n in Notification.objects.all() for code in ("A-01", "A-02", "A-03"))
    receipt = Client().post(reverse("receipt"), {"code": first.json()["receipt_code"]}).content.decode()
    assert "replaced by a newer ballot" in receipt


def test_without_the_option_the_page_says_already_voted(official):
    world = changeable_world(official, allow=False)
    user = _resident()
    client = Client()
    client.force_login(user)
    url = f"/api/v1/cycles/{world.cycle.slug}/ballots/A/cast/"
    body = {"choices": ["A-01"], "date_of_birth": "1980-05-17", "address": "1 Grove St", "attest": True}
    assert client.post(url, body, content_type="application/json").status_code == 201
    assert client.post(url, body, content_type="application/json").status_code == 409
    page = client.get(reverse("vote_ballot", args=[world.cycle.slug, "A"])).content.decode()
    assert 'id="ballot-change-notice"' not in page and "Change your ballot for" not in page


# --- the audit record ---------------------------------------------------------------------------------------
def test_the_audit_bundle_with_changed_ballots_verifies(world, tmp_path):
    from allocation.services import cycle_certify, tally_cycle

    for n in range(5):
        cast(world, f"v{n}", ["A-01"])
    cast(world, "v0", ["A-02"])
    cast(world, "v1", ["A-02", "A-03"])
    world.cycle = cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test.")
    tally_cycle(cycle=world.cycle)
    world.cycle = cycle_certify(actor=world.official, cycle=world.cycle, reason="Test: certified.")
    info = bundle_write(cycle=world.cycle, out=tmp_path / "b.zip")
    out = io.StringIO()
    call_command("pb_verify", str(info.path), stdout=out)
    assert "turnout" in out.getvalue()
    with connection.cursor() as cursor:  # the roll counts 5 voters for 7 ballots, 2 of them replaced
        cursor.execute("SELECT count(*) FROM voting_voterrollentry WHERE district_id = %s", [world.district("A").pk])
        assert cursor.fetchone()[0] == 5
