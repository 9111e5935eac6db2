"""Services: creating and editing cycles, the one service that changes phase, the scheduler, and the
voting controls (extend, pause, resume)."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from budgets import permissions, phases, services
from budgets.models import Cycle, District
from budgets.phases import TRANSITIONS, Capability, Phase
from budgets.services import DistrictInput, StepKind
from core.errors import GuardFailed, NotAllowed, PhaseClosed, TransitionNotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.factories import CycleFactory

from .helpers import cycle_events

pytestmark = pytest.mark.django_db

GENERIC = [key for key, t in TRANSITIONS.items() if t.generic]
OWN_SERVICE = [key for key, t in TRANSITIONS.items() if not t.generic]
FORBIDDEN = [(s, t) for s in Phase for t in Phase if s != t and (s, t) not in TRANSITIONS]


def _ids(pairs):
    return [f"{s.value}->{t.value}" for s, t in pairs]


def _phase(cycle) -> str:
    return Cycle.objects.values_list("phase", flat=True).get(pk=cycle.pk)


def _wards(*codes, budget="50000"):
    return [DistrictInput(code=c, name=f"Ward {c}", budget=budget) for c in codes]


def _create_kwargs(**overrides):
    kwargs = {
        "name": "Jersey City PB 2026",
        "slug": "jc-2026",
        "currency": "USD",
        "time_zone": "America/New_York",
        "districts": _wards("A", "B", "C"),
    }
    kwargs.update(overrides)
    return kwargs


# --- cycle_create / cycle_update ---------------------------------------------------------------------
def test_cycle_create_makes_a_draft_with_districts_and_one_audit_event(official):
    opens = timezone.now() + timedelta(days=10)
    cycle = services.cycle_create(
        actor=official, ideas_open_at=opens, voting_open_at=opens + timedelta(days=30), **_create_kwargs()
    )
    cycle.refresh_from_db()
    assert cycle.phase == Phase.DRAFT
    assert cycle.ideas_open_at == opens
    assert sorted(cycle.districts.values_list("code", "budget")) == [
        ("A", Decimal("50000.00")),
        ("B", Decimal("50000.00")),
        ("C", Decimal("50000.00")),
    ]
    (event,) = AuditEvent.objects.filter(action="cycle.created")
    assert event.actor_id == official.pk
    assert event.object_id == str(cycle.pk)
    assert event.after["slug"] == "jc-2026"
    assert [d["code"] for d in event.after["districts"]] == ["A", "B", "C"]


def _assert_nothing_saved(cycles_before, districts_before, events_before):
    assert Cycle.objects.count() == cycles_before
    assert District.objects.count() == districts_before
    assert AuditEvent.objects.count() == events_before


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"districts": [*_wards("A", "B"), DistrictInput(code="a", name="Again", budget=1)]},
            "districts.2.code",
            services.MSG_DUPLICATE_CODE % {"code": "a"},
        ),
        ({"districts": _wards("A", budget="-1")}, "districts.0.budget", services.MSG_NEGATIVE_BUDGET),
        ({"districts": _wards("A", budget="lots")}, "districts.0.budget", services.MSG_BAD_BUDGET),
        ({"districts": _wards("A", budget="")}, "districts.0.budget", services.MSG_BAD_BUDGET),
        ({"districts": _wards("A", budget="NaN")}, "districts.0.budget", services.MSG_BAD_BUDGET),
        ({"districts": []}, "districts", services.MSG_NO_DISTRICTS),
        (
            {
                "districts": [
                    DistrictInput(code="CW", name="Citywide", budget=1, kind=District.Kind.CITYWIDE),
                    DistrictInput(code="CX", name="Citywide 2", budget=1, kind=District.Kind.CITYWIDE),
                ]
            },
            "districts",
            services.MSG_ONE_CITYWIDE,
        ),
        ({"currency": "ZZZ"}, "currency", services.MSG_UNKNOWN_CURRENCY),
        ({"currency": "usd"}, "currency", services.MSG_UNKNOWN_CURRENCY),
        ({"time_zone": "Mars/Olympus"}, "time_zone", services.MSG_UNKNOWN_TIME_ZONE),
        ({"name": "  "}, "name", services.MSG_REQUIRED),
    ],
    ids=[
        "duplicate-code",
        "negative-budget",
        "non-numeric-budget",
        "empty-budget",
        "nan-budget",
        "no-districts",
        "two-citywide",
        "unknown-currency",
        "lowercase-currency",
        "unknown-zone",
        "blank-name",
    ],
)
def test_cycle_create_refuses_bad_input_and_saves_nothing(official, overrides, field, message):
    counts = Cycle.objects.count(), District.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_create(actor=official, **_create_kwargs(**overrides))
    assert message in excinfo.value.extra[field]
    _assert_nothing_saved(*counts)


def test_cycle_create_refuses_dates_out_of_order(official):
    now = timezone.now()
    counts = Cycle.objects.count(), District.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_create(
            actor=official,
            ideas_open_at=now + timedelta(days=20),
            vetting_open_at=now + timedelta(days=10),
            **_create_kwargs(),
        )
    expected = services.MSG_DATES_ORDER % {"later": "vetting starts", "earlier": "ideas open"}
    assert excinfo.value.extra == {"vetting_open_at": [expected]}
    _assert_nothing_saved(*counts)


def test_cycle_create_reports_every_problem_at_once(official):
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_create(
            actor=official,
            **_create_kwargs(currency="ZZZ", districts=[*_wards("A"), *_wards("A", budget="-5")]),
        )
    assert set(excinfo.value.extra) == {"currency", "districts.1.code", "districts.1.budget"}


def test_cycle_create_refuses_a_slug_in_use(official):
    CycleFactory(slug="jc-2026")
    counts = Cycle.objects.count(), District.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_create(actor=official, **_create_kwargs())
    assert excinfo.value.extra == {"slug": [services.MSG_SLUG_TAKEN]}
    _assert_nothing_saved(*counts)


def test_cycle_create_needs_an_official(resident):
    with pytest.raises(NotAllowed) as excinfo:
        services.cycle_create(actor=resident, **_create_kwargs())
    assert excinfo.value.message == permissions.MSG_ROLE_REQUIRED
    assert not Cycle.objects.exists()


def test_cycle_update_changes_fields_and_districts_in_one_audit_event(official):
    cycle = CycleFactory(wards="ABC")
    a, b, c = cycle.districts.order_by("code")
    services.cycle_update(
        actor=official,
        cycle=cycle,
        name="Renamed",
        districts=[
            # A and B swap codes; C is removed; D is new.
            DistrictInput(id=a.pk, code="B", name="Ward B", budget="10"),
            DistrictInput(id=b.pk, code="A", name="Ward A", budget="20"),
            DistrictInput(code="D", name="Ward D", budget="30"),
        ],
    )
    cycle.refresh_from_db()
    assert cycle.name == "Renamed"
    rows = {d.code: (d.pk, d.budget) for d in cycle.districts.all()}
    assert rows["B"] == (a.pk, Decimal("10.00"))
    assert rows["A"] == (b.pk, Decimal("20.00"))
    assert rows["D"][1] == Decimal("30.00")
    assert set(rows) == {"A", "B", "D"}
    assert not District.objects.filter(pk=c.pk).exists()
    (event,) = cycle_events(cycle, "cycle.updated")
    assert event.before["name"] != event.after["name"] == "Renamed"


def test_cycle_update_without_a_change_writes_no_audit_event(official):
    cycle = CycleFactory(wards="A")
    services.cycle_update(actor=official, cycle=cycle, name=cycle.name)
    assert not cycle_events(cycle, "cycle.updated").exists()


def test_an_archived_cycle_cannot_be_edited(official):
    cycle = CycleFactory(phase=Phase.ARCHIVED, wards="A")
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, name="Changed")
    assert excinfo.value.message == permissions.MSG_ARCHIVED
    cycle.refresh_from_db()
    assert cycle.name != "Changed"
    assert not cycle_events(cycle, "cycle.updated").exists()


UNDER_WAY = [p for p in Phase if p not in (Phase.DRAFT, Phase.ARCHIVED)]


@pytest.mark.parametrize("phase", UNDER_WAY)
def test_the_name_and_description_can_be_fixed_until_the_archive(official, phase):
    cycle = CycleFactory(phase=phase, wards="A")
    services.cycle_update(actor=official, cycle=cycle, name="Springfield PB 2027", description="Fixed typo.")
    cycle.refresh_from_db()
    assert (cycle.name, cycle.description) == ("Springfield PB 2027", "Fixed typo.")
    (event,) = cycle_events(cycle, "cycle.updated")
    assert event.after["name"] == "Springfield PB 2027" and event.before["name"] != event.after["name"]


@pytest.mark.parametrize("phase", UNDER_WAY)
@pytest.mark.parametrize(
    ("field", "value"),
    [("slug", "new-slug"), ("currency", "EUR"), ("time_zone", "Europe/Madrid"), ("ideas_per_resident", 3)],
)
def test_what_residents_and_links_rely_on_is_fixed_after_draft(official, phase, field, value):
    cycle = CycleFactory(phase=phase, wards="A")
    before = getattr(cycle, field)
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, name="Changed too", **{field: value})
    assert excinfo.value.extra == {field: [services.MSG_FROZEN_AFTER_DRAFT]}
    cycle.refresh_from_db()
    assert getattr(cycle, field) == before and cycle.name != "Changed too"  # nothing of the edit is saved
    assert not AuditEvent.objects.filter(action__startswith="cycle.").exists()


def _scheduled(phase, **days):
    """A cycle in ``phase`` with its schedule ``days`` from now (negative: past)."""
    now = timezone.now()
    return CycleFactory(phase=phase, wards="A", **{f: now + timedelta(days=d) for f, d in days.items()})


def test_a_future_date_moves_with_a_reason_and_its_own_audit_event(official):
    cycle = _scheduled(Phase.IDEAS, ideas_open_at=-2, vetting_open_at=5, voting_open_at=20, voting_close_at=30)
    old = cycle.voting_open_at
    new = old + timedelta(days=3)
    services.cycle_update(actor=official, cycle=cycle, voting_open_at=new, reason="  The library needs a week.  ")
    cycle.refresh_from_db()
    assert cycle.voting_open_at == new
    (event,) = cycle_events(cycle, "cycle.date_moved")
    assert list(event.before) == list(event.after) == ["voting_open_at"]
    assert datetime.fromisoformat(event.before["voting_open_at"]) == old
    assert datetime.fromisoformat(event.after["voting_open_at"]) == new
    assert event.actor_id == official.pk
    assert event.reason == "The library needs a week."
    assert not cycle_events(cycle, "cycle.updated").exists()  # the move is told once, by its own event


def test_moving_a_date_once_under_way_needs_a_reason(official):
    cycle = _scheduled(Phase.VETTING, ideas_open_at=-20, vetting_open_at=-2, voting_open_at=10, voting_close_at=20)
    old = cycle.voting_open_at
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, voting_open_at=old + timedelta(days=1), reason=" ")
    assert excinfo.value.extra == {"reason": [services.MSG_DATE_REASON]}
    cycle.refresh_from_db()
    assert cycle.voting_open_at == old
    assert not AuditEvent.objects.filter(action__startswith="cycle.").exists()


@pytest.mark.parametrize(
    ("phase", "field", "message"),
    [
        (Phase.IDEAS, "ideas_open_at", services.MSG_DATE_PASSED),  # its phase has begun
        (Phase.VETTING, "vetting_open_at", services.MSG_DATE_PASSED),
        (Phase.VOTING, "voting_close_at", services.MSG_DATES_FROZEN),  # fingerprinted: extend voting instead
        (Phase.COUNTING, "voting_close_at", services.MSG_DATES_FROZEN),
    ],
)
def test_a_past_boundary_or_a_frozen_date_cannot_move(official, phase, field, message):
    cycle = _scheduled(phase, ideas_open_at=-20, vetting_open_at=-10, voting_open_at=-5, voting_close_at=2)
    if phase in (Phase.IDEAS, Phase.VETTING):
        cycle = _scheduled(phase, ideas_open_at=1, vetting_open_at=2, voting_open_at=9, voting_close_at=12)
    old = getattr(cycle, field)
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, reason="Why not.", **{field: old + timedelta(hours=5)})
    assert excinfo.value.extra == {field: [message]}
    cycle.refresh_from_db()
    assert getattr(cycle, field) == old


def test_a_date_already_passed_cannot_move_even_if_its_phase_has_not_begun(official):
    # The scheduler has not run yet: the time is past, the phase still the one before.
    cycle = _scheduled(Phase.IDEAS, ideas_open_at=-5, vetting_open_at=-1, voting_open_at=9, voting_close_at=12)
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(
            actor=official, cycle=cycle, vetting_open_at=timezone.now() + timedelta(days=1), reason="Late."
        )
    assert excinfo.value.extra == {"vetting_open_at": [services.MSG_DATE_PASSED]}


def test_a_moved_date_stays_ahead_and_in_order(official):
    cycle = _scheduled(Phase.IDEAS, ideas_open_at=-2, vetting_open_at=5, voting_open_at=20, voting_close_at=30)
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_update(
            actor=official, cycle=cycle, vetting_open_at=timezone.now() - timedelta(hours=1), reason="Oops."
        )
    assert excinfo.value.extra["vetting_open_at"] == [
        services.MSG_DATE_PAST % {"field": str(Cycle._meta.get_field("vetting_open_at").verbose_name)}
    ]
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_update(
            actor=official, cycle=cycle, voting_open_at=cycle.voting_close_at + timedelta(days=1), reason="Oops."
        )
    assert "voting_close_at" in excinfo.value.extra  # the schedule stays strictly increasing
    assert not AuditEvent.objects.filter(action__startswith="cycle.").exists()


def _rows(cycle, **changes):
    """The cycle's districts as inputs, with ``changes`` per code (a dict of fields)."""
    rows = []
    for d in cycle.districts.order_by("code"):
        values = {"id": d.pk, "code": d.code, "name": d.name, "kind": d.kind, "budget": d.budget}
        values.update(changes.get(d.code, {}))
        rows.append(DistrictInput(**values))
    return rows


@pytest.mark.parametrize("phase", [Phase.IDEAS, Phase.VETTING])
def test_before_voting_districts_are_renamed_rebudgeted_and_added(official, phase):
    cycle = CycleFactory(phase=phase, wards="AB")
    rows = _rows(cycle, A={"name": "Ward A (Downtown)", "budget": "60000"})
    services.cycle_update(
        actor=official,
        cycle=cycle,
        districts=[*rows, DistrictInput(code="CITY", name="Citywide", budget="40000", kind=District.Kind.CITYWIDE)],
    )
    got = {d.code: (d.name, d.budget) for d in cycle.districts.all()}
    assert got == {
        "A": ("Ward A (Downtown)", Decimal("60000.00")),
        "B": ("Ward B", Decimal("50000.00")),
        "CITY": ("Citywide", Decimal("40000.00")),
    }
    (event,) = cycle_events(cycle, "cycle.updated")
    assert len(event.after["districts"]) == 3


@pytest.mark.parametrize("phase", [Phase.VOTING, Phase.COUNTING, Phase.RESULTS])
def test_from_voting_on_districts_and_budgets_stay_frozen(official, phase):
    cycle = CycleFactory(phase=phase, wards="AB")
    for changes, key, message in (
        ({"A": {"budget": "1"}}, "districts.0.budget", services.MSG_DISTRICTS_FROZEN),
        ({"B": {"name": "Renamed"}}, "districts.1.name", services.MSG_DISTRICTS_FROZEN),
    ):
        with pytest.raises(PhaseClosed) as excinfo:
            services.cycle_update(actor=official, cycle=cycle, districts=_rows(cycle, **changes))
        assert excinfo.value.extra == {key: [message]}
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(
            actor=official, cycle=cycle, districts=[*_rows(cycle), DistrictInput(code="C", name="C", budget="5")]
        )
    assert excinfo.value.extra == {"districts.2.code": [services.MSG_DISTRICT_ADD_CLOSED]}
    assert sorted(cycle.districts.values_list("code", "name", "budget")) == [
        ("A", "Ward A", Decimal("50000.00")),
        ("B", "Ward B", Decimal("50000.00")),
    ]
    assert not AuditEvent.objects.filter(action__startswith="cycle.").exists()


def test_after_draft_district_codes_kinds_and_the_set_stay(official):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="AB")
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, districts=_rows(cycle, A={"code": "Z"}))
    assert excinfo.value.extra == {"districts.0.code": [services.MSG_FROZEN_AFTER_DRAFT]}
    with pytest.raises(PhaseClosed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, districts=_rows(cycle)[:1])
    assert excinfo.value.extra == {"districts": [services.MSG_DISTRICT_REMOVE_CLOSED]}
    assert cycle.districts.count() == 2


def test_cycle_update_refuses_a_slug_in_use_and_saves_nothing(official):
    CycleFactory(slug="taken")
    cycle = CycleFactory(wards="A")
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_update(actor=official, cycle=cycle, slug="taken", name="Changed")
    assert excinfo.value.extra == {"slug": [services.MSG_SLUG_TAKEN]}
    cycle.refresh_from_db()
    assert cycle.name != "Changed"


# --- cycle_transition ---------------------------------------------------------------------------------
@pytest.mark.usefixtures("clean_transitions")
@pytest.mark.parametrize(("source", "target"), GENERIC, ids=_ids(GENERIC))
def test_generic_transition_moves_the_phase_and_writes_one_audit_event(official, source, target):
    cycle = CycleFactory(phase=source, wards="A")
    result = services.cycle_transition(actor=official, cycle=cycle, target=target, reason="  On schedule.  ")
    assert result.phase == target
    assert _phase(cycle) == target
    (event,) = AuditEvent.objects.filter(action="cycle.phase_changed")
    assert event.object_type == "cycle"
    assert event.object_id == str(cycle.pk)
    assert event.before == {"phase": source.value}
    assert event.after == {"phase": target.value}
    assert event.actor_type == AuditEvent.ActorType.USER
    assert event.actor_id == official.pk
    assert event.reason == "On schedule."


@pytest.mark.usefixtures("clean_transitions")
@pytest.mark.parametrize(("source", "target"), OWN_SERVICE, ids=_ids(OWN_SERVICE))
def test_own_service_transition_is_refused_by_cycle_transition(official, source, target):
    cycle = CycleFactory(phase=source, wards="A")
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.cycle_transition(actor=official, cycle=cycle, target=target, reason="Trying the shortcut.")
    assert excinfo.value.message == services.MSG_TRANSITION_OWN_SERVICE % {
        "target": target.label,
        "via": "certification",
    }
    assert _phase(cycle) == source
    assert not cycle_events(cycle).exists()


@pytest.mark.usefixtures("clean_transitions")
@pytest.mark.parametrize(("source", "target"), OWN_SERVICE, ids=_ids(OWN_SERVICE))
def test_own_service_transition_is_taken_via_its_service(official, source, target):
    cycle = CycleFactory(phase=source, wards="A")
    with transaction.atomic():
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        services.cycle_transition_via(
            actor=official, cycle=locked, target=target, reason="Tally certified.", via="certification"
        )
    assert _phase(cycle) == target
    (event,) = cycle_events(cycle)
    assert event.before == {"phase": source.value}
    assert event.after == {"phase": target.value, "via": "certification"}
    assert event.actor_id == official.pk
    assert event.reason == "Tally certified."


def test_cycle_transition_via_still_follows_the_table(official):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with transaction.atomic(), pytest.raises(TransitionNotAllowed):
        locked = Cycle.objects.select_for_update().get(pk=cycle.pk)
        services.cycle_transition_via(
            actor=official, cycle=locked, target=Phase.RESULTS, reason="Skipping ahead.", via="certification"
        )
    assert _phase(cycle) == Phase.IDEAS
    assert not cycle_events(cycle).exists()


@pytest.mark.parametrize(("source", "target"), FORBIDDEN, ids=_ids(FORBIDDEN))
def test_forbidden_transition_is_refused_and_changes_nothing(official, source, target):
    cycle = CycleFactory(phase=source, wards="A")
    with pytest.raises(TransitionNotAllowed) as excinfo:
        services.cycle_transition(actor=official, cycle=cycle, target=target, reason="Not allowed.")
    assert excinfo.value.message == services.MSG_TRANSITION_FORBIDDEN % {
        "source": source.label,
        "target": target.label,
    }
    assert _phase(cycle) == source
    assert not AuditEvent.objects.filter(action="cycle.phase_changed").exists()


def test_forbidden_pairs_cover_everything_outside_the_table():
    assert len(FORBIDDEN) == len(Phase) * (len(Phase) - 1) - len(TRANSITIONS)


@pytest.mark.parametrize("phase", list(Phase))
def test_transition_to_the_current_phase_returns_early(official, phase):
    cycle = CycleFactory(phase=phase, wards="A")
    updated_at = Cycle.objects.get(pk=cycle.pk).updated_at
    result = services.cycle_transition(actor=official, cycle=cycle.pk, target=phase, reason="Again.")
    assert result.phase == phase
    assert Cycle.objects.get(pk=cycle.pk).updated_at == updated_at
    assert not AuditEvent.objects.filter(action="cycle.phase_changed").exists()


def test_an_unknown_target_is_a_validation_error(official):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_transition(actor=official, cycle=cycle, target="nonsense", reason="Typo.")
    assert "target" in excinfo.value.extra
    assert _phase(cycle) == Phase.IDEAS


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_person_must_give_a_reason(official, clean_transitions, reason):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with pytest.raises(ValidationFailed) as excinfo:
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.VETTING, reason=reason)
    assert excinfo.value.extra == {"reason": [services.MSG_REASON_REQUIRED]}
    assert _phase(cycle) == Phase.IDEAS
    assert not cycle_events(cycle).exists()


def test_the_system_needs_no_reason(clean_transitions):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    services.cycle_transition(actor=None, cycle=cycle, target=Phase.VETTING, reason="")
    assert _phase(cycle) == Phase.VETTING
    (event,) = cycle_events(cycle)
    assert event.actor_type == AuditEvent.ActorType.SYSTEM
    assert event.actor_id is None
    assert event.reason == ""


@pytest.mark.parametrize("role", ["resident", "volunteer", "auditor", "vetting_staff"])
def test_only_officials_move_cycles(request, clean_transitions, role):
    user = request.getfixturevalue(role)
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with pytest.raises(NotAllowed) as excinfo:
        services.cycle_transition(actor=user, cycle=cycle, target=Phase.VETTING, reason="Let me.")
    assert excinfo.value.message == permissions.MSG_ROLE_REQUIRED
    assert _phase(cycle) == Phase.IDEAS
    assert not cycle_events(cycle).exists()


def test_an_official_without_mfa_cannot_move_cycles(official_without_mfa, clean_transitions):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with pytest.raises(NotAllowed) as excinfo:
        services.cycle_transition(actor=official_without_mfa, cycle=cycle, target=Phase.VETTING, reason="Go.")
    assert excinfo.value.message == permissions.MSG_MFA_REQUIRED
    assert _phase(cycle) == Phase.IDEAS


# --- guards and hooks ---------------------------------------------------------------------------------
def test_a_failing_guard_refuses_the_transition(official, clean_transitions):
    seen = []

    def not_ready(*, cycle):
        seen.append((cycle.pk, cycle.phase))
        raise GuardFailed("Every ward needs a ballot.")

    phases.register_guard(Phase.IDEAS, Phase.VETTING, not_ready)
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    with pytest.raises(GuardFailed) as excinfo:
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.VETTING, reason="Ready?")
    assert excinfo.value.message == "Every ward needs a ballot."
    assert seen == [(cycle.pk, Phase.IDEAS)]  # the guard sees the cycle before it moves
    assert _phase(cycle) == Phase.IDEAS
    assert not cycle_events(cycle).exists()


def test_a_passing_guard_lets_the_transition_through(official, clean_transitions):
    calls = []
    phases.register_guard(Phase.IDEAS, Phase.VETTING, lambda *, cycle: calls.append(cycle.pk))
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    services.cycle_transition(actor=official, cycle=cycle, target=Phase.VETTING, reason="Ready.")
    assert calls == [cycle.pk]
    assert _phase(cycle) == Phase.VETTING


def test_a_guard_on_another_transition_does_not_apply(official, clean_transitions):
    def never(*, cycle):
        raise GuardFailed("no")

    phases.register_guard(Phase.VETTING, Phase.VOTING, never)
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    services.cycle_transition(actor=official, cycle=cycle, target=Phase.VETTING, reason="Ready.")
    assert _phase(cycle) == Phase.VETTING


def test_a_hook_runs_in_the_transaction_after_the_phase_is_set(official, clean_transitions):
    calls = []

    def freeze(*, cycle, actor):
        calls.append((_phase(cycle), actor.pk, connection.in_atomic_block))
        Cycle.objects.filter(pk=cycle.pk).update(description="frozen by the hook")

    phases.register_hook(Phase.VETTING, Phase.VOTING, freeze)
    cycle = CycleFactory(phase=Phase.VETTING, wards="A")
    services.cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Ballots ready.")
    # The hook sees the new phase already written, by the acting official, inside a transaction.
    assert calls == [(Phase.VOTING, official.pk, True)]
    cycle.refresh_from_db()
    assert cycle.phase == Phase.VOTING
    assert cycle.description == "frozen by the hook"
    assert cycle_events(cycle).count() == 1


def test_a_failing_hook_undoes_the_whole_transition(official, clean_transitions):
    def explode(*, cycle, actor):
        Cycle.objects.filter(pk=cycle.pk).update(description="half-done")
        raise RuntimeError("fingerprinting failed")

    phases.register_hook(Phase.VETTING, Phase.VOTING, explode)
    cycle = CycleFactory(phase=Phase.VETTING, wards="A", description="before")
    with pytest.raises(RuntimeError):
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Ballots ready.")
    cycle.refresh_from_db()
    assert cycle.phase == Phase.VETTING
    assert cycle.description == "before"
    assert not cycle_events(cycle).exists()


def test_everything_runs_in_the_order_transition_steps_lists(
    official, clean_transitions, django_capture_on_commit_callbacks
):
    calls = []

    def snapshot(cycle_id):
        cycle = Cycle.objects.get(pk=cycle_id)
        return (cycle.phase, cycle.is_paused, cycle_events(cycle, "cycle.phase_changed").count())

    def guard(*, cycle):
        calls.append(("guard", snapshot(cycle.pk)))

    def hook(*, cycle, actor):
        calls.append(("hook", snapshot(cycle.pk), actor.pk))

    def effect(*, cycle_id):
        calls.append(("effect", snapshot(cycle_id)))

    phases.register_guard(Phase.VOTING, Phase.COUNTING, guard)
    phases.register_hook(Phase.VOTING, Phase.COUNTING, hook)
    phases.register_effect(Phase.VOTING, Phase.COUNTING, effect)
    transition = TRANSITIONS[(Phase.VOTING, Phase.COUNTING)]
    assert services.transition_steps(transition) == [
        (StepKind.GUARD, guard),
        (StepKind.SERVICE, services.pause_end),
        (StepKind.HOOK, hook),
        (StepKind.SERVICE, services.phase_change_record),
        (StepKind.EFFECT, effect),
    ]
    cycle = CycleFactory(voting=True, wards="A")
    services.voting_pause(actor=official, cycle=cycle, reason="Outage.")
    with django_capture_on_commit_callbacks(execute=True):
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.COUNTING, reason="Voting over.")
        # Guard and hook ran in the transaction; the effect waits for the commit.
        assert calls == [
            ("guard", (Phase.VOTING, True, 0)),
            ("hook", (Phase.COUNTING, False, 0), official.pk),  # the pause has ended, not yet audited
        ]
    assert calls[2:] == [("effect", (Phase.COUNTING, False, 1))]


def test_an_effect_never_runs_when_the_transition_rolls_back(
    official, clean_transitions, django_capture_on_commit_callbacks
):
    ran = []

    def explode(*, cycle, actor):
        raise RuntimeError("fingerprinting failed")

    phases.register_hook(Phase.VETTING, Phase.VOTING, explode)
    phases.register_effect(Phase.VETTING, Phase.VOTING, lambda *, cycle_id: ran.append(cycle_id))
    cycle = CycleFactory(phase=Phase.VETTING, wards="A")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        services.cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Ballots ready.")
    assert callbacks == []
    assert ran == []
    assert _phase(cycle) == Phase.VETTING


def test_the_service_steps_apply_where_their_table_says():
    def runs(step):
        return [key for key, t in TRANSITIONS.items() if (StepKind.SERVICE, step) in services.transition_steps(t)]

    # A pause belongs to the voting phase: only leaving it ends one.
    assert runs(services.pause_end) == [(Phase.VOTING, Phase.COUNTING)]
    assert runs(services.phase_change_record) == list(TRANSITIONS)


# --- the scheduler ----------------------------------------------------------------------------------
NOW = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def _scheduled_cycle(phase=Phase.DRAFT, **offsets):
    """A cycle whose schedule fields lie at NOW + the given offsets (timedelta)."""
    return CycleFactory(phase=phase, wards="A", **{field: NOW + delta for field, delta in offsets.items()})


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_moves_a_cycle_whose_date_passed():
    cycle = _scheduled_cycle(ideas_open_at=timedelta(hours=-1), vetting_open_at=timedelta(days=30))
    moves = services.cycles_advance_due()
    assert moves == [(cycle.pk, "draft", "ideas")]
    assert _phase(cycle) == Phase.IDEAS
    (event,) = cycle_events(cycle)
    assert event.actor_type == AuditEvent.ActorType.SYSTEM
    assert event.actor_id is None
    assert event.reason.startswith("scheduled")
    assert event.before == {"phase": "draft"}
    assert event.after == {"phase": "ideas"}
    assert event.occurred_at == NOW


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_moves_a_cycle_exactly_at_its_boundary():
    cycle = _scheduled_cycle(ideas_open_at=timedelta(0))
    services.cycles_advance_due()
    assert _phase(cycle) == Phase.IDEAS


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_catches_up_several_boundaries_in_one_call():
    cycle = _scheduled_cycle(
        ideas_open_at=timedelta(days=-30),
        vetting_open_at=timedelta(days=-20),
        voting_open_at=timedelta(days=-1),
        voting_close_at=timedelta(days=6),
    )
    moves = services.cycles_advance_due()
    assert moves == [(cycle.pk, "draft", "ideas"), (cycle.pk, "ideas", "vetting"), (cycle.pk, "vetting", "voting")]
    assert _phase(cycle) == Phase.VOTING
    events = list(cycle_events(cycle))
    assert [e.after["phase"] for e in events] == ["ideas", "vetting", "voting"]
    assert all(e.actor_type == AuditEvent.ActorType.SYSTEM and e.reason.startswith("scheduled") for e in events)


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_never_takes_counting_to_results():
    cycle = _scheduled_cycle(
        ideas_open_at=timedelta(days=-40),
        vetting_open_at=timedelta(days=-30),
        voting_open_at=timedelta(days=-20),
        voting_close_at=timedelta(days=-10),
    )
    counting = _scheduled_cycle(
        phase=Phase.COUNTING,
        ideas_open_at=timedelta(days=-40),
        vetting_open_at=timedelta(days=-30),
        voting_open_at=timedelta(days=-20),
        voting_close_at=timedelta(days=-10),
    )
    services.cycles_advance_due()
    assert _phase(cycle) == Phase.COUNTING
    assert _phase(counting) == Phase.COUNTING
    assert cycle_events(cycle).count() == 4
    assert not cycle_events(counting).exists()


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_leaves_cycles_whose_dates_are_ahead():
    ahead = _scheduled_cycle(ideas_open_at=timedelta(minutes=1), vetting_open_at=timedelta(days=10))
    unscheduled = CycleFactory(phase=Phase.IDEAS, wards="A")
    in_voting = _scheduled_cycle(
        phase=Phase.VOTING, voting_open_at=timedelta(days=-1), voting_close_at=timedelta(seconds=1)
    )
    assert services.cycles_advance_due() == []
    assert (_phase(ahead), _phase(unscheduled), _phase(in_voting)) == (Phase.DRAFT, Phase.IDEAS, Phase.VOTING)
    assert not AuditEvent.objects.filter(action="cycle.phase_changed").exists()


@pytest.mark.usefixtures("clean_transitions")
def test_scheduler_follows_the_clock():
    cycle = _scheduled_cycle(
        ideas_open_at=timedelta(days=1), vetting_open_at=timedelta(days=10), voting_open_at=timedelta(days=20)
    )
    with time_machine.travel(NOW, tick=False):
        services.cycles_advance_due()
        assert _phase(cycle) == Phase.DRAFT
    with time_machine.travel(NOW + timedelta(days=1, seconds=1), tick=False):
        services.cycles_advance_due()
        assert _phase(cycle) == Phase.IDEAS
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        services.cycles_advance_due()
        assert _phase(cycle) == Phase.VETTING
    assert [e.after["phase"] for e in cycle_events(cycle)] == ["ideas", "vetting"]


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_is_idempotent():
    cycle = _scheduled_cycle(ideas_open_at=timedelta(days=-2), vetting_open_at=timedelta(days=-1))
    first = services.cycles_advance_due()
    events = AuditEvent.objects.count()
    assert services.cycles_advance_due() == []
    assert len(first) == 2
    assert _phase(cycle) == Phase.VETTING
    assert AuditEvent.objects.count() == events


@pytest.mark.usefixtures("clean_transitions", "frozen")
def test_scheduler_leaves_a_cycle_whose_guard_fails_and_carries_on(caplog):
    def not_ready(*, cycle):
        raise GuardFailed("No ideas reviewed yet.")

    phases.register_guard(Phase.IDEAS, Phase.VETTING, not_ready)
    stuck = _scheduled_cycle(ideas_open_at=timedelta(days=-2), vetting_open_at=timedelta(days=-1))
    other = _scheduled_cycle(phase=Phase.VETTING, voting_open_at=timedelta(days=-1), voting_close_at=timedelta(days=5))
    moves = services.cycles_advance_due()  # does not raise
    assert (stuck.pk, "draft", "ideas") in moves
    assert (other.pk, "vetting", "voting") in moves
    assert _phase(stuck) == Phase.IDEAS  # the first boundary was taken, the guarded one was not
    assert _phase(other) == Phase.VOTING
    assert "not advanced" in caplog.text
    events = AuditEvent.objects.count()
    assert services.cycles_advance_due() == []  # retried next time, still refused, still no error
    assert _phase(stuck) == Phase.IDEAS
    assert AuditEvent.objects.count() == events


# --- concurrency ---------------------------------------------------------------------------------
@pytest.mark.postgres
def test_two_concurrent_transitions_change_the_phase_once(transactional_db, official, clean_transitions):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="A")
    barrier = threading.Barrier(2, timeout=10)
    results, errors = [], []

    def move():
        try:
            actor = User.objects.get(pk=official.pk)
            barrier.wait()
            done = services.cycle_transition(actor=actor, cycle=cycle.pk, target=Phase.VETTING, reason="Race.")
            results.append(done.phase)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=move) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert results == [Phase.VETTING, Phase.VETTING]
    assert _phase(cycle) == Phase.VETTING
    assert cycle_events(cycle).count() == 1


@pytest.mark.postgres
def test_two_officials_moving_dates_at_once_keep_the_schedule_in_order(transactional_db, official):
    """Each move alone keeps the order; both together would not. The cycle lock makes the second
    one see the first: one is saved, the other refused with the order message (never a 500 from the
    database's check)."""
    now = timezone.now()
    cycle = CycleFactory(
        phase=Phase.IDEAS,
        wards="A",
        ideas_open_at=now - timedelta(days=1),
        vetting_open_at=now + timedelta(days=10),
        voting_open_at=now + timedelta(days=20),
        voting_close_at=now + timedelta(days=30),
    )
    moves = [{"vetting_open_at": now + timedelta(days=15)}, {"voting_open_at": now + timedelta(days=12)}]
    barrier = threading.Barrier(2, timeout=10)
    saved, refused, errors = [], [], []

    def move(fields):
        try:
            actor = User.objects.get(pk=official.pk)
            barrier.wait()
            services.cycle_update(actor=actor, cycle=cycle.pk, reason="Race.", **fields)
            saved.append(fields)
        except ValidationFailed as exc:
            refused.append(exc.extra)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=(fields,)) for fields in moves]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == [] and len(saved) == len(refused) == 1
    cycle.refresh_from_db()
    assert cycle.vetting_open_at < cycle.voting_open_at
    assert cycle_events(cycle, "cycle.date_moved").count() == 1


# --- voting: extend, pause, resume -------------------------------------------------------------------
@pytest.fixture
def voting_cycle(db):
    return CycleFactory(voting=True, wards="A")


def test_voting_extend_moves_the_close_and_is_audited(official, voting_cycle):
    old_close = voting_cycle.voting_close_at
    new_close = old_close + timedelta(days=1)
    services.voting_extend(actor=official, cycle=voting_cycle, close_at=new_close, reason="Outage on Tuesday.")
    voting_cycle.refresh_from_db()
    assert voting_cycle.voting_close_at == new_close
    (event,) = cycle_events(voting_cycle, "cycle.voting_extended")
    assert datetime.fromisoformat(event.before["voting_close_at"]) == old_close
    assert datetime.fromisoformat(event.after["voting_close_at"]) == new_close
    assert event.actor_id == official.pk
    assert event.reason == "Outage on Tuesday."


@pytest.mark.parametrize(
    "offset",
    [
        pytest.param(lambda cycle: timezone.now() - timedelta(hours=1), id="in-the-past"),
        pytest.param(lambda cycle: cycle.voting_close_at - timedelta(days=1), id="earlier-than-close"),
        pytest.param(lambda cycle: cycle.voting_close_at, id="same-as-close"),
    ],
)
def test_voting_extend_must_move_the_close_later(official, voting_cycle, offset):
    old_close = voting_cycle.voting_close_at
    with pytest.raises(ValidationFailed) as excinfo:
        services.voting_extend(actor=official, cycle=voting_cycle, close_at=offset(voting_cycle), reason="Outage.")
    assert excinfo.value.extra == {"voting_close_at": [services.MSG_EXTEND_NOT_LATER]}
    voting_cycle.refresh_from_db()
    assert voting_cycle.voting_close_at == old_close
    assert not cycle_events(voting_cycle, "cycle.voting_extended").exists()


def test_voting_extend_to_the_past_is_refused_when_there_is_no_close(official):
    cycle = CycleFactory(phase=Phase.VOTING, wards="A", voting_close_at=None)
    with pytest.raises(ValidationFailed) as excinfo:
        services.voting_extend(
            actor=official, cycle=cycle, close_at=timezone.now() - timedelta(minutes=1), reason="Outage."
        )
    assert excinfo.value.extra == {"voting_close_at": [services.MSG_EXTEND_NOT_LATER]}


def test_voting_extend_needs_a_reason(official, voting_cycle):
    with pytest.raises(ValidationFailed) as excinfo:
        services.voting_extend(
            actor=official, cycle=voting_cycle, close_at=voting_cycle.voting_close_at + timedelta(days=1), reason=" "
        )
    assert excinfo.value.extra == {"reason": [services.MSG_REASON_REQUIRED]}


@pytest.mark.parametrize("phase", [p for p in Phase if p != Phase.VOTING])
def test_voting_controls_outside_voting_are_refused(official, phase):
    close = timezone.now() + timedelta(days=1)
    cycle = CycleFactory(phase=phase, wards="A", voting_close_at=close)
    with pytest.raises(PhaseClosed) as excinfo:
        services.voting_extend(
            actor=official, cycle=cycle, close_at=timezone.now() + timedelta(days=2), reason="Outage."
        )
    assert excinfo.value.message == permissions.MSG_NOT_VOTING
    with pytest.raises(PhaseClosed) as excinfo:
        services.voting_pause(actor=official, cycle=cycle, reason="Outage.")
    assert excinfo.value.message == permissions.MSG_NOT_VOTING
    cycle.refresh_from_db()
    assert cycle.voting_close_at == close
    assert not cycle.is_paused
    assert not AuditEvent.objects.filter(object_type="cycle", action__startswith="cycle.voting_").exists()


def test_voting_pause_and_resume(official, voting_cycle):
    assert voting_cycle.allows(Capability.CAST_BALLOTS)
    services.voting_pause(actor=official, cycle=voting_cycle, reason="Kiosk outage.")
    voting_cycle.refresh_from_db()
    assert voting_cycle.is_paused
    assert voting_cycle.voting_pause_reason == "Kiosk outage."
    assert not voting_cycle.allows(Capability.CAST_BALLOTS)
    # Pausing stops ballots only; the phase's other capabilities remain.
    assert voting_cycle.allows(Capability.ENTER_PAPER_BALLOTS)
    (paused,) = cycle_events(voting_cycle, "cycle.voting_paused")
    assert (paused.actor_id, paused.reason) == (official.pk, "Kiosk outage.")

    with pytest.raises(PhaseClosed) as excinfo:
        services.voting_pause(actor=official, cycle=voting_cycle, reason="Again.")
    assert excinfo.value.message == permissions.MSG_ALREADY_PAUSED
    assert cycle_events(voting_cycle, "cycle.voting_paused").count() == 1

    services.voting_resume(actor=official, cycle=voting_cycle, reason="Fixed.")
    voting_cycle.refresh_from_db()
    assert not voting_cycle.is_paused
    assert voting_cycle.voting_pause_reason == ""
    assert voting_cycle.allows(Capability.CAST_BALLOTS)
    (resumed,) = cycle_events(voting_cycle, "cycle.voting_resumed")
    assert (resumed.actor_id, resumed.reason) == (official.pk, "Fixed.")
    assert resumed.before["voting_paused_at"] is not None


def test_voting_resume_when_not_paused_is_refused(official, voting_cycle):
    with pytest.raises(PhaseClosed) as excinfo:
        services.voting_resume(actor=official, cycle=voting_cycle, reason="Nothing to resume.")
    assert excinfo.value.message == permissions.MSG_NOT_PAUSED
    assert not cycle_events(voting_cycle, "cycle.voting_resumed").exists()


@pytest.mark.parametrize("service", [services.voting_pause, services.voting_resume])
def test_pause_and_resume_need_a_reason(official, voting_cycle, service):
    with pytest.raises(ValidationFailed) as excinfo:
        service(actor=official, cycle=voting_cycle, reason="")
    assert excinfo.value.extra == {"reason": [services.MSG_REASON_REQUIRED]}


def test_voting_controls_need_an_official(resident, voting_cycle):
    with pytest.raises(NotAllowed):
        services.voting_pause(actor=resident, cycle=voting_cycle, reason="Mine now.")
    with pytest.raises(NotAllowed):
        services.voting_extend(
            actor=resident, cycle=voting_cycle, close_at=voting_cycle.voting_close_at + timedelta(days=1), reason="x"
        )
    voting_cycle.refresh_from_db()
    assert not voting_cycle.is_paused


def test_moving_to_counting_clears_the_pause(official, voting_cycle, clean_transitions):
    services.voting_pause(actor=official, cycle=voting_cycle, reason="Outage.")
    services.cycle_transition(actor=official, cycle=voting_cycle, target=Phase.COUNTING, reason="Voting over.")
    voting_cycle.refresh_from_db()
    assert voting_cycle.phase == Phase.COUNTING
    assert voting_cycle.voting_paused_at is None
    assert voting_cycle.voting_pause_reason == ""
    assert not voting_cycle.is_paused


@pytest.mark.parametrize("limit", [0, -1, 1001, "ten"])
def test_cycle_create_refuses_an_idea_limit_out_of_range(official, limit):
    with pytest.raises(ValidationFailed) as exc:
        services.cycle_create(actor=official, ideas_per_resident=limit, **_create_kwargs())
    assert [str(m) for m in exc.value.extra["ideas_per_resident"]] == [str(services.MSG_IDEA_LIMIT_RANGE)]
    assert not Cycle.objects.exists()


def test_cycle_update_changes_the_idea_limit_in_draft(official):
    cycle = services.cycle_create(actor=official, **_create_kwargs())
    services.cycle_update(actor=official, cycle=cycle, ideas_per_resident=3)
    cycle.refresh_from_db()
    assert cycle.ideas_per_resident == 3
    event = AuditEvent.objects.filter(action="cycle.updated").latest("id")
    assert event.before["ideas_per_resident"] == 10 and event.after["ideas_per_resident"] == 3


def test_a_cycle_can_add_languages_for_project_texts(official):
    cycle = services.cycle_create(actor=official, extra_languages=["zh-hans", "ar"], **_create_kwargs())
    assert [code for code, _name in cycle.content_languages()] == ["en", "es", "zh-hans", "ar"]


@pytest.mark.parametrize("codes", [["klingon"], ["es"], ["ar", "ar"], "ar"])
def test_unknown_or_repeated_languages_are_refused(official, codes):
    with pytest.raises(ValidationFailed) as exc:
        services.cycle_create(actor=official, extra_languages=codes, **_create_kwargs())
    assert [str(m) for m in exc.value.extra["extra_languages"]] == [str(services.MSG_UNKNOWN_LANGUAGE)]
    assert not Cycle.objects.exists()
