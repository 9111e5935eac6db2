"""What the officials' tally page shows (reads only): what blocks the tally and the certification,
each district's runs on its current ballots (progress), every rule's outcome side by side (the dry
run, never public), and after certification the published result with its funded projects."""

import json
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from django.utils import timezone

from budgets.models import Cycle, District
from budgets.phases import Capability
from core.models import AuditEvent
from pbverify.rules import RULES
from proposals.models import Project
from voting.services import review

from ..models import DistrictResult, TallyRun
from ..services import interop, lottery
from ..services.interop import counted_districts
from ..services.tally import tally_blockers
from .results import RULE_LABELS, ballot_method, count_label

# A request waits this long for its runs to appear before the page stops refreshing for it.
REQUEST_WAIT = timedelta(minutes=10)
# A run still "running" after this long is presumed lost (its worker died); asking again recomputes it.
RUNNING_STALE = timedelta(minutes=30)


@dataclass
class Column:
    """One rule in one district: its run on the current ballots, and the outcome once done."""

    rule: str
    declared: bool
    run: TallyRun | None = None
    status: str = "none"  # none | waiting | running | done | failed
    outcome: dict | None = None

    @property
    def label(self):
        return RULE_LABELS[self.rule]

    @property
    def used(self) -> Decimal | None:
        return Decimal(self.outcome["budget_used"]) if self.outcome else None

    @property
    def left(self) -> Decimal | None:
        return Decimal(self.outcome["budget_left"]) if self.outcome else None


@dataclass
class Row:
    """One project in the comparison: its votes and, per rule, whether it is selected."""

    export_id: str
    code: str
    title: str
    cost: Decimal | None
    votes: str
    cells: list[bool | None]  # per column: selected, not selected, or None (no outcome yet)
    differs: bool


@dataclass
class DistrictTally:
    district: District
    declared_rule: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    ballots: int | None = None

    @property
    def done_columns(self) -> list[Column]:
        return [c for c in self.columns if c.status == "done"]

    @property
    def declared_done(self) -> bool:
        return any(c.declared and c.status == "done" for c in self.columns)

    @property
    def count_label(self):
        """What the rows' number counts: "Votes", "Points" or "Ranking points"."""
        return count_label(ballot_method(self.district))


@dataclass
class Funded:
    export_id: str
    project: object  # proposals.models.Project | None
    title: str
    cost: Decimal | None
    votes: str


@dataclass
class Published:
    district: District
    result: DistrictResult
    outcome: dict
    funded: list[Funded]
    history: list[DistrictResult]
    withdrawn: list[object]  # the district's withdrawn projects

    @property
    def rule_label(self):
        return RULE_LABELS.get(self.outcome.get("rule"), self.outcome.get("rule"))

    @property
    def count_label(self):
        return count_label(ballot_method(self.district))


@dataclass
class TallyPage:
    cycle: Cycle
    tally_blockers: list[str]
    certify_blockers: list[str]  # beyond the tally's: groups of possible duplicates
    districts: list[DistrictTally]
    requested: AuditEvent | None
    published: list[Published]
    lottery_pending: bool

    @property
    def any_run(self) -> bool:
        return any(c.run is not None for d in self.districts for c in d.columns)

    @property
    def busy(self) -> bool:
        """Something is running or about to: the page refreshes itself."""
        return any(c.status in ("running", "waiting") for d in self.districts for c in d.columns)

    @property
    def can_certify_now(self) -> bool:
        return (
            self.cycle.allows(Capability.CERTIFY_RESULTS)
            and not self.tally_blockers
            and not self.certify_blockers
            and bool(self.districts)
            and all(d.declared_done for d in self.districts)
        )


def applicable_rules(district: District) -> list[str]:
    """The rules defined for the district's ballots: equal shares is not defined for rankings."""
    design = district.ballot_design
    if design.method == "ranked":
        return ["greedy"]
    return list(RULES)


def _votes_key(value: str):
    try:
        return -Fraction(value)
    except (ValueError, ZeroDivisionError):
        return 0


def _projects(district: District) -> dict[str, object]:
    projects = Project.objects.published().filter(district=district).prefetch_related("texts")
    return {p.external_id or p.code: p for p in projects}


def _requested(cycle: Cycle) -> AuditEvent | None:
    return (
        AuditEvent.objects.filter(object_type="cycle", object_id=str(cycle.pk), action="tally.requested")
        .order_by("-id")
        .first()
    )


def _district_tally(district: District, *, params: str, requested: AuditEvent | None, now) -> DistrictTally:
    declared = district.ballot_design.allocation_rule
    _data, input_hash = interop.district_pb_export(district)
    runs = {
        run.rule: run
        for run in TallyRun.objects.filter(district=district, params=params, input_hash=input_hash).order_by("id")
    }
    asked: set[str] = set()
    if requested is not None and now - requested.occurred_at < REQUEST_WAIT:
        rules = requested.after.get("rules")
        asked = set(rules) if isinstance(rules, list) else {declared}
    columns = []
    for rule in applicable_rules(district):
        column = Column(rule=rule, declared=rule == declared, run=runs.get(rule))
        if column.run is None:
            column.status = "waiting" if rule in asked else "none"
        elif column.run.status == TallyRun.Status.RUNNING and now - column.run.started_at > RUNNING_STALE:
            column.status = "failed"
        else:
            column.status = column.run.status
        if column.status == "done":
            column.outcome = json.loads(column.run.output)
        columns.append(column)
    tally = DistrictTally(district=district, declared_rule=declared, columns=columns)
    done = tally.done_columns
    if done:
        tally.ballots = done[0].run.ballots
        projects = _projects(district)
        votes = done[0].outcome["votes"]
        for export_id in sorted(votes, key=lambda pid: (_votes_key(str(votes[pid])), pid)):
            project = projects.get(export_id)
            cells = []
            for column in columns:
                cells.append(export_id in column.outcome["selected"] if column.outcome else None)
            decided = [c for c in cells if c is not None]
            tally.rows.append(
                Row(
                    export_id=export_id,
                    code=project.code if project else export_id,
                    title=project.title if project else export_id,
                    cost=project.cost if project else None,
                    votes=str(votes[export_id]),
                    cells=cells,
                    differs=len(set(decided)) > 1,
                )
            )
    return tally


def _published(district: District) -> Published | None:
    history = list(DistrictResult.objects.filter(district=district).select_related("run"))
    if not history:
        return None
    result = history[0]
    outcome = json.loads(result.run.output)
    projects = _projects(district)
    funded = []
    for export_id in outcome["selected"]:
        project = projects.get(export_id)
        funded.append(
            Funded(
                export_id=export_id,
                project=project,
                title=project.title if project else export_id,
                cost=project.cost if project else None,
                votes=str(outcome["votes"].get(export_id, "")),
            )
        )
    withdrawn = sorted((p for p in projects.values() if p.withdrawn_at), key=lambda p: p.code)
    return Published(
        district=district, result=result, outcome=outcome, funded=funded, history=history, withdrawn=withdrawn
    )


def tally_page(cycle: Cycle) -> TallyPage:
    blockers = tally_blockers(cycle)
    certify = [p for p in review.counting_blockers(cycle) if p not in blockers]
    requested = _requested(cycle)
    now = timezone.now()
    params = lottery.tally_params(cycle)
    counted = counted_districts(cycle)
    districts = []
    if cycle.allows(Capability.RUN_TALLY) and not lottery.lottery_pending(cycle):
        districts = [_district_tally(d, params=params, requested=requested, now=now) for d in counted]
    published = []
    if cycle.allows(Capability.VIEW_RESULTS):
        published = [p for d in counted if (p := _published(d)) is not None]
    return TallyPage(
        cycle=cycle,
        tally_blockers=blockers,
        certify_blockers=certify,
        districts=districts,
        requested=requested,
        published=published,
        lottery_pending=lottery.lottery_pending(cycle),
    )


def published_selected_codes(cycle: Cycle) -> dict[int, set[str]]:
    """For each district of ``cycle`` with a published result (its newest ``DistrictResult``,
    certified or revised after a withdrawal): the project ids (``external_id`` or code) it funds.
    One query. Proposals' implementation tracking asks this through the wiring."""
    selected: dict[int, set[str]] = {}
    for result in (
        DistrictResult.objects.filter(district__cycle=cycle)
        .select_related("run")
        .order_by("district_id", "-created_at", "-id")
    ):
        selected.setdefault(result.district_id, json.loads(result.run.output).get("selected", []))
    return {district_id: set(codes) for district_id, codes in selected.items()}
