"""The phase machine's wiring (pbplatform/wiring.py): what runs on every transition, pinned; the
registry is exactly the wiring table; wiring twice adds nothing; docs/phases.md is the live table."""

import pytest
from django.conf import settings
from django.core.management import call_command

from budgets.management.commands import phase_table
from budgets.phases import TRANSITIONS, Phase
from budgets.services import transition_steps
from pbplatform import wiring

# Every transition, and everything that runs when it is taken, in order. Adding, losing or moving a
# guard, hook, effect or service step fails this test: change it together with the wiring.
PINNED = {
    "draft → ideas": [
        ("service", "budgets.services.phase_change_record"),
    ],
    "ideas → vetting": [
        ("service", "budgets.services.phase_change_record"),
    ],
    "vetting → voting": [
        ("guard", "voting.services.design.guard_ballot_ready"),
        ("hook", "voting.services.design.hook_freeze"),
        ("service", "budgets.services.phase_change_record"),
    ],
    "voting → counting": [
        ("service", "budgets.services.pause_end"),
        ("hook", "voting.services.cast.hook_erase_change_keys"),
        ("service", "budgets.services.phase_change_record"),
    ],
    "counting → results": [
        ("guard", "voting.services.review.guard_review_settled"),
        ("service", "budgets.services.phase_change_record"),
    ],
    "results → implementation": [
        ("service", "budgets.services.phase_change_record"),
    ],
    "implementation → archived": [
        ("guard", "audit.services.guard_retention"),
        ("hook", "audit.services.hook_archive"),
        ("service", "budgets.services.phase_change_record"),
    ],
}


def _registry():
    return {key: (list(t.guards), list(t.hooks), list(t.effects)) for key, t in TRANSITIONS.items()}


@pytest.fixture
def registry_restored():
    saved = _registry()
    yield
    for key, (guards, hooks, effects) in saved.items():
        TRANSITIONS[key].guards[:] = guards
        TRANSITIONS[key].hooks[:] = hooks
        TRANSITIONS[key].effects[:] = effects


def test_every_transition_runs_exactly_the_pinned_steps():
    live = {
        f"{t.source.value} → {t.target.value}": [
            (str(kind), phase_table.qualified_name(function)) for kind, function in transition_steps(t)
        ]
        for t in TRANSITIONS.values()
    }
    assert live == PINNED


def test_the_wiring_names_every_transition_of_the_table_in_order():
    assert list(wiring.WIRING) == list(TRANSITIONS)


def test_the_registry_holds_the_wiring_table_and_nothing_else():
    # Whatever is registered on a transition was put there by WIRING, in its order: no app registers
    # on the side, and nothing in WIRING was lost.
    for key, transition in TRANSITIONS.items():
        declared = wiring.WIRING[key]
        assert transition.guards == list(declared.guards), key
        assert transition.hooks == list(declared.hooks), key
        assert transition.effects == list(declared.effects), key


@pytest.mark.usefixtures("registry_restored")
def test_wiring_again_registers_nothing_twice():
    before = _registry()
    wiring.phases_wire()
    wiring.phases_wire()
    assert _registry() == before


@pytest.mark.usefixtures("registry_restored")
def test_wiring_an_empty_registry_twice_gives_the_table_once():
    for transition in TRANSITIONS.values():
        transition.guards.clear()
        transition.hooks.clear()
        transition.effects.clear()
    wiring.phases_wire()
    wiring.phases_wire()
    voting_opens = TRANSITIONS[(Phase.VETTING, Phase.VOTING)]
    assert voting_opens.guards == list(wiring.WIRING[(Phase.VETTING, Phase.VOTING)].guards)
    assert len(voting_opens.guards) == len(voting_opens.hooks) == 1
    assert sum(len(t.guards) + len(t.hooks) + len(t.effects) for t in TRANSITIONS.values()) == sum(
        len(w.guards) + len(w.hooks) + len(w.effects) for w in wiring.WIRING.values()
    )


def test_the_project_is_the_last_app_so_every_app_is_ready_before_the_wiring():
    assert settings.INSTALLED_APPS[-1] == "pbplatform.apps.PbplatformConfig"


def test_every_step_says_what_it_does():
    for transition in TRANSITIONS.values():
        for _kind, function in transition_steps(transition):
            assert phase_table.summary(function), phase_table.qualified_name(function)


def test_docs_phases_md_holds_the_live_table():
    call_command("phase_table", "--check")  # CommandError if docs/phases.md differs
