"""Who may use the audit area, and when the public record exists (DESIGN.md §6).

The auditor area (bundles with receipt hashes, receipt look-ups) is for auditors and officials, both
with TOTP set up; it changes nothing in the election (auditors stay read-only everywhere). Voiding a
ballot is for officials with MFA, during counting. The public record exists once results are
certified.
"""

from django.utils.translation import gettext_lazy as _

from accounts.permissions import MSG_LOGIN_REQUIRED, MSG_MFA_REQUIRED, MSG_ROLE_REQUIRED, user_mfa_ready
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed
from voting.permissions import check_official

MSG_NOT_CERTIFIED = _("The public record is published once the results are certified.")
MSG_NOT_EXPORTABLE = _("The vote record can be exported once voting has closed.")
MSG_VOID_CLOSED = _("Ballots can be voided only during counting, before the results are certified.")


def check_auditor(user) -> None:
    """The auditor area: auditors and officials (the ``core.view_audit_log`` permission), with MFA."""
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if not user.has_perm("core.view_audit_log"):
        raise NotAllowed(MSG_ROLE_REQUIRED)
    if not user_mfa_ready(user):
        raise NotAllowed(MSG_MFA_REQUIRED, extra={"mfa": ["required"]})


def check_voider(user) -> None:
    """Voiding a ballot: officials with MFA."""
    check_official(user)


def can_void(user) -> bool:
    try:
        check_voider(user)
    except NotAllowed:
        return False
    return True


def check_void_open(cycle) -> None:
    # Counting is the phase in which ballots are settled (provisional review, paper reconciliation);
    # a void after certification would change a published result.
    if not cycle.allows(Capability.REVIEW_PROVISIONAL):
        raise PhaseClosed(MSG_VOID_CLOSED)


def ballots_exportable(cycle) -> bool:
    """Ballots leave the platform only once voting has closed (counting or later, archived too)."""
    return cycle.allows(Capability.RUN_TALLY) or cycle.allows(Capability.VIEW_RESULTS)


def check_exportable(cycle) -> None:
    if not ballots_exportable(cycle):
        raise PhaseClosed(MSG_NOT_EXPORTABLE)


def public_record_exists(cycle) -> bool:
    """After certification: results are public, and every counted district has a published result."""
    from budgets.models import DistrictResult

    if not cycle.allows(Capability.VIEW_RESULTS):
        return False
    return DistrictResult.objects.filter(district__cycle=cycle).exists()


def check_public_record(cycle) -> None:
    if not public_record_exists(cycle):
        raise PhaseClosed(MSG_NOT_CERTIFIED)
