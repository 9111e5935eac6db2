"""Every allocation rule on a synthetic sample of ballots, while the ballots are being designed.

Before voting there are no votes, yet officials choose each district's rule then. This builds, for
each district with a design and projects, a sample of ballots that is *made up* — generated
deterministically from the district's projects, costs, budget and ballot method, so the same design
always gives the same sample — and runs every rule on it. It shows how the rules behave on this
district's costs (pure Method of Equal Shares can leave much of the budget unspent; greedy can fund
one big project and little else), never what residents want. Nothing is stored.

Once votes are in, the tally page compares the rules on the real ballots instead
(``allocation.selectors``).
"""

import hashlib
import random
from dataclasses import dataclass, field
from decimal import Decimal

from budgets.models import Cycle, District
from pbverify.rules import RULES, Ballot, Election, RuleNotApplicable, tally

from .results import RULE_LABELS

SAMPLE_VOTERS = 200
# Voters fall into a few groups with their own tastes (a neighbourhood, an age group…): equal
# shares and greedy differ exactly when groups of different sizes want different things.
GROUP_SHARES = (0.5, 0.3, 0.2)
DEFAULT_POINTS = 10

# The pure ballot method's kind of ballot, as the rules name it.
_KIND = {"approval": "approval", "knapsack": "approval", "ranked": "ordinal", "cumulative": "cumulative"}


@dataclass(frozen=True)
class SampleProject:
    code: str  # the id the rules use (a Pabulib import's external id, else the project's code)
    title: str
    cost: Decimal
    public_code: str = ""


@dataclass
class RulePreview:
    rule: str
    label: str
    selected: list[SampleProject] = field(default_factory=list)
    used: Decimal = Decimal(0)
    left: Decimal = Decimal(0)
    applicable: bool = True


@dataclass
class DistrictPreview:
    district: District
    voters: int = 0
    projects: list[SampleProject] = field(default_factory=list)
    rules: list[RulePreview] = field(default_factory=list)
    missing: str = ""  # "design" | "projects": why there is nothing to show


def _seed(district: District, projects: list[SampleProject], design) -> int:
    text = "|".join(
        [district.code, str(district.budget), design.method, str(design.max_picks), str(design.points_total)]
        + [f"{p.code}:{p.cost}" for p in projects]
    )
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def synthetic_ballots(*, projects: list[SampleProject], budget: Decimal, design, seed: int) -> list[Ballot]:
    """``SAMPLE_VOTERS`` made-up ballots that follow the design's method and limits. Deterministic:
    the same inputs give the same ballots."""
    rng = random.Random(seed)
    codes = [p.code for p in projects]
    cost = {p.code: p.cost for p in projects}
    tastes = [{code: rng.uniform(0.05, 0.8) for code in codes} for _share in GROUP_SHARES]
    ballots = []
    for voter in range(SAMPLE_VOTERS):
        group, bound = 0, 0.0
        for index, share in enumerate(GROUP_SHARES):
            bound += share
            if voter < bound * SAMPLE_VOTERS:
                group = index
                break
        # The voter's liking of each project: the group's taste, with some noise of their own.
        liking = {code: tastes[group][code] * rng.uniform(0.5, 1.5) for code in codes}
        liked = sorted((c for c in codes if rng.random() < min(liking[c], 0.95)), key=lambda c: -liking[c])
        if design.method == "knapsack":
            chosen, spent = [], Decimal(0)
            for code in liked:
                if spent + cost[code] <= budget:
                    chosen.append(code)
                    spent += cost[code]
            liked = chosen
        elif design.max_picks:
            liked = liked[: design.max_picks]
        if design.method == "ranked":
            ballots.append(Ballot(tuple(liked)))  # most preferred first
        elif design.method == "cumulative":
            ballots.append(_spread_points(liked, design))
        else:
            ballots.append(Ballot(tuple(sorted(liked))))
    return ballots


def _spread_points(liked: list[str], design) -> Ballot:
    total = design.points_total or DEFAULT_POINTS
    cap = design.points_cap or total
    points = dict.fromkeys(liked, 0)
    left = total
    while left and liked and any(points[c] < cap for c in liked):
        for code in liked:  # the most liked first, one point at a time
            if left and points[code] < cap:
                points[code] += 1
                left -= 1
    given = [(c, n) for c, n in points.items() if n > 0]
    return Ballot(tuple(c for c, _n in given), tuple(n for _c, n in given))


def district_preview(district: District) -> DistrictPreview:
    preview = DistrictPreview(district=district)
    design = getattr(district, "ballot_design", None)
    projects = [
        SampleProject(code=p.external_id or p.code, title=p.title, cost=p.cost, public_code=p.code)
        for p in sorted(district.projects.all(), key=lambda p: p.code)
    ]
    preview.projects = projects
    if design is None:
        preview.missing = "design"
        return preview
    if not projects:
        preview.missing = "projects"
        return preview
    ballots = synthetic_ballots(
        projects=projects, budget=district.budget, design=design, seed=_seed(district, projects, design)
    )
    election = Election(
        budget=district.budget,
        costs={p.code: p.cost for p in projects},
        ballots=ballots,
        kind=_KIND[design.method],
    )
    preview.voters = len(ballots)
    by_code = {p.code: p for p in projects}
    # The rule offered first on the design form comes first here too.
    for rule in sorted(RULES, key=lambda r: (r != "mes-greedy", r != "mes", r)):
        row = RulePreview(rule=rule, label=str(RULE_LABELS[rule]))
        try:
            outcome = tally(election, rule)
        except RuleNotApplicable:
            row.applicable = False
        else:
            row.selected = [by_code[code] for code in outcome.selected]
            row.used, row.left = outcome.budget_used, outcome.budget_left
        preview.rules.append(row)
    return preview


def design_preview(cycle: Cycle) -> list[DistrictPreview]:
    """Per district (code order), every rule's outcome on the district's synthetic sample."""
    districts = cycle.districts.select_related("ballot_design").prefetch_related("projects__texts").order_by("code")
    return [district_preview(district) for district in districts]
