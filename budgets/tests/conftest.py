"""Fixtures for the budgets tests: the transition table isolated from registered guards and hooks."""

import pytest

from budgets.phases import TRANSITIONS


@pytest.fixture
def clean_transitions():
    """The transition table with no guards, hooks or effects, restored afterwards.

    The wiring registers guards from other apps (e.g. vetting → voting needs a ballot design); the
    phase-machine tests check the machine itself, so they run without them and may register their
    own. The service's own steps (budgets.services.STEPS_*) stay.
    """
    saved = {key: (list(t.guards), list(t.hooks), list(t.effects)) for key, t in TRANSITIONS.items()}
    for transition in TRANSITIONS.values():
        transition.guards.clear()
        transition.hooks.clear()
        transition.effects.clear()
    yield TRANSITIONS
    for key, (guards, hooks, effects) in saved.items():
        TRANSITIONS[key].guards[:] = guards
        TRANSITIONS[key].hooks[:] = hooks
        TRANSITIONS[key].effects[:] = effects
