"""permissions.py: who (role, MFA) and when (the capability table) for every action."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from budgets import permissions
from budgets.permissions import RULES, Action
from budgets.phases import CAPABILITIES, Phase
from core.errors import NotAllowed, PhaseClosed
from tests.factories import CycleFactory, user_with_role

pytestmark = pytest.mark.django_db

PHASED_ACTIONS = [action for action, rule in RULES.items() if rule.capability is not None]
MANAGE_ACTIONS = [action for action, rule in RULES.items() if rule.permission == "budgets.manage_cycle"]
NON_OFFICIAL_ROLES = ["resident", "volunteer", "auditor", "vetting_staff"]


def _cycle_for(phase: Phase, action: Action):
    """A cycle in ``phase``, paused when the action needs a pause to undo (resume) and not otherwise."""
    paused_at = timezone.now() if action == Action.VOTING_RESUME else None
    return CycleFactory(phase=phase, wards="", voting_paused_at=paused_at)


def test_the_phased_actions_are_the_ones_the_table_expects():
    assert set(PHASED_ACTIONS) == {Action.CYCLE_EDIT, Action.VOTING_EXTEND, Action.VOTING_PAUSE, Action.VOTING_RESUME}


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", PHASED_ACTIONS)
def test_an_official_may_act_exactly_when_the_phase_has_the_capability(official, phase, action):
    cycle = _cycle_for(phase, action)
    expected = RULES[action].capability in CAPABILITIES[phase]
    assert permissions.can(official, action, cycle) is expected
    if not expected:
        with pytest.raises(PhaseClosed) as excinfo:
            permissions.check(official, action, cycle)
        assert excinfo.value.message == RULES[action].phase_message


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", PHASED_ACTIONS)
def test_the_system_is_bound_by_the_phase_only(phase, action):
    cycle = _cycle_for(phase, action)
    assert permissions.can(None, action, cycle) is (RULES[action].capability in CAPABILITIES[phase])


def test_pause_needs_an_unpaused_cycle_and_resume_a_paused_one(official):
    running = CycleFactory(phase=Phase.VOTING, wards="")
    paused = CycleFactory(phase=Phase.VOTING, wards="", voting_paused_at=timezone.now())
    assert permissions.can(official, Action.VOTING_PAUSE, running)
    assert not permissions.can(official, Action.VOTING_RESUME, running)
    assert not permissions.can(official, Action.VOTING_PAUSE, paused)
    assert permissions.can(official, Action.VOTING_RESUME, paused)
    with pytest.raises(PhaseClosed) as excinfo:
        permissions.check(official, Action.VOTING_PAUSE, paused)
    assert excinfo.value.message == permissions.MSG_ALREADY_PAUSED
    with pytest.raises(PhaseClosed) as excinfo:
        permissions.check(official, Action.VOTING_RESUME, running)
    assert excinfo.value.message == permissions.MSG_NOT_PAUSED
    # Extending stays possible while paused (the usual reason to extend is an outage).
    assert permissions.can(official, Action.VOTING_EXTEND, paused)


@pytest.mark.parametrize("action", list(Action))
def test_an_official_may_do_every_action_without_a_cycle(official, action):
    assert permissions.can(official, action)


@pytest.mark.parametrize("role", NON_OFFICIAL_ROLES)
@pytest.mark.parametrize("action", MANAGE_ACTIONS)
def test_other_roles_are_refused_manage_actions_in_every_phase(request, role, action):
    user = request.getfixturevalue(role)
    for phase in Phase:
        cycle = _cycle_for(phase, action)
        assert not permissions.can(user, action, cycle), phase
        with pytest.raises(NotAllowed) as excinfo:
            permissions.check(user, action, cycle)
        assert excinfo.value.message == permissions.MSG_ROLE_REQUIRED
    assert not permissions.can(user, action)


def test_every_action_but_the_staff_area_is_a_manage_action():
    assert set(MANAGE_ACTIONS) == set(Action) - {Action.STAFF_AREA}


@pytest.mark.parametrize(("role", "allowed"), [("vetting_staff", True), ("resident", False), ("volunteer", False)])
def test_staff_area(request, role, allowed):
    user = request.getfixturevalue(role)
    assert permissions.can(user, Action.STAFF_AREA) is allowed


def test_an_auditor_is_not_staff(auditor):
    with pytest.raises(NotAllowed) as excinfo:
        permissions.check(auditor, Action.STAFF_AREA)
    assert excinfo.value.message == permissions.MSG_ROLE_REQUIRED


@pytest.mark.parametrize("action", list(Action))
def test_an_official_without_totp_is_refused_everything(official_without_mfa, action):
    for phase in Phase:
        cycle = _cycle_for(phase, action)
        with pytest.raises(NotAllowed) as excinfo:
            permissions.check(official_without_mfa, action, cycle)
        assert excinfo.value.message == permissions.MSG_MFA_REQUIRED
        assert "mfa" in excinfo.value.extra
        assert not permissions.can(official_without_mfa, action, cycle)


def test_vetting_staff_without_totp_cannot_enter_the_staff_area():
    user = user_with_role("vetting_staff", mfa=False)
    with pytest.raises(NotAllowed) as excinfo:
        permissions.check(user, Action.STAFF_AREA)
    assert excinfo.value.message == permissions.MSG_MFA_REQUIRED


@pytest.mark.parametrize("action", list(Action))
def test_anonymous_is_asked_to_log_in(action):
    with pytest.raises(NotAllowed) as excinfo:
        permissions.check(AnonymousUser(), action)
    assert excinfo.value.message == permissions.MSG_LOGIN_REQUIRED


def test_who_is_checked_before_when(resident):
    cycle = CycleFactory(phase=Phase.IDEAS, wards="")
    # Outside draft *and* the wrong role: the answer is the role (403), not the phase (409).
    with pytest.raises(NotAllowed):
        permissions.check(resident, Action.CYCLE_EDIT, cycle)
