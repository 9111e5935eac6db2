"""The Jersey City demo (budgets/demo.py) and its command, load_demo."""

from decimal import Decimal
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.roles import MFA_REQUIRED_ROLES, Role
from budgets import demo, services
from budgets.demo import DEMO_PASSWORD, DEMO_SLUG, DEMO_USERS, totp_uri
from budgets.models import Cycle, District
from budgets.phases import Phase
from core.models import AuditEvent, Notification
from tests.factories import user_with_role

from .helpers import cycle_events

pytestmark = pytest.mark.django_db

OFFICIAL_EMAIL = DEMO_USERS[Role.OFFICIAL][0]


def load_demo(*args) -> str:
    out = StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def _state():
    return (
        User.objects.count(),
        Cycle.objects.count(),
        District.objects.count(),
        AuditEvent.objects.count(),
        Authenticator.objects.count(),
        list(Cycle.objects.values_list("slug", "phase", "updated_at")),
    )


@pytest.fixture
def no_fillers(monkeypatch):
    monkeypatch.setattr(demo, "_FILLERS", {})
    return demo._FILLERS


def test_load_demo_builds_the_jersey_city_cycle():
    output = load_demo()
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == Phase.IDEAS
    assert cycle.currency == "USD"
    assert list(cycle.districts.order_by("code").values_list("code", "kind", "budget")) == [
        (code, "ward", Decimal("50000.00")) for code in "ABCDEF"
    ]
    assert "Created the demo cycle" in output
    assert f"“{DEMO_SLUG}” is in the “ideas” phase" in output
    # Built through the services: created by the official, then moved with an audited reason.
    (created,) = cycle_events(cycle, "cycle.created")
    official = User.objects.get(email=OFFICIAL_EMAIL)
    assert created.actor_id == official.pk
    (moved,) = cycle_events(cycle)
    assert (moved.actor_id, moved.after) == (official.pk, {"phase": "ideas"})


def test_load_demo_makes_one_user_per_role_with_totp_for_staff():
    output = load_demo()
    for role, (email, _name, secret) in DEMO_USERS.items():
        user = User.objects.get(email=email)
        groups = set(user.groups.values_list("name", flat=True))
        assert groups == {Role.RESIDENT.value, role.value}
        assert user.check_password(DEMO_PASSWORD)
        has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        assert has_totp is (role in MFA_REQUIRED_ROLES), role
        assert email in output
        if has_totp:
            assert totp_uri(email, secret) in output
    assert OFFICIAL_EMAIL in output
    assert "otpauth://totp/" in output
    assert DEMO_PASSWORD in output


def test_the_demo_official_can_use_the_staff_area(client):
    load_demo()
    client.force_login(User.objects.get(email=OFFICIAL_EMAIL))
    response = client.get("/staff/cycles/")
    assert response.status_code == 200
    assert DEMO_SLUG in response.content.decode()


def test_load_demo_twice_changes_nothing():
    load_demo()
    before = _state()
    output = load_demo()
    assert _state() == before
    assert "nothing changed" in output
    assert "Created" not in output


def test_load_demo_advances_an_existing_demo():
    load_demo()
    output = load_demo("--phase", "vetting")
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == Phase.VETTING
    assert "Moved the demo cycle through: vetting." in output
    assert [e.after["phase"] for e in cycle_events(cycle)] == ["ideas", "vetting"]
    assert Cycle.objects.count() == 1


def test_load_demo_for_an_earlier_phase_changes_nothing():
    load_demo("--phase", "vetting")
    before = _state()
    output = load_demo("--phase", "ideas")
    assert _state() == before
    assert Cycle.objects.get(slug=DEMO_SLUG).phase == Phase.VETTING
    assert "nothing changed" in output


def test_load_demo_up_to_counting():
    output = load_demo("--phase", "counting")
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == Phase.COUNTING
    assert "Moved the demo cycle through: ideas, vetting, voting, counting." in output


@pytest.mark.parametrize("phase", ["ideas", "vetting", "voting", "counting"])
def test_the_demo_schedule_agrees_with_its_phase(phase):
    """The scheduler must not move a freshly loaded demo: passed dates lie behind, the rest ahead."""
    load_demo("--phase", phase)
    assert services.cycles_advance_due() == []
    assert Cycle.objects.get(slug=DEMO_SLUG).phase == phase


def test_load_demo_refuses_unknown_phases():
    with pytest.raises(CommandError):
        load_demo("--phase", "someday")


def test_load_demo_is_refused_under_production_settings(settings):
    settings.PB_ALLOW_DEMO = False
    with pytest.raises(CommandError, match="production"):
        load_demo()
    assert not Cycle.objects.exists()
    assert not User.objects.exists()


def test_quiet_logins_prints_no_secrets():
    output = load_demo("--quiet-logins")
    assert "otpauth://" not in output
    assert DEMO_PASSWORD not in output
    assert Cycle.objects.filter(slug=DEMO_SLUG).exists()


def test_a_filler_runs_once_when_the_demo_enters_its_phase(no_fillers):
    calls = []

    def fill(*, cycle, users, rng):
        calls.append((cycle.phase, sorted(users), rng.random()))

    demo.register_demo_filler(Phase.VETTING, fill)
    demo.register_demo_filler(Phase.VETTING, fill)  # registering twice is harmless
    load_demo()
    assert calls == []
    load_demo("--phase", "vetting")
    load_demo("--phase", "vetting")
    assert len(calls) == 1
    assert calls[0][0] == Phase.VETTING
    assert calls[0][1] == sorted(DEMO_USERS)


def test_the_demo_is_reproducible(no_fillers):
    """A fixed seed: the same random draws on every load."""
    draws = []
    demo.register_demo_filler(Phase.DRAFT, lambda *, cycle, users, rng: draws.append(rng.random()))
    demo.demo_load()
    Cycle.objects.filter(slug=DEMO_SLUG).delete()
    demo.demo_load()
    assert len(draws) == 2
    assert draws[0] == draws[1]


def test_the_demo_has_an_administrator_who_can_appoint_staff(client):
    output = load_demo()
    email, _name, secret = DEMO_USERS[Role.ADMINISTRATOR]
    assert f"Administrator  {email}" in output and totp_uri(email, secret) in output
    client.force_login(User.objects.get(email=email))
    response = client.get("/accounts/staff/")
    assert response.status_code == 200
    assert OFFICIAL_EMAIL in response.content.decode()


# --- a database with real people in it ------------------------------------------------------------------
def _load_refused(*args) -> str:
    with pytest.raises(CommandError) as refused:
        load_demo(*args)
    return str(refused.value)


def test_load_demo_refuses_a_database_with_real_residents_and_says_what_it_would_change(mailoutbox):
    maria = user_with_role("resident", email="maria@example.org", display_name="María")
    before = _state()

    message = _load_refused("--phase", "voting")

    assert message == (
        "This database has 1 account that the demo did not create (addresses outside @demo.pbplatform.org: real "
        "people's). Loading the demo would:\n"
        "  - create the demo cycle “jersey-city-demo” (wards A–F) and take it to “voting”, filling in made-up "
        "ideas, projects, ballots and voting sites on the way;\n"
        "  - create accounts @demo.pbplatform.org with a published password (“demo-pass-2026”), staff roles "
        "included (official, administrator, auditor);\n"
        "Nothing was changed. Load the demo into an empty database, or run load_demo again with --force to load "
        "it here anyway."
    )
    assert _state() == before
    assert not User.objects.filter(email__endswith="@demo.pbplatform.org").exists()
    assert not Notification.objects.exists()
    assert mailoutbox == []
    assert User.objects.get(pk=maria.pk).display_name == "María"


def test_load_demo_refuses_to_move_an_existing_demo_on_beside_real_residents():
    load_demo()  # the demo first, at "ideas"
    user_with_role("resident", email="maria@example.org")
    before = _state()

    message = _load_refused("--phase", "vetting")

    assert "This database has 1 account that the demo did not create" in message
    assert "move the demo cycle “jersey-city-demo” from “ideas” to “vetting”" in message
    assert "create accounts" not in message  # they exist already
    assert _state() == before
    # Asking for what is already there changes nothing, so it is not refused (`make run` again).
    assert "nothing changed" in load_demo()


def test_load_demo_with_force_loads_beside_real_residents():
    user_with_role("resident", email="maria@example.org")

    output = load_demo("--force")

    assert Cycle.objects.get(slug=DEMO_SLUG).phase == Phase.IDEAS
    assert "Created the demo cycle" in output
    assert User.objects.filter(email="maria@example.org").exists()


def test_load_demo_on_an_empty_database_needs_no_force():
    assert "Created the demo cycle" in load_demo()
