"""The phase machine's wiring: every guard, hook and effect on every transition, in one table.

``budgets/phases.py`` holds the transitions and what each phase allows; the apps above it own the
checks and the work a transition needs (a ballot must be ready before voting opens, the last link
from a voter to a ballot is erased when voting closes, personal data goes when a cycle is archived).
This module sits at the top of the stack, names them all below, and registers them once the apps
are ready (``PbplatformConfig.ready``).

Each transition reads: guards (run before the phase changes; raise ``GuardFailed`` to refuse),
hooks (run after the phase is saved, in the same transaction), effects (run after commit, with the
cycle's id). The phase-change service adds steps of its own (``budgets.services.STEPS_BEFORE_HOOKS``
and ``STEPS_AFTER_HOOKS``: a voting pause ends, one audit event). ``manage.py phase_table`` prints
the whole sequence of every transition from the live registry; docs/phases.md holds its output.
"""

from dataclasses import dataclass

import allocation.demo
import allocation.selectors
import audit.demo
import audit.scopes
import audit.services
import proposals.demo
import proposals.selectors.implementation
import voting.demo
import voting.services.cast
import voting.services.design
import voting.services.review
from budgets.phases import Effect, Guard, Hook, Phase, register_effect, register_guard, register_hook


@dataclass(frozen=True)
class Wiring:
    guards: tuple[Guard, ...] = ()
    hooks: tuple[Hook, ...] = ()
    effects: tuple[Effect, ...] = ()


# Every transition of budgets.phases.TRANSITIONS, in order, with what the apps attach to it.
WIRING: dict[tuple[Phase, Phase], Wiring] = {
    (Phase.DRAFT, Phase.IDEAS): Wiring(),
    (Phase.IDEAS, Phase.VETTING): Wiring(),
    (Phase.VETTING, Phase.VOTING): Wiring(
        guards=(voting.services.design.guard_ballot_ready,),
        hooks=(voting.services.design.hook_freeze,),
    ),
    (Phase.VOTING, Phase.COUNTING): Wiring(
        hooks=(voting.services.cast.hook_erase_change_keys,),
    ),
    (Phase.COUNTING, Phase.RESULTS): Wiring(
        guards=(voting.services.review.guard_review_settled,),
    ),
    (Phase.RESULTS, Phase.IMPLEMENTATION): Wiring(),
    (Phase.IMPLEMENTATION, Phase.ARCHIVED): Wiring(
        guards=(audit.services.guard_retention,),
        hooks=(audit.services.hook_archive,),
    ),
}


def phases_wire() -> None:
    """Register every guard, hook and effect of ``WIRING`` on its transition, in the table's order.
    Idempotent: a function already registered is not added again, so a second call changes nothing."""
    for (source, target), wiring in WIRING.items():
        for guard in wiring.guards:
            register_guard(source, target, guard)
        for hook in wiring.hooks:
            register_hook(source, target, hook)
        for effect in wiring.effects:
            register_effect(source, target, effect)


def answers_wire() -> None:
    """What a lower app needs to know from a higher one, handed down at start-up so that no import
    climbs: whether a project is funded is the published result's answer (``allocation``), asked by
    implementation tracking (``proposals``); which cycle an audited object belongs to (``audit``),
    asked by the audit log (``core``). Setting them again changes nothing."""
    proposals.selectors.implementation.funded_source_set(allocation.selectors.published_selected_codes)
    audit.scopes.register()


def demo_wire() -> None:
    """The demo's fillers (what each app adds to the demo cycle in each phase, in this order) and
    movers (how the demo takes a transition that needs its own service). Idempotent."""
    proposals.demo.register()
    voting.demo.register()
    allocation.demo.register()
    audit.demo.register()


def wire() -> None:
    """Everything above: the phase machine, the answers handed down, the demo."""
    phases_wire()
    answers_wire()
    demo_wire()
