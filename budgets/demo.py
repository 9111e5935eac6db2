"""The Jersey City demo: wards A–F, $50,000 each, one user per role, built through the real
services up to a requested phase. Idempotent; a fixed seed; refused under production settings.

Later apps extend the demo by registering fillers for the phases they build
(``register_demo_filler``): a filler runs once, when the demo enters its phase. A phase that a
cycle reaches through its own service rather than ``cycle_transition`` has a mover registered by
the app that owns it (``register_demo_mover``): allocation certifies the tally into results, audit
archives.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import MFA_REQUIRED_ROLES, Role
from accounts.services import user_add_role

from .models import Cycle
from .phases import PHASE_ORDER, Phase, phase_index, phase_reached, transition_next
from .services import DistrictInput, cycle_create, cycle_transition

DEMO_SLUG = "jersey-city-demo"
DEMO_PASSWORD = "demo-pass-2026"
DEMO_SEED = 2026
DEMO_TIME_ZONE = "America/New_York"
# Fixed TOTP secrets (base32) so a person can add the demo staff accounts to an authenticator app.
DEMO_USERS: dict[Role, tuple[str, str, str | None]] = {
    Role.OFFICIAL: ("official@demo.pbplatform.org", "Olivia Official", "JBSWY3DPEHPK3PXPOFFICIAL"),
    Role.VETTING_STAFF: ("vetting@demo.pbplatform.org", "Victor Vetting", "JBSWY3DPEHPK3PXPVETTING2"),
    Role.AUDITOR: ("auditor@demo.pbplatform.org", "Ada Auditor", "JBSWY3DPEHPK3PXPAUDITOR2"),
    Role.ADMINISTRATOR: ("admin@demo.pbplatform.org", "Adrian Administrator", "JBSWY3DPEHPK3PXPADMIN234"),
    Role.VOLUNTEER: ("volunteer@demo.pbplatform.org", "Valeria Volunteer", None),
    Role.RESIDENT: ("resident@demo.pbplatform.org", "Rosa Resident", None),
}
# Every account the demo creates has an address here; any other account is a real person's.
DEMO_EMAIL_DOMAIN = "demo.pbplatform.org"
WARDS = "ABCDEF"
WARD_BUDGET = Decimal("50000.00")
# The furthest phase `load_demo --phase` builds the demo up to (every phase has its content).
DEMO_MAX_PHASE = Phase.ARCHIVED

# filler(cycle=..., users=..., rng=...); it may return lines for the person loading the demo (printed
# by load_demo with the logins, e.g. access codes that exist in clear only then).
Filler = Callable[..., list[str] | None]
_FILLERS: dict[Phase, list[Filler]] = {}


def register_demo_filler(phase: Phase, filler: Filler) -> None:
    if filler not in _FILLERS.setdefault(phase, []):
        _FILLERS[phase].append(filler)


# mover(cycle=..., users=...) -> Cycle: takes the demo into a phase its own way (allocation tallies
# and certifies; audit archives the demo at once, without waiting for the retention period).
Mover = Callable[..., Cycle]
_MOVERS: dict[Phase, Mover] = {}


def register_demo_mover(target: Phase, mover: Mover) -> None:
    _MOVERS[target] = mover


class DemoRefused(Exception):
    pass


@dataclass
class DemoReport:
    cycle: Cycle
    created: bool
    moved: list[str] = field(default_factory=list)
    users: dict[Role, User] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the fillers said


def totp_uri(email: str, secret: str) -> str:
    return f"otpauth://totp/pbplatform:{email}?secret={secret}&issuer=pbplatform"


def demo_users_ensure() -> dict[Role, User]:
    users = {}
    for role, (email, name, secret) in DEMO_USERS.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, display_name=name, full_name=name)
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        for r in {Role.RESIDENT, role}:
            user_add_role(user=user, role=r, actor=None)
        if (
            role in MFA_REQUIRED_ROLES
            and secret
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            TOTP.activate(user, secret)
        users[role] = user
    return users


def _schedule(target: Phase, now: datetime) -> dict[str, datetime]:
    """Dates consistent with ``target``: boundaries already passed lie in the past, later ones ahead."""
    zone = ZoneInfo(DEMO_TIME_ZONE)
    today = now.astimezone(zone).replace(hour=9, minute=0, second=0, microsecond=0)
    fields = ["ideas_open_at", "vetting_open_at", "voting_open_at", "voting_close_at"]
    # How many boundaries are behind us. The close of voting always lies ahead: a demo past voting
    # closed it by hand (and opening voting needs a close time in the future).
    reached = min(phase_index(target), len(fields) - 1)
    schedule = {}
    for i, name in enumerate(fields):
        weeks = (i - reached + 1) * 4 if i >= reached else -(reached - i) * 4
        schedule[name] = today + timedelta(weeks=weeks)
    return schedule


def _real_accounts() -> int:
    return User.objects.exclude(email__iendswith=f"@{DEMO_EMAIL_DOMAIN}").count()


def _changes(phase: Phase) -> list[str]:
    """What loading the demo up to ``phase`` would change here, in words; [] if nothing."""
    changes = []
    cycle = Cycle.objects.filter(slug=DEMO_SLUG).first()
    if cycle is None:
        changes.append(
            f"create the demo cycle “{DEMO_SLUG}” (wards {WARDS[0]}–{WARDS[-1]}) and take it to “{phase.value}”, "
            "filling in made-up ideas, projects, ballots and voting sites on the way"
        )
    elif not phase_reached(cycle.phase, phase):
        changes.append(
            f"move the demo cycle “{DEMO_SLUG}” from “{cycle.phase}” to “{phase.value}”, filling in made-up "
            "content on the way (and sending the e-mails each step sends)"
        )
    missing = [email for email, _name, _secret in DEMO_USERS.values() if not User.objects.filter(email=email).exists()]
    if missing or cycle is None:
        changes.append(
            f"create accounts @{DEMO_EMAIL_DOMAIN} with a published password (“{DEMO_PASSWORD}”), "
            "staff roles included (official, administrator, auditor)"
        )
    return changes


@transaction.atomic
def demo_load(*, phase: Phase = Phase.IDEAS, now: datetime | None = None, force: bool = False) -> DemoReport:
    """Build or advance the demo to ``phase``; at that phase or later, change nothing.

    Refused (``DemoRefused``, nothing changed) under production settings, and on a database with
    accounts the demo did not create (real people's) when loading would change anything, unless
    ``force``: the demo's content and its staff accounts with a published password do not belong
    beside real residents."""
    if not getattr(settings, "PB_ALLOW_DEMO", False):
        raise DemoRefused("The demo cannot be loaded under production settings.")
    phase = Phase(phase)
    if phase_index(phase) > phase_index(DEMO_MAX_PHASE):
        raise DemoRefused(
            f"The demo can be built up to “{DEMO_MAX_PHASE.value}” so far; “{phase.value}” is not built yet."
        )
    real = _real_accounts()
    changes = _changes(phase)
    if real and changes and not force:
        raise DemoRefused(
            f"This database has {real} account{'s' if real != 1 else ''} that the demo did not create "
            f"(addresses outside @{DEMO_EMAIL_DOMAIN}: real people's). Loading the demo would:\n"
            + "".join(f"  - {change};\n" for change in changes)
            + "Nothing was changed. Load the demo into an empty database, or run load_demo again with --force "
            "to load it here anyway."
        )
    now = now or timezone.now()
    rng = random.Random(DEMO_SEED)
    users = demo_users_ensure()
    official = users[Role.OFFICIAL]
    cycle = Cycle.objects.filter(slug=DEMO_SLUG).first()
    created = cycle is None
    if created:
        schedule = _schedule(phase, now)
        cycle = cycle_create(
            actor=official,
            name="Jersey City PB 2026 (demo)",
            slug=DEMO_SLUG,
            description=(
                "A demonstration cycle modelled on Jersey City's participatory budgeting: "
                "$50,000 for each of the six wards, A to F."
            ),
            time_zone=DEMO_TIME_ZONE,
            currency="USD",
            districts=[DistrictInput(code=w, name=f"Ward {w}", budget=WARD_BUDGET) for w in WARDS],
            **{field: when for field, when in schedule.items() if when > now},
        )
        # A real cycle is scheduled ahead; the demo's story began weeks ago, so the boundaries it has
        # already passed are written in afterwards (demo data, not a person's change).
        past = {field: when for field, when in schedule.items() if when <= now}
        if past:
            Cycle.objects.filter(pk=cycle.pk).update(**past)
            cycle.refresh_from_db()
    notes = _fill(Phase.DRAFT, cycle, users, rng) if created else []
    report = DemoReport(cycle=cycle, created=created, users=users, notes=notes)
    while not phase_reached(cycle.phase, phase):
        nxt = transition_next(cycle.phase)
        if nxt.target in _MOVERS:
            cycle = _MOVERS[nxt.target](cycle=cycle, users=users)
        else:
            cycle = cycle_transition(
                actor=official, cycle=cycle, target=nxt.target, reason="Demo: advancing to the requested phase."
            )
        report.moved.append(cycle.phase)
        report.notes += _fill(Phase(cycle.phase), cycle, users, rng)
    report.cycle = cycle
    return report


def _fill(phase: Phase, cycle: Cycle, users, rng) -> list[str]:
    notes = []
    for filler in _FILLERS.get(phase, []):
        notes += filler(cycle=cycle, users=users, rng=rng) or []
    return notes


DEMO_PHASE_CHOICES = [p.value for p in PHASE_ORDER]
