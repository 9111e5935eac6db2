"""The input and output of every allocation rule: `Election`, `Ballot`, `Outcome`, and the canonical JSON."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from itertools import chain
from typing import TYPE_CHECKING, Literal, NamedTuple

if TYPE_CHECKING:
    from pbverify.pabulib import PbElection

Kind = Literal["approval", "choose-1", "cumulative", "ordinal"]
KINDS: tuple[str, ...] = ("approval", "choose-1", "cumulative", "ordinal")
Points = int | Fraction


class RuleNotApplicable(ValueError):
    """The rule is not defined for this kind of ballot (e.g. equal shares on rankings)."""


class Ballot(NamedTuple):
    """One voter's ballot: project ids (ranked ballots: most preferred first), and points for cumulative ballots."""

    projects: tuple[str, ...]
    points: tuple[Points, ...] | None = None


def _money(value: Decimal | int | str, what: str) -> Decimal:
    # Floats are refused: 0.1 would silently become 0.1000000000000000055511151231257827.
    if isinstance(value, float | bool):
        raise ValueError(f"{what} must be a Decimal, an int or a string, not {value!r}")
    amount = Decimal(value)
    if amount < 0 or not amount.is_finite():
        raise ValueError(f"invalid {what}: {value}")
    return amount


def _as_points(value: Decimal | int | Fraction) -> Points:
    if isinstance(value, float | bool):
        raise ValueError(f"points must be whole numbers, Decimals or Fractions, not {value!r}")
    if isinstance(value, int):
        return value
    exact = Fraction(value)
    return exact.numerator if exact.denominator == 1 else exact


@dataclass
class Election:
    """One district's vote: budget, project costs, every ballot cast (empty ones included).

    `tie_order` is the declared tie-break order, first wins; by default the project ids in ascending
    string order ("10" < "9"), which is pabutools' lexicographic tie-breaking.
    """

    budget: Decimal
    costs: dict[str, Decimal]
    ballots: list[Ballot]
    kind: Kind
    tie_order: list[str] | None = None
    rank: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._check(trusted_ballots=False)

    def _check(self, *, trusted_ballots: bool) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown ballot kind {self.kind!r}; expected one of {', '.join(KINDS)}")
        self.budget = _money(self.budget, "budget")
        self.costs = {str(pid): _money(cost, f"cost of project {pid!r}") for pid, cost in self.costs.items()}
        if self.tie_order is None:
            self.tie_order = sorted(self.costs)
        else:
            self.tie_order = [str(pid) for pid in self.tie_order]
            if len(self.tie_order) != len(self.costs) or set(self.tie_order) != set(self.costs):
                raise ValueError("tie_order must list every project exactly once")
        self.rank = {pid: index for index, pid in enumerate(self.tie_order)}
        if trusted_ballots:
            return
        self.ballots = [self._ballot(ballot) for ballot in self.ballots]
        named = set(chain.from_iterable(ballot.projects for ballot in self.ballots))
        unknown = named - self.costs.keys()
        if unknown:
            raise ValueError(f"ballots name unknown projects: {sorted(unknown)}")

    def _ballot(self, ballot: Ballot | tuple) -> Ballot:
        if not isinstance(ballot, Ballot):
            ballot = Ballot(tuple(ballot))
        projects = tuple(str(pid) for pid in ballot.projects)
        if len(set(projects)) != len(projects):
            raise ValueError(f"a ballot names a project twice: {projects}")
        points = ballot.points
        if self.kind == "cumulative":
            if points is None or len(points) != len(projects):
                raise ValueError(f"a cumulative ballot needs one points value per project: {ballot}")
            points = tuple(_as_points(value) for value in points)
        elif points is not None:
            raise ValueError(f"only cumulative ballots carry points: {ballot}")
        if projects == ballot.projects and points is ballot.points:
            return ballot
        return Ballot(projects, points)

    @classmethod
    def from_pb(cls, pb: PbElection, *, tie_order: list[str] | None = None) -> Election:
        """The election in a parsed `.pb` file; scoring ballots (unlisted projects get a default score) are refused."""
        if pb.vote_type == "scoring":
            raise RuleNotApplicable("Scoring ballots are not supported: no rule here is defined for them.")
        if pb.ballot_points is not None:
            ballots = [
                Ballot(projects, tuple(_as_points(value) for value in points))
                for projects, points in zip(pb.ballots, pb.ballot_points, strict=True)
            ]
        else:
            ballots = [Ballot(projects) for projects in pb.ballots]
        # The parser has checked every ballot (known projects, none twice, points aligned): skip doing it again.
        election = cls.__new__(cls)
        election.budget = pb.budget
        election.costs = dict(pb.costs)
        election.ballots = ballots
        election.kind = pb.vote_type
        election.tie_order = tie_order
        election._check(trusted_ballots=True)
        return election

    def vote_totals(self) -> dict[str, Points]:
        """Approvals (approval, choose-1), total points (cumulative), or L − r per ranking (ordinal), per project."""
        totals: Counter = Counter()
        if self.kind == "cumulative":
            for ballot in self.ballots:
                for pid, value in zip(ballot.projects, ballot.points or (), strict=True):
                    totals[pid] += value
        elif self.kind == "ordinal":
            for ballot in self.ballots:
                length = len(ballot.projects)
                for position, pid in enumerate(ballot.projects):
                    totals[pid] += length - position
        else:
            totals.update(chain.from_iterable(ballot.projects for ballot in self.ballots))
        return {pid: totals.get(pid, 0) for pid in self.tie_order}

    def in_tie_order(self, projects) -> list[str]:
        return sorted(projects, key=self.rank.__getitem__)


@dataclass
class Outcome:
    """A rule's result. `reasons` says, for every project not selected, why (machine-readable, for the results page).

    Reasons: {"reason": "did_not_fit", "remaining": Decimal} (a greedy walk reached it when less than its cost was
    left); {"reason": "no_support"} (equal shares: nobody gave it a positive score);
    {"reason": "supporters_could_not_afford"} (equal shares: its supporters' remaining money did not cover it);
    {"reason": "zero_cost"} (equal shares with cost utilities: a free project is worth nothing, pabutools skips it).
    After an equal-shares completion the greedy reason is kept and the equal-shares one is in "mes_reason".
    """

    rule: str
    selected: list[str]
    votes: dict[str, Points]
    budget_used: Decimal
    budget_left: Decimal
    reasons: dict[str, dict]
    details: dict = field(default_factory=dict)


def make_outcome(
    election: Election, rule: str, selected, reasons: dict[str, dict], votes=None, details=None
) -> Outcome:
    used = sum((election.costs[pid] for pid in selected), Decimal(0))
    return Outcome(
        rule=rule,
        selected=election.in_tie_order(selected),
        votes=votes if votes is not None else election.vote_totals(),
        budget_used=used,
        budget_left=election.budget - used,
        reasons={pid: reasons[pid] for pid in election.in_tie_order(reasons)},
        details=details or {},
    )


def _jsonable(value):
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Fraction):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def outcome_to_json(outcome: Outcome) -> bytes:
    """Canonical JSON: sorted keys, no spaces, amounts as strings; the same outcome gives the same bytes."""
    import json  # only here: keeps the import of the rules light for a one-shot tally process

    document = {
        "rule": outcome.rule,
        "selected": outcome.selected,
        "votes": outcome.votes,
        "budget_used": outcome.budget_used,
        "budget_left": outcome.budget_left,
        "reasons": outcome.reasons,
        "details": outcome.details,
    }
    return json.dumps(_jsonable(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
