"""Allocation rules against pabutools' reference outcomes on real elections, plus unit and property tests.

No database: the rules are pure functions.
"""

import json
import random
import sys
from decimal import Decimal
from fractions import Fraction
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbverify.pabulib import pb_parse
from pbverify.rules import (
    RULES,
    Ballot,
    Election,
    RuleNotApplicable,
    greedy,
    mes,
    mes_greedy,
    outcome_to_json,
    tally,
)
from pbverify.rules.equal_shares import _Profile

DATA = Path(__file__).parent / "data" / "pabulib"
FILES = sorted(DATA.glob("*.pb"))


@cache
def _election(name: str) -> Election:
    return Election.from_pb(pb_parse((DATA / name).read_bytes()))


def _expected(path: Path) -> dict:
    return json.loads(path.with_suffix(".expected.json").read_text())


REFERENCE_CASES = [
    pytest.param(path.name, rule, _expected(path)[rule], id=f"{path.stem}-{rule}")
    for path in FILES
    for rule in RULES
    if rule in _expected(path)
]


def test_every_file_is_covered():
    assert len(FILES) == 18
    assert {path.name for path in FILES}.isdisjoint({"Poland_Warszawa_2026.pb", "Poland_Gdansk_2020.pb"})
    assert len(REFERENCE_CASES) >= 45


@pytest.mark.parametrize(("name", "rule", "expected"), REFERENCE_CASES)
def test_outcome_equals_the_reference(name, rule, expected):
    election = _election(name)
    outcome = tally(election, rule)
    assert sorted(outcome.selected) == sorted(expected)
    assert outcome.selected == sorted(outcome.selected, key=election.tie_order.index)
    assert outcome.budget_used == sum(election.costs[pid] for pid in outcome.selected)
    assert outcome.budget_left == election.budget - outcome.budget_used >= 0
    assert set(outcome.reasons) == set(election.costs) - set(outcome.selected)


@pytest.mark.parametrize(
    "name",
    [
        "Netherlands_Amsterdam_643.pb",
        "Poland_Warszawa_2017_Plac_Wojska_Polskiego.pb",
        "US_Stanford_Dataset_2022_Jersey_City_Ward_B_vote_knapsacks.pb",
        "US_Stanford_Dataset_2022_Jersey_City_Ward_D_vote_knapsacks.pb",
        "Worldwide_Mechanical_Turk_Utilities_3.pb",
    ],
)
def test_fast_equal_shares_equals_the_plain_exact_computation(name):
    election = _election(name)
    assert outcome_to_json(mes(election)) == outcome_to_json(mes(election, exact_only=True))


@pytest.mark.parametrize(
    "name", ["Poland_Warszawa_2017_Plac_Wojska_Polskiego.pb", "Worldwide_Mechanical_Turk_Utilities_3.pb"]
)
def test_equal_shares_without_numpy_computes_every_round_exactly_with_the_same_outcome(name, monkeypatch):
    election = _election(name)
    with_numpy = outcome_to_json(mes(election))
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now fails, as where it is not installed
    profile = _Profile(election)
    profile.add1()
    assert profile.stats["fast"] == 0 and profile.stats["exact"] > 0
    assert outcome_to_json(mes(election)) == with_numpy


@pytest.mark.parametrize("name", ["Poland_Krakow_2020_Debniki.pb", "Worldwide_Mechanical_Turk_Ranking_value_3.pb"])
@pytest.mark.parametrize("rule", ["mes", "mes-greedy"])
def test_equal_shares_refuses_rankings(name, rule):
    with pytest.raises(RuleNotApplicable, match="not defined for ordinal ballots"):
        tally(_election(name), rule)


def test_unknown_rule():
    with pytest.raises(ValueError, match="unknown rule 'phragmen'"):
        tally(_election("Netherlands_Amsterdam_643.pb"), "phragmen")


def _approval(budget, costs, ballots, tie_order=None):
    return Election(
        budget=Decimal(budget),
        costs={pid: Decimal(cost) for pid, cost in costs.items()},
        ballots=[Ballot(tuple(ballot)) for ballot in ballots],
        kind="approval",
        tie_order=tie_order,
    )


# -- greedy ---------------------------------------------------------------------------------------------------------


def test_ranked_greedy_scores_a_partial_ranking_by_its_own_length():
    # L − r with L = the ballot's own length: (c,) gives c 1 point, not 3 as under a fixed length of 3.
    election = Election(
        budget=Decimal(10),
        costs={"a": Decimal(10), "b": Decimal(10), "c": Decimal(10)},
        ballots=[Ballot(("a", "b", "c")), Ballot(("a", "b", "c")), Ballot(("c",)), Ballot(("c", "b"))],
        kind="ordinal",
    )
    outcome = greedy(election)
    assert outcome.votes == {"a": 6, "b": 5, "c": 5}
    assert outcome.selected == ["a"]


def test_greedy_skips_a_project_that_does_not_fit_and_goes_on():
    election = _approval(100, {"a": 60, "b": 50, "c": 40}, [("a", "b", "c"), ("a", "b", "c"), ("a", "b"), ("a",)])
    outcome = greedy(election)
    assert outcome.selected == ["a", "c"]
    assert outcome.reasons == {"b": {"reason": "did_not_fit", "remaining": Decimal(40)}}
    assert (outcome.budget_used, outcome.budget_left) == (Decimal(100), Decimal(0))


def test_greedy_takes_a_project_nobody_voted_for_if_it_fits():
    outcome = greedy(_approval(100, {"a": 60, "z": 30}, [("a",)]))
    assert outcome.selected == ["a", "z"]
    assert outcome.votes == {"a": 1, "z": 0}


def test_cumulative_greedy_ranks_by_total_points():
    election = Election(
        budget=Decimal(10),
        costs={"a": Decimal(10), "b": Decimal(10)},
        ballots=[Ballot(("a", "b"), (1, 2)), Ballot(("b", "a"), (2, 2)), Ballot(("a",), (3,))],
        kind="cumulative",
    )
    outcome = greedy(election)
    assert outcome.votes == {"a": 6, "b": 4}
    assert outcome.selected == ["a"]


def test_ties_go_to_the_declared_order():
    ballots = [("9", "10"), ("9", "10")]
    costs = {"9": 50, "10": 50}
    # Default: ids in ascending string order, so "10" comes before "9" (pabutools' lexicographic order).
    assert greedy(_approval(50, costs, ballots)).selected == ["10"]
    assert mes(_approval(50, costs, ballots)).selected == ["10"]
    assert greedy(_approval(50, costs, ballots, tie_order=["9", "10"])).selected == ["9"]
    assert mes(_approval(50, costs, ballots, tie_order=["9", "10"])).selected == ["9"]


def test_tie_order_must_list_every_project():
    with pytest.raises(ValueError, match="tie_order"):
        _approval(50, {"a": 10, "b": 10}, [("a",)], tie_order=["a"])


@pytest.mark.parametrize(
    ("costs", "ballots", "message"),
    [
        ({"a": 0.1}, [("a",)], "not 0.1"),
        ({"a": -1}, [("a",)], "invalid cost of project 'a'"),
        ({"a": 1}, [("b",)], "unknown projects: \\['b'\\]"),
        ({"a": 1}, [("a", "a")], "names a project twice"),
    ],
)
def test_an_election_refuses_bad_input(costs, ballots, message):
    with pytest.raises(ValueError, match=message):
        Election(budget=Decimal(10), costs=costs, ballots=[Ballot(b) for b in ballots], kind="approval")


# -- equal shares ---------------------------------------------------------------------------------------------------


def test_an_empty_ballot_counts_as_a_voter_in_equal_shares():
    # Two voters: 30 each; a (50) is paid 25 + 25, after which b (20) is out of reach. With an abstaining third
    # voter the share is 20: a is out of reach (40 < 50) and b is paid by its one supporter.
    costs = {"a": 50, "b": 20, "c": 50}
    ballots = [("a", "b"), ("a", "c")]
    assert mes(_approval(60, costs, ballots)).selected == ["a"]
    with_abstention = mes(_approval(60, costs, [*ballots, ()]))
    assert with_abstention.selected == ["b"]
    assert with_abstention.details["voter_budget"] == "20"
    assert with_abstention.reasons == {
        "a": {"reason": "supporters_could_not_afford"},
        "c": {"reason": "supporters_could_not_afford"},
    }


def test_equal_shares_never_selects_an_unsupported_project_and_greedy_completion_may():
    election = _approval(100, {"a": 60, "z": 30}, [("a",), ("a",)])
    outcome = mes(election)
    assert outcome.selected == ["a"]
    assert outcome.reasons == {"z": {"reason": "no_support"}}
    completed = mes_greedy(election)
    assert completed.selected == ["a", "z"]
    assert completed.details["completed_by_greedy"] == ["z"]


def test_greedy_completion_reasons_keep_the_equal_shares_reason():
    election = _approval(100, {"a": 60, "b": 70, "z": 80}, [("a",), ("a",), ("b",)])
    outcome = mes_greedy(election)
    assert outcome.selected == ["a"]
    assert outcome.reasons == {
        "b": {"reason": "did_not_fit", "remaining": Decimal(40), "mes_reason": "supporters_could_not_afford"},
        "z": {"reason": "did_not_fit", "remaining": Decimal(40), "mes_reason": "no_support"},
    }


def test_a_free_project_is_worth_nothing_under_cost_utilities_but_counts_with_points():
    # As pabutools: with cost utilities a project of cost 0 gives nobody any utility, so equal shares skips it
    # (greedy completion takes it); with points as utilities a supported free project is always selected.
    approval = _approval(10, {"a": 0, "b": 10, "c": 0}, [("a", "b")])
    assert mes(approval).selected == ["b"]
    assert mes(approval).reasons == {"a": {"reason": "zero_cost"}, "c": {"reason": "no_support"}}
    assert mes_greedy(approval).selected == ["a", "b", "c"]
    cumulative = Election(
        budget=Decimal(10),
        costs={"a": Decimal(0), "b": Decimal(10), "c": Decimal(0)},
        ballots=[Ballot(("a", "b"), (1, 1))],
        kind="cumulative",
    )
    assert mes(cumulative).selected == ["a", "b"]
    assert mes(cumulative).reasons == {"c": {"reason": "no_support"}}


def test_a_later_tie_goes_to_the_declared_order_not_to_the_first_project_examined():
    # Checked against pabutools 1.2.3: b and c tie in a later round, and c (more supporters, so a lower
    # bound that puts it first in line to be examined) must not win it: b comes first in the tie order.
    election = _approval(40, {"a": 20, "b": 10, "c": 20}, [("a",), ("a", "b", "c"), ("a",), ("c",), ("a", "b", "c")])
    assert mes(election).selected == ["a", "b"]
    assert mes(election, exact_only=True).selected == ["a", "b"]


def test_no_ballots_selects_nothing():
    outcome = mes(_approval(10, {"a": 5}, []))
    assert outcome.selected == []
    assert greedy(_approval(10, {"a": 5}, [])).selected == ["a"]


# -- determinism ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", list(RULES))
def test_outcome_json_is_deterministic_and_ignores_ballot_order(rule):
    election = _election("US_Stanford_Dataset_2022_Jersey_City_Ward_D_vote_knapsacks.pb")
    first = outcome_to_json(tally(election, rule))
    assert outcome_to_json(tally(election, rule)) == first
    shuffled = list(election.ballots)
    random.Random(7).shuffle(shuffled)
    assert shuffled != election.ballots
    again = Election(budget=election.budget, costs=election.costs, ballots=shuffled, kind=election.kind)
    assert outcome_to_json(tally(again, rule)) == first
    document = json.loads(first)
    assert document["budget_used"] == format(tally(election, rule).budget_used, "f")
    assert list(document) == sorted(document)


def test_outcome_json_writes_amounts_as_strings():
    outcome = greedy(_approval("100.50", {"a": "60.25", "b": "50"}, [("a", "b")]))
    assert json.loads(outcome_to_json(outcome)) == {
        "budget_left": "40.25",
        "budget_used": "60.25",
        "details": {},
        "reasons": {"b": {"reason": "did_not_fit", "remaining": "40.25"}},
        "rule": "greedy",
        "selected": ["a"],
        "votes": {"a": 1, "b": 1},
    }


# -- properties -----------------------------------------------------------------------------------------------------

PROJECT_IDS = ["1", "2", "3", "10", "11"]


@st.composite
def elections(draw, kinds=("approval", "cumulative")):
    kind = draw(st.sampled_from(kinds))
    count = draw(st.integers(1, len(PROJECT_IDS)))
    ids = PROJECT_IDS[:count]
    # Few distinct costs and points make exact ties (and close calls) common.
    costs = {pid: Decimal(draw(st.sampled_from([0, 5, 10, 20, 30, 45, 60]))) for pid in ids}
    voters = draw(st.integers(0, 12))
    ballots = []
    for _ in range(voters):
        chosen = draw(st.lists(st.sampled_from(ids), unique=True, max_size=count))
        points = tuple(draw(st.integers(0, 3)) for _ in chosen) if kind == "cumulative" else None
        ballots.append(Ballot(tuple(chosen), points))
    budget = Decimal(draw(st.sampled_from([10, 40, 75, 100, 150])))
    return Election(budget=budget, costs=costs, ballots=ballots, kind=kind)


@given(elections(kinds=("approval", "cumulative", "ordinal")))
def test_greedy_never_overspends_and_leaves_nothing_that_fits(election):
    outcome = greedy(election)
    assert outcome.budget_used <= election.budget
    for reason in outcome.reasons.values():
        assert reason["reason"] == "did_not_fit"
    left = outcome.budget_left
    assert all(election.costs[pid] > left for pid in outcome.reasons)


@given(elections())
def test_equal_shares_selects_only_supported_projects_within_budget(election):
    outcome = mes(election)
    supported = {
        pid
        for ballot in election.ballots
        for index, pid in enumerate(ballot.projects)
        if ballot.points is None or ballot.points[index] > 0
    }
    assert set(outcome.selected) <= supported
    assert outcome.budget_used <= election.budget
    completed = mes_greedy(election)
    assert set(completed.selected) >= set(outcome.selected)
    assert completed.budget_used <= election.budget


@given(elections())
def test_fast_equal_shares_equals_plain_exact_computation(election):
    assert outcome_to_json(mes(election)) == outcome_to_json(mes(election, exact_only=True))


@given(elections(), st.integers(0, 40))
def test_a_region_run_holds_over_its_whole_range(election, first):
    profile = _Profile(election)
    if not profile.voters or not profile.candidates:
        return
    start = Fraction(election.budget) / profile.voters
    chosen, last = profile.run_region(start, first)
    assert last >= first
    end = int(min(last, first + 5000))
    for k in sorted({first, min(first + 1, end), min(first + 2, end), (first + end) // 2, end}):
        assert profile.run_exact(start + k) == chosen
    fast = profile.run_fast(start + first)
    assert fast is None or fast == chosen
