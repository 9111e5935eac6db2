"""May this user do this action to this idea/project now? One module for HTML views and the API.

Who (role, MFA for staff, a verified email for residents, ownership) → ``NotAllowed`` (403);
when (the cycle's capability table) → ``PhaseClosed`` (409).
"""

from dataclasses import dataclass
from enum import StrEnum

from django.utils.translation import gettext_lazy as _

from accounts.permissions import (
    MSG_LOGIN_REQUIRED,
    MSG_MFA_REQUIRED,
    MSG_ROLE_REQUIRED,
    user_email_verified,
    user_mfa_ready,
)
from accounts.roles import Role, user_has_role
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed


class Action(StrEnum):
    IDEA_SUBMIT = "idea_submit"
    IDEA_EDIT = "idea_edit"
    IDEA_WITHDRAW = "idea_withdraw"
    IDEA_ENDORSE = "idea_endorse"
    IDEA_COMMENT = "idea_comment"
    FOLLOW = "follow"
    REPORT = "report"
    PAPER_IDEA_ENTER = "paper_idea_enter"
    VETTING_AREA = "vetting_area"
    REVIEW = "review"
    VIEW_INTERNAL = "view_internal"
    PROJECT_EDIT = "project_edit"
    MODERATE = "moderate"
    CATEGORY_MANAGE = "category_manage"
    POST_UPDATE = "post_update"  # implementation updates on funded projects


MSG_VERIFY_EMAIL = _("Please confirm your email address first (we sent you a link).")
MSG_NOT_YOURS = _("Only the author can change this idea.")
MSG_IDEAS_CLOSED = _("Ideas can only be submitted or changed while the cycle is collecting ideas.")
MSG_DISCUSSION_CLOSED = _("Endorsing and commenting are closed in this phase.")
MSG_VETTING_CLOSED = _("Ideas can only be reviewed during the vetting phase.")
MSG_PROJECTS_FROZEN = _("Projects can no longer change: voting has opened and the ballot is frozen.")
MSG_PAPER_CLOSED = _("Paper ideas can be entered only while ideas are collected or vetted.")
MSG_NOT_PUBLIC = _("This cycle is not public.")
MSG_AUDITOR_READ_ONLY = _("Auditor accounts are read-only.")
MSG_CATEGORIES_CLOSED = _("Categories can be changed only before vetting starts.")
MSG_UPDATES_CLOSED = _("Updates on funded projects are posted once the cycle is in implementation.")


@dataclass(frozen=True)
class Rule:
    who: str  # "resident" (verified email), "staff" (a permission + MFA)
    permission: str | None = None
    capabilities: tuple[Capability, ...] = ()  # any of them
    phase_message: str = ""
    own: bool = False  # only the idea's author


STAFF_VET = "proposals.vet_ideas"
RULES: dict[Action, Rule] = {
    Action.IDEA_SUBMIT: Rule("resident", None, (Capability.SUBMIT_IDEAS,), MSG_IDEAS_CLOSED),
    Action.IDEA_EDIT: Rule("resident", None, (Capability.SUBMIT_IDEAS,), MSG_IDEAS_CLOSED, own=True),
    Action.IDEA_WITHDRAW: Rule("resident", None, (Capability.SUBMIT_IDEAS,), MSG_IDEAS_CLOSED, own=True),
    Action.IDEA_ENDORSE: Rule("resident", None, (Capability.DISCUSS_IDEAS,), MSG_DISCUSSION_CLOSED),
    Action.IDEA_COMMENT: Rule("resident", None, (Capability.DISCUSS_IDEAS,), MSG_DISCUSSION_CLOSED),
    Action.FOLLOW: Rule("resident", None, (Capability.PUBLIC,), MSG_NOT_PUBLIC),
    Action.REPORT: Rule("resident", None, (Capability.PUBLIC,), MSG_NOT_PUBLIC),
    Action.PAPER_IDEA_ENTER: Rule("staff", STAFF_VET, (Capability.ENTER_PAPER_IDEAS,), MSG_PAPER_CLOSED),
    Action.VETTING_AREA: Rule("staff", STAFF_VET),
    Action.REVIEW: Rule("staff", STAFF_VET, (Capability.VET_IDEAS,), MSG_VETTING_CLOSED),
    Action.VIEW_INTERNAL: Rule("staff", STAFF_VET),
    Action.PROJECT_EDIT: Rule("staff", STAFF_VET, (Capability.EDIT_PROJECTS,), MSG_PROJECTS_FROZEN),
    Action.MODERATE: Rule("staff", STAFF_VET, (Capability.PUBLIC,), MSG_NOT_PUBLIC),
    Action.CATEGORY_MANAGE: Rule(
        "staff", "budgets.manage_cycle", (Capability.CONFIGURE, Capability.SUBMIT_IDEAS), MSG_CATEGORIES_CLOSED
    ),
    Action.POST_UPDATE: Rule("staff", "budgets.manage_cycle", (Capability.POST_UPDATES,), MSG_UPDATES_CLOSED),
}


def read_only(user) -> bool:
    """Auditors see what residents see and change nothing: no resident action is
    allowed to them, nor offered."""
    return user_has_role(user, Role.AUDITOR)


def check_who(user, action: Action, idea=None) -> None:
    if user is None:  # the system
        return
    rule = RULES[action]
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if rule.who == "staff":
        if not user.has_perm(rule.permission):
            raise NotAllowed(MSG_ROLE_REQUIRED)
        if not user_mfa_ready(user):
            raise NotAllowed(MSG_MFA_REQUIRED, extra={"mfa": ["required"]})
    else:
        if read_only(user):
            raise NotAllowed(MSG_AUDITOR_READ_ONLY)
        if not user_email_verified(user):
            raise NotAllowed(MSG_VERIFY_EMAIL)
    if rule.own and (idea is None or idea.author_id != user.pk):
        raise NotAllowed(MSG_NOT_YOURS)


def check_when(action: Action, cycle) -> None:
    rule = RULES[action]
    if rule.capabilities and not any(cycle.allows(c) for c in rule.capabilities):
        raise PhaseClosed(rule.phase_message)


def check(user, action: Action, cycle, idea=None) -> None:
    check_who(user, action, idea)
    check_when(action, cycle)


def can(user, action: Action, cycle, idea=None) -> bool:
    try:
        check(user, action, cycle, idea)
    except (NotAllowed, PhaseClosed):
        return False
    return True


def can_see_internal(user) -> bool:
    try:
        check_who(user, Action.VIEW_INTERNAL)
    except NotAllowed:
        return False
    return True
