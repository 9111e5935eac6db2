"""The phase machine's tables (budgets/phases.py): vocabulary, transitions, capabilities."""

import pytest

from budgets import phases
from budgets.models import Cycle
from budgets.phases import (
    CAPABILITIES,
    PHASE_ORDER,
    RESIDENT_GUIDANCE,
    SCHEDULE_FIELDS,
    TRANSITIONS,
    Capability,
    Phase,
)


def test_phase_order_is_the_documented_line():
    assert [p.value for p in PHASE_ORDER] == [
        "draft",
        "ideas",
        "vetting",
        "voting",
        "counting",
        "results",
        "implementation",
        "archived",
    ]


def test_transitions_form_a_line_through_every_phase():
    assert list(TRANSITIONS) == list(zip(PHASE_ORDER, PHASE_ORDER[1:], strict=False))
    for (source, target), transition in TRANSITIONS.items():
        assert (transition.source, transition.target) == (source, target)


def test_only_certification_is_not_generic():
    assert [key for key, t in TRANSITIONS.items() if not t.generic] == [(Phase.COUNTING, Phase.RESULTS)]
    assert TRANSITIONS[(Phase.COUNTING, Phase.RESULTS)].scheduled_field is None


def test_schedule_fields_are_cycle_fields_in_boundary_order():
    assert SCHEDULE_FIELDS == ("ideas_open_at", "vetting_open_at", "voting_open_at", "voting_close_at")
    for name in SCHEDULE_FIELDS:
        Cycle._meta.get_field(name)  # raises FieldDoesNotExist if the table names a missing field


def test_every_phase_has_capabilities_and_guidance():
    assert set(CAPABILITIES) == set(Phase)
    assert set(RESIDENT_GUIDANCE) == set(Phase)
    assert all(str(text) for text in RESIDENT_GUIDANCE.values())


@pytest.mark.parametrize("phase", list(Phase))
def test_only_draft_is_private_and_configurable(phase):
    assert phases.phase_allows(phase, Capability.PUBLIC) is (phase != Phase.DRAFT)
    assert phases.phase_allows(phase, Capability.CONFIGURE) is (phase == Phase.DRAFT)


def test_capabilities_that_belong_to_one_phase():
    holders = {c: {p for p in Phase if c in CAPABILITIES[p]} for c in Capability}
    assert holders[Capability.SUBMIT_IDEAS] == {Phase.IDEAS}
    assert holders[Capability.VET_IDEAS] == {Phase.VETTING}
    assert holders[Capability.CAST_BALLOTS] == {Phase.VOTING}
    assert holders[Capability.PAUSE_VOTING] == {Phase.VOTING}
    assert holders[Capability.EXTEND_VOTING] == {Phase.VOTING}
    # Counting runs the tally; after certification it can re-run (a withdrawn project, a check).
    assert holders[Capability.RUN_TALLY] == {Phase.COUNTING, Phase.RESULTS, Phase.IMPLEMENTATION}
    assert holders[Capability.REVIEW_PROVISIONAL] == {Phase.COUNTING}
    # The lottery draw and certification: after voting, before anything is public.
    assert holders[Capability.CERTIFY_RESULTS] == {Phase.COUNTING}
    assert holders[Capability.ENTER_PAPER_BALLOTS] == {Phase.VOTING, Phase.COUNTING}
    assert holders[Capability.VIEW_RESULTS] == {Phase.RESULTS, Phase.IMPLEMENTATION, Phase.ARCHIVED}
    # Editing a cycle under way: texts until the archive; dates, districts and budgets until voting
    # opens (then they are fingerprinted); new districts until vetting ends.
    assert holders[Capability.EDIT_TEXTS] == set(Phase) - {Phase.ARCHIVED}
    before_voting = {Phase.DRAFT, Phase.IDEAS, Phase.VETTING}
    assert holders[Capability.MOVE_DATES] == holders[Capability.EDIT_DISTRICTS] == before_voting
    assert holders[Capability.ADD_DISTRICT] == before_voting


@pytest.mark.parametrize("source", list(Phase))
def test_transition_next(source):
    nxt = phases.transition_next(source)
    index = PHASE_ORDER.index(source)
    if index == len(PHASE_ORDER) - 1:
        assert nxt is None
    else:
        assert nxt.target == PHASE_ORDER[index + 1]


def test_transition_get_accepts_strings_and_refuses_unknown_pairs():
    assert phases.transition_get("ideas", "vetting") is TRANSITIONS[(Phase.IDEAS, Phase.VETTING)]
    assert phases.transition_get("ideas", "results") is None
    assert phases.transition_get("vetting", "ideas") is None
    with pytest.raises(ValueError):
        phases.transition_get("ideas", "nonsense")


def test_phase_reached():
    assert phases.phase_reached("voting", "ideas")
    assert phases.phase_reached("voting", "voting")
    assert not phases.phase_reached("ideas", "voting")


def test_register_guard_hook_and_effect_append_to_the_transition(clean_transitions):
    def guard(*, cycle):
        pass

    def hook(*, cycle, actor):
        pass

    def effect(*, cycle_id):
        pass

    phases.register_guard(Phase.IDEAS, Phase.VETTING, guard)
    phases.register_hook(Phase.IDEAS, Phase.VETTING, hook)
    phases.register_effect(Phase.IDEAS, Phase.VETTING, effect)
    transition = TRANSITIONS[(Phase.IDEAS, Phase.VETTING)]
    assert (transition.guards, transition.hooks, transition.effects) == ([guard], [hook], [effect])
    others = [t for key, t in TRANSITIONS.items() if key != (Phase.IDEAS, Phase.VETTING)]
    assert all(not t.guards and not t.hooks and not t.effects for t in others)
    with pytest.raises(KeyError):
        phases.register_guard(Phase.IDEAS, Phase.RESULTS, guard)
    with pytest.raises(KeyError):
        phases.register_hook(Phase.VOTING, Phase.VETTING, hook)
    with pytest.raises(KeyError):
        phases.register_effect(Phase.DRAFT, Phase.ARCHIVED, effect)


def test_registering_again_adds_nothing_and_keeps_the_order(clean_transitions):
    def first(*, cycle):
        pass

    def second(*, cycle):
        pass

    def hook(*, cycle, actor):
        pass

    def effect(*, cycle_id):
        pass

    for _ in range(2):
        phases.register_guard(Phase.VOTING, Phase.COUNTING, first)
        phases.register_guard(Phase.VOTING, Phase.COUNTING, second)
        phases.register_hook(Phase.VOTING, Phase.COUNTING, hook)
        phases.register_effect(Phase.VOTING, Phase.COUNTING, effect)
    transition = TRANSITIONS[(Phase.VOTING, Phase.COUNTING)]
    assert (transition.guards, transition.hooks, transition.effects) == ([first, second], [hook], [effect])
