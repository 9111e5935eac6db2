"""`load_demo --phase implementation` and `--phase archived` complete the demo's phases."""

import io

import pytest
from django.core.management import call_command

from budgets.demo import DEMO_SLUG
from budgets.models import Cycle
from budgets.phases import Phase
from core.models import AuditEvent
from pbverify.verify import bundle_verify
from voting.models import Ballot, Identity, VoterRollEntry

pytestmark = pytest.mark.django_db


def load_demo(phase: str) -> str:
    out = io.StringIO()
    call_command("load_demo", phase=phase, quiet_logins=True, stdout=out)
    return out.getvalue()


def test_the_demo_reaches_implementation_then_archived(tmp_path):
    output = load_demo("implementation")
    assert "Moved the demo cycle through: ideas, vetting, voting, counting, results, implementation." in output
    assert Cycle.objects.get(slug=DEMO_SLUG).phase == Phase.IMPLEMENTATION
    identities, ballots = Identity.objects.count(), Ballot.objects.count()
    assert identities > 0

    output = load_demo("archived")
    assert "Moved the demo cycle through: archived." in output
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == Phase.ARCHIVED
    assert not Identity.objects.exists()
    assert Ballot.objects.count() == ballots == VoterRollEntry.objects.count()
    assert AuditEvent.objects.get(action="cycle.archive_erase").after["identities_erased"] == identities

    assert "nothing changed" in load_demo("archived")  # idempotent
    path = tmp_path / "archived.zip"
    call_command("audit_bundle", DEMO_SLUG, out=str(path), stdout=io.StringIO())
    report = bundle_verify(path)
    assert report.ok, report.first_failure
