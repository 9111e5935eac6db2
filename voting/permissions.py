"""Who may design ballots and see turnout (officials with MFA), and when."""

from django.utils.translation import gettext_lazy as _

from accounts.permissions import user_mfa_ready
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed

MSG_LOGIN_REQUIRED = _("Please log in first.")
MSG_ROLE_REQUIRED = _("Your account does not have the role needed for this.")
MSG_MFA_REQUIRED = _("Set up two-factor authentication (an authenticator app) before using this area.")
MSG_BALLOT_FROZEN = _("The ballot is frozen: voting has opened, so its design can no longer change.")


def check_official(user) -> None:
    if user is None:
        return
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if not user.has_perm("budgets.manage_cycle"):
        raise NotAllowed(MSG_ROLE_REQUIRED)
    if not user_mfa_ready(user):
        raise NotAllowed(MSG_MFA_REQUIRED, extra={"mfa": ["required"]})


def check_design_open(cycle) -> None:
    if not cycle.allows(Capability.DESIGN_BALLOT):
        raise PhaseClosed(MSG_BALLOT_FROZEN)


def can_see_turnout(user) -> bool:
    try:
        check_official(user)
    except NotAllowed:
        return bool(user and getattr(user, "is_authenticated", False) and user.has_perm("core.view_audit_log")
                    and user_mfa_ready(user))  # fmt: skip
    return True
