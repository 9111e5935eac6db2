"""Reads: public vs staff lists and the timeline."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from budgets import selectors, services
from budgets.phases import PHASE_ORDER, Phase
from tests.factories import CycleFactory

pytestmark = pytest.mark.django_db


def test_public_list_leaves_out_drafts_and_sums_budgets():
    draft = CycleFactory(phase=Phase.DRAFT)
    public = [CycleFactory(phase=p, wards="AB") for p in PHASE_ORDER if p != Phase.DRAFT]
    listed = list(selectors.cycle_list_public())
    assert {c.pk for c in listed} == {c.pk for c in public}
    assert all(c.total_budget == Decimal("100000.00") for c in listed)
    assert selectors.cycle_get_public(draft.slug) is None
    assert selectors.cycle_get_staff(draft.slug) == draft
    assert draft in selectors.cycle_list_staff()


@pytest.mark.usefixtures("clean_transitions")
def test_timeline_shows_schedule_and_when_each_phase_began(official):
    opens = timezone.now() + timedelta(days=3)
    cycle = CycleFactory(phase=Phase.DRAFT, vetting_open_at=opens)
    services.cycle_transition(actor=official, cycle=cycle, target=Phase.IDEAS, reason="Early start.")
    cycle.refresh_from_db()
    timeline = {entry.phase: entry for entry in selectors.cycle_timeline(cycle)}
    assert list(timeline) == list(PHASE_ORDER)
    assert [timeline[p].state for p in PHASE_ORDER[:3]] == ["past", "current", "future"]
    assert timeline[Phase.IDEAS].entered_at is not None
    assert timeline[Phase.VETTING].scheduled_at == opens
    assert timeline[Phase.VETTING].entered_at is None


@pytest.mark.usefixtures("clean_transitions")
def test_timelines_for_a_list_match_one_by_one(official, django_assert_num_queries):
    cycles = [CycleFactory(phase=Phase.DRAFT) for _ in range(3)]
    services.cycle_transition(actor=official, cycle=cycles[0], target=Phase.IDEAS, reason="Go.")
    services.cycle_transition(actor=official, cycle=cycles[1], target=Phase.IDEAS, reason="Go.")
    services.cycle_transition(actor=official, cycle=cycles[1], target=Phase.VETTING, reason="Go.")
    for cycle in cycles:
        cycle.refresh_from_db()
    with django_assert_num_queries(1):
        together = selectors.cycle_timelines(cycles)
    assert together == {cycle.pk: selectors.cycle_timeline(cycle) for cycle in cycles}
