"""The officials' tally page (/staff/cycles/<slug>/tally/): who may see it and act on it, what it
shows before, during and after voting, running the tally (progress, the side-by-side comparison),
certifying, withdrawing a funded project, and the public lottery's forms."""

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from allocation import services
from allocation.models import DistrictResult, TallyRun
from allocation.services import lottery
from budgets.models import Cycle, TieBreak
from budgets.phases import Phase
from core.models import AuditEvent
from proposals.models import Project
from tests.factories import CycleFactory, user_with_role
from voting.models import PaperBatch, VotingSite
from voting.tests.builders import assert_roll_matches_ballots, voting_world

from .tally_builders import certified_world, close_voting, counting_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roll_matches_ballots_after_each_test(db):
    yield
    assert_roll_matches_ballots()  # voter-roll entries = ballots per district, whatever happened


ROLES = ("anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor")


def client_for(role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(
            user_with_role("official", mfa=False) if role == "official_without_mfa" else user_with_role(role)
        )
    return client


def url(cycle, name="staff_tally", *args) -> str:
    return reverse(name, args=[cycle.slug, *args])


def action(path: str) -> str:
    """A form posting to ``path``, as it appears in the page."""
    return f'action="{path}"'


def html(response) -> str:
    return response.content.decode()


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def world(official):
    return counting_world(official)


@pytest.fixture
def staff(official):
    client = Client()
    client.force_login(official)
    return client


# --- who may see and act -------------------------------------------------------------------------------
EXPECTED_GET = {
    "anonymous": ("login", None),
    "resident": (403, None),
    "volunteer": (403, None),
    "vetting_staff": (403, None),
    "official": (200, True),
    "official_without_mfa": ("mfa", None),
    "auditor": (200, False),
}


def assert_refused(response, expected) -> None:
    if expected == "login":
        assert response.status_code == 302 and response.url.startswith(reverse("account_login"))
    elif expected == "mfa":
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_who_sees_the_tally_page(role, world, denials):
    services.tally_cycle(cycle=world.cycle, rules=["greedy", "mes"])
    client = client_for(role)  # before counting: making a staff user is itself audited
    before, events = len(denials()), AuditEvent.objects.count()
    response = client.get(url(world.cycle))
    expected, acts = EXPECTED_GET[role]
    if expected == 200:
        assert response.status_code == 200 and len(denials()) == before
        page = html(response)
        assert "Outcomes side by side (dry run)" in page
        assert (action(url(world.cycle, "staff_tally_run")) in page) is acts
        assert (action(url(world.cycle, "staff_tally_certify")) in page) is acts
        assert ("Read-only: officials run the tally and certify the results." in page) is not acts
    else:
        assert_refused(response, expected)
        assert len(denials()) == before + 1
        assert AuditEvent.objects.count() == events  # logged, outside the audit chain


POSTS = ["staff_tally_run", "staff_tally_certify", "staff_tally_tie_break", "staff_tally_draw"]


@pytest.mark.parametrize("name", POSTS)
@pytest.mark.parametrize("role", [r for r in ROLES if r != "official"])
def test_only_officials_with_mfa_act(role, name, world):
    services.tally_cycle(cycle=world.cycle)
    data = {"rules": "compare", "confirm": "on", "reason": "x", "tie_break": "lottery", "seed": "1 2 3"}
    client = client_for(role)  # before counting: making a staff user is itself audited
    runs, events = TallyRun.objects.count(), AuditEvent.objects.exclude(action="access.denied").count()
    response = client.post(url(world.cycle, name), data)
    expected = EXPECTED_GET[role][0]
    assert_refused(response, 403 if expected == 200 else expected)  # auditors are read-only
    assert TallyRun.objects.count() == runs and not DistrictResult.objects.exists()
    assert AuditEvent.objects.count() == events
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.COUNTING


@pytest.mark.parametrize("role", [r for r in ROLES if r != "official"])
def test_only_officials_with_mfa_withdraw(role, official):
    world = certified_world(official)
    project = Project.objects.get(code="A-01")
    response = client_for(role).post(url(world.cycle, "staff_tally_withdraw", project.pk), {"reason": "x"})
    expected = EXPECTED_GET[role][0]
    assert_refused(response, 403 if expected == 200 else expected)
    assert Project.objects.get(pk=project.pk).withdrawn_at is None and DistrictResult.objects.count() == 2


def test_get_only_and_post_only(staff, world):
    assert staff.post(url(world.cycle)).status_code == 405
    assert staff.get(url(world.cycle, "staff_tally_run")).status_code == 405
    assert staff.get(reverse("staff_tally", args=["no-such-cycle"])).status_code == 404


# --- phases --------------------------------------------------------------------------------------------
def test_before_voting_the_page_explains_and_offers_the_tie_break(staff, official):
    cycle = CycleFactory(vetting=True)
    page = html(staff.get(url(cycle)))
    assert escape(str(services.MSG_TALLY_CLOSED)) in page
    assert action(url(cycle, "staff_tally_run")) not in page
    assert action(url(cycle, "staff_tally_tie_break")) in page
    assert action(url(cycle, "staff_tally_certify")) not in page


def test_during_voting_nothing_runs(staff, official):
    world = voting_world(official)
    response = staff.get(url(world.cycle))
    page = html(response)
    assert escape(str(services.MSG_TALLY_CLOSED)) in page
    assert action(url(world.cycle, "staff_tally_run")) not in page
    assert action(url(world.cycle, "staff_tally_tie_break")) not in page  # frozen with the ballot
    response = staff.post(url(world.cycle, "staff_tally_run"), {"rules": "compare"})
    assert response.status_code == 409
    assert 'role="alert"' in html(response) and escape(str(services.MSG_TALLY_CLOSED)) in html(response)
    assert not TallyRun.objects.exists() and not AuditEvent.objects.filter(action="tally.requested").exists()


def test_blockers_in_plain_words_and_no_run_while_blocked(staff, world, official):
    site = VotingSite.objects.create(cycle=world.cycle, name="Library", address="1 Main St")
    PaperBatch.objects.create(
        district=world.district("A"), site=site, label="Box 1", voted_on=date(2026, 5, 2), issued=10
    )
    page = html(staff.get(url(world.cycle)))
    assert "1 paper ballot batch is not reconciled yet." in page
    assert action(url(world.cycle, "staff_tally_run")) not in page
    response = staff.post(url(world.cycle, "staff_tally_run"), {"rules": "declared"})
    assert response.status_code == 409
    assert "1 paper ballot batch is not reconciled yet." in html(response)
    assert not TallyRun.objects.exists()


# --- running and comparing -----------------------------------------------------------------------------
def test_run_compare_and_see_both_rules_side_by_side(staff, world, official, django_capture_on_commit_callbacks):
    page = html(staff.get(url(world.cycle)))
    assert "The tally has not been asked for yet." in page and 'http-equiv="refresh"' not in page
    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(url(world.cycle, "staff_tally_run"), {"rules": "compare"})
    assert response.status_code == 302 and response.url == url(world.cycle) + "#progress"
    assert TallyRun.objects.filter(cycle=world.cycle, status=TallyRun.Status.DONE).count() == 6
    [event] = AuditEvent.objects.filter(action="tally.requested")
    assert event.actor_id == official.pk and event.after == {"rules": ["greedy", "mes", "mes-greedy"]}
    response = staff.get(response.url)
    page = html(response)
    assert 'http-equiv="refresh"' not in page and 'data-busy="no"' in page
    assert '<th scope="col" data-rule="greedy">Greedy (most votes first) <span class="badge">declared</span>' in page
    assert '<th scope="col" data-rule="mes">Method of Equal Shares</th>' in page
    # The projects on which the rules disagree are marked; A-03 (funded by all) is not.
    assert 'class="differs" data-differs data-project="A-01"' in page
    assert 'class="differs" data-differs data-project="A-02"' in page
    assert '<tr data-project="A-03">' in page
    assert 'data-used="greedy">$50,000<' in page and 'data-left="mes">$5,000<' in page
    assert page.count('data-status="done"') == 6


def test_declared_rules_only(staff, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(url(world.cycle, "staff_tally_run"), {"rules": "declared"})
    assert sorted(TallyRun.objects.values_list("rule", flat=True)) == ["greedy", "greedy"]


def test_the_page_refreshes_itself_while_a_run_is_running(staff, world):
    services.tally_cycle(cycle=world.cycle)
    TallyRun.objects.filter(district=world.district("A")).update(status=TallyRun.Status.RUNNING, output="")
    page = html(staff.get(url(world.cycle)))
    assert '<meta http-equiv="refresh" content="5">' in page
    assert 'data-status="running"' in page and "Running…" in page
    assert "The tally is running. This page refreshes itself every 5 seconds." in page


def test_a_request_not_yet_started_shows_waiting_and_refreshes(staff, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the worker has not picked it up yet
        staff.post(url(world.cycle, "staff_tally_run"), {"rules": "declared"})
    page = html(staff.get(url(world.cycle)))
    assert 'data-run="A:greedy"' in page and 'data-status="waiting"' in page
    assert 'http-equiv="refresh"' in page


def test_a_bad_choice_of_rules_is_a_form_error(staff, world):
    response = staff.post(url(world.cycle, "staff_tally_run"), {"rules": "all"})
    assert response.status_code == 400 and 'role="alert"' in html(response)
    assert not TallyRun.objects.exists()


# --- certifying ----------------------------------------------------------------------------------------
def test_certify_needs_the_confirmation(staff, world):
    services.tally_cycle(cycle=world.cycle)
    response = staff.post(url(world.cycle, "staff_tally_certify"), {"reason": "ok"})
    assert response.status_code == 400
    assert "Tick the box to confirm the results you certify." in html(response)
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.COUNTING


def test_certify_without_a_run_says_so(staff, world):
    response = staff.post(url(world.cycle, "staff_tally_certify"), {"confirm": "on"})
    assert response.status_code == 409
    assert escape(str(services.MSG_CERTIFY_MISSING % {"code": "A", "rule": "greedy"})) in html(response)
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.COUNTING and not DistrictResult.objects.exists()


def test_certify_publishes_and_offers_withdrawal(staff, world, official):
    services.tally_cycle(cycle=world.cycle, rules=["greedy", "mes"])
    response = staff.post(url(world.cycle, "staff_tally_certify"), {"confirm": "on", "reason": "Board vote."})
    assert response.status_code == 302 and response.url == url(world.cycle) + "#published"
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.RESULTS
    [event] = AuditEvent.objects.filter(action="results.certify")
    assert event.actor_id == official.pk and event.reason == "Board vote."
    response = staff.get(response.url)
    page = html(response)
    assert "The results are certified and published." in messages_of(response)
    assert 'data-published="A"' in page and 'data-funded="A-01"' in page and 'data-funded="A-03"' in page
    assert 'data-funded="A-02"' not in page
    a01 = Project.objects.get(code="A-01")
    assert action(url(world.cycle, "staff_tally_withdraw", a01.pk)) in page
    assert action(url(world.cycle, "staff_tally_certify")) not in page
    assert reverse("cycle_results", args=[world.cycle.slug]) in page


# --- withdrawing ---------------------------------------------------------------------------------------
def test_withdraw_needs_a_reason(staff, official):
    world = certified_world(official)
    a01 = Project.objects.get(code="A-01")
    response = staff.post(url(world.cycle, "staff_tally_withdraw", a01.pk), {"reason": " "})
    assert response.status_code == 400
    assert escape(str(services.MSG_WITHDRAW_REASON)) in html(response)
    assert f'id="id_withdraw{a01.pk}_reason"' in html(response)
    assert Project.objects.get(pk=a01.pk).withdrawn_at is None and DistrictResult.objects.count() == 2


def test_withdraw_a_project_that_is_not_funded_is_refused(staff, official):
    world = certified_world(official)
    a02 = Project.objects.get(code="A-02")
    response = staff.post(url(world.cycle, "staff_tally_withdraw", a02.pk), {"reason": "No."})
    assert response.status_code == 409
    assert escape(str(services.MSG_WITHDRAW_NOT_FUNDED)) in html(response)
    assert DistrictResult.objects.count() == 2


def test_withdraw_before_certification_is_refused(staff, world):
    services.tally_cycle(cycle=world.cycle)
    a01 = Project.objects.get(code="A-01")
    response = staff.post(url(world.cycle, "staff_tally_withdraw", a01.pk), {"reason": "Too early."})
    assert response.status_code == 409 and escape(str(services.MSG_WITHDRAW_PHASE)) in html(response)
    other = CycleFactory(counting=True)
    assert staff.post(url(other, "staff_tally_withdraw", a01.pk), {"reason": "x"}).status_code == 404


def test_withdraw_publishes_the_revised_result(staff, official):
    world = certified_world(official)
    a01 = Project.objects.get(code="A-01")
    response = staff.post(url(world.cycle, "staff_tally_withdraw", a01.pk), {"reason": "Contaminated soil."})
    assert response.status_code == 302
    response = staff.get(response.url)
    page = html(response)
    assert "Project A-01 is withdrawn; the district's revised result is published." in messages_of(response)
    assert 'data-funded="A-02"' in page and 'data-funded="A-01"' not in page
    assert "Contaminated soil." in page and "Revised after a project was withdrawn" in page
    revised = services.district_result(world.district("A"))
    assert revised.kind == DistrictResult.Kind.REVISED and json.loads(revised.run.output)["selected"] == [
        "A-02",
        "A-03",
    ]
    assert AuditEvent.objects.filter(action="project.withdraw", object_id=str(a01.pk)).count() == 1
    assert_roll_matches_ballots()


# --- the public lottery ---------------------------------------------------------------------------------
def test_the_lottery_is_declared_then_drawn_on_the_page(staff, official):
    world = voting_world(official, designs={}, wards="ABC")
    Cycle.objects.filter(pk=world.cycle.pk).update(phase=Phase.VETTING)  # back before voting, for the form
    response = staff.post(url(world.cycle, "staff_tally_tie_break"), {"tie_break": "lottery", "reason": "Board."})
    assert response.status_code == 302
    assert Cycle.objects.get(pk=world.cycle.pk).tie_break == TieBreak.LOTTERY
    Cycle.objects.filter(pk=world.cycle.pk).update(phase=Phase.VOTING)
    close_voting(world)
    page = html(staff.get(url(world.cycle)))
    assert escape(str(lottery.MSG_DRAW_FIRST)) in page
    assert action(url(world.cycle, "staff_tally_draw")) in page
    assert action(url(world.cycle, "staff_tally_run")) not in page
    response = staff.post(url(world.cycle, "staff_tally_draw"), {"seed": ""})
    assert response.status_code == 400 and escape(str(lottery.MSG_SEED_REQUIRED)) in html(response)
    response = staff.post(url(world.cycle, "staff_tally_draw"), {"seed": "07 19 23 31 42"})
    assert response.status_code == 302
    page = html(staff.get(url(world.cycle)))
    assert "07 19 23 31 42" in page and action(url(world.cycle, "staff_tally_draw")) not in page
    assert action(url(world.cycle, "staff_tally_run")) in page
    response = staff.post(url(world.cycle, "staff_tally_draw"), {"seed": "1 2 3"})
    assert response.status_code == 409 and escape(str(lottery.MSG_ALREADY_DRAWN)) in html(response)
    assert Cycle.objects.get(pk=world.cycle.pk).lottery_seed == "07 19 23 31 42"


def test_the_officials_cycle_page_links_to_the_tally(staff, world):
    page = html(staff.get(reverse("staff_cycle_detail", args=[world.cycle.slug])))
    assert f'href="{url(world.cycle)}"' in page
