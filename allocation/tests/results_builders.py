"""A cycle with published results, built through the real services (projects from paper ideas,
ballots through ``ballot_cast``, the phase machine, ``tally_cycle`` and ``cycle_certify``), for the
results tests and the results browser test.

Ward A (greedy, $50,000): A-01 ($42,000) wins, A-02 ($10,000) then does not fit the remaining
$8,000, A-03 ($5,000) fits and A-04 ($9,000, no votes) does not fit the remaining $3,000. Ward B is
counted with equal shares. Ward C has no projects (no ballot)."""

from contextlib import nullcontext
from datetime import timedelta

import time_machine
from django.utils import timezone

from allocation.services import cycle_certify, tally_cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from proposals.tests.builders import make_project, texts
from tests.factories import CycleFactory
from voting import methods, services
from voting.tests.builders import World, assert_roll_matches_ballots, design, open_voting, paper_idea, voter

PROJECTS = {
    "A": [("A-01", "42000"), ("A-02", "10000"), ("A-03", "5000"), ("A-04", "9000")],
    "B": [("B-01", "30000"), ("B-02", "25000"), ("B-03", "10000"), ("B-04", "1000")],
}
# (ward, choices, how many, voter details): A-01 5 votes, A-02 4, A-03 3, A-04 none.
BALLOTS = [
    ("A", ["A-01", "A-02", "A-03"], 3, {"channel": "online", "language": "en"}),
    ("A", ["A-01", "A-02"], 1, {"channel": "online", "language": "es"}),
    ("A", ["A-01"], 1, {"channel": "kiosk", "site": "Library", "language": "es"}),
    # Ward B (equal shares, 5 voters with $10,000 each): B-02 and B-03 by four voters, B-01 by one.
    ("B", ["B-02", "B-03"], 4, {"channel": "online", "language": "en"}),
    ("B", ["B-01"], 1, {"channel": "code", "language": "en"}),
]


def title(code: str) -> str:
    return f"Project {code} title"


def results_world(official, *, count: bool = True, certify: bool = True, second_day: bool = False) -> World:
    """Wards A, B, C in voting with the ballots above; then (``count``) voting closed and the
    declared rules tallied; then (``certify``) certified. ``second_day``: two of ward A's ballots
    are cast a day later."""
    cycle = CycleFactory(vetting=True, wards="ABC")
    world = World(cycle=cycle, official=official)
    for code, items in PROJECTS.items():
        idea = paper_idea(cycle, official, code)
        for project_code, cost in items:
            world.projects[project_code] = make_project(
                cycle,
                official,
                [idea],
                code=project_code,
                cost=cost,
                district=code,
                texts=texts(title(project_code), f"Proyecto {project_code}"),
            )
    design(world, {"B": {"allocation_rule": "mes"}})
    open_voting(world)
    n = 0
    for ward, choices, times, details in BALLOTS:
        for _ in range(times):
            n += 1
            later = second_day and ward == "A" and n <= 2
            with time_machine.travel(timezone.now() + timedelta(days=1)) if later else nullcontext():
                services.ballot_cast(
                    voter=voter(f"v{n}", **details),
                    district=world.district(ward),
                    ballot=methods.Ballot(choices=tuple(choices)),
                )
    assert_roll_matches_ballots()
    if count:
        world.cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Close.")
        tally_cycle(cycle=world.cycle)
    if certify:
        world.cycle = cycle_certify(actor=official, cycle=world.cycle, reason="Test: certified.")
    return world
