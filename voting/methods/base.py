from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Method(StrEnum):
    APPROVAL = "approval"  # pick between min and max projects (choose-1: min = max = 1)
    KNAPSACK = "knapsack"  # pick projects whose total cost fits the budget (optional minimum spend)
    RANKED = "ranked"  # rank up to k projects
    CUMULATIVE = "cumulative"  # spread N points (optional cap per project)


@dataclass(frozen=True)
class Rules:
    """A district's ballot rules. ``projects`` maps each project key (its public code) to its cost."""

    method: Method
    projects: Mapping[str, Decimal]
    budget: Decimal = Decimal(0)
    min_picks: int = 1
    max_picks: int | None = None  # approval; ranked: k
    min_spend: Decimal = Decimal(0)  # knapsack
    points_total: int | None = None  # cumulative
    points_cap: int | None = None  # cumulative


@dataclass(frozen=True)
class Ballot:
    """Choices in ballot order (for ranked: most preferred first); points aligned with choices.
    ``ranked`` says the voter gave ranks (``ballot_from_ranks``), which only a ranked ballot takes;
    it is how the ballot was marked, not what it says, so it takes no part in equality."""

    choices: tuple[str, ...]
    points: tuple[int, ...] | None = None
    ranked: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class Problem:
    code: str
    params: dict = field(default_factory=dict)


def _common(rules: Rules, ballot: Ballot) -> list[Problem]:
    problems = []
    unknown = list(dict.fromkeys(c for c in ballot.choices if c not in rules.projects))  # each named once
    if unknown:
        problems.append(Problem("unknown_project", {"projects": unknown}))
    seen, duplicates = set(), []
    for c in ballot.choices:
        if c in seen and c not in duplicates:
            duplicates.append(c)
        seen.add(c)
    if duplicates:
        problems.append(Problem("duplicate_project", {"projects": duplicates}))
    if not ballot.choices:
        problems.append(Problem("empty"))
    return problems


def _counts(rules: Rules, ballot: Ballot, max_picks: int | None) -> list[Problem]:
    n = len(set(ballot.choices))
    if ballot.choices and n < rules.min_picks:
        return [Problem("too_few", {"min": rules.min_picks, "count": n})]
    if max_picks is not None and n > max_picks:
        return [Problem("too_many", {"max": max_picks, "count": n})]
    return []


def _total_cost(rules: Rules, ballot: Ballot) -> Decimal:
    return sum((rules.projects[c] for c in set(ballot.choices) if c in rules.projects), Decimal(0))


def validate(rules: Rules, ballot: Ballot) -> list[Problem]:
    """Every problem with ``ballot`` under ``rules`` (empty list: valid)."""
    problems = _common(rules, ballot)
    # Each method takes only its own marks: points only on a cumulative ballot, ranks only on a ranked one.
    if rules.method != Method.CUMULATIVE and ballot.points is not None:
        problems.append(Problem("unexpected_points"))
    if rules.method != Method.RANKED and ballot.ranked:
        problems.append(Problem("unexpected_ranks"))
    if rules.method == Method.APPROVAL:
        problems += _counts(rules, ballot, rules.max_picks)
    elif rules.method == Method.KNAPSACK:
        problems += _counts(rules, ballot, rules.max_picks)
        total = _total_cost(rules, ballot)
        if total > rules.budget:
            problems.append(Problem("over_budget", {"total": total, "budget": rules.budget}))
        if ballot.choices and total < rules.min_spend:
            problems.append(Problem("under_min_spend", {"total": total, "min_spend": rules.min_spend}))
    elif rules.method == Method.RANKED:
        problems += _counts(rules, ballot, rules.max_picks)
    elif rules.method == Method.CUMULATIVE:
        problems += _cumulative(rules, ballot)
    return problems


def _cumulative(rules: Rules, ballot: Ballot) -> list[Problem]:
    problems = []
    if ballot.points is None or len(ballot.points) != len(ballot.choices):
        return [Problem("points_mismatch")]
    if any((not isinstance(p, int)) or isinstance(p, bool) or p <= 0 for p in ballot.points):
        problems.append(Problem("points_not_positive"))
        return problems
    total = sum(ballot.points)
    if rules.points_total is not None and total > rules.points_total:
        problems.append(Problem("points_over_total", {"total": total, "max": rules.points_total}))
    if rules.points_cap is not None:
        over = [c for c, p in zip(ballot.choices, ballot.points, strict=True) if p > rules.points_cap]
        if over:
            problems.append(Problem("points_over_cap", {"cap": rules.points_cap, "projects": over}))
    if rules.max_picks is not None and len(set(ballot.choices)) > rules.max_picks:
        problems.append(Problem("too_many", {"max": rules.max_picks, "count": len(set(ballot.choices))}))
    return problems


def ballot_from_ranks(ranks: Mapping[str, int]) -> tuple[Ballot, list[Problem]]:
    """Turn {project: rank} (1 = first choice) into an ordered ballot; ranks must be 1..n with no
    gaps or repeats."""
    problems = []
    values = sorted(ranks.values())
    if any((not isinstance(r, int)) or r < 1 for r in values):
        problems.append(Problem("rank_invalid"))
    elif len(set(values)) != len(values):
        problems.append(Problem("rank_repeated"))
    elif values != list(range(1, len(values) + 1)):
        problems.append(Problem("rank_gap", {"ranks": values}))
    ordered = tuple(p for p, _r in sorted(ranks.items(), key=lambda item: (item[1], item[0])))
    return Ballot(choices=ordered, ranked=True), problems


def ballot_from_points(points: Mapping[str, int]) -> Ballot:
    """Turn {project: points} into a ballot listing projects by points, highest first (as Pabulib
    writes cumulative ballots); zero-point entries are left out."""
    items = sorted(((p, n) for p, n in points.items() if n), key=lambda item: (-item[1], item[0]))
    return Ballot(choices=tuple(p for p, _n in items), points=tuple(n for _p, n in items))
