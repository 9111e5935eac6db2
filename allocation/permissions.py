"""Who may drive the tally, who may look at it, and when ballots may leave the platform.

Officials with MFA act on the tally (ask for it, certify, declare the tie-break and record its
draw, withdraw a funded project): the permission that moves a cycle through its phases, since
certifying is how counting ends. Officials and auditors, both with MFA, see the tally page.
``None`` is the system (the Celery task, management commands): only the phase applies.
"""

from budgets.models import Cycle
from budgets.permissions import Action, check_official_or_auditor, check_who
from budgets.phases import Capability


def check_tally_official(user) -> None:
    check_who(user, Action.CYCLE_TRANSITION)


def check_tally_viewer(user) -> None:
    check_official_or_auditor(user)


def ballots_exportable(cycle: Cycle) -> bool:
    """Ballots (the tally's input) leave the platform only once voting has closed: counting or
    later, archived too (the ``.pb`` export, the audit bundle and the public record)."""
    return cycle.allows(Capability.RUN_TALLY) or cycle.allows(Capability.VIEW_RESULTS)
