"""Who drives and who sees the tally, and when ballots may leave the platform (allocation.permissions)."""

import pytest

from allocation.permissions import ballots_exportable, check_tally_official, check_tally_viewer
from budgets.models import Cycle
from budgets.phases import Phase
from core.errors import NotAllowed
from tests.factories import user_with_role


@pytest.mark.parametrize("phase", list(Phase))
def test_ballots_leave_the_platform_once_voting_has_closed(phase):
    # One answer for the .pb export command, the audit bundle and the public record: archived too.
    closed = phase in (Phase.COUNTING, Phase.RESULTS, Phase.IMPLEMENTATION, Phase.ARCHIVED)
    assert ballots_exportable(Cycle(phase=phase)) is closed


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "acts", "sees"),
    [("official", True, True), ("auditor", False, True), ("vetting_staff", False, False), ("resident", False, False)],
)
def test_officials_act_on_the_tally_and_auditors_only_look(role, acts, sees):
    user = user_with_role(role)
    for check, allowed in ((check_tally_official, acts), (check_tally_viewer, sees)):
        if allowed:
            check(user)
        else:
            with pytest.raises(NotAllowed):
                check(user)
    check_tally_official(None)  # the system (the Celery task, management commands): only the phase applies
    check_tally_viewer(None)
