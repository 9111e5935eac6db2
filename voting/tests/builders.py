"""Building voting state through the real services, for the voting tests: a cycle in vetting with
paper ideas turned into projects, ballot designs, then the real vetting → voting transition (guard
and freeze). Plain functions, like proposals/tests/builders.py, so any test module can use them."""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count

from budgets.models import Cycle, District
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.models import AuditEvent, Notification
from proposals import services as proposals_services
from proposals.models import Project
from proposals.tests.builders import idea_input, make_project, ward
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, DistrictFactory
from voting import crypto, services
from voting.models import Ballot, BallotDesign, Identity, VoidReason, VoterRollEntry

# Ward → [(project code, cost)]. Ward B's projects cost more than half the $50,000 budget.
PROJECTS = {
    "A": [("A-01", "20000"), ("A-02", "15000"), ("A-03", "30000")],
    "B": [("B-01", "30000"), ("B-02", "25000"), ("B-03", "10000")],
}

# One ward per method: A approval, B knapsack (min spend 50%), C ranked (k = 2), D cumulative
# (10 points, at most 6 per project). Ward E has no projects, so no ballot.
PROJECTS_BY_METHOD = {
    "A": [("A-01", "20000"), ("A-02", "15000"), ("A-03", "30000")],
    "B": [("B-01", "30000"), ("B-02", "25000"), ("B-03", "10000")],
    "C": [("C-01", "10000"), ("C-02", "10000"), ("C-03", "10000")],
    "D": [("D-01", "10000"), ("D-02", "10000"), ("D-03", "10000")],
}
DESIGNS_BY_METHOD = {
    "B": {"method": "knapsack", "min_spend_percent": 50},
    "C": {"method": "ranked", "max_picks": 2},
    "D": {"method": "cumulative", "points_total": 10, "points_cap": 6},
}


@dataclass
class World:
    cycle: Cycle
    official: object
    projects: dict[str, Project] = field(default_factory=dict)

    def district(self, code: str) -> District:
        return self.cycle.districts.get(code=code)


def paper_idea(cycle: Cycle, staff, district: str):
    """An idea keyed in by staff (open during vetting), the source of a ward's projects."""
    return proposals_services.idea_submit_paper(
        actor=staff,
        cycle=cycle,
        data=idea_input(cycle, district=ward(cycle, district), title=f"Ideas from ward {district}"),
        proposer_name="Ward meeting",
    )


def vetting_world(official, *, wards: str = "ABC", projects: dict | None = None, citywide: bool = False) -> World:
    """A cycle in vetting with projects made from paper ideas through the proposals services
    (``citywide``: plus a citywide district, code "CITY", $200,000)."""
    cycle = CycleFactory(vetting=True, wards=wards)
    if citywide:
        DistrictFactory(cycle=cycle, code="CITY", name="Citywide", kind="citywide", budget=Decimal("200000.00"))
    world = World(cycle=cycle, official=official)
    for code, items in (PROJECTS if projects is None else projects).items():
        idea = paper_idea(cycle, official, code)
        for project_code, cost in items:
            world.projects[project_code] = make_project(
                cycle, official, [idea], code=project_code, cost=cost, district=code
            )
    return world


def voting_world(
    official, *, designs: dict | None = None, wards: str = "ABC", projects: dict | None = None, citywide=False
) -> World:
    """A cycle moved to voting for real. Every district with projects gets an approval design
    (``ballot_prepare``), then ``designs`` (district code → design fields) overrides it."""
    world = vetting_world(official, wards=wards, projects=projects, citywide=citywide)
    design(world, designs or {})
    open_voting(world)
    return world


def design(world: World, designs: dict) -> None:
    ballot_prepare(world.cycle, world.official)
    for code, values in designs.items():
        services.ballot_design_set(actor=world.official, district=world.district(code), **values)


def open_voting(world: World) -> Cycle:
    world.cycle = cycle_transition(
        actor=world.official, cycle=world.cycle, target=Phase.VOTING, reason="Test: voting opens."
    )
    return world.cycle


def voter(key, *, channel: str = "online", born: date | None = date(1980, 5, 17), **kwargs) -> services.Voter:
    """A voter known by ``key``: by default a person of their own (a name made from the key), so two
    keys are two people unless a test gives them the same details."""
    kwargs.setdefault("name", f"Voter {key}")
    kwargs.setdefault("address", "1 Test Street")
    return services.Voter(
        identity_key=crypto.identity_key("test", str(key)),
        channel=channel,
        verification="test",
        date_of_birth=born,
        **kwargs,
    )


def counts() -> dict[str, int]:
    """Everything a cast may write: equal before and after a refused ballot."""
    return {
        "roll": VoterRollEntry.objects.count(),
        "ballots": Ballot.objects.count(),
        "identities": Identity.objects.count(),
        "notifications": Notification.objects.count(),
        "audit": AuditEvent.objects.count(),
        "designs": BallotDesign.objects.count(),
    }


def assert_roll_matches_ballots() -> None:
    """Voter-roll entries = ballots, per district, always — less the ballots voters
    replaced, in a cycle that lets them change their ballot (one roll entry, one counted ballot)."""
    roll = dict(VoterRollEntry.objects.values_list("district").annotate(n=Count("id")))
    ballots = dict(
        Ballot.objects.exclude(void__kind=VoidReason.SUPERSEDED).values_list("district").annotate(n=Count("id"))
    )
    assert roll == ballots
