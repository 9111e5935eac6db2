"""May this user do this action to this cycle now? One answer for HTML views, the API and services.

Two questions, answered separately so callers can say which failed: *who* (role permission and,
for staff, MFA) → ``NotAllowed`` (403); *when* (the phase's capability table) → ``PhaseClosed``
(409). ``actor=None`` is the system (scheduler, management commands): only the phase applies.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from accounts.permissions import (  # noqa: F401 - the messages are re-exported for callers and tests
    MSG_LOGIN_REQUIRED,
    MSG_MFA_REQUIRED,
    MSG_ROLE_REQUIRED,
    check_role_with_mfa,
)
from core.errors import NotAllowed, PhaseClosed

from .phases import Capability


class Action(StrEnum):
    STAFF_AREA = "staff_area"
    CYCLE_CREATE = "cycle_create"
    CYCLE_EDIT = "cycle_edit"
    CYCLE_TRANSITION = "cycle_transition"
    VOTING_EXTEND = "voting_extend"
    VOTING_PAUSE = "voting_pause"
    VOTING_RESUME = "voting_resume"


MSG_ARCHIVED = _("An archived cycle can no longer be edited: its record is closed.")
MSG_NOT_VOTING = _("This is only possible while voting is open.")
MSG_ALREADY_PAUSED = _("Voting is already paused.")
MSG_NOT_PAUSED = _("Voting is not paused.")


@dataclass(frozen=True)
class Rule:
    permission: str | None
    capability: Capability | None = None
    phase_message: str = ""


RULES: dict[Action, Rule] = {
    Action.STAFF_AREA: Rule("budgets.view_staff_area"),
    Action.CYCLE_CREATE: Rule("budgets.manage_cycle"),
    # Which fields may change is the service's question (budgets.services.FIELD_CAPABILITY).
    Action.CYCLE_EDIT: Rule("budgets.manage_cycle", Capability.EDIT_TEXTS, MSG_ARCHIVED),
    Action.CYCLE_TRANSITION: Rule("budgets.manage_cycle"),
    Action.VOTING_EXTEND: Rule("budgets.manage_cycle", Capability.EXTEND_VOTING, MSG_NOT_VOTING),
    Action.VOTING_PAUSE: Rule("budgets.manage_cycle", Capability.PAUSE_VOTING, MSG_NOT_VOTING),
    Action.VOTING_RESUME: Rule("budgets.manage_cycle", Capability.PAUSE_VOTING, MSG_NOT_VOTING),
}


def check_who(user, action: Action) -> None:
    if user is None:
        return
    rule = RULES[action]
    check_role_with_mfa(user, *filter(None, [rule.permission]))


def check_official_or_auditor(user) -> None:
    """Read-only staff pages (turnout, the provisional and duplicate reviews, the tally page):
    officials and auditors, both with MFA. ``None`` is the system, as for ``check_who``."""
    if user is None:
        return
    check_role_with_mfa(user, "budgets.manage_cycle", "core.view_audit_log")


def check_when(action: Action, cycle) -> None:
    rule = RULES[action]
    if cycle is None or rule.capability is None:
        return
    if not cycle.allows(rule.capability):
        raise PhaseClosed(rule.phase_message)
    if action == Action.VOTING_PAUSE and cycle.is_paused:
        raise PhaseClosed(MSG_ALREADY_PAUSED)
    if action == Action.VOTING_RESUME and not cycle.is_paused:
        raise PhaseClosed(MSG_NOT_PAUSED)


def check(user, action: Action, cycle=None) -> None:
    """Raise ``NotAllowed`` or ``PhaseClosed`` unless ``user`` may do ``action`` to ``cycle`` now."""
    check_who(user, action)
    check_when(action, cycle)


def can(user, action: Action, cycle=None) -> bool:
    try:
        check(user, action, cycle)
    except (NotAllowed, PhaseClosed):
        return False
    return True
