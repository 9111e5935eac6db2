"""Demo content for voting (registered with budgets.demo): knapsack ballots like Jersey City's,
and a few hundred ballots cast through the real vote path with a fixed seed."""

from datetime import date
from decimal import Decimal

from accounts.roles import Role
from budgets.phases import Phase

from . import crypto, methods, services
from .models import BallotDesign, VoterRollEntry

DEMO_VOTERS_PER_WARD = 50


def fill_designs(*, cycle, users, rng) -> None:
    official = users[Role.OFFICIAL]
    services.eligibility_set(actor=official, cycle=cycle, minimum_age=14, age_on=None, allow_live_work_study=True)
    for district in cycle.districts.order_by("code"):
        if district.projects.exists() and not BallotDesign.objects.filter(district=district).exists():
            services.ballot_design_set(
                actor=official,
                district=district,
                method=methods.Method.KNAPSACK,
                min_picks=1,
                allocation_rule="greedy",
                intro="Choose the projects you want, up to the ward's $50,000.",
            )


def fill_ballots(*, cycle, users, rng) -> None:
    if VoterRollEntry.objects.filter(district__cycle=cycle).exists():
        return
    number = 0
    for district in cycle.districts.order_by("code"):
        projects = list(district.projects.order_by("code").values_list("code", "cost"))
        if not projects:
            continue
        for _ in range(DEMO_VOTERS_PER_WARD):
            number += 1
            rng.shuffle(projects)
            chosen, spent = [], Decimal(0)
            for code, cost in projects:
                if spent + cost <= district.budget and (not chosen or rng.random() < 0.6):
                    chosen.append(code)
                    spent += cost
            services.ballot_cast(
                voter=services.Voter(
                    identity_key=crypto.identity_key("demo", f"voter-{number}"),
                    channel="online",
                    verification="demo",
                    language=rng.choice(["en", "en", "en", "es"]),
                    date_of_birth=date(1950 + rng.randint(0, 55), rng.randint(1, 12), rng.randint(1, 28)),
                ),
                district=district,
                ballot=methods.Ballot(choices=tuple(sorted(chosen))),
            )


def register() -> None:
    from budgets.demo import register_demo_filler

    register_demo_filler(Phase.VETTING, fill_designs)
    register_demo_filler(Phase.VOTING, fill_ballots)
