"""Who may use the audit area, and when the public record exists.

The auditor area (bundles with receipt hashes, receipt look-ups) is for auditors and officials, both
with TOTP set up; it changes nothing in the election (auditors stay read-only everywhere). Voiding a
ballot is for officials with MFA, during counting. The public record exists once results are
certified.
"""

from django.utils.translation import gettext_lazy as _

from accounts.permissions import check_role_with_mfa
from allocation.models import DistrictResult
from allocation.permissions import ballots_exportable  # noqa: F401 - part of this module's answers
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed
from voting.permissions import check_official

MSG_NOT_CERTIFIED = _("The public record is published once the results are certified.")
MSG_NOT_EXPORTABLE = _("The vote record can be exported once voting has closed.")
MSG_VOID_CLOSED = _("Ballots can be voided only during counting, before the results are certified.")


def check_auditor(user) -> None:
    """The auditor area: auditors and officials (the ``core.view_audit_log`` permission), with MFA."""
    check_role_with_mfa(user, "core.view_audit_log")


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


def check_exportable(cycle) -> None:
    if not ballots_exportable(cycle):
        raise PhaseClosed(MSG_NOT_EXPORTABLE)


def public_record_exists(cycle) -> bool:
    """After certification: results are public, and every counted district has a published result."""
    if not cycle.allows(Capability.VIEW_RESULTS):
        return False
    return DistrictResult.objects.filter(district__cycle=cycle).exists()


def check_public_record(cycle) -> None:
    if not public_record_exists(cycle):
        raise PhaseClosed(MSG_NOT_CERTIFIED)
