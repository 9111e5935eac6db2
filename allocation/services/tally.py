"""Tally runs, certification and revisions.

A run is keyed by (district, rule, parameters, input hash); the input is the district's
deterministic ``.pb`` export (``allocation.services.interop``). ``tally_district`` is exactly-once: the run row
is inserted on its own (ON CONFLICT DO NOTHING), then computed under a row lock, so two triggers or
a redelivered task leave one result. Results become public only through ``cycle_certify``, the
only way from counting to results.
"""

import hashlib
import json
import time
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from budgets.models import Cycle, District
from budgets.phases import Capability, Phase
from budgets.services import cycle_transition_via
from core.errors import Conflict, PhaseClosed, ValidationFailed
from core.publish import task_publish_on_commit
from core.services import audit_record
from pbverify.pabulib import pb_parse
from pbverify.rules import RULES, Election, RuleNotApplicable, outcome_to_json, tally
from proposals.models import Project
from voting.services import review

# ``tasks`` imports this module too: a service and its own Celery task, the one circle allowed.
from .. import tasks
from ..models import DistrictResult, TallyRun
from ..permissions import check_tally_official
from . import interop, lottery
from .interop import counted_districts

MSG_TALLY_CLOSED = gettext_lazy("The tally can only run once voting has closed (counting or later).")
MSG_NO_DESIGN = gettext_lazy("District %(code)s has no ballot to count.")
MSG_UNKNOWN_RULE = gettext_lazy("Unknown rule “%(rule)s”: choose greedy, mes or mes-greedy.")
PARAMS = "{}"  # no parameters: ties follow the declared order (project ids); see allocation.services.lottery


class TallyRefused(Conflict):
    code = "tally_refused"
    default_message = gettext_lazy("The tally cannot run now.")


@dataclass(frozen=True)
class DistrictOutcome:
    district: District
    run: TallyRun
    outcome: dict  # the parsed canonical output


def tally_blockers(cycle: Cycle) -> list[str]:
    """Why the tally cannot run now (plain words), or nothing."""
    problems = []
    if not cycle.allows(Capability.RUN_TALLY):
        problems.append(str(MSG_TALLY_CLOSED))
    if lottery.lottery_pending(cycle):
        problems.append(str(lottery.MSG_DRAW_FIRST))
    problems += review.tally_blockers(cycle)
    return problems


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise ValidationFailed(str(MSG_UNKNOWN_RULE % {"rule": rule}))


@dataclass(frozen=True)
class TallyInput:
    """A district's export (the tally's input), parsed: read once for every rule run over it."""

    input_hash: str
    pb: object  # pbverify.pabulib.PbElection

    @classmethod
    def of(cls, district: District) -> "TallyInput":
        data, input_hash = interop.district_pb_export(district)
        return cls(input_hash=input_hash, pb=pb_parse(data))


def tally_district(*, district: District, rule: str, given: TallyInput | None = None) -> TallyRun:
    """One rule over one district's current ballots, exactly once per input (see module doc).
    Ties follow the declared order, or the cycle's public lottery (its seed is in the parameters).
    Errors: RuleNotApplicable (e.g. ``mes`` on ranked ballots; no run is stored), TallyRefused (a
    lottery declared but not drawn). A run whose rule raised anything else is marked failed (the
    next trigger computes it again)."""
    _check_rule(rule)
    cycle = Cycle.objects.get(pk=district.cycle_id)
    if lottery.lottery_pending(cycle):
        raise TallyRefused(lottery.MSG_DRAW_FIRST)
    given = given or TallyInput.of(district)
    input_hash, pb = given.input_hash, given.pb
    election = Election.from_pb(pb, tie_order=lottery.tie_order(cycle, pb.costs))
    key = {"district": district, "rule": rule, "params": lottery.tally_params(cycle), "input_hash": input_hash}
    with transaction.atomic():
        existing = TallyRun.objects.filter(**key).first()
        if existing is None:
            try:
                with transaction.atomic():
                    TallyRun.objects.create(cycle_id=district.cycle_id, ballots=len(pb.votes), **key)
            except IntegrityError:
                pass  # the other trigger inserted it first
    try:
        with transaction.atomic():
            run = TallyRun.objects.select_for_update().get(**key)
            if run.status == TallyRun.Status.DONE:
                return run
            return _compute(run, election, rule)
    except RuleNotApplicable:
        # Outside the rolled-back block: the placeholder row goes, so nothing shows it as running.
        TallyRun.objects.filter(**key).exclude(status=TallyRun.Status.DONE).delete()
        raise
    except Exception as exc:
        TallyRun.objects.filter(**key).exclude(status=TallyRun.Status.DONE).update(
            status=TallyRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise


def _compute(run: TallyRun, election: Election, rule: str) -> TallyRun:
    started = time.perf_counter()
    outcome = tally(election, rule)
    output = outcome_to_json(outcome)
    run.output = output.decode("utf-8")
    run.output_hash = hashlib.sha256(output).hexdigest()
    run.status = TallyRun.Status.DONE
    run.error = ""
    run.finished_at = timezone.now()
    run.seconds = round(time.perf_counter() - started, 4)
    run.save()
    return run


def tally_cycle(*, cycle: Cycle, rules: list[str] | None = None, actor=None, strict: bool = False) -> list[TallyRun]:
    """Run each district's declared rule (or the given rules, for comparison) over its counted
    ballots. Refused while voting is open, a paper batch is unreconciled or a provisional ballot
    unresolved. Each district commits on its own, so officials see progress. A given rule that does
    not apply to a district's ballots (``mes`` on ranked ballots) is skipped, or with ``strict``
    raises RuleNotApplicable."""
    if actor is not None:
        check_tally_official(actor)
    cycle = Cycle.objects.get(pk=cycle.pk)
    problems = tally_blockers(cycle)
    if problems:
        raise TallyRefused(" ".join(problems), extra={"tally": problems})
    for rule in rules or ():
        _check_rule(rule)
    runs = []
    for district in counted_districts(cycle):
        given = TallyInput.of(district)
        for rule in rules or [district.ballot_design.allocation_rule]:
            try:
                runs.append(tally_district(district=district, rule=rule, given=given))
            except RuleNotApplicable:
                if strict or not rules:
                    raise
    if actor is not None:
        audit_record(
            actor=actor,
            action="tally.run",
            object_type="cycle",
            object_id=cycle.pk,
            after={"rules": rules or "declared", "runs": [r.pk for r in runs]},
        )
    return runs


def current_runs(cycle: Cycle) -> dict[int, dict[str, TallyRun]]:
    """{district id: {rule: the finished run on the district's current input}} (the dry run
    officials compare before certifying)."""
    result: dict[int, dict[str, TallyRun]] = {}
    params = lottery.tally_params(cycle)
    for district in counted_districts(cycle):
        _data, input_hash = interop.district_pb_export(district)
        runs = TallyRun.objects.filter(
            district=district, params=params, input_hash=input_hash, status=TallyRun.Status.DONE
        )
        result[district.pk] = {run.rule: run for run in runs}
    return result


MSG_CERTIFY_MISSING = gettext_lazy(
    "District %(code)s has no tally with its declared rule (%(rule)s) on its current ballots: run the tally first."
)


@transaction.atomic
def cycle_certify(*, actor, cycle: Cycle, reason: str = "") -> Cycle:
    """Certify the declared rule's outcome for every district and publish the results: the only
    way from counting to results (officials with MFA). Refused while anything blocks the tally or a
    duplicate review is open (the transition's guard), or while a district lacks a current run."""
    check_tally_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if not cycle.allows(Capability.CERTIFY_RESULTS):
        raise PhaseClosed(_("Results can only be certified while the cycle is in counting."))
    runs = current_runs(cycle)
    problems, chosen = [], []
    for district in counted_districts(cycle):
        rule = district.ballot_design.allocation_rule
        run = runs.get(district.pk, {}).get(rule)
        if run is None:
            problems.append(str(MSG_CERTIFY_MISSING % {"code": district.code, "rule": rule}))
        chosen.append((district, run))
    if problems:
        raise TallyRefused(" ".join(problems), extra={"certify": problems})
    for district, run in chosen:
        DistrictResult.objects.create(district=district, run=run, kind=DistrictResult.Kind.CERTIFIED, actor_id=actor.pk)
    audit_record(
        actor=actor,
        action="results.certify",
        object_type="cycle",
        object_id=cycle.pk,
        reason=reason,
        after={d.code: {"rule": r.rule, "input_hash": r.input_hash, "output_hash": r.output_hash} for d, r in chosen},
    )
    return cycle_transition_via(
        actor=actor, cycle=cycle, target=Phase.RESULTS, reason=reason or "results certified", via="cycle_certify"
    )


MSG_WITHDRAW_REASON = gettext_lazy("Say why the project cannot be built.")
MSG_WITHDRAW_NOT_FUNDED = gettext_lazy("Only a funded project can be withdrawn.")
MSG_WITHDRAW_PHASE = gettext_lazy("Projects can be withdrawn only after the results are certified.")


@transaction.atomic
def project_withdraw(*, actor, project, reason: str):
    """A funded project that proves impossible: withdrawn with a reason (audited); the district's
    tally re-runs without it and the revised result is published with the reason."""
    check_tally_official(actor)
    project = Project.objects.select_for_update().select_related("district", "cycle").get(pk=project.pk)
    if not project.cycle.allows(Capability.VIEW_RESULTS) or not project.cycle.allows(Capability.RUN_TALLY):
        raise PhaseClosed(MSG_WITHDRAW_PHASE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(extra={"reason": [MSG_WITHDRAW_REASON]})
    published = district_result(project.district)
    if published is None or (project.external_id or project.code) not in run_selected(published.run):
        raise Conflict(MSG_WITHDRAW_NOT_FUNDED)
    project.withdrawn_reason, project.withdrawn_at = reason, timezone.now()
    project.save(update_fields=["withdrawn_reason", "withdrawn_at"])
    run = tally_district(district=project.district, rule=published.run.rule)
    DistrictResult.objects.create(
        district=project.district, run=run, kind=DistrictResult.Kind.REVISED, reason=reason, actor_id=actor.pk
    )
    audit_record(
        actor=actor,
        action="project.withdraw",
        object_type="project",
        object_id=project.pk,
        reason=reason,
        after={"district": project.district.code, "input_hash": run.input_hash, "output_hash": run.output_hash},
    )
    return run


def run_selected(run: TallyRun) -> set[str]:
    """The project ids (``external_id`` or code) a finished run funds."""
    return set(json.loads(run.output).get("selected", []))


def district_result(district: District) -> DistrictResult | None:
    """The district's published result: the newest row (certified, or revised after a withdrawal)."""
    return DistrictResult.objects.filter(district=district).select_related("run").first()


@transaction.atomic
def tally_request(*, actor, cycle: Cycle, compare: bool = False) -> list[str] | None:
    """An official asks for the tally: each district's declared rule, or (``compare``) every rule
    for a side-by-side dry run. Checked now (officials with MFA; nothing blocks the tally), audited,
    and computed by the Celery task once this commits (a broker error is logged, never raised: the
    official can ask again, and runs are keyed, so nothing is computed twice). Returns the rules
    asked for (None: the declared ones). Errors: NotAllowed, TallyRefused. Locks the cycle."""
    check_tally_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    problems = tally_blockers(cycle)
    if problems:
        raise TallyRefused(" ".join(problems), extra={"tally": problems})
    rules = list(RULES) if compare else None
    audit_record(
        actor=actor,
        action="tally.requested",
        object_type="cycle",
        object_id=cycle.pk,
        after={"rules": rules or "declared"},
    )
    task_publish_on_commit(tasks.tally_cycle_task, cycle.pk, rules)
    return rules
