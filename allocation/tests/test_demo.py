"""The demo's way into results (allocation/demo.py): ``load_demo --phase results`` tallies each ward
with its declared rule, certifies as the demo official, and says which rule each ward was certified
with."""

import io

import pytest
from django.core.management import call_command

from accounts.models import User
from accounts.roles import Role
from allocation.demo import DEMO_CERTIFY_REASON
from allocation.models import DistrictResult
from budgets.demo import DEMO_SLUG, DEMO_USERS
from budgets.models import Cycle
from budgets.phases import Phase
from core.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_load_demo_to_results_certifies_the_declared_rules_and_says_which():
    out = io.StringIO()
    call_command("load_demo", phase="results", quiet_logins=True, stdout=out)
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    assert cycle.phase == Phase.RESULTS
    declared = {d.code: d.ballot_design.allocation_rule for d in cycle.districts.select_related("ballot_design")}
    certified = {
        r.district.code: r.run.rule
        for r in DistrictResult.objects.filter(district__cycle=cycle, kind=DistrictResult.Kind.CERTIFIED)
    }
    assert certified == declared and sorted(certified) == list("ABCDEF")
    rules = ", ".join(f"{code}: {rule}" for code, rule in sorted(declared.items()))
    assert f"Tallied and certified with each ward's declared rule ({rules})." in out.getvalue()
    (event,) = AuditEvent.objects.filter(action="results.certify")
    official = User.objects.get(email=DEMO_USERS[Role.OFFICIAL][0])
    assert (event.actor_id, event.reason) == (official.pk, DEMO_CERTIFY_REASON)

    again = io.StringIO()
    call_command("load_demo", phase="results", quiet_logins=True, stdout=again)
    assert "Tallied" not in again.getvalue() and DistrictResult.objects.count() == len(certified)
