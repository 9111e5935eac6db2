"""The tally as officials drive it (allocation.services, allocation.services.lottery): exactly once per input (two
triggers at once, a redelivered task), byte-identical output, refusals while anything blocks the
count, certification (the only way to results) and withdrawal after it, and the public lottery."""

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from django.db import connection

from allocation.models import DistrictResult, TallyRun
from allocation.services import lottery, tally
from allocation.tasks import tally_cycle_task
from budgets.models import Cycle, TieBreak
from budgets.phases import Phase
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from proposals.models import Project
from tests.factories import CycleFactory
from voting import crypto, methods, services
from voting.models import Ballot, BallotVoid, PaperBatch, ProvisionalBallot, VotingSite
from voting.services import review
from voting.tests.builders import assert_roll_matches_ballots, voting_world

from .tally_builders import (
    GREEDY_A,
    MES_A,
    cast,
    certified_world,
    close_voting,
    counting_world,
    paper_ballot,
    run_key_counts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _roll_matches_ballots_after_each_test(db):
    yield
    assert_roll_matches_ballots()  # voter-roll entries = ballots per district, whatever happened


def outputs(cycle) -> dict[tuple[str, str], dict]:
    return {(r.district.code, r.rule): json.loads(r.output) for r in TallyRun.objects.filter(cycle=cycle)}


def events(cycle, action):
    return list(AuditEvent.objects.filter(object_type="cycle", object_id=str(cycle.pk), action=action))


def no_tally_rows(cycle) -> bool:
    return not TallyRun.objects.filter(cycle=cycle).exists() and not DistrictResult.objects.exists()


# --- running -------------------------------------------------------------------------------------------
def test_every_rule_runs_once_per_district_and_the_rules_differ_in_ward_a(official):
    world = counting_world(official)
    runs = tally.tally_cycle(cycle=world.cycle, rules=["greedy", "mes", "mes-greedy"], actor=official)
    assert len(runs) == 6  # wards A and B; ward C has no ballot
    out = outputs(world.cycle)
    assert out["A", "greedy"]["selected"] == GREEDY_A
    assert out["A", "mes"]["selected"] == MES_A
    assert out["A", "greedy"]["budget_used"] == "50000" and out["A", "mes"]["budget_left"] == "5000"
    assert out["A", "greedy"]["votes"] == {"A-01": 3, "A-02": 3, "A-03": 6}
    assert out["B", "greedy"]["selected"] == out["B", "mes"]["selected"] == ["B-01", "B-03"]
    assert all(r.status == TallyRun.Status.DONE and r.params == "{}" for r in runs)
    [event] = events(world.cycle, "tally.run")
    assert event.actor_id == official.pk and sorted(event.after["runs"]) == sorted(r.pk for r in runs)
    assert_roll_matches_ballots()


def test_a_redelivered_task_leaves_one_run_per_district_and_rule(official):
    world = counting_world(official)
    first = tally_cycle_task(world.cycle.pk, ["greedy", "mes"])
    again = tally_cycle_task(world.cycle.pk, ["greedy", "mes"])
    declared = tally_cycle_task.apply(args=[world.cycle.pk]).get()  # the declared rule: greedy
    assert first == again and set(declared) <= set(first)
    assert TallyRun.objects.filter(cycle=world.cycle).count() == 4
    assert set(run_key_counts(world.cycle).values()) == {1}
    assert_roll_matches_ballots()


def test_same_input_gives_byte_identical_output(official):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle, rules=["greedy", "mes", "mes-greedy"])
    before = {(r.district_id, r.rule): (r.input_hash, r.output, r.output_hash) for r in TallyRun.objects.all()}
    TallyRun.objects.all().delete()
    tally.tally_cycle(cycle=world.cycle, rules=["greedy", "mes", "mes-greedy"])
    after = {(r.district_id, r.rule): (r.input_hash, r.output, r.output_hash) for r in TallyRun.objects.all()}
    assert after == before and len(after) == 6
    for _input, output, output_hash in after.values():
        assert hashlib.sha256(output.encode()).hexdigest() == output_hash


def test_a_rule_that_does_not_apply_leaves_no_run_behind(official):
    """``mes`` on ranked ballots: refused, and no placeholder row stays "running"."""
    world = counting_world(official, designs={"A": {"method": "ranked", "min_picks": 1, "max_picks": 3}})
    with pytest.raises(tally.RuleNotApplicable):
        tally.tally_district(district=world.district("A"), rule="mes")
    assert not TallyRun.objects.filter(district=world.district("A")).exists()
    runs = tally.tally_cycle(cycle=world.cycle, rules=["greedy", "mes"])  # comparison: skipped there
    assert sorted((r.district.code, r.rule) for r in runs) == [("A", "greedy"), ("B", "greedy"), ("B", "mes")]


def test_a_rule_that_crashes_marks_its_run_failed_and_a_new_trigger_computes_it(official, monkeypatch):
    world = counting_world(official)

    def boom(election, rule):
        raise RuntimeError("worker lost")

    monkeypatch.setattr(tally, "tally", boom)
    with pytest.raises(RuntimeError):
        tally.tally_district(district=world.district("A"), rule="greedy")
    run = TallyRun.objects.get(district=world.district("A"))
    assert run.status == TallyRun.Status.FAILED and "worker lost" in run.error
    monkeypatch.undo()
    again = tally.tally_district(district=world.district("A"), rule="greedy")
    assert again.pk == run.pk and again.status == TallyRun.Status.DONE and again.error == ""


# --- refusals ------------------------------------------------------------------------------------------
def test_refused_while_voting_is_open(official):
    world = voting_world(official)
    cast(world, "A", ["A-01"], key="early")
    assert tally.tally_blockers(world.cycle) == [str(tally.MSG_TALLY_CLOSED)]
    with pytest.raises(tally.TallyRefused) as exc:
        tally.tally_cycle(cycle=world.cycle)
    assert exc.value.extra == {"tally": [str(tally.MSG_TALLY_CLOSED)]}
    with pytest.raises(tally.TallyRefused):
        tally.tally_request(actor=official, cycle=world.cycle)
    assert no_tally_rows(world.cycle) and not events(world.cycle, "tally.requested")
    assert_roll_matches_ballots()


def test_refused_while_a_paper_batch_is_unreconciled(official):
    world = counting_world(official)
    site = VotingSite.objects.create(cycle=world.cycle, name="Library", address="1 Main St")
    batch = PaperBatch.objects.create(
        district=world.district("A"), site=site, label="Box 1", voted_on=date(2026, 5, 2), issued=10
    )
    with pytest.raises(tally.TallyRefused) as exc:
        tally.tally_cycle(cycle=world.cycle)
    assert exc.value.extra["tally"] == ["1 paper ballot batch is not reconciled yet."]
    assert no_tally_rows(world.cycle)
    PaperBatch.objects.filter(pk=batch.pk).update(status=PaperBatch.Status.RECONCILED)
    assert len(tally.tally_cycle(cycle=world.cycle)) == 2


def test_refused_while_a_provisional_ballot_is_pending(official):
    def provisional(world):
        result = services.ballot_cast(
            voter=services.Voter(
                identity_key=crypto.identity_key("checkin", "lib-1"),
                channel="kiosk",
                verification="checkin",
                site="Library",
                name="Ana Díaz",
                address="1 Grove St",
                date_of_birth=date(1980, 5, 17),
                provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
            ),
            district=world.district("A"),
            ballot=methods.Ballot(choices=("A-02",)),
        )
        assert result.provisional

    world = counting_world(official, before_close=provisional)
    with pytest.raises(tally.TallyRefused) as exc:
        tally.tally_cycle(cycle=world.cycle)
    assert exc.value.extra["tally"] == ["1 provisional ballot is still waiting for a decision."]
    assert no_tally_rows(world.cycle)
    review.provisional_accept(actor=official, provisional=ProvisionalBallot.objects.get())
    tally.tally_cycle(cycle=world.cycle, rules=["greedy"])
    assert outputs(world.cycle)["A", "greedy"]["votes"]["A-02"] == 4  # the accepted ballot counts
    assert_roll_matches_ballots()


@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "auditor", "official_without_mfa"])
def test_only_officials_with_mfa_run_or_ask_for_the_tally(role, official, request):
    world = counting_world(official)
    user = request.getfixturevalue(role)
    for call in (
        lambda: tally.tally_cycle(cycle=world.cycle, actor=user),
        lambda: tally.tally_request(actor=user, cycle=world.cycle),
    ):
        with pytest.raises(NotAllowed):
            call()
    assert no_tally_rows(world.cycle) and not events(world.cycle, "tally.requested")


def test_a_request_is_audited_and_dispatched_after_commit(official, django_capture_on_commit_callbacks):
    world = counting_world(official)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert tally.tally_request(actor=official, cycle=world.cycle, compare=True) == ["greedy", "mes", "mes-greedy"]
    assert not TallyRun.objects.exists()  # nothing runs inside the request's transaction
    [event] = events(world.cycle, "tally.requested")
    assert event.actor_id == official.pk and event.after == {"rules": ["greedy", "mes", "mes-greedy"]}
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: the task runs (eagerly in tests)
    assert TallyRun.objects.filter(cycle=world.cycle, status=TallyRun.Status.DONE).count() == 6


# --- certification -------------------------------------------------------------------------------------
def test_certify_publishes_the_declared_rule_and_moves_to_results(official):
    world = counting_world(official, designs={"B": {"method": "approval", "min_picks": 1, "allocation_rule": "mes"}})
    tally.tally_cycle(cycle=world.cycle, rules=["greedy", "mes", "mes-greedy"])
    cycle = tally.cycle_certify(actor=official, cycle=world.cycle, reason="Checked by the board.")
    assert cycle.phase == Phase.RESULTS
    published = {r.district.code: r for r in DistrictResult.objects.select_related("run", "district")}
    assert {code: r.run.rule for code, r in published.items()} == {"A": "greedy", "B": "mes"}
    assert all(r.kind == DistrictResult.Kind.CERTIFIED and r.actor_id == official.pk for r in published.values())
    [event] = events(cycle, "results.certify")
    assert event.reason == "Checked by the board." and set(event.after) == {"A", "B"}
    assert event.after["A"]["output_hash"] == published["A"].run.output_hash
    moved = events(cycle, "cycle.phase_changed")[-1]
    assert moved.after == {"phase": Phase.RESULTS, "via": "cycle_certify"} and moved.actor_id == official.pk
    assert Cycle.objects.get(pk=cycle.pk).phase == Phase.RESULTS


def test_certify_refused_without_a_current_run(official):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle, rules=["mes"])  # not the declared rule (greedy)
    with pytest.raises(tally.TallyRefused) as exc:
        tally.cycle_certify(actor=official, cycle=world.cycle)
    assert exc.value.extra["certify"] == [
        str(tally.MSG_CERTIFY_MISSING % {"code": "A", "rule": "greedy"}),
        str(tally.MSG_CERTIFY_MISSING % {"code": "B", "rule": "greedy"}),
    ]
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.COUNTING
    assert not DistrictResult.objects.exists() and not events(world.cycle, "results.certify")


@pytest.mark.parametrize("change", ["void", "new ballot"])
def test_certify_refused_after_the_ballots_change_until_the_tally_runs_again(change, official):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle)
    if change == "void":
        BallotVoid.objects.create(ballot=Ballot.objects.filter(district=world.district("A")).first(), reason="Test")
    else:
        paper_ballot(world, "A", ["A-02"], key="late-box")
    with pytest.raises(tally.TallyRefused) as exc:
        tally.cycle_certify(actor=official, cycle=world.cycle)
    assert exc.value.extra["certify"] == [str(tally.MSG_CERTIFY_MISSING % {"code": "A", "rule": "greedy"})]
    assert not DistrictResult.objects.exists()
    tally.tally_cycle(cycle=world.cycle)  # ward A runs again on its new input; ward B is found done
    assert TallyRun.objects.filter(district=world.district("A"), rule="greedy").count() == 2
    assert TallyRun.objects.filter(district=world.district("B"), rule="greedy").count() == 1
    assert tally.cycle_certify(actor=official, cycle=world.cycle).phase == Phase.RESULTS
    assert_roll_matches_ballots()


@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "auditor", "official_without_mfa"])
def test_certify_refused_to_anyone_but_an_official_with_mfa(role, official, request):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle)
    with pytest.raises(NotAllowed):
        tally.cycle_certify(actor=request.getfixturevalue(role), cycle=world.cycle)
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.COUNTING and not DistrictResult.objects.exists()


def test_certify_refused_outside_counting(official):
    world = voting_world(official)
    with pytest.raises(PhaseClosed):
        tally.cycle_certify(actor=official, cycle=world.cycle)
    world = certified_world(official)
    with pytest.raises(PhaseClosed):
        tally.cycle_certify(actor=official, cycle=world.cycle)
    assert DistrictResult.objects.filter(district__cycle=world.cycle).count() == 2


# --- withdrawal ----------------------------------------------------------------------------------------
def project(code: str) -> Project:
    return Project.objects.get(code=code)


def test_withdrawing_a_funded_project_republishes_the_district_without_it(official):
    world = certified_world(official)
    run = tally.project_withdraw(actor=official, project=project("A-01"), reason="The site is contaminated.")
    # Greedy again without A-01: A-03 ($30,000), then A-02 ($15,000) fits in the $20,000 freed.
    output = json.loads(run.output)
    assert output["selected"] == ["A-02", "A-03"] and "A-01" not in output["votes"]
    assert output["budget_used"] == "45000" and output["budget_left"] == "5000"
    latest = tally.district_result(world.district("A"))
    assert latest.run == run and latest.kind == DistrictResult.Kind.REVISED
    assert latest.reason == "The site is contaminated." and latest.actor_id == official.pk
    assert DistrictResult.objects.filter(district=world.district("A")).count() == 2  # the certified one stays
    assert tally.district_result(world.district("B")).kind == DistrictResult.Kind.CERTIFIED
    withdrawn = project("A-01")
    assert withdrawn.withdrawn_reason == "The site is contaminated." and withdrawn.withdrawn_at is not None
    [event] = AuditEvent.objects.filter(action="project.withdraw")
    assert (event.object_id, event.actor_id, event.reason) == (
        str(withdrawn.pk),
        official.pk,
        withdrawn.withdrawn_reason,
    )
    assert event.after["output_hash"] == run.output_hash
    assert_roll_matches_ballots()


def test_withdrawal_under_equal_shares_gives_the_money_to_the_next_project_by_the_rule(official):
    world = certified_world(official, designs={"A": {"method": "approval", "min_picks": 1, "allocation_rule": "mes"}})
    assert json.loads(tally.district_result(world.district("A")).run.output)["selected"] == MES_A
    run = tally.project_withdraw(actor=official, project=project("A-02"), reason="No contractor.")
    assert json.loads(run.output)["selected"] == ["A-01", "A-03"]
    assert run.rule == "mes"


@pytest.mark.parametrize("reason", ["", "   "])
def test_withdrawal_needs_a_reason(reason, official):
    world = certified_world(official)
    with pytest.raises(ValidationFailed) as exc:
        tally.project_withdraw(actor=official, project=project("A-01"), reason=reason)
    assert exc.value.extra == {"reason": [tally.MSG_WITHDRAW_REASON]}
    assert project("A-01").withdrawn_at is None
    assert DistrictResult.objects.filter(district=world.district("A")).count() == 1
    assert not AuditEvent.objects.filter(action="project.withdraw").exists()


def test_only_a_funded_project_can_be_withdrawn(official):
    world = certified_world(official)
    with pytest.raises(Conflict) as exc:  # a state of the project, not a question of who asks
        tally.project_withdraw(actor=official, project=project("A-02"), reason="Not funded anyway.")
    assert exc.value.message == tally.MSG_WITHDRAW_NOT_FUNDED
    assert project("A-02").withdrawn_at is None and DistrictResult.objects.count() == 2
    tally.project_withdraw(actor=official, project=project("A-01"), reason="Impossible.")
    with pytest.raises(Conflict):  # withdrawn: no longer funded
        tally.project_withdraw(actor=official, project=project("A-01"), reason="Again.")
    assert DistrictResult.objects.filter(district=world.district("A")).count() == 2


def test_withdrawal_only_after_certification_and_only_by_officials(official, auditor, official_without_mfa):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle)
    with pytest.raises(PhaseClosed) as exc:
        tally.project_withdraw(actor=official, project=project("A-01"), reason="Too early.")
    assert exc.value.message == tally.MSG_WITHDRAW_PHASE
    world.cycle = tally.cycle_certify(actor=official, cycle=world.cycle)
    for user in (auditor, official_without_mfa):
        with pytest.raises(NotAllowed):
            tally.project_withdraw(actor=user, project=project("A-01"), reason="Not mine to do.")
    assert project("A-01").withdrawn_at is None and not AuditEvent.objects.filter(action="project.withdraw").exists()


# --- the public lottery --------------------------------------------------------------------------------
def seed_putting_first(first: str, second: str) -> str:
    """A draw whose order puts ``first`` before ``second`` (found by trying draws in sequence)."""
    for n in range(1000):
        seed = f"04 11 {n:02d} 27 38"
        order = lottery.lottery_order(seed, [first, second])
        if order[0] == first:
            return seed
    raise AssertionError("no such draw")


def lottery_world(official):
    def declare(world):
        Cycle.objects.filter(pk=world.cycle.pk).update(tie_break=TieBreak.LOTTERY)

    return counting_world(official, before_close=declare)


def test_the_tie_break_is_declared_before_voting_and_audited(official):
    world = voting_world(official, designs={})
    with pytest.raises(PhaseClosed):
        lottery.cycle_tie_break_set(actor=official, cycle=world.cycle, tie_break="lottery")
    cycle = CycleFactory(vetting=True)
    with pytest.raises(ValidationFailed) as exc:
        lottery.cycle_tie_break_set(actor=official, cycle=cycle, tie_break="coin")
    assert exc.value.extra == {"tie_break": [lottery.MSG_TIE_BREAK_CHOICE]}
    cycle = lottery.cycle_tie_break_set(actor=official, cycle=cycle, tie_break="lottery", reason="Board decision.")
    assert Cycle.objects.get(pk=cycle.pk).tie_break == TieBreak.LOTTERY
    [event] = events(cycle, "cycle.tie_break")
    assert (event.before, event.after, event.reason) == (
        {"tie_break": "declared"},
        {"tie_break": "lottery"},
        "Board decision.",
    )


def test_a_declared_lottery_blocks_the_tally_until_the_draw(official):
    world = lottery_world(official)
    assert str(lottery.MSG_DRAW_FIRST) in tally.tally_blockers(world.cycle)
    with pytest.raises(tally.TallyRefused):
        tally.tally_cycle(cycle=world.cycle)
    with pytest.raises(tally.TallyRefused):
        tally.tally_district(district=world.district("A"), rule="greedy")
    assert no_tally_rows(world.cycle)


def test_the_draw_decides_the_tie_and_is_reproducible(official):
    world = lottery_world(official)
    seed = seed_putting_first("A-02", "A-01")
    cycle = lottery.cycle_lottery_draw(actor=official, cycle=world.cycle, seed=f"  {seed} ")
    assert cycle.lottery_seed == seed and cycle.lottery_drawn_at is not None
    [event] = events(cycle, "tally.lottery_drawn")
    assert event.after["seed"] == seed
    assert event.after["tie_order"]["A"] == lottery.lottery_order(seed, ["A-01", "A-02", "A-03"])
    run = tally.tally_district(district=world.district("A"), rule="greedy")
    # tie at 3 votes: the draw puts A-02 first, and it takes the money left.
    assert sorted(json.loads(run.output)["selected"]) == ["A-02", "A-03"]
    assert json.loads(run.params) == {"seed": seed, "tie_break": "lottery"}
    output = run.output
    run.delete()
    assert tally.tally_district(district=world.district("A"), rule="greedy").output == output
    tally.tally_cycle(cycle=cycle)
    assert tally.cycle_certify(actor=official, cycle=cycle).phase == Phase.RESULTS
    assert tally.district_result(world.district("A")).run.params == run.params  # the draw's run is certified


def test_the_draw_is_recorded_once_and_checked(official, auditor):
    world = lottery_world(official)
    for seed, message in [
        ("", lottery.MSG_SEED_REQUIRED),
        ("x" * 101, lottery.MSG_SEED_TOO_LONG % {"max": 100}),
        ("7\x00 8", lottery.MSG_SEED_PRINTABLE),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            lottery.cycle_lottery_draw(actor=official, cycle=world.cycle, seed=seed)
        assert exc.value.extra == {"seed": [message]}
    with pytest.raises(NotAllowed):
        lottery.cycle_lottery_draw(actor=auditor, cycle=world.cycle, seed="1 2 3")
    assert Cycle.objects.get(pk=world.cycle.pk).lottery_seed == ""
    lottery.cycle_lottery_draw(actor=official, cycle=world.cycle, seed="1 2 3")
    with pytest.raises(Conflict) as exc:
        lottery.cycle_lottery_draw(actor=official, cycle=world.cycle, seed="4 5 6")
    assert exc.value.message == lottery.MSG_ALREADY_DRAWN
    assert Cycle.objects.get(pk=world.cycle.pk).lottery_seed == "1 2 3"
    assert len(events(world.cycle, "tally.lottery_drawn")) == 1


def test_no_draw_without_a_declared_lottery_nor_outside_counting(official):
    world = counting_world(official)
    with pytest.raises(Conflict) as exc:
        lottery.cycle_lottery_draw(actor=official, cycle=world.cycle, seed="1 2 3")
    assert exc.value.message == lottery.MSG_NO_LOTTERY
    world = voting_world(official)
    Cycle.objects.filter(pk=world.cycle.pk).update(tie_break=TieBreak.LOTTERY)
    with pytest.raises(PhaseClosed):
        lottery.cycle_lottery_draw(actor=official, cycle=Cycle.objects.get(pk=world.cycle.pk), seed="1 2 3")
    close_voting(world)
    assert Cycle.objects.get(pk=world.cycle.pk).lottery_seed == ""


# --- exactly once under real concurrency ---------------------------------------------------------------
def run_at_once(jobs):
    start = threading.Event()

    def wrapped(job):
        def run():
            try:
                assert start.wait(timeout=30)
                return job()
            finally:
                connection.close()

        return run

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = [pool.submit(wrapped(job)) for job in jobs]
        start.set()
        return [future.result(timeout=120) for future in futures]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_triggers_leave_one_run_per_district_and_rule(official):
    world = counting_world(official)
    rules = ["greedy", "mes", "mes-greedy"]
    results = run_at_once([lambda: tally_cycle_task(world.cycle.pk, rules) for _ in range(4)])
    assert all(sorted(r) == sorted(results[0]) for r in results)
    assert TallyRun.objects.filter(cycle=world.cycle).count() == 6
    assert set(run_key_counts(world.cycle).values()) == {1}
    assert set(TallyRun.objects.values_list("status", flat=True)) == {TallyRun.Status.DONE}
    assert outputs(world.cycle)["A", "mes"]["selected"] == MES_A
    assert_roll_matches_ballots()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officials_certifying_at_once_certify_once(official):
    world = counting_world(official)
    tally.tally_cycle(cycle=world.cycle)
    other = type(official).objects.get(pk=official.pk)

    def certify(user):
        def job():
            try:
                tally.cycle_certify(actor=user, cycle=world.cycle)
                return "ok"
            except PhaseClosed:
                return "refused"

        return job

    assert sorted(run_at_once([certify(official), certify(other)])) == ["ok", "refused"]
    assert DistrictResult.objects.count() == 2 and len(events(world.cycle, "results.certify")) == 1
