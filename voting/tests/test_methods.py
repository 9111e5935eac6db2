"""The pure ballot methods (voting/methods): property-based tests with Hypothesis.

For each method, ballots generated from the rules are valid, and each kind of invalid ballot is
reported with its problem code, its parameters and its sentence for people
(``voting.methods.messages.problem_message``). Money is ``Decimal`` with two places.
"""

from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import assume, given
from hypothesis import strategies as st

from voting.methods import Ballot, Method, Problem, Rules, validate
from voting.methods.base import ballot_from_points, ballot_from_ranks
from voting.methods.messages import MESSAGES, method_name, problem_message

# Project keys never use X, Y or Z, so a key drawn from UNKNOWN is never on the ballot.
KEY = st.text(alphabet="ABCDEFGHJK0123456789-", min_size=1, max_size=6)
UNKNOWN = st.text(alphabet="XYZ", min_size=1, max_size=4)
MONEY = st.decimals(min_value=0, max_value=Decimal("100000"), places=2, allow_nan=False, allow_infinity=False)
COST = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2, allow_nan=False, allow_infinity=False
)
POINTS = st.integers(min_value=1, max_value=50)


def usd(amount: Decimal) -> str:
    """A stand-in for the cycle's money formatter: the message must use it for amounts."""
    return f"${amount:,}"


def message(problem: Problem, **kwargs) -> str:
    return str(problem_message(problem, **kwargs))


def only(problems: list[Problem], code: str) -> Problem:
    """The one problem reported, which must have ``code``."""
    assert [p.code for p in problems] == [code], problems
    return problems[0]


def total_cost(projects, choices) -> Decimal:
    return sum((projects[c] for c in set(choices)), Decimal(0))


# --- strategies --------------------------------------------------------------------------------------
def projects_of(cost=MONEY, min_size=1, max_size=10):
    return st.dictionaries(KEY, cost, min_size=min_size, max_size=max_size)


@st.composite
def approval_case(draw, *, choose_one=False, min_projects=1):
    """(rules, a valid ballot) for approval with min ≤ picks ≤ max (choose-1: min = max = 1)."""
    projects = draw(projects_of(min_size=min_projects))
    n = len(projects)
    if choose_one:
        low, high = 1, 1
    else:
        low = draw(st.integers(1, n))
        high = draw(st.none() | st.integers(low, n))
    rules = Rules(method=Method.APPROVAL, projects=projects, min_picks=low, max_picks=high)
    picks = draw(st.integers(low, high or n))
    order = draw(st.permutations(sorted(projects)))
    return rules, Ballot(choices=tuple(order[:picks]))


@st.composite
def knapsack_case(draw):
    """(rules, a valid ballot): picks that fit the budget and reach the minimum spend."""
    projects = draw(projects_of(COST))
    order = draw(st.permutations(sorted(projects)))
    choices = tuple(order[: draw(st.integers(1, len(projects)))])
    total = total_cost(projects, choices)
    budget = total + draw(MONEY)
    min_spend = draw(st.decimals(min_value=0, max_value=total, places=2, allow_nan=False, allow_infinity=False))
    rules = Rules(method=Method.KNAPSACK, projects=projects, budget=budget, min_spend=min_spend)
    return rules, Ballot(choices=choices)


@st.composite
def ranked_case(draw, *, k_below_n=False):
    """(rules, a valid ballot): rank between 1 and k projects."""
    projects = draw(projects_of(min_size=2 if k_below_n else 1))
    k = draw(st.integers(1, len(projects) - 1 if k_below_n else len(projects)))
    order = draw(st.permutations(sorted(projects)))
    rules = Rules(method=Method.RANKED, projects=projects, max_picks=k)
    return rules, Ballot(choices=tuple(order[: draw(st.integers(1, k))]))


@st.composite
def cumulative_case(draw):
    """(rules, a valid ballot): positive points, none above the cap, in total at most N."""
    projects = draw(projects_of())
    order = draw(st.permutations(sorted(projects)))
    choices = tuple(order[: draw(st.integers(1, len(projects)))])
    points = tuple(draw(st.lists(POINTS, min_size=len(choices), max_size=len(choices))))
    total = sum(points) + draw(st.integers(0, 20))
    cap = draw(st.none() | st.integers(max(points), max(points) + 20))
    rules = Rules(method=Method.CUMULATIVE, projects=projects, points_total=total, points_cap=cap)
    return rules, Ballot(choices=choices, points=points)


ANY_VALID = st.one_of(
    approval_case(), approval_case(choose_one=True), knapsack_case(), ranked_case(), cumulative_case()
)


# --- valid ballots -------------------------------------------------------------------------------------
@given(approval_case())
def test_approval_ballots_within_the_limits_are_valid(case):
    rules, ballot = case
    assert validate(rules, ballot) == []


@given(approval_case(choose_one=True))
def test_choose_one_ballots_with_one_pick_are_valid(case):
    rules, ballot = case
    assert len(ballot.choices) == 1
    assert validate(rules, ballot) == []


@given(knapsack_case())
def test_knapsack_ballots_within_budget_and_minimum_spend_are_valid(case):
    rules, ballot = case
    assert validate(rules, ballot) == []


@given(knapsack_case())
def test_knapsack_ballot_costing_exactly_the_budget_and_the_minimum_is_valid(case):
    rules, ballot = case
    total = total_cost(rules.projects, ballot.choices)
    exact = Rules(method=Method.KNAPSACK, projects=rules.projects, budget=total, min_spend=total)
    assert validate(exact, ballot) == []


@given(ranked_case())
def test_ranked_ballots_up_to_k_are_valid(case):
    rules, ballot = case
    assert validate(rules, ballot) == []


@given(ranked_case())
def test_ranks_one_to_n_make_the_ballot_in_rank_order(case):
    rules, ballot = case
    # Hand the ranks over in reverse: the order of the mapping must not matter, only the ranks.
    ranks = {c: i + 1 for i, c in reversed(list(enumerate(ballot.choices)))}
    made, problems = ballot_from_ranks(ranks)
    assert problems == []
    assert made == Ballot(choices=ballot.choices)
    assert validate(rules, made) == []


@given(cumulative_case())
def test_cumulative_ballots_within_total_and_cap_are_valid(case):
    rules, ballot = case
    assert validate(rules, ballot) == []
    # The same points given as a mapping (as a form sends them), zeros left out.
    points = dict(zip(ballot.choices, ballot.points, strict=True)) | {"XZ": 0}
    assert validate(rules, ballot_from_points(points)) == []


# --- every method: unknown, duplicate, empty -----------------------------------------------------------
@given(ANY_VALID, UNKNOWN, st.data())
def test_an_unknown_project_is_named(case, unknown, data):
    rules, ballot = case
    i = data.draw(st.integers(0, len(ballot.choices) - 1))
    choices = ballot.choices[:i] + (unknown,) + ballot.choices[i + 1 :]
    problems = validate(rules, Ballot(choices=choices, points=ballot.points))
    (problem,) = [p for p in problems if p.code == "unknown_project"]
    assert problem.params == {"projects": [unknown]}
    assert message(problem) == f"This ballot names a project that is not on this ballot: {unknown}."
    if rules.method != Method.KNAPSACK:  # (a knapsack may now fall under its minimum spend too)
        assert problems == [problem]


@given(approval_case(), st.lists(UNKNOWN, min_size=2, max_size=3, unique=True))
def test_several_unknown_projects_are_all_named_in_ballot_order(case, unknown):
    rules, ballot = case
    problems = validate(rules, Ballot(choices=tuple(unknown)))
    problem = next(p for p in problems if p.code == "unknown_project")
    assert problem.params == {"projects": unknown}
    assert message(problem) == f"This ballot names projects that are not on this ballot: {', '.join(unknown)}."


@given(approval_case(), st.lists(UNKNOWN, min_size=1, max_size=3, unique=True), st.data())
def test_an_unknown_project_named_twice_is_reported_once_and_as_a_duplicate(case, unknown, data):
    rules, ballot = case
    choices = data.draw(st.permutations(ballot.choices + tuple(unknown) * 2))
    problems = validate(rules, Ballot(choices=choices))
    in_order = list(dict.fromkeys(c for c in choices if c in unknown))
    (problem,) = [p for p in problems if p.code == "unknown_project"]
    assert problem.params == {"projects": in_order}
    names = "a project that is" if len(in_order) == 1 else "projects that are"
    assert message(problem) == f"This ballot names {names} not on this ballot: {', '.join(in_order)}."
    (duplicate,) = [p for p in problems if p.code == "duplicate_project"]
    assert sorted(duplicate.params["projects"]) == sorted(unknown)


@given(ANY_VALID, st.data())
def test_a_duplicate_project_is_named(case, data):
    rules, ballot = case
    repeated = data.draw(st.sampled_from(ballot.choices))
    points = ballot.points + (1,) if ballot.points is not None else None
    problems = validate(rules, Ballot(choices=(*ballot.choices, repeated), points=points))
    (problem,) = [p for p in problems if p.code == "duplicate_project"]
    assert problem.params == {"projects": [repeated]}
    assert message(problem) == f"Each project can be chosen only once: {repeated} appears more than once."
    if rules.method != Method.CUMULATIVE:  # a repeat counts once: no other rule is affected
        assert problems == [problem]


@given(ANY_VALID)
def test_an_empty_ballot_is_refused(case):
    rules, _ballot = case
    points = () if rules.method == Method.CUMULATIVE else None
    problem = only(validate(rules, Ballot(choices=(), points=points)), "empty")
    assert message(problem) == "Choose at least one project."


# --- approval and choose-1 -------------------------------------------------------------------------------
@given(projects_of(min_size=2), st.data())
def test_approval_too_few_picks(projects, data):
    low = data.draw(st.integers(2, len(projects)))
    high = data.draw(st.none() | st.integers(low, len(projects)))
    rules = Rules(method=Method.APPROVAL, projects=projects, min_picks=low, max_picks=high)
    count = data.draw(st.integers(1, low - 1))
    problem = only(validate(rules, Ballot(choices=tuple(sorted(rules.projects)[:count]))), "too_few")
    assert problem.params == {"min": rules.min_picks, "count": count}
    assert message(problem) == f"Choose at least {rules.min_picks} projects (you chose {count})."


@given(projects_of(min_size=2), st.data())
def test_approval_too_many_picks(projects, data):
    high = data.draw(st.integers(1, len(projects) - 1))
    low = data.draw(st.integers(1, high))
    rules = Rules(method=Method.APPROVAL, projects=projects, min_picks=low, max_picks=high)
    count = data.draw(st.integers(high + 1, len(projects)))
    problem = only(validate(rules, Ballot(choices=tuple(sorted(rules.projects)[:count]))), "too_many")
    assert problem.params == {"max": rules.max_picks, "count": count}
    noun = "project" if rules.max_picks == 1 else "projects"
    assert message(problem) == f"Choose at most {rules.max_picks} {noun} (you chose {count})."


@given(approval_case(choose_one=True, min_projects=2), st.data())
def test_choose_one_refuses_a_second_pick(case, data):
    rules, _ballot = case
    count = data.draw(st.integers(2, len(rules.projects)))
    problem = only(validate(rules, Ballot(choices=tuple(sorted(rules.projects)[:count]))), "too_many")
    assert message(problem) == f"Choose at most 1 project (you chose {count})."


def test_approval_ballot_with_points_is_refused():
    rules = Rules(method=Method.APPROVAL, projects={"A-01": Decimal("10.00")})
    problem = only(validate(rules, Ballot(choices=("A-01",), points=(1,))), "unexpected_points")
    assert message(problem) == "This ballot does not use points."


@given(st.one_of(approval_case(), knapsack_case()))
def test_ranks_on_a_ballot_that_is_not_ranked_are_refused(case):
    # Ranks, ordered into choices, used to pass as an approval or knapsack ballot and were stored.
    rules, ballot = case
    ranked, rank_problems = ballot_from_ranks({c: i + 1 for i, c in enumerate(ballot.choices)})
    assert rank_problems == []
    problem = only(validate(rules, ranked), "unexpected_ranks")
    assert message(problem) == "This ballot does not use ranks."
    assert validate(rules, Ballot(choices=ranked.choices)) == []  # the same choices, not as ranks


@given(cumulative_case())
def test_ranks_on_a_cumulative_ballot_are_refused(case):
    rules, ballot = case
    ranked, _ = ballot_from_ranks({c: i + 1 for i, c in enumerate(dict.fromkeys(ballot.choices))})
    assert "unexpected_ranks" in [p.code for p in validate(rules, ranked)]


@given(ranked_case())
def test_ranks_on_a_ranked_ballot_are_its_marks(case):
    rules, ballot = case
    ranked, _ = ballot_from_ranks({c: i + 1 for i, c in enumerate(ballot.choices)})
    assert ranked.ranked and ranked == ballot
    assert validate(rules, ranked) == []


# --- knapsack --------------------------------------------------------------------------------------------
@given(knapsack_case(), st.data())
def test_knapsack_over_budget(case, data):
    rules, ballot = case
    total = total_cost(rules.projects, ballot.choices)
    budget = total - data.draw(st.decimals(min_value=Decimal("0.01"), max_value=total, places=2))
    tight = Rules(method=Method.KNAPSACK, projects=rules.projects, budget=budget)
    problem = only(validate(tight, ballot), "over_budget")
    assert problem.params == {"total": total, "budget": budget}
    assert message(problem) == f"Your choices cost {total}, more than the budget of {budget}."
    assert message(problem, money=usd) == f"Your choices cost {usd(total)}, more than the budget of {usd(budget)}."


@given(knapsack_case(), st.data())
def test_knapsack_under_minimum_spend(case, data):
    rules, ballot = case
    total = total_cost(rules.projects, ballot.choices)
    min_spend = total + data.draw(st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1000), places=2))
    budget = min_spend + data.draw(MONEY)
    rules = Rules(method=Method.KNAPSACK, projects=rules.projects, budget=budget, min_spend=min_spend)
    problem = only(validate(rules, ballot), "under_min_spend")
    assert problem.params == {"total": total, "min_spend": min_spend}
    assert message(problem, money=usd) == (
        f"Your choices cost {usd(total)}; choose projects worth at least {usd(min_spend)}."
    )


# --- ranked ----------------------------------------------------------------------------------------------
@given(ranked_case(k_below_n=True), st.data())
def test_ranked_more_than_k(case, data):
    rules, _ballot = case
    k = rules.max_picks
    count = data.draw(st.integers(k + 1, len(rules.projects)))
    problem = only(validate(rules, Ballot(choices=tuple(sorted(rules.projects)[:count]))), "too_many")
    assert problem.params == {"max": k, "count": count}
    noun = "project" if k == 1 else "projects"
    assert message(problem) == f"Choose at most {k} {noun} (you chose {count})."


@given(st.lists(KEY, min_size=1, max_size=8, unique=True), st.data())
def test_ranks_with_gaps_are_refused(keys, data):
    ranks = data.draw(st.lists(st.integers(1, 30), min_size=len(keys), max_size=len(keys), unique=True))
    assume(sorted(ranks) != list(range(1, len(keys) + 1)))
    ballot, problems = ballot_from_ranks(dict(zip(keys, ranks, strict=True)))
    problem = only(problems, "rank_gap")
    assert problem.params == {"ranks": sorted(ranks)}
    used = ", ".join(str(r) for r in sorted(ranks))
    assert message(problem) == f"Ranks must follow each other with no gaps: 1, 2, 3 … (you used {used})."
    assert ballot.choices == tuple(k for _r, k in sorted(zip(ranks, keys, strict=True)))


@given(st.lists(KEY, min_size=2, max_size=8, unique=True), st.data())
def test_repeated_ranks_are_refused(keys, data):
    ranks = data.draw(st.lists(st.integers(1, len(keys)), min_size=len(keys), max_size=len(keys)))
    assume(len(set(ranks)) < len(ranks))
    _ballot, problems = ballot_from_ranks(dict(zip(keys, ranks, strict=True)))
    assert message(only(problems, "rank_repeated")) == "Each rank can be used only once."


@given(st.lists(KEY, min_size=1, max_size=8, unique=True), st.data())
def test_ranks_below_one_are_refused(keys, data):
    ranks = data.draw(st.lists(st.integers(-5, 8), min_size=len(keys), max_size=len(keys)))
    assume(min(ranks) < 1)
    _ballot, problems = ballot_from_ranks(dict(zip(keys, ranks, strict=True)))
    assert message(only(problems, "rank_invalid")) == "Ranks must be whole numbers starting at 1."


# --- cumulative ------------------------------------------------------------------------------------------
@given(cumulative_case(), st.data())
def test_points_over_the_total(case, data):
    rules, ballot = case
    given_points = sum(ballot.points)
    assume(given_points >= 2)
    total = data.draw(st.integers(1, given_points - 1))
    rules = Rules(method=Method.CUMULATIVE, projects=rules.projects, points_total=total, points_cap=rules.points_cap)
    problem = only(validate(rules, ballot), "points_over_total")
    assert problem.params == {"total": given_points, "max": total}
    assert message(problem) == f"You gave {given_points} points; you have {total} to spread."


@given(cumulative_case(), st.data())
def test_points_over_the_cap(case, data):
    rules, ballot = case
    assume(max(ballot.points) >= 2)
    cap = data.draw(st.integers(1, max(ballot.points) - 1))
    rules = Rules(method=Method.CUMULATIVE, projects=rules.projects, points_total=rules.points_total, points_cap=cap)
    over = [c for c, p in zip(ballot.choices, ballot.points, strict=True) if p > cap]
    problem = only(validate(rules, ballot), "points_over_cap")
    assert problem.params == {"cap": cap, "projects": over}
    noun = "point" if cap == 1 else "points"
    assert message(problem) == f"No project can get more than {cap} {noun} ({', '.join(over)})."


@given(cumulative_case(), st.integers(-10, 0), st.data())
def test_points_must_be_positive(case, bad, data):
    rules, ballot = case
    i = data.draw(st.integers(0, len(ballot.points) - 1))
    points = ballot.points[:i] + (bad,) + ballot.points[i + 1 :]
    problem = only(validate(rules, Ballot(choices=ballot.choices, points=points)), "points_not_positive")
    assert message(problem) == "Points must be whole numbers above zero."


@pytest.mark.parametrize("points", [None, (), (1, 1, 1)], ids=["none", "too-few", "too-many"])
def test_cumulative_points_must_match_the_choices(points):
    rules = Rules(method=Method.CUMULATIVE, projects={"A": Decimal(1), "B": Decimal(1)}, points_total=10)
    problem = only(validate(rules, Ballot(choices=("A", "B"), points=points)), "points_mismatch")
    assert message(problem) == "Give a number of points for each chosen project."


# --- every problem has a sentence ------------------------------------------------------------------------
RULES_ANY = st.builds(
    Rules,
    method=st.sampled_from(list(Method)),
    projects=projects_of(min_size=0, max_size=5),
    budget=MONEY,
    min_picks=st.integers(0, 4),
    max_picks=st.none() | st.integers(0, 4),
    min_spend=MONEY,
    points_total=st.none() | st.integers(1, 20),
    points_cap=st.none() | st.integers(1, 20),
)
BALLOT_ANY = st.builds(
    Ballot,
    choices=st.lists(KEY | UNKNOWN, max_size=6).map(tuple),
    points=st.none() | st.lists(st.integers(-3, 25), max_size=6).map(tuple),
)


@given(RULES_ANY, BALLOT_ANY)
def test_whatever_is_wrong_has_a_complete_sentence(rules, ballot):
    problems = validate(rules, ballot)
    assert len({p.code for p in problems}) == len(problems)  # each kind of problem reported once
    for problem in problems:
        assert problem.code in MESSAGES or problem.code == "too_many"
        text = message(problem, money=usd)
        assert text and "%(" not in text


# --- plural forms: the words follow the number -----------------------------------------------------------
@pytest.mark.parametrize(
    ("problem", "text"),
    [
        (Problem("too_few", {"min": 1, "count": 0}), "Choose at least 1 project (you chose 0)."),
        (Problem("too_few", {"min": 2, "count": 1}), "Choose at least 2 projects (you chose 1)."),
        (Problem("too_many", {"max": 1, "count": 2}), "Choose at most 1 project (you chose 2)."),
        (Problem("too_many", {"max": 2, "count": 3}), "Choose at most 2 projects (you chose 3)."),
        (Problem("points_over_cap", {"cap": 1, "projects": ["A-01"]}), "No project can get more than 1 point (A-01)."),
        (
            Problem("points_over_cap", {"cap": 3, "projects": ["A-01", "A-02"]}),
            "No project can get more than 3 points (A-01, A-02).",
        ),
        (Problem("points_over_total", {"total": 1, "max": 0}), "You gave 1 point; you have 0 to spread."),
        (Problem("points_over_total", {"total": 3, "max": 2}), "You gave 3 points; you have 2 to spread."),
        (
            Problem("unknown_project", {"projects": ["Z-99"]}),
            "This ballot names a project that is not on this ballot: Z-99.",
        ),
        (
            Problem("unknown_project", {"projects": ["Z-98", "Z-99"]}),
            "This ballot names projects that are not on this ballot: Z-98, Z-99.",
        ),
        (
            Problem("duplicate_project", {"projects": ["A-01"]}),
            "Each project can be chosen only once: A-01 appears more than once.",
        ),
        (
            Problem("duplicate_project", {"projects": ["A-01", "A-02"]}),
            "Each project can be chosen only once: A-01, A-02 appear more than once.",
        ),
    ],
)
def test_singular_and_plural_messages(problem, text):
    assert message(problem) == text


def test_plural_messages_in_spanish():
    with translation.override("es"):
        one = message(Problem("points_over_cap", {"cap": 1, "projects": ["A-01"]}))
        three = message(Problem("points_over_cap", {"cap": 3, "projects": ["A-01"]}))
        two_projects = message(Problem("too_few", {"min": 2, "count": 1}))
        one_project = message(Problem("too_many", {"max": 1, "count": 2}))
    assert "1 punto " in one and "3 puntos " in three
    assert "2 proyectos" in two_projects and "1 proyecto " in one_project


@pytest.mark.parametrize(
    ("method", "name", "spanish"),
    [
        (Method.APPROVAL, "Approval", "Aprobación"),
        (Method.KNAPSACK, "Knapsack", "Mochila (presupuesto)"),
        (Method.RANKED, "Ranked", "Por orden de preferencia"),
        (Method.CUMULATIVE, "Cumulative", "Acumulativo (puntos)"),
    ],
)
def test_a_method_is_named_by_its_label_not_its_value(method, name, spanish):
    assert method_name(method) == method_name(method.value) == name
    with translation.override("es"):
        assert method_name(method) == spanish


def test_other_counted_voting_messages_follow_the_number():
    from voting import api
    from voting.services import paper, verification

    assert api.MSG_TOO_MANY_RANKS % {"max": 1} == "Rank at most 1 project."
    assert api.MSG_TOO_MANY_RANKS % {"max": 200} == "Rank at most 200 projects."
    assert verification.MSG_BATCH_SIZE % {"max": 1} == "Generate between 1 and 1 code at a time."
    assert verification.MSG_BATCH_SIZE % {"max": 20000} == "Generate between 1 and 20000 codes at a time."
    assert paper.MSG_BEYOND % {"n": 1, "sheets": "2"} == "Sheets keyed beyond the 1 sheet of this batch: 2."
    assert paper.MSG_BEYOND % {"n": 5, "sheets": "6–7"} == "Sheets keyed beyond the 5 sheets of this batch: 6–7."
