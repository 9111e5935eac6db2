"""proposals/permissions.py: who may do what (roles, MFA, a verified email, ownership) and when (the
phase capability table in budgets/phases.py)."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from budgets.models import Cycle
from budgets.phases import CAPABILITIES, Phase
from core.errors import NotAllowed, PhaseClosed
from proposals import permissions
from proposals.models import Idea
from proposals.permissions import RULES, Action

pytestmark = pytest.mark.django_db

PHASED = [action for action, rule in RULES.items() if rule.capabilities]
UNPHASED = [action for action, rule in RULES.items() if not rule.capabilities]
STAFF = [action for action, rule in RULES.items() if rule.who == "staff"]
RESIDENT = [action for action, rule in RULES.items() if rule.who == "resident"]
OWN = [action for action, rule in RULES.items() if rule.own]


def cycle_in(phase) -> Cycle:
    return Cycle(phase=phase)  # unsaved: the checks read only the phase


def test_the_rule_table_is_complete():
    assert set(RULES) == set(Action)
    assert {r.who for r in RULES.values()} == {"resident", "staff"}
    assert all(rule.permission for rule in RULES.values() if rule.who == "staff")
    assert all(rule.phase_message for rule in RULES.values() if rule.capabilities)
    assert set(OWN) == {Action.IDEA_EDIT, Action.IDEA_WITHDRAW}


P = Phase
AFTER_DRAFT = set(Phase) - {P.DRAFT}
# The phase rules, written out by hand so that a wrong rule (not only a wrong check) fails a test.
OPEN_IN = {
    Action.IDEA_SUBMIT: {P.IDEAS},
    Action.IDEA_EDIT: {P.IDEAS},
    Action.IDEA_WITHDRAW: {P.IDEAS},
    Action.IDEA_ENDORSE: {P.IDEAS, P.VETTING},
    Action.IDEA_COMMENT: {P.IDEAS, P.VETTING},
    Action.FOLLOW: AFTER_DRAFT,
    Action.REPORT: AFTER_DRAFT,
    Action.PAPER_IDEA_ENTER: {P.IDEAS, P.VETTING},
    Action.VETTING_AREA: set(Phase),
    Action.REVIEW: {P.VETTING},
    Action.VIEW_INTERNAL: set(Phase),
    Action.PROJECT_EDIT: {P.VETTING},
    Action.MODERATE: AFTER_DRAFT,
    Action.CATEGORY_MANAGE: {P.DRAFT, P.IDEAS},
    Action.POST_UPDATE: {P.IMPLEMENTATION},
}


@pytest.mark.parametrize("action", list(Action))
def test_each_action_is_open_in_the_phases_the_design_names(action, official, resident):
    user = official if RULES[action].who == "staff" else resident
    idea = Idea(author=user)
    assert {p for p in Phase if permissions.can(user, action, cycle_in(p), idea)} == OPEN_IN[action]


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", PHASED)
def test_fully_allowed_user_may_act_exactly_when_the_phase_allows(action, phase, official, resident):
    rule = RULES[action]
    user = official if rule.who == "staff" else resident
    idea = Idea(author=user) if rule.own else None
    expected = any(c in CAPABILITIES[phase] for c in rule.capabilities)
    assert permissions.can(user, action, cycle_in(phase), idea) is expected
    if expected:
        permissions.check(user, action, cycle_in(phase), idea)
    else:
        with pytest.raises(PhaseClosed) as exc:
            permissions.check(user, action, cycle_in(phase), idea)
        assert str(exc.value.message) == str(rule.phase_message)
        assert exc.value.status == 409


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("action", UNPHASED)
def test_unphased_staff_actions_are_open_in_every_phase(action, phase, vetting_staff):
    assert permissions.can(vetting_staff, action, cycle_in(phase))


@pytest.mark.parametrize("role", ["resident", "volunteer", "auditor"])
@pytest.mark.parametrize("action", STAFF)
def test_staff_actions_are_refused_to_other_roles_in_every_phase(action, role, request):
    user = request.getfixturevalue(role)
    for phase in Phase:
        assert permissions.can(user, action, cycle_in(phase)) is False, phase
    with pytest.raises(NotAllowed) as exc:
        permissions.check_who(user, action)
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert exc.value.status == 403


@pytest.mark.parametrize("action", STAFF)
def test_staff_actions_need_mfa(action, official_without_mfa):
    for phase in Phase:
        assert permissions.can(official_without_mfa, action, cycle_in(phase)) is False
    with pytest.raises(NotAllowed) as exc:
        permissions.check_who(official_without_mfa, action)
    assert str(exc.value.message) == str(permissions.MSG_MFA_REQUIRED)
    assert exc.value.extra == {"mfa": ["required"]}


def test_vetting_staff_review_but_do_not_manage_categories(vetting_staff):
    permissions.check_who(vetting_staff, Action.REVIEW)
    with pytest.raises(NotAllowed) as exc:
        permissions.check_who(vetting_staff, Action.CATEGORY_MANAGE)
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)


@pytest.mark.parametrize("action", list(Action))
def test_anonymous_is_asked_to_log_in(action):
    with pytest.raises(NotAllowed) as exc:
        permissions.check_who(AnonymousUser(), action)
    assert str(exc.value.message) == str(permissions.MSG_LOGIN_REQUIRED)


@pytest.mark.parametrize("action", RESIDENT)
def test_resident_actions_need_a_verified_email(action, resident):
    EmailAddress.objects.filter(user=resident).update(verified=False)
    user = User.objects.get(pk=resident.pk)  # a fresh object: the check is cached per request user
    idea = Idea(author=user)
    with pytest.raises(NotAllowed) as exc:
        permissions.check_who(user, action, idea)
    assert str(exc.value.message) == str(permissions.MSG_VERIFY_EMAIL)


@pytest.mark.parametrize("action", OWN)
def test_own_actions_only_for_the_author(action, resident, official):
    other = User.objects.exclude(pk=resident.pk).first()
    for idea in (Idea(author=other), Idea(author=None), None):
        with pytest.raises(NotAllowed) as exc:
            permissions.check_who(resident, action, idea)
        assert str(exc.value.message) == str(permissions.MSG_NOT_YOURS)
    # Staff are not the author either: a role does not grant editing someone's idea.
    with pytest.raises(NotAllowed):
        permissions.check_who(official, action, Idea(author=resident))
    permissions.check_who(resident, action, Idea(author=resident))


@pytest.mark.parametrize("action", list(Action))
def test_the_system_passes_the_who_check(action):
    permissions.check_who(None, action)


def test_can_see_internal(official, vetting_staff, resident, auditor, official_without_mfa):
    assert permissions.can_see_internal(official) is True
    assert permissions.can_see_internal(vetting_staff) is True
    for user in (resident, auditor, official_without_mfa, AnonymousUser()):
        assert permissions.can_see_internal(user) is False


def test_voting_pause_does_not_change_what_proposals_allow(resident):
    cycle = Cycle(phase=Phase.VOTING)
    cycle.voting_paused_at = "2026-01-01T00:00:00Z"
    assert permissions.can(resident, Action.FOLLOW, cycle) is True
    assert permissions.can(resident, Action.IDEA_ENDORSE, cycle) is False
