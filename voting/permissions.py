"""Who may vote online (a verified resident account), design ballots (officials with MFA) and see
turnout (officials and auditors with MFA), and when."""

from django.utils.translation import gettext_lazy as _

from accounts.permissions import (  # noqa: F401
    MSG_LOGIN_REQUIRED,
    MSG_MFA_REQUIRED,
    MSG_ROLE_REQUIRED,
    user_email_verified,
    user_mfa_ready,
)
from accounts.roles import Role, user_has_role
from budgets import permissions as budget_permissions
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed

MSG_BALLOT_FROZEN = _("The ballot is frozen: voting has opened, so its design can no longer change.")
MSG_VERIFY_EMAIL = _("Please confirm your email address first (we sent you a link).")
MSG_AUDITOR_READ_ONLY = _("Auditor accounts are read-only.")


def check_official(user) -> None:
    """Ballot design, eligibility and access codes: what officials (with MFA) who manage cycles do."""
    budget_permissions.check_who(user, budget_permissions.Action.CYCLE_CREATE)


def check_online_voter(user) -> None:
    """A resident account may vote online: logged in, email verified, and not an auditor (auditors
    are read-only). Eligibility itself (age, attested residence) is the vote path's check."""
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if user_has_role(user, Role.AUDITOR):
        raise NotAllowed(MSG_AUDITOR_READ_ONLY)
    if not user_email_verified(user):
        raise NotAllowed(MSG_VERIFY_EMAIL)


def check_turnout(user) -> None:
    """Turnout (counts from the roll) is for officials and auditors, both with MFA."""
    budget_permissions.check_official_or_auditor(user)


def check_design_open(cycle) -> None:
    if not cycle.allows(Capability.DESIGN_BALLOT):
        raise PhaseClosed(MSG_BALLOT_FROZEN)


MSG_SITE_WORKER = _("Only volunteers and officials can run a voting site.")


def check_site_worker(user) -> None:
    """Kiosks and paper keying: volunteers (no MFA: they work on shared devices at a site) and
    officials (with MFA, as everywhere else they act)."""
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if not user.has_perm("voting.run_voting_site"):
        raise NotAllowed(MSG_SITE_WORKER)
    if user.has_perm("budgets.manage_cycle") and not user_mfa_ready(user):
        raise NotAllowed(MSG_MFA_REQUIRED, extra={"mfa": ["required"]})
