"""Paper ballots: batches keyed twice by two different people, mismatches resolved by an official,
invalid sheets recorded with their reason, reconciliation (issued = valid + invalid + spoiled)
storing the valid sheets as anonymous ballots with one synthetic roll entry each; keying errors
refused with nothing stored; nothing changes after reconciliation; the pages, their permissions
and phases; the printable ballot for each method and language."""

import json
import re
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from budgets.models import Cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from proposals.tests.builders import make_project, texts
from tests.concurrency import run_at_once
from tests.factories import user_with_role
from voting import crypto, methods, services
from voting.methods.messages import MESSAGES
from voting.models import Ballot, PaperBatch, PaperEntry, PaperResolution, VoterRollEntry
from voting.services import paper
from voting.services.paper import SheetMarks
from voting.sites import voting_site_create, voting_site_set_active

from .builders import (
    assert_roll_matches_ballots,
    design,
    open_voting,
    paper_idea,
    vetting_world,
    voter,
    voting_world,
)

pytestmark = pytest.mark.django_db

APPROVAL = {"A": {"method": "approval", "min_picks": 1, "max_picks": 2}}
KNAPSACK = {"A": {"method": "knapsack", "min_picks": 1}}
RANKED = {"A": {"method": "ranked", "min_picks": 1, "max_picks": 3}}
CUMULATIVE = {"A": {"method": "cumulative", "min_picks": 1, "points_total": 10, "points_cap": 6}}


# --- helpers ---------------------------------------------------------------------------------------
def world_with_site(official, designs=APPROVAL, **kwargs):
    world = voting_world(official, designs=designs, **kwargs)
    world.site = voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    return world


def today(world):
    """The voting day as the cycle counts it (its own time zone, not the server's)."""
    return timezone.localdate(timezone=ZoneInfo(world.cycle.time_zone))


def new_batch(world, actor, *, issued=3, spoiled=0, label="Box 1", district="A", **kwargs):
    return paper.paper_batch_create(
        actor=actor,
        district=world.district(district),
        site=kwargs.pop("site", world.site),
        label=label,
        voted_on=kwargs.pop("voted_on", today(world)),
        issued=issued,
        spoiled=spoiled,
    )


def picks(*codes):
    return SheetMarks(picks=codes)


def key(batch, actor, pass_no, sheet, marks):
    return paper.paper_sheet_key(actor=actor, batch=batch, pass_no=pass_no, sheet=sheet, marks=marks)


def key_both(batch, first, second, sheets: dict):
    """Key ``sheets`` ({number: marks}) in pass 1 by ``first`` and in pass 2 by ``second``."""
    for number, marks in sheets.items():
        key(batch, first, 1, number, marks)
    for number, marks in sheets.items():
        key(batch, second, 2, number, marks)


def paper_rows() -> dict:
    return {
        "batches": PaperBatch.objects.count(),
        "entries": PaperEntry.objects.count(),
        "resolutions": PaperResolution.objects.count(),
        "ballots": Ballot.objects.count(),
        "roll": VoterRollEntry.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def errors_of(excinfo, field="marks") -> list[str]:
    return [str(m) for m in excinfo.value.extra[field]]


@pytest.fixture
def volunteer2(db):
    return user_with_role("volunteer")


# --- keying and reconciling ------------------------------------------------------------------------
def test_two_volunteers_key_a_batch_and_an_official_reconciles_it(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=4, spoiled=1)
    key_both(
        batch, volunteer, volunteer2, {1: picks("A-02", "A-01"), 2: picks("A-03"), 3: picks("A-01", "A-02", "A-03")}
    )

    state = paper.paper_batch_state(batch)
    assert (state.valid, state.invalid, state.problems) == (2, 1, [])
    invalid = PaperEntry.objects.filter(batch=batch, sheet=3)
    too_many = "Choose at most 2 projects (you chose 3)."
    assert [e.invalid_reason for e in invalid] == [too_many, too_many]
    assert list(paper.paper_batches_unreconciled(world.cycle)) == [batch]

    paper.paper_batch_reconcile(actor=official, batch=batch)

    batch.refresh_from_db()
    assert batch.status == PaperBatch.Status.RECONCILED and batch.reconciled_by_id == official.pk
    assert sorted(Ballot.objects.values_list("choices", flat=True)) == [["A-01", "A-02"], ["A-03"]]
    assert set(Ballot.objects.values_list("channel", "receipt_hash", "points")) == {("paper", None, None)}
    roll = VoterRollEntry.objects.filter(channel="paper")
    assert roll.count() == 2
    assert set(roll.values_list("site", "verification", "voted_on", "scope")) == {
        ("City Hall", "paper", batch.voted_on, "ward")
    }
    assert set(roll.values_list("identity_key", flat=True)) == {
        crypto.identity_key("paper", f"{batch.pk}:1"),
        crypto.identity_key("paper", f"{batch.pk}:2"),
    }
    assert_roll_matches_ballots()
    assert list(paper.paper_batches_unreconciled(world.cycle)) == []
    # Every keying is audited without its marks; the reconciliation with its counts.
    keyed = AuditEvent.objects.filter(action="paper_sheet.key", object_id=str(batch.pk))
    assert keyed.count() == 6
    assert all(set(e.after) == {"sheet", "pass", "invalid"} for e in keyed)
    assert [(e.after["sheet"], e.after["invalid"]) for e in keyed.filter(after__pass=2).order_by("id")] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    reconciled = AuditEvent.objects.get(action="paper_batch.reconcile")
    assert reconciled.after == {"issued": 4, "spoiled": 1, "valid": 2, "invalid": 1}
    assert reconciled.actor_id == official.pk


def test_ballots_are_inserted_in_random_order_not_sheet_order(official, volunteer, volunteer2, monkeypatch):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=3)
    key_both(batch, volunteer, volunteer2, {1: picks("A-01"), 2: picks("A-02"), 3: picks("A-03")})
    shuffled = []

    class Recorder:
        def shuffle(self, items):
            shuffled.append([b.choices for b in items])
            items.reverse()

    monkeypatch.setattr(paper.random, "SystemRandom", Recorder)
    paper.paper_batch_reconcile(actor=official, batch=batch)
    assert shuffled == [[["A-01"], ["A-02"], ["A-03"]]]
    assert Ballot.objects.count() == 3
    assert_roll_matches_ballots()


def test_the_same_person_cannot_key_both_passes(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer2, 2, 2, picks("A-02"))
    before = paper_rows()
    with pytest.raises(NotAllowed) as excinfo:
        key(batch, volunteer, 2, 1, picks("A-01"))
    assert excinfo.value.message == paper.MSG_OTHER_PASS % {"other": 1, "pass": 2}
    with pytest.raises(NotAllowed):
        key(batch, volunteer2, 1, 3, picks("A-01"))  # and the other way round
    assert paper_rows() == before
    assert paper.paper_passes_open_to(batch, volunteer) == [1]
    assert paper.paper_passes_open_to(batch, volunteer2) == [2]
    assert paper.paper_passes_open_to(batch, official) == [1, 2]
    # Several people may share one pass; an official keys like a volunteer.
    key(batch, official, 1, 2, picks("A-02"))
    with pytest.raises(NotAllowed):
        key(batch, official, 2, 3, picks("A-02"))
    assert PaperEntry.objects.filter(batch=batch).count() == 3


def test_a_sheet_is_keyed_once_per_pass_and_within_the_batch(official, volunteer):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=3, spoiled=1)
    key(batch, volunteer, 1, 1, picks("A-01"))
    before = paper_rows()
    with pytest.raises(paper.SheetKeyed) as excinfo:
        key(batch, volunteer, 1, 1, picks("A-02"))
    assert excinfo.value.message == paper.MSG_ALREADY_KEYED % {"sheet": 1, "pass": 1}
    for sheet in (0, 3, -1):
        with pytest.raises(ValidationFailed) as excinfo:
            key(batch, volunteer, 1, sheet, picks("A-02"))
        assert errors_of(excinfo, "sheet") == [paper.MSG_SHEET_RANGE % {"n": 2, "issued": 3, "spoiled": 1}]
    with pytest.raises(ValidationFailed) as excinfo:
        key(batch, volunteer, 3, 2, picks("A-02"))
    assert errors_of(excinfo, "pass_no") == [str(paper.MSG_PASS)]
    assert paper_rows() == before
    assert PaperEntry.objects.get(batch=batch).choices == ["A-01"]
    assert paper.paper_next_sheet(batch, 1) == 2 and paper.paper_next_sheet(batch, 2) == 1


def test_keying_errors_are_refused_and_store_nothing(official, volunteer):
    """What the volunteer typed wrong is not a property of the ballot: refused, nothing stored."""
    world = world_with_site(official, designs={**APPROVAL, "B": {"method": "cumulative", "points_total": 10}})
    batch = new_batch(world, volunteer)
    batch_b = new_batch(world, volunteer, district="B")
    before = paper_rows()
    cases = [
        (batch, picks("A-01", "Z-99"), paper.MSG_UNKNOWN_CODE % {"codes": "Z-99"}),
        (batch, picks("B-01"), paper.MSG_UNKNOWN_CODE % {"codes": "B-01"}),  # another ward's project
        (batch, picks("A-01", "A-01"), paper.MSG_KEYED_TWICE % {"codes": "A-01"}),
        (batch, SheetMarks(ranks={"A-01": 1}), paper.MSG_WRONG_MARKS % {"method": "checked boxes"}),
        (batch_b, SheetMarks(points={"B-01": -3}), paper.MSG_NOT_WHOLE % {"codes": "B-01"}),
        (batch_b, SheetMarks(points={"B-01": "x"}), paper.MSG_NOT_WHOLE % {"codes": "B-01"}),
        (batch, SheetMarks(picks=("A-01",), unreadable="torn"), paper.MSG_UNREADABLE_AND_MARKS),
    ]
    for target, marks, message in cases:
        with pytest.raises(ValidationFailed) as excinfo:
            key(target, volunteer, 1, 1, marks)
        assert errors_of(excinfo) == [str(message)]
    assert paper_rows() == before


@pytest.mark.parametrize(
    ("designs", "marks", "reason"),
    [
        (APPROVAL, picks("A-01", "A-02", "A-03"), "Choose at most 2 projects (you chose 3)."),
        (APPROVAL, picks(), str(MESSAGES["empty"])),
        (KNAPSACK, picks("A-01", "A-03"), "Your choices cost $50,000.01"),  # replaced below
        (RANKED, SheetMarks(ranks={"A-01": 1, "A-02": 3}), str(MESSAGES["rank_gap"]) % {"ranks": "1, 3"}),
        (RANKED, SheetMarks(ranks={"A-01": 1, "A-02": 1}), str(MESSAGES["rank_repeated"])),
        (RANKED, SheetMarks(ranks={"A-01": 0}), str(MESSAGES["rank_invalid"])),
        (CUMULATIVE, SheetMarks(points={"A-01": 6, "A-02": 5}), "You gave 11 points; you have 10 to spread."),
        (CUMULATIVE, SheetMarks(points={"A-01": 7}), "No project can get more than 6 points (A-01)."),
        (APPROVAL, SheetMarks(unreadable="Torn in half"), "Cannot be counted: Torn in half"),
    ],
    ids=["too-many", "blank", "over-budget", "rank-gap", "rank-repeated", "rank-zero", "points-over", "cap", "torn"],
)
def test_a_sheet_that_breaks_the_rules_is_recorded_invalid_and_never_a_ballot(
    official, volunteer, volunteer2, designs, marks, reason
):
    world = world_with_site(official, designs=designs)
    if designs is KNAPSACK:
        marks, reason = picks("A-02", "A-03", "A-01"), "Your choices cost $65,000, more than the budget of $50,000."
    batch = new_batch(world, volunteer, issued=2)
    key_both(batch, volunteer, volunteer2, {1: marks, 2: marks})
    entries = PaperEntry.objects.filter(batch=batch, sheet=1)
    assert [e.invalid_reason for e in entries] == [reason, reason]

    paper.paper_batch_reconcile(actor=official, batch=batch)
    assert Ballot.objects.count() == 0 and VoterRollEntry.objects.count() == 0
    state = paper.paper_batch_state(PaperBatch.objects.get())
    assert (state.valid, state.invalid) == (0, 2)
    assert AuditEvent.objects.get(action="paper_batch.reconcile").after["invalid"] == 2
    assert_roll_matches_ballots()


def test_valid_ranked_and_cumulative_sheets_become_ballots_in_canonical_order(official, volunteer, volunteer2):
    world = world_with_site(official, designs={**RANKED, "B": {"method": "cumulative", "points_total": 10}})
    ranked = new_batch(world, volunteer, issued=1)
    cumulative = new_batch(world, volunteer, issued=1, district="B")
    key_both(ranked, volunteer, volunteer2, {1: SheetMarks(ranks={"A-03": 1, "A-01": 2})})
    key_both(cumulative, volunteer, volunteer2, {1: SheetMarks(points={"B-03": 3, "B-01": 7, "B-02": 0})})
    assert PaperEntry.objects.filter(batch=ranked).first().points == [1, 2]  # the ranks as written
    paper.paper_batch_reconcile(actor=official, batch=ranked)
    paper.paper_batch_reconcile(actor=official, batch=cumulative)
    stored = {b.district.code: (b.choices, b.points) for b in Ballot.objects.select_related("district")}
    assert stored == {"A": (["A-03", "A-01"], None), "B": (["B-01", "B-03"], [7, 3])}
    assert_roll_matches_ballots()


def test_mismatches_are_listed_and_an_official_resolves_them(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=3)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer, 1, 2, picks("A-01"))  # the sheet says A-02
    key(batch, volunteer, 1, 3, picks("A-03"))
    key(batch, volunteer2, 2, 1, picks("A-01"))
    key(batch, volunteer2, 2, 2, picks("A-02"))

    mismatches = paper.paper_mismatches(batch)
    assert [(m.sheet, m.missing_pass, m.resolved) for m in mismatches] == [(2, None, False), (3, 2, False)]
    assert (mismatches[0].first.choices, mismatches[0].second.choices) == (["A-01"], ["A-02"])
    with pytest.raises(Conflict) as excinfo:
        paper.paper_batch_reconcile(actor=official, batch=batch)
    assert [str(p) for p in excinfo.value.extra["reconcile"]] == [
        paper.MSG_MISSING % {"pass": 2, "sheets": "3"},
        paper.MSG_UNRESOLVED % {"sheets": "2"},
        paper.MSG_COUNTS % {"issued": 3, "valid": 1, "invalid": 0, "spoiled": 0},
    ]

    before = paper_rows()
    with pytest.raises(NotAllowed):
        paper.paper_sheet_resolve(actor=volunteer, batch=batch, sheet=2, marks=picks("A-02"))
    with pytest.raises(Conflict) as excinfo:
        paper.paper_sheet_resolve(actor=official, batch=batch, sheet=1, marks=picks("A-02"))
    assert excinfo.value.message == paper.MSG_NOTHING_TO_RESOLVE % {"sheet": 1}
    with pytest.raises(Conflict) as excinfo:
        paper.paper_sheet_resolve(actor=official, batch=batch, sheet=3, marks=picks("A-03"))
    assert excinfo.value.message == paper.MSG_NOT_BOTH_PASSES % {"sheet": 3}
    with pytest.raises(ValidationFailed):
        paper.paper_sheet_resolve(actor=official, batch=batch, sheet=2, marks=picks("A-09"))
    assert paper_rows() == before

    paper.paper_sheet_resolve(actor=official, batch=batch, sheet=2, marks=picks("A-01"), note="first look")
    resolution = paper.paper_sheet_resolve(actor=official, batch=batch, sheet=2, marks=picks("A-02"), note="A-02")
    assert PaperResolution.objects.get() == resolution and resolution.choices == ["A-02"]
    events = AuditEvent.objects.filter(action="paper_sheet.resolve").order_by("id")
    assert [(e.before, e.after, e.reason) for e in events] == [
        ({}, {"sheet": 2, "invalid": False}, "first look"),
        ({"sheet": 2, "invalid": False}, {"sheet": 2, "invalid": False}, "A-02"),
    ]
    key(batch, volunteer2, 2, 3, picks("A-03"))
    assert [(m.sheet, m.resolved) for m in paper.paper_mismatches(batch)] == [(2, True)]
    paper.paper_batch_reconcile(actor=official, batch=batch)
    assert sorted(Ballot.objects.values_list("choices", flat=True)) == [["A-01"], ["A-02"], ["A-03"]]
    assert_roll_matches_ballots()


def test_a_resolution_can_make_a_sheet_invalid(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=1)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer2, 2, 1, picks("A-01", "A-02", "A-03"))
    paper.paper_sheet_resolve(actor=official, batch=batch, sheet=1, marks=SheetMarks(unreadable="Two names written"))
    paper.paper_batch_reconcile(actor=official, batch=batch)
    assert Ballot.objects.count() == 0
    assert paper.paper_batch_state(batch).invalid == 1
    assert_roll_matches_ballots()


def test_reconciliation_is_refused_while_the_counts_do_not_add_up(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=4)
    key_both(batch, volunteer, volunteer2, {1: picks("A-01"), 2: picks("A-02"), 3: picks("A-03")})
    before = paper_rows()
    with pytest.raises(Conflict) as excinfo:
        paper.paper_batch_reconcile(actor=official, batch=batch)
    assert excinfo.value.message == paper.MSG_NOT_RECONCILABLE
    assert [str(p) for p in excinfo.value.extra["reconcile"]] == [
        paper.MSG_MISSING % {"pass": 1, "sheets": "4"},
        paper.MSG_MISSING % {"pass": 2, "sheets": "4"},
        paper.MSG_COUNTS % {"issued": 4, "valid": 3, "invalid": 0, "spoiled": 0},
    ]
    assert paper_rows() == before
    assert PaperBatch.objects.get().status == PaperBatch.Status.KEYING

    # Corrections: officials only, with a reason, never below the sheets keyed already.
    with pytest.raises(NotAllowed):
        paper.paper_batch_counts_update(actor=volunteer, batch=batch, issued=4, spoiled=1, reason="one spoiled")
    with pytest.raises(ValidationFailed) as excinfo:
        paper.paper_batch_counts_update(actor=official, batch=batch, issued=4, spoiled=2, reason="")
    assert errors_of(excinfo, "reason") == [str(paper.MSG_REASON)] and set(excinfo.value.extra) == {"reason"}
    with pytest.raises(ValidationFailed) as excinfo:
        paper.paper_batch_counts_update(actor=official, batch=batch, issued=4, spoiled=2, reason="two spoiled")
    assert errors_of(excinfo, "issued") == [paper.MSG_COUNTS_BELOW_KEYED % {"sheet": 3}]
    with pytest.raises(ValidationFailed) as excinfo:
        paper.paper_batch_counts_update(actor=official, batch=batch, issued=4, spoiled=5, reason="typo")
    assert errors_of(excinfo, "spoiled") == [str(paper.MSG_SPOILED)]
    assert paper_rows() == before

    paper.paper_batch_counts_update(actor=official, batch=batch, issued=4, spoiled=1, reason="One found spoiled.")
    event = AuditEvent.objects.get(action="paper_batch.counts_update")
    assert (event.before, event.after, event.reason) == (
        {"issued": 4, "spoiled": 0},
        {"issued": 4, "spoiled": 1},
        "One found spoiled.",
    )
    paper.paper_batch_reconcile(actor=official, batch=batch)
    assert Ballot.objects.count() == 3
    assert_roll_matches_ballots()


def test_reconciliation_is_for_officials(official, volunteer, volunteer2, official_without_mfa):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=1)
    key_both(batch, volunteer, volunteer2, {1: picks("A-01")})
    for actor in (volunteer, official_without_mfa):
        with pytest.raises(NotAllowed):
            paper.paper_batch_reconcile(actor=actor, batch=batch)
    assert Ballot.objects.count() == 0 and PaperBatch.objects.get().status == PaperBatch.Status.KEYING


def test_nothing_changes_after_reconciliation(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=2)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer, 1, 2, picks("A-01"))
    key(batch, volunteer2, 2, 1, picks("A-01"))
    key(batch, volunteer2, 2, 2, picks("A-02"))
    paper.paper_sheet_resolve(actor=official, batch=batch, sheet=2, marks=picks("A-02"))
    paper.paper_batch_reconcile(actor=official, batch=batch)
    before = paper_rows()
    attempts = [
        lambda: key(batch, volunteer, 1, 1, picks("A-02")),
        lambda: paper.paper_sheet_resolve(actor=official, batch=batch, sheet=2, marks=picks("A-01")),
        lambda: paper.paper_batch_counts_update(actor=official, batch=batch, issued=3, spoiled=1, reason="late"),
        lambda: paper.paper_batch_reconcile(actor=official, batch=batch),
    ]
    for attempt in attempts:
        with pytest.raises(paper.BatchReconciled) as excinfo:
            attempt()
        assert excinfo.value.message == paper.MSG_RECONCILED
    assert paper_rows() == before
    assert_roll_matches_ballots()


def test_paper_entry_follows_the_phase(official, volunteer, volunteer2):
    world = vetting_world(official)
    design(world, APPROVAL)
    site = voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    world.site = site
    with pytest.raises(PhaseClosed) as excinfo:  # before voting
        new_batch(world, volunteer)
    assert excinfo.value.message == paper.MSG_PAPER_CLOSED
    open_voting(world)
    batch = new_batch(world, volunteer, issued=2)  # voting
    key(batch, volunteer, 1, 1, picks("A-01"))
    cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: voting closed.")
    key(batch, volunteer, 1, 2, picks("A-02"))  # counting
    late = new_batch(world, volunteer2, issued=1, label="Box 2")
    Cycle.objects.filter(pk=world.cycle.pk).update(phase=Phase.RESULTS)  # certified (its own service)
    before = paper_rows()
    for attempt in (
        lambda: key(batch, volunteer2, 2, 1, picks("A-01")),
        lambda: new_batch(world, volunteer, label="Box 3"),
        lambda: paper.paper_batch_reconcile(actor=official, batch=late),
        lambda: paper.paper_batch_counts_update(actor=official, batch=batch, issued=3, spoiled=0, reason="x"),
    ):
        with pytest.raises(PhaseClosed):
            attempt()
    assert paper_rows() == before


def test_opening_a_batch_checks_its_fields(official, volunteer, resident, vetting_staff, auditor):
    world = world_with_site(official)
    other = voting_world(official, wards="AB")
    other_site = voting_site_create(actor=official, cycle=other.cycle, name="Library")
    closed = voting_site_create(actor=official, cycle=world.cycle, name="School")
    voting_site_set_active(actor=official, site=closed, active=False)
    new_batch(world, volunteer, label="Box 1")
    before = paper_rows()
    cases = [
        ({"label": "  "}, "label", paper.MSG_LABEL),
        ({"label": "Box 1"}, "label", paper.MSG_LABEL_TAKEN),
        ({"site": other_site}, "site", paper.MSG_SITE),
        ({"site": closed}, "site", paper.MSG_SITE),
        ({"district": "C"}, "district", paper.MSG_DISTRICT),  # ward C has no projects: no ballot
        ({"issued": 0}, "issued", paper.MSG_ISSUED % {"max": paper.MAX_ISSUED}),
        ({"issued": 3, "spoiled": 4}, "spoiled", paper.MSG_SPOILED),
        ({"voted_on": today(world) + timedelta(days=1)}, "voted_on", paper.MSG_DAY_FUTURE),
    ]
    for kwargs, field, message in cases:
        kwargs = {"label": "Box 9", **kwargs}
        with pytest.raises(ValidationFailed) as excinfo:
            new_batch(world, volunteer, **kwargs)
        assert errors_of(excinfo, field) == [str(message)], kwargs
    for actor in (resident, vetting_staff, auditor, None):
        with pytest.raises(NotAllowed):
            new_batch(world, actor, label="Box 9")
    assert paper_rows() == before
    assert AuditEvent.objects.filter(action="paper_batch.create").count() == 1


def test_the_paper_record_holds_both_passes_resolutions_and_counts(official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=3, spoiled=1)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer, 1, 2, picks("A-01", "A-02", "A-03"))
    key(batch, volunteer2, 2, 1, picks("A-02"))
    key(batch, volunteer2, 2, 2, picks("A-01", "A-02", "A-03"))
    paper.paper_sheet_resolve(actor=official, batch=batch, sheet=1, marks=picks("A-02"), note="clear mark")
    paper.paper_batch_reconcile(actor=official, batch=batch)

    record = paper.paper_record(world.cycle)
    json.dumps(record)  # JSON-able as it is
    [entry] = record["batches"]
    assert {k: entry[k] for k in ("district", "site", "label", "issued", "spoiled", "valid", "invalid", "status")} == {
        "district": "A",
        "site": "City Hall",
        "label": "Box 1",
        "issued": 3,
        "spoiled": 1,
        "valid": 1,
        "invalid": 1,
        "status": "reconciled",
    }
    assert entry["voted_on"] == batch.voted_on.isoformat() and entry["reconciled_at"]
    sheet1, sheet2 = entry["sheets"]
    assert sheet1["pass_1"] == {"choices": ["A-01"], "points": None, "invalid_reason": "", "keyed_by_id": volunteer.pk}
    assert sheet1["pass_2"]["choices"] == ["A-02"] and sheet1["pass_2"]["keyed_by_id"] == volunteer2.pk
    assert sheet1["resolution"] == {
        "choices": ["A-02"],
        "points": None,
        "invalid_reason": "",
        "resolved_by_id": official.pk,
        "note": "clear mark",
    }
    assert sheet1["counted_as"] == "valid"
    assert sheet2["resolution"] is None and sheet2["counted_as"] == "invalid"
    assert sheet2["pass_1"]["invalid_reason"] == "Choose at most 2 projects (you chose 3)."


# --- pages -----------------------------------------------------------------------------------------
def batch_urls(world, batch):
    slug = world.cycle.slug
    return {
        "list": ("get", reverse("paper_batch_list", args=[slug])),
        "create": ("get", reverse("paper_batch_create", args=[slug])),
        "detail": ("get", reverse("paper_batch_detail", args=[slug, batch.pk])),
        "key": ("get", reverse("paper_sheet_key", args=[slug, batch.pk, 1])),
        "mismatches": ("get", reverse("paper_mismatches", args=[slug, batch.pk])),
        "counts": ("post", reverse("paper_batch_counts", args=[slug, batch.pk])),
        "reconcile": ("post", reverse("paper_batch_reconcile", args=[slug, batch.pk])),
    }


SITE_PAGES = ("list", "create", "detail", "key")
OFFICIAL_PAGES = ("mismatches", "counts", "reconcile")


@pytest.mark.parametrize(
    "role", ["anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor"]
)
def test_permissions_matrix(client, official, volunteer, role, request, denials):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=2)
    user = None if role == "anonymous" else request.getfixturevalue(role)
    if user is not None:
        client.force_login(user)
    for name, (method, url) in batch_urls(world, batch).items():
        allowed = role == "official" or (role == "volunteer" and name in SITE_PAGES)
        denied_before = len(denials())
        rows = paper_rows()
        data = {"issued": "2", "spoiled": "0", "reason": "check"} if name == "counts" else {}
        response = getattr(client, method)(url, data)
        denied = len(denials()) - denied_before
        if allowed:
            assert response.status_code in (200, 302), (name, response.status_code)
            if response.status_code == 302:
                assert "login" not in response["Location"] and "mfa" not in response["Location"]
            assert denied == 0, name
            continue
        if role == "anonymous":
            assert response.status_code == 302 and response["Location"].startswith(reverse("account_login")), name
        elif role == "official_without_mfa":
            assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp"), name
        else:
            assert response.status_code == 403, (name, role)
        assert denied == 1, (name, role)
        assert paper_rows() == rows  # nothing changed, the audit log included
    # The printable ballot is public once voting has opened.
    response = client.get(reverse("paper_ballot", args=[world.cycle.slug, "A"]))
    assert response.status_code == 200


def test_a_volunteer_keys_sheets_through_the_page(client, official, volunteer, volunteer2):
    world = world_with_site(official, designs=KNAPSACK)
    batch = new_batch(world, volunteer, issued=3)
    url = reverse("paper_sheet_key", args=[world.cycle.slug, batch.pk, 1])
    client.force_login(volunteer)
    page = client.get(url)
    assert page.status_code == 200
    assert re.search(r'name="sheet"[^>]*value="1"', page.content.decode())
    assert 'name="project" value="A-01"' in page.content.decode()

    response = client.post(url, {"sheet": "1", "project": ["A-01", "A-02"]})
    assert response.status_code == 302 and response["Location"] == url
    page = client.get(url)
    body = page.content.decode()
    assert escape("Sheet 1 saved in pass 1.") in body
    assert re.search(r'name="sheet"[^>]*value="2"', body)  # the next sheet, filled in

    # The voter's mistake: stored, invalid, with the reason.
    response = client.post(url, {"sheet": "2", "project": ["A-01", "A-02", "A-03"]}, follow=True)
    assert escape("recorded as invalid: Your choices cost $65,000, more than the budget of $50,000.") in (
        response.content.decode()
    )
    assert PaperEntry.objects.get(sheet=2).invalid_reason.startswith("Your choices cost $65,000")

    # The volunteer's mistakes: refused, shown, kept as typed, nothing stored.
    before = paper_rows()
    for data, message in [
        ({"sheet": "3", "project": ["A-01", "A-77"]}, paper.MSG_UNKNOWN_CODE % {"codes": "A-77"}),
        ({"sheet": "3", "project": ["A-01", "A-01"]}, paper.MSG_KEYED_TWICE % {"codes": "A-01"}),
        ({"sheet": "1", "project": ["A-03"]}, paper.MSG_ALREADY_KEYED % {"sheet": 1, "pass": 1}),
        ({"sheet": "9", "project": ["A-03"]}, paper.MSG_SHEET_RANGE % {"n": 3, "issued": 3, "spoiled": 0}),
        ({"sheet": "3", "unreadable": "on"}, "Say why the sheet cannot be counted."),
        ({"sheet": "3", "unreadable": "on", "reason": "torn", "project": ["A-01"]}, paper.MSG_UNREADABLE_AND_MARKS),
    ]:
        response = client.post(url, data)
        assert response.status_code == 400, data
        body = response.content.decode()
        assert 'role="alert"' in body and escape(str(message)) in body, data
        assert re.search(r'name="project" value="A-01"[^>]*checked', body) or "A-01" not in data.get("project", [])
    assert paper_rows() == before

    # Pass 2 is closed to this volunteer, open to another.
    url2 = reverse("paper_sheet_key", args=[world.cycle.slug, batch.pk, 2])
    response = client.get(url2)
    assert response.status_code == 403
    assert escape(str(paper.MSG_OTHER_PASS % {"other": 1, "pass": 2})) in response.content.decode()
    detail = client.get(reverse("paper_batch_detail", args=[world.cycle.slug, batch.pk])).content.decode()
    assert "You keyed the other pass, so you cannot key pass 2" in detail
    client.force_login(volunteer2)
    assert client.get(url2).status_code == 200


def test_ranked_and_cumulative_keying_pages(client, official, volunteer):
    world = world_with_site(official, designs={**RANKED, "B": {"method": "cumulative", "points_total": 10}})
    ranked = new_batch(world, volunteer, issued=2)
    cumulative = new_batch(world, volunteer, issued=2, district="B")
    client.force_login(volunteer)
    url = reverse("paper_sheet_key", args=[world.cycle.slug, ranked.pk, 1])
    assert 'name="rank-A-01"' in client.get(url).content.decode()
    client.post(url, {"sheet": "1", "rank-A-01": "1", "rank-A-03": "3"})
    assert PaperEntry.objects.get(batch=ranked).invalid_reason == str(MESSAGES["rank_gap"]) % {"ranks": "1, 3"}
    response = client.post(url, {"sheet": "2", "rank-A-01": "first"})
    assert response.status_code == 400
    assert escape(paper.MSG_NOT_WHOLE % {"codes": "A-01"}) in response.content.decode()
    assert 'value="first"' in response.content.decode()  # kept as typed

    url = reverse("paper_sheet_key", args=[world.cycle.slug, cumulative.pk, 1])
    client.post(url, {"sheet": "1", "points-B-01": "4", "points-B-02": "0", "points-B-03": "6"})
    entry = PaperEntry.objects.get(batch=cumulative)
    assert (entry.choices, entry.points, entry.invalid_reason) == (["B-03", "B-01"], [6, 4], "")
    client.post(url, {"sheet": "2", "points-B-01": "8", "points-B-03": "6"})
    assert PaperEntry.objects.get(batch=cumulative, sheet=2).invalid_reason == (
        "You gave 14 points; you have 10 to spread."
    )


def test_an_official_resolves_and_reconciles_through_the_pages(client, official, volunteer, volunteer2):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=3, spoiled=1)
    key(batch, volunteer, 1, 1, picks("A-01"))
    key(batch, volunteer, 1, 2, picks("A-03"))
    key(batch, volunteer2, 2, 1, picks("A-01"))
    key(batch, volunteer2, 2, 2, picks("A-02", "A-03"))
    slug = world.cycle.slug
    client.force_login(official)

    detail = client.get(reverse("paper_batch_detail", args=[slug, batch.pk])).content.decode()
    assert escape(paper.MSG_UNRESOLVED % {"sheets": "2"}) in detail
    response = client.post(reverse("paper_batch_reconcile", args=[slug, batch.pk]), follow=True)
    assert escape(paper.MSG_UNRESOLVED % {"sheets": "2"}) in response.content.decode()
    assert Ballot.objects.count() == 0

    url = reverse("paper_mismatches", args=[slug, batch.pk])
    page = client.get(url).content.decode()
    assert "Sheet 2" in page and page.count("(differs)") == 1  # A-02 differs; A-03 agrees
    response = client.post(url, {"sheet": "2", "project": ["A-02", "A-99"]})
    assert response.status_code == 400
    assert escape(paper.MSG_UNKNOWN_CODE % {"codes": "A-99"}) in response.content.decode()
    response = client.post(url, {"sheet": "2", "project": ["A-02", "A-03"], "s2-note": "Both marked"}, follow=True)
    assert "Sheet 2 resolved." in response.content.decode()
    assert PaperResolution.objects.get().choices == ["A-02", "A-03"]
    assert PaperResolution.objects.get().note == "Both marked"

    response = client.post(
        reverse("paper_batch_counts", args=[slug, batch.pk]), {"issued": "3", "spoiled": "0", "reason": ""}
    )
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    response = client.post(reverse("paper_batch_reconcile", args=[slug, batch.pk]), follow=True)
    assert "Batch reconciled. Ballots stored: 2. Invalid sheets: 0. Spoiled: 1." in response.content.decode()
    assert Ballot.objects.count() == 2
    assert_roll_matches_ballots()
    page = client.get(reverse("paper_batch_detail", args=[slug, batch.pk])).content.decode()
    assert "nothing in this batch can change any more" in page
    assert "Reconcile this batch" not in page


def test_opening_a_batch_through_the_page(client, official, volunteer):
    world = world_with_site(official)
    slug = world.cycle.slug
    client.force_login(volunteer)
    url = reverse("paper_batch_create", args=[slug])
    page = client.get(url).content.decode()
    assert "City Hall" in page and "A · Ward A" in page
    district = world.district("A")
    data = {
        "district": str(district.pk),
        "site": str(world.site.pk),
        "label": "Box 7",
        "voted_on": today(world).isoformat(),
        "issued": "5",
        "spoiled": "1",
    }
    response = client.post(url, {**data, "spoiled": "9"})
    assert response.status_code == 400 and escape(str(paper.MSG_SPOILED)) in response.content.decode()
    assert PaperBatch.objects.count() == 0
    response = client.post(url, data)
    batch = PaperBatch.objects.get()
    assert response["Location"] == reverse("paper_batch_detail", args=[slug, batch.pk])
    assert (batch.label, batch.issued, batch.spoiled, batch.created_by_id) == ("Box 7", 5, 1, volunteer.pk)
    listing = client.get(reverse("paper_batch_list", args=[slug])).content.decode()
    assert "Box 7" in listing and reverse("paper_ballot", args=[slug, "A"]) in listing


def test_pages_follow_the_phase(client, official, volunteer):
    world = vetting_world(official)
    design(world, APPROVAL)
    voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    slug = world.cycle.slug
    client.force_login(volunteer)
    listing = client.get(reverse("paper_batch_list", args=[slug])).content.decode()
    assert escape(str(paper.MSG_PAPER_CLOSED)) in listing
    assert reverse("paper_batch_create", args=[slug]) not in listing
    response = client.get(reverse("paper_batch_create", args=[slug]), follow=True)
    assert escape(str(paper.MSG_PAPER_CLOSED)) in response.content.decode()
    # The printable ballot is a draft for officials only until voting opens.
    print_url = reverse("paper_ballot", args=[slug, "A"])
    assert client.get(print_url).status_code == 403
    client.logout()
    assert client.get(print_url).status_code == 302
    client.force_login(official)
    assert "DRAFT" in client.get(print_url).content.decode()

    open_voting(world)
    client.force_login(volunteer)
    listing = client.get(reverse("paper_batch_list", args=[slug])).content.decode()
    assert reverse("paper_batch_create", args=[slug]) in listing
    assert "DRAFT" not in client.get(print_url).content.decode()

    Cycle.objects.filter(pk=world.cycle.pk).update(phase=Phase.RESULTS)
    listing = client.get(reverse("paper_batch_list", args=[slug])).content.decode()
    assert escape(str(paper.MSG_PAPER_CLOSED)) in listing
    assert reverse("paper_batch_create", args=[slug]) not in listing


@pytest.mark.parametrize(
    ("designs", "expected"),
    [
        (APPROVAL, ["Mark the box (✗ or ✓) of each project you want funded.", "Choose between 1 and 2 projects."]),
        (KNAPSACK, ["Their total cost must fit the budget of $50,000."]),
        (RANKED, ["Write 1 in the box of your first choice", "Rank up to 3 projects"]),
        (CUMULATIVE, ["Write a number of points in the box", "Spread 10 points", "At most 6 points per project."]),
    ],
    ids=["approval", "knapsack", "ranked", "cumulative"],
)
def test_the_printable_ballot_for_each_method(client, official, designs, expected):
    world = voting_world(official, designs=designs)
    response = client.get(reverse("paper_ballot", args=[world.cycle.slug, "A"]))
    assert response.status_code == 200
    body = response.content.decode()
    for text in expected:
        assert escape(text) in body, text
    for code, cost in (("A-01", "$20,000"), ("A-02", "$15,000"), ("A-03", "$30,000")):
        assert code in body and cost in body
    assert "B-01" not in body  # another ward's ballot
    # The page size is a static stylesheet (no inline style under the content security policy).
    assert 'href="/static/css/paper-letter.css"' in body and "Sheet no." in body
    a4 = client.get(reverse("paper_ballot", args=[world.cycle.slug, "A"]) + "?size=a4").content.decode()
    assert 'href="/static/css/paper-a4.css"' in a4 and "paper-letter.css" not in a4


def test_the_printable_ballot_in_spanish(client, official):
    world = vetting_world(official, projects={"A": []})
    idea = paper_idea(world.cycle, official, "A")
    make_project(world.cycle, official, [idea], code="A-01", cost="20000", texts=texts("Street trees", "Árboles"))
    make_project(world.cycle, official, [idea], code="A-02", cost="15000", texts=texts("Benches", "Bancas"))
    design(world, {})
    open_voting(world)
    url = reverse("paper_ballot", args=[world.cycle.slug, "A"])
    english = client.get(url).content.decode()
    assert "Street trees" in english and "Árboles" not in english and 'lang="en"' in english
    spanish = client.get(url + "?lang=es").content.decode()
    assert escape("Árboles") in spanish and "Street trees" not in spanish
    assert '<main class="sheet" lang="es"' in spanish
    assert "Bancas" in spanish and "Benches" not in spanish
    assert "$20,000" in spanish or "20.000" in spanish or "20,000" in spanish
    assert client.get(url + "?lang=xx").status_code == 200  # an unknown language: the default
    assert client.get(reverse("paper_ballot", args=[world.cycle.slug, "Z"])).status_code == 404


def test_the_printable_ballot_intro_is_in_the_ballots_language(client, official):
    world = vetting_world(official, projects={"A": [("A-01", "20000")]})
    design(world, {"A": {"intro": "Mark up to two.", "intro_translations": {"es": "Marque hasta dos."}}})
    world.cycle.extra_languages = ["fr"]
    world.cycle.save()
    open_voting(world)
    url = reverse("paper_ballot", args=[world.cycle.slug, "A"])
    assert "<p>Mark up to two.</p>" in client.get(url).content.decode()
    spanish = client.get(url + "?lang=es").content.decode()
    assert "<p>Marque hasta dos.</p>" in spanish and "Mark up to two." not in spanish
    french = client.get(url + "?lang=fr").content.decode()  # no translation: the main text, marked
    assert '<main class="sheet" lang="fr"' in french and '<p lang="en">Mark up to two.</p>' in french


def test_roll_equals_ballots_per_district_after_paper_and_online(official, volunteer, volunteer2):
    """Paper ballots join the online ones without breaking roll = ballots."""
    world = world_with_site(official)
    services.ballot_cast(voter=voter(1), district=world.district("A"), ballot=methods.Ballot(choices=("A-01",)))
    batch = new_batch(world, volunteer, issued=1)
    key_both(batch, volunteer, volunteer2, {1: picks("A-02")})
    paper.paper_batch_reconcile(actor=official, batch=batch)
    counts = dict(Ballot.objects.values_list("channel").annotate(n=Count("id")))
    assert counts == {"online": 1, "paper": 1}
    assert_roll_matches_ballots()


# --- concurrency (PostgreSQL, real threads) ----------------------------------------------------------
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_person_keying_both_passes_at_once_gets_only_one(official, volunteer):
    world = world_with_site(official)
    batch = new_batch(world, volunteer, issued=20)
    jobs = [
        (lambda n=n: key(batch, volunteer, 1 + n % 2, 1 + n // 2, picks("A-01"))) for n in range(20)
    ]  # sheets 1..10, each in pass 1 and pass 2, all at once
    results = run_at_once(jobs)
    passes = set(PaperEntry.objects.filter(batch=batch).values_list("pass_no", flat=True))
    assert len(passes) == 1
    outcomes = Counter(outcome for outcome, _value in results)
    assert outcomes == {"ok": 10, "NotAllowed": 10}
    assert AuditEvent.objects.filter(action="paper_sheet.key").count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_officials_reconciling_at_once_store_the_ballots_once(official, volunteer, volunteer2):
    world = world_with_site(official)
    other_official = user_with_role("official")
    batch = new_batch(world, volunteer, issued=3)
    key_both(batch, volunteer, volunteer2, {1: picks("A-01"), 2: picks("A-02"), 3: picks("A-03")})
    results = run_at_once(
        [lambda a=a: paper.paper_batch_reconcile(actor=a, batch=batch) for a in (official, other_official)] * 3
    )
    assert Counter(outcome for outcome, _value in results) == {"ok": 1, "BatchReconciled": 5}
    assert Ballot.objects.count() == 3 and VoterRollEntry.objects.count() == 3
    assert AuditEvent.objects.filter(action="paper_batch.reconcile").count() == 1
    assert_roll_matches_ballots()
