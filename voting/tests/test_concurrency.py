"""The vote path under concurrency, on PostgreSQL, with real threads through the real service: the
roll's unique constraint — not a check before the insert — is what keeps one ballot per voter.

A pool of at most 40 threads keeps the connection count bounded (CI raises PostgreSQL's
max_connections to 300); each job closes its thread's connection when done.
"""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from core.errors import ApplicationError
from voting import crypto, methods, services
from voting.models import Ballot, ProvisionalBallot, VoterRollEntry

from .builders import assert_roll_matches_ballots, voter, voting_world

pytestmark = pytest.mark.postgres

MAX_WORKERS = 40
KNAPSACK = {"B": {"method": "knapsack"}}  # ward B: $50,000; B-01 $30,000, B-02 $25,000, B-03 $10,000


@pytest.fixture
def world(transactional_db, official):
    return voting_world(official, designs=KNAPSACK)


def run_at_once(jobs: list) -> list[tuple[str, object]]:
    """Run ``jobs`` (callables) on the pool, released together; return (outcome, value) per job in
    order: ("ok", result) or (error class name, error) for the service's own errors. Anything else
    (IntegrityError, deadlock…) propagates and fails the test."""
    start = threading.Event()

    def wrapped(job):
        def run():
            try:
                assert start.wait(timeout=30)
                return "ok", job()
            except ApplicationError as exc:
                return type(exc).__name__, exc
            finally:
                connection.close()

        return run

    with ThreadPoolExecutor(max_workers=MAX_WORKERS) as pool:
        futures = [pool.submit(wrapped(job)) for job in jobs]
        start.set()
        return [future.result(timeout=60) for future in futures]


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
