"""The vote path under concurrency, on PostgreSQL, with real threads through the real service: the
roll's unique constraint — not a check before the insert — is what keeps one ballot per voter, and
a pause or close committed while a cast is in flight refuses that cast (its last statement re-reads
them), a cast committed first is counted.

A pool of at most 40 threads keeps the connection count bounded (CI raises PostgreSQL's
max_connections to 300); each job closes its thread's connection when done.
"""

import threading
import time
from collections import Counter

import pytest
from django.db import connection

from budgets.phases import Phase
from budgets.services import cycle_transition, voting_pause
from core.errors import ApplicationError
from tests.concurrency import run_at_once
from voting import crypto, methods, services
from voting.models import Ballot, Identity, ProvisionalBallot, VoterRollEntry

from .builders import assert_roll_matches_ballots, voter, voting_world

pytestmark = pytest.mark.postgres

KNAPSACK = {"B": {"method": "knapsack"}}  # ward B: $50,000; B-01 $30,000, B-02 $25,000, B-03 $10,000


@pytest.fixture
def world(transactional_db, official):
    return voting_world(official, designs=KNAPSACK)


def casting(key: str, district_id: int, choices: tuple[str, ...]):
    ballot, who = methods.Ballot(choices=choices), voter(key)
    return lambda: services.ballot_cast(voter=who, district=district_id, ballot=ballot)


def test_200_voters_at_once_make_200_ballots_and_200_roll_entries(world):
    a, b = world.district("A").pk, world.district("B").pk
    jobs = [
        casting(f"crowd-{n}", a, ("A-01", "A-02")) if n % 2 else casting(f"crowd-{n}", b, ("B-03",)) for n in range(200)
    ]
    results = run_at_once(jobs)
    assert Counter(outcome for outcome, _value in results) == {"ok": 200}
    codes = {value.receipt_code for _outcome, value in results}
    assert len(codes) == 200
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 200
    assert Ballot.objects.filter(district_id=a).count() == Ballot.objects.filter(district_id=b).count() == 100
    assert VoterRollEntry.objects.values("identity_key").distinct().count() == 200
    assert set(Ballot.objects.values_list("receipt_hash", flat=True)) == {crypto.receipt_hash(c) for c in codes}
    assert_roll_matches_ballots()


def test_100_voters_submitting_twice_at_once_make_100_ballots(world):
    a = world.district("A").pk
    jobs = []
    for n in range(100):
        jobs += [casting(f"double-{n}", a, ("A-01",)), casting(f"double-{n}", a, ("A-02", "A-03"))]
    results = run_at_once(jobs)
    assert Counter(outcome for outcome, _value in results) == {"ok": 100, "AlreadyVoted": 100}
    for n in range(100):  # each voter: one ballot in, one AlreadyVoted
        assert sorted(outcome for outcome, _value in results[2 * n : 2 * n + 2]) == ["AlreadyVoted", "ok"]
    assert all(value.status == 409 for outcome, value in results if outcome == "AlreadyVoted")
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 100
    assert_roll_matches_ballots()


def test_50_submissions_for_one_voter_half_over_budget_store_at_most_one_valid_ballot(world):
    district = world.district("B")
    over, within = ("B-01", "B-02"), ("B-01", "B-03")  # $55,000 and $40,000 against $50,000
    jobs = [casting("the-same-voter", district.pk, over if n % 2 else within) for n in range(50)]
    results = run_at_once(jobs)
    outcomes = Counter(outcome for outcome, _value in results)
    assert outcomes == {"BallotInvalid": 25, "ok": 1, "AlreadyVoted": 24}
    assert all(results[n][0] == "BallotInvalid" for n in range(1, 50, 2))
    assert {str(m) for outcome, e in results if outcome == "BallotInvalid" for m in e.extra["ballot"]} == {
        "Your choices cost $55,000, more than the budget of $50,000."
    }
    (ballot,) = Ballot.objects.filter(district=district)
    assert ballot.choices == list(within)
    assert methods.validate(services.ballot_rules(district), methods.Ballot(choices=tuple(ballot.choices))) == []
    assert VoterRollEntry.objects.filter(district=district).count() == 1
    assert_roll_matches_ballots()


def test_one_person_on_four_channels_at_once_has_one_counted_ballot(world):
    """Ten people, each voting on four channels (four identity keys) at the same moment: the casts
    of one person take turns at the duplicate check, so each person has one counted ballot and
    three provisional ones, never two counted."""
    a = world.district("A").pk
    jobs = []
    for person in range(10):
        details = {"name": f"Person {person} Example", "address": f"{person + 10} Elm Street, Apt {person}"}
        for channel in ("online", "phone", "code", "kiosk"):
            who = voter(f"p{person}-{channel}", channel=channel, **details)
            jobs.append(
                lambda who=who: services.ballot_cast(voter=who, district=a, ballot=methods.Ballot(choices=("A-01",)))
            )
    results = run_at_once(jobs)
    assert Counter(outcome for outcome, _value in results) == {"ok": 40}
    for person in range(10):
        provisional = [value.provisional for _outcome, value in results[person * 4 : person * 4 + 4]]
        assert sorted(provisional) == [False, True, True, True], person
    assert ProvisionalBallot.objects.filter(reason=ProvisionalBallot.Reason.POSSIBLE_DUPLICATE).count() == 30
    assert_roll_matches_ballots()


class CastInFlight:
    """One cast on a thread (and connection) of its own, held in flight: another connection holds
    the transaction-scoped advisory lock the cast takes on its voter's match key, so the cast waits
    there — past its opening check, its roll entry and identity written, its ballot not yet — until
    ``finish`` lets it go on and returns its outcome (as ``run_at_once`` does)."""

    def __init__(self, who: services.Voter, district_id: int, choices: tuple[str, ...]):
        match = crypto.match_key(name=who.name, date_of_birth=who.date_of_birth, address=who.address)
        assert match, "the voter needs a name, an address and a date of birth for a match key"
        self._holder = connection.get_new_connection(connection.get_connection_params())
        with self._holder.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"voting.match:{match}"])
        self.outcome = None
        self._thread = threading.Thread(target=self._cast, args=(who, district_id, methods.Ballot(choices=choices)))
        self._thread.start()
        self._wait_until_held()

    def _cast(self, who, district_id, ballot):
        try:
            self.outcome = "ok", services.ballot_cast(voter=who, district=district_id, ballot=ballot)
        except ApplicationError as exc:
            self.outcome = type(exc).__name__, exc
        except Exception as exc:  # noqa: BLE001 — anything else fails the test, in ``finish``
            self.outcome = "unexpected", exc
        finally:
            connection.close()

    def _wait_until_held(self):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self._thread.is_alive(), f"the cast ended before it reached the held point: {self.outcome}"
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
                if cursor.fetchone()[0] == 1:
                    return
            time.sleep(0.02)
        pytest.fail("the cast never reached the held point")

    def finish(self) -> tuple[str, object]:
        self._holder.rollback()
        self._holder.close()
        self._thread.join(timeout=30)
        assert not self._thread.is_alive(), "the cast did not finish once let go"
        outcome, value = self.outcome
        if outcome == "unexpected":
            raise value
        return outcome, value


def close_or_pause(world, how: str) -> None:
    """Commit, from this thread's connection, the pause or the close of voting."""
    if how == "pause":
        voting_pause(actor=world.official, cycle=world.cycle.pk, reason="Test: a pause during a cast.")
    else:
        cycle_transition(actor=world.official, cycle=world.cycle.pk, target=Phase.COUNTING, reason="Test: close.")


def stored() -> dict[str, int]:
    return {
        "roll": VoterRollEntry.objects.count(),
        "ballots": Ballot.objects.count(),
        "identities": Identity.objects.count(),
    }


@pytest.mark.parametrize(("how", "refusal"), [("pause", services.VotingPaused), ("close", services.VotingClosed)])
def test_a_pause_or_close_committed_while_a_cast_is_in_flight_refuses_it_and_stores_nothing(world, how, refusal):
    """The cast passed its opening check while voting was open; the pause or close commits before
    the cast does: the re-check at the end of the cast refuses it, and its roll entry, identity and
    ballot (written, not committed) are gone with it."""
    a = world.district("A").pk
    services.ballot_cast(voter=voter("earlier"), district=a, ballot=methods.Ballot(choices=("A-01",)))
    before = stored()
    cast = CastInFlight(voter("late"), a, ("A-01", "A-02"))
    close_or_pause(world, how)
    outcome, error = cast.finish()
    assert outcome == refusal.__name__
    assert error.status == 409 and str(error.message) == str(refusal.default_message)
    assert stored() == before  # the earlier ballot only
    assert not VoterRollEntry.objects.filter(identity_key=voter("late").identity_key).exists()
    assert list(Ballot.objects.values_list("choices", flat=True)) == [["A-01"]]
    assert_roll_matches_ballots()


@pytest.mark.parametrize("how", ["pause", "close"])
def test_a_cast_that_commits_before_the_pause_or_close_is_counted(world, how):
    """The opposite order: the cast in flight commits first, then voting is paused or closed; the
    ballot stays, with its roll entry, under the receipt the voter was shown."""
    a = world.district("A").pk
    cast = CastInFlight(voter("in-time"), a, ("A-01", "A-02"))
    outcome, result = cast.finish()
    close_or_pause(world, how)
    assert outcome == "ok"
    (ballot,) = Ballot.objects.all()
    assert ballot.choices == ["A-01", "A-02"]
    assert ballot.receipt_hash == crypto.receipt_hash(result.receipt_code)
    assert VoterRollEntry.objects.filter(identity_key=voter("in-time").identity_key, district_id=a).count() == 1
    assert_roll_matches_ballots()


@pytest.mark.parametrize(("how", "refusal"), [("pause", services.VotingPaused), ("close", services.VotingClosed)])
def test_a_cast_that_rechecks_while_a_pause_or_close_holds_the_cycle_waits_and_is_refused(world, how, refusal):
    """The pause or close has locked the cycle row and not yet committed when the cast reaches its
    closing re-check: the re-check waits for it and reads what it committed, so the cast is refused
    instead of reading the old row and committing after the pause or close."""
    a = world.district("A").pk
    before = stored()
    holder = connection.get_new_connection(connection.get_connection_params())
    with holder.cursor() as cursor:
        cursor.execute("SELECT id FROM budgets_cycle WHERE id = %s FOR UPDATE", [world.cycle.pk])
    outcome = {}

    def cast():
        try:
            outcome["value"] = (
                "ok",
                services.ballot_cast(voter=voter("late"), district=a, ballot=methods.Ballot(choices=("A-01",))),
            )
        except ApplicationError as exc:
            outcome["value"] = type(exc).__name__, exc
        finally:
            connection.close()

    thread = threading.Thread(target=cast)
    thread.start()
    deadline = time.monotonic() + 30
    while True:
        assert thread.is_alive(), f"the cast did not wait for the locked cycle: {outcome}"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            if cursor.fetchone()[0] == 1:
                break
        assert time.monotonic() < deadline, "the cast never waited on the cycle row"
        time.sleep(0.02)
    change = "voting_paused_at = now(), voting_pause_reason = 'Test'" if how == "pause" else "phase = 'counting'"
    with holder.cursor() as cursor:
        cursor.execute(f"UPDATE budgets_cycle SET {change} WHERE id = %s", [world.cycle.pk])
    holder.commit()
    holder.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    name, error = outcome["value"]
    assert name == refusal.__name__, (name, error)
    assert stored() == before
    assert_roll_matches_ballots()
