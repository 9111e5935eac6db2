"""Demo content for voting (registered with budgets.demo): knapsack ballots like Jersey City's,
a few hundred ballots cast through the real vote path with a fixed seed, two voting sites ready
for kiosks, and a batch of printed access codes (a few printed by load_demo)."""

from datetime import date
from decimal import Decimal

from django.urls import reverse

from accounts.roles import Role
from budgets.demo import register_demo_filler
from budgets.phases import Phase

from . import crypto, methods, services, sites
from .models import AccessCodeBatch, BallotDesign, VoterRollEntry, VotingSite
from .services import verification

DEMO_VOTERS_PER_WARD = 50
DEMO_SITES = (
    ("City Hall", "280 Grove Street, Jersey City, NJ 07302"),
    ("Public Library", "472 Jersey Avenue, Jersey City, NJ 07302"),
)
DEMO_ACCESS_CODES = 20  # for ward A
DEMO_ACCESS_CODES_SHOWN = 5


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
                # Jersey City counts by votes (greedy); wards D–F show the Method of Equal Shares.
                allocation_rule="mes" if district.code in "DEF" else "greedy",
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
                    name=f"Demo Voter {number}",
                    address=f"{number} Demo Street",
                ),
                district=district,
                ballot=methods.Ballot(choices=tuple(sorted(chosen))),
            )


def fill_sites_and_codes(*, cycle, users, rng) -> list[str]:
    """Voting sites where the demo volunteer can open a kiosk, and printed access codes for ward A:
    only their keyed hashes are stored, so the few shown are printed now or never."""
    official = users[Role.OFFICIAL]
    existing = set(VotingSite.objects.filter(cycle=cycle).values_list("name", flat=True))
    for name, address in DEMO_SITES:
        if name not in existing:
            sites.voting_site_create(actor=official, cycle=cycle, name=name, address=address)
    if AccessCodeBatch.objects.filter(district__cycle=cycle).exists():
        return []
    ward_a = cycle.districts.get(code="A")
    codes = verification.access_codes_generate(
        actor=official, district=ward_a, count=DEMO_ACCESS_CODES, expires_at=cycle.voting_close_at
    )
    return [
        "",
        f"Voting kiosk (log in as the volunteer): {reverse('kiosk_start', args=[cycle.slug])}"
        f" — sites: {', '.join(name for name, _address in DEMO_SITES)}",
        f"Printed access codes for {ward_a.name} (each casts one ballot at {reverse('vote_code', args=[cycle.slug])}):",
        *(f"  {code}" for code in codes[:DEMO_ACCESS_CODES_SHOWN]),
    ]


def register() -> None:
    register_demo_filler(Phase.VETTING, fill_designs)
    register_demo_filler(Phase.VOTING, fill_ballots)
    register_demo_filler(Phase.VOTING, fill_sites_and_codes)
