"""Demo content for the ideas and vetting phases (registered with budgets.demo).

Ideas are made up but plausible for Jersey City's wards; project costs come from the real 2022
Jersey City ward ballots (Stanford PB data set, via Pabulib): wards B–F use that year's project
costs in order, ward A (no public file) gets costs in the same range.
"""

from allauth.account.models import EmailAddress

from accounts.models import User
from accounts.roles import Role
from accounts.services import user_add_role
from budgets.demo import register_demo_filler
from budgets.phases import Phase

from . import services
from .models import Category, Idea

CATEGORIES = [
    ("Parks and green space", "Parques y espacios verdes"),
    ("Streets and safety", "Calles y seguridad"),
    ("Schools and youth", "Escuelas y juventud"),
    ("Arts and culture", "Arte y cultura"),
]

# (title, description, category index, cost guess)
IDEA_TEMPLATES = [
    (
        "Shade trees along the main avenue",
        "Plant shade trees and tree guards along the avenue so walking in summer is bearable.",
        0,
        20000,
    ),
    ("Water fountain in the park", "A year-round drinking fountain with a bottle filler near the playground.", 0, 8000),
    (
        "Safer crossing near the school",
        "Curb extensions, a raised crosswalk and flashing signs at the school crossing.",
        1,
        30000,
    ),
    ("Better lighting under the underpass", "Bright LED lighting so people feel safe walking home at night.", 1, 15000),
    ("Outdoor chess tables", "Concrete chess and checkers tables with benches for all ages.", 3, 5000),
    ("Mural by local artists", "Commission local artists to paint a mural on the blank wall by the library.", 3, 10000),
    ("Laptops for the homework club", "Laptops and a charging cart for the after-school homework club.", 2, 12000),
    ("Community garden beds", "Raised garden beds with a water connection for neighbours to grow food.", 0, 10000),
    ("Bike racks at the library", "Secure bike racks outside the branch library and the health centre.", 1, 5000),
    ("Benches at bus stops", "Benches and small shelters at the busiest bus stops.", 1, 20000),
    ("Youth sports equipment", "Goals, nets and balls for the youth league that uses the public field.", 2, 5000),
    ("Shade sails over the playground", "Shade sails so the playground can be used on hot afternoons.", 0, 25000),
]
DEMO_RESIDENTS = 12
WARD_COSTS = {  # from the 2022 Jersey City ward files (ward A invented)
    "A": [50000, 20000, 15000, 10000],
    "B": [50000, 15000, 10000, 10000],
    "C": [50000, 25000, 20000, 20000],
    "D": [50000, 5000, 15000, 10000],
    "E": [5000, 15000, 1000, 30000],
    "F": [5000, 30000, 20000, 10000],
}


def _residents() -> list[User]:
    people = []
    for i in range(1, DEMO_RESIDENTS + 1):
        email = f"resident{i:02d}@demo.pbplatform.org"
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(
                email=email, password=None, display_name=f"Demo resident {i}", notifications_enabled=False
            )
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            user_add_role(user=user, role=Role.RESIDENT, actor=None)
        people.append(user)
    return people


def _address(rng) -> str:
    street = rng.choice(["Grand", "Montgomery", "Ocean", "Summit", "Bergen"])
    return f"{rng.randint(10, 899)} {street} {rng.choice(['St', 'Ave'])}, Jersey City, NJ"


def fill_ideas(*, cycle, users, rng) -> None:
    official = users[Role.OFFICIAL]
    if not Category.objects.filter(cycle=cycle).exists():
        for name, spanish in CATEGORIES:
            services.category_create(actor=official, cycle=cycle, name=name, translations={"es": spanish})
    if Idea.objects.filter(cycle=cycle).exists():
        return
    categories = list(Category.objects.filter(cycle=cycle).order_by("id"))
    residents = _residents()
    districts = list(cycle.districts.order_by("code"))
    n = 0
    for district in districts:
        for title, description, cat, guess in rng.sample(IDEA_TEMPLATES, 6):
            author = residents[n % len(residents)]
            n += 1
            services.idea_submit(
                actor=author,
                cycle=cycle,
                data=services.IdeaInput(
                    title=f"{title} ({district.name})",
                    description=description,
                    district=district,
                    category=categories[cat],
                    address=_address(rng),
                    cost_guess=guess,
                    language="en",
                ),
            )


def fill_vetting(*, cycle, users, rng) -> None:
    """Review every idea, publish the decisions, and merge pairs of feasible ideas into projects."""
    if cycle.projects.exists():
        return
    staff = users[Role.VETTING_STAFF]
    official = users[Role.OFFICIAL]
    for district in cycle.districts.order_by("code"):
        ideas = list(Idea.objects.filter(cycle=cycle, district=district).order_by("id"))
        costs = WARD_COSTS.get(district.code, WARD_COSTS["A"])
        for i, idea in enumerate(ideas):
            if i == len(ideas) - 1:
                services.review_record(
                    actor=staff,
                    idea=idea,
                    feasibility="not_feasible",
                    public_reason="The site is private property; the city cannot build there.",
                    department="Engineering",
                    internal_notes="Checked the parcel map with the assessor's office.",
                )
            else:
                services.review_record(
                    actor=staff,
                    idea=idea,
                    feasibility="feasible",
                    public_reason="Feasible; costed by the responsible department.",
                    cost_estimate=costs[min(i // 2, len(costs) - 1)],
                    department=rng.choice(["Parks", "Engineering", "Cultural Affairs", "Recreation"]),
                    internal_notes="Estimate from the department's 2025 unit prices.",
                )
            services.review_publish(actor=staff, idea=idea)
        # The first two feasible ideas are merged into one project; each other feasible idea
        # becomes a project of its own.
        feasible = ideas[:-1]
        groups = [feasible[:2], *[[idea] for idea in feasible[2:]]]
        for number, group in enumerate(groups, start=1):
            base = group[0].title.split(" (")[0]
            description = " ".join(idea.description for idea in group)
            services.project_create_from_ideas(
                actor=official,
                cycle=cycle,
                ideas=group,
                district=district,
                code=f"{district.code}-{number:02d}",
                cost=costs[(number - 1) % len(costs)],
                category=group[0].category,
                address=group[0].address,
                texts={
                    "en": services.ProjectTextInput(
                        title=base, summary=f"{base} in {district.name}.", description=description
                    ),
                    "es": services.ProjectTextInput(
                        title=f"{base} (ES)", summary=f"{base} en {district.name}.", description=description
                    ),
                },
            )


def register() -> None:
    register_demo_filler(Phase.IDEAS, fill_ideas)
    register_demo_filler(Phase.VETTING, fill_vetting)
