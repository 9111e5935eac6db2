"""Fixtures for the budgets tests: the transition table isolated from registered guards and hooks."""

import pytest

from budgets.phases import TRANSITIONS


@pytest.fixture
def clean_transitions():
    """The transition table with no guards or hooks, restored afterwards.

    Other apps register guards (e.g. vetting → voting needs a ballot design); the phase-machine
    tests check the machine itself, so they run without them and may register their own.
    """
    saved = {key: (list(t.guards), list(t.hooks)) for key, t in TRANSITIONS.items()}
    for transition in TRANSITIONS.values():
        transition.guards.clear()
        transition.hooks.clear()
    yield TRANSITIONS
    for key, (guards, hooks) in saved.items():
        TRANSITIONS[key].guards[:] = guards
        TRANSITIONS[key].hooks[:] = hooks
