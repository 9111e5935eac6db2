"""The PB cycle's phase machine: the phase vocabulary, the one table of allowed
transitions and the one table of what each phase allows.

Nothing outside this module compares phase strings: code asks ``phase_allows(phase, capability)``
or goes through ``budgets.services.cycle_transition``. The guards, hooks and effects the apps above
attach to each transition are registered in one place, ``pbplatform/wiring.py``, once the apps are
ready; ``manage.py phase_table`` prints what runs on each transition (docs/phases.md).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Phase(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("phase", "Draft")
    IDEAS = "ideas", pgettext_lazy("phase", "Ideas")
    VETTING = "vetting", pgettext_lazy("phase", "Vetting")
    VOTING = "voting", pgettext_lazy("phase", "Voting")
    COUNTING = "counting", pgettext_lazy("phase", "Counting")
    RESULTS = "results", pgettext_lazy("phase", "Results")
    IMPLEMENTATION = "implementation", pgettext_lazy("phase", "Implementation")
    ARCHIVED = "archived", pgettext_lazy("phase", "Archived")


PHASE_ORDER: tuple[Phase, ...] = tuple(Phase)


class Capability(StrEnum):
    CONFIGURE = "configure"  # everything about the cycle: short name, zone, currency, languages, district codes
    # Fix the cycle's name and description: no link, count or ballot depends on them.
    EDIT_TEXTS = "edit_texts"
    # Move scheduled dates still ahead: the close of voting is fingerprinted once voting opens
    # (then only "extend voting" moves it).
    MOVE_DATES = "move_dates"
    # Rename districts and change their budgets: frozen (and fingerprinted) when voting opens.
    EDIT_DISTRICTS = "edit_districts"
    ADD_DISTRICT = "add_district"  # until vetting ends: its projects still have time to be made
    SUBMIT_IDEAS = "submit_ideas"  # residents submit, edit and withdraw their own ideas
    BROWSE_IDEAS = "browse_ideas"
    DISCUSS_IDEAS = "discuss_ideas"  # endorse and comment
    ENTER_PAPER_IDEAS = "enter_paper_ideas"  # staff key in ideas collected on paper
    VET_IDEAS = "vet_ideas"
    DESIGN_BALLOT = "design_ballot"  # ballot designs and eligibility, until voting opens
    EDIT_PROJECTS = "edit_projects"
    CAST_BALLOTS = "cast_ballots"
    PAUSE_VOTING = "pause_voting"
    EXTEND_VOTING = "extend_voting"
    ENTER_PAPER_BALLOTS = "enter_paper_ballots"
    MANAGE_VOTING_SITES = "manage_voting_sites"  # add, open and close the places kiosks and paper run at
    REVIEW_PROVISIONAL = "review_provisional"  # accept or reject provisional ballots, settle duplicates
    RUN_TALLY = "run_tally"
    # Settle the count before it is public: draw the tie lottery, certify the tally, import files.
    CERTIFY_RESULTS = "certify_results"
    VIEW_RESULTS = "view_results"
    POST_UPDATES = "post_updates"
    PUBLIC = "public"  # the cycle is listed on public pages


C = Capability
# Editing a cycle that is under way: what stays open until voting opens.
_BEFORE_VOTING = {C.EDIT_TEXTS, C.MOVE_DATES, C.EDIT_DISTRICTS, C.ADD_DISTRICT}
CAPABILITIES: dict[Phase, frozenset[Capability]] = {
    Phase.DRAFT: frozenset({C.CONFIGURE, *_BEFORE_VOTING, C.DESIGN_BALLOT, C.MANAGE_VOTING_SITES}),
    Phase.IDEAS: frozenset(
        {
            *_BEFORE_VOTING,
            C.PUBLIC,
            C.SUBMIT_IDEAS,
            C.BROWSE_IDEAS,
            C.DISCUSS_IDEAS,
            C.ENTER_PAPER_IDEAS,
            C.DESIGN_BALLOT,
            C.MANAGE_VOTING_SITES,
        }
    ),
    Phase.VETTING: frozenset(
        {
            *_BEFORE_VOTING,
            C.PUBLIC,
            C.BROWSE_IDEAS,
            C.DISCUSS_IDEAS,
            C.ENTER_PAPER_IDEAS,
            C.VET_IDEAS,
            C.EDIT_PROJECTS,
            C.DESIGN_BALLOT,
            C.MANAGE_VOTING_SITES,
        }
    ),
    Phase.VOTING: frozenset(
        {
            C.EDIT_TEXTS,
            C.PUBLIC,
            C.BROWSE_IDEAS,
            C.CAST_BALLOTS,
            C.PAUSE_VOTING,
            C.EXTEND_VOTING,
            C.ENTER_PAPER_BALLOTS,
            C.MANAGE_VOTING_SITES,
        }
    ),
    # Paper batches are still keyed, site by site, while the votes are counted.
    Phase.COUNTING: frozenset(
        {
            C.EDIT_TEXTS,
            C.PUBLIC,
            C.BROWSE_IDEAS,
            C.ENTER_PAPER_BALLOTS,
            C.REVIEW_PROVISIONAL,
            C.RUN_TALLY,
            C.CERTIFY_RESULTS,
            C.MANAGE_VOTING_SITES,
        }
    ),
    # After certification the tally can still re-run (a funded project withdrawn, an auditor's check).
    Phase.RESULTS: frozenset({C.EDIT_TEXTS, C.PUBLIC, C.BROWSE_IDEAS, C.VIEW_RESULTS, C.RUN_TALLY}),
    Phase.IMPLEMENTATION: frozenset(
        {C.EDIT_TEXTS, C.PUBLIC, C.BROWSE_IDEAS, C.VIEW_RESULTS, C.POST_UPDATES, C.RUN_TALLY}
    ),
    Phase.ARCHIVED: frozenset({C.PUBLIC, C.VIEW_RESULTS}),
}

# What a resident can do right now, per phase (shown on public pages).
RESIDENT_GUIDANCE: dict[Phase, str] = {
    Phase.DRAFT: _("The cycle is being prepared."),
    Phase.IDEAS: _("Submit your ideas for your ward, and browse and support other residents' ideas."),
    Phase.VETTING: _("City staff are reviewing ideas and turning them into costed projects."),
    Phase.VOTING: _("Vote for the projects you want funded in your ward."),
    Phase.COUNTING: _("Voting has closed. The votes are being counted."),
    Phase.RESULTS: _("See which projects won funding and how the votes were counted."),
    Phase.IMPLEMENTATION: _("Follow the funded projects as they are built."),
    Phase.ARCHIVED: _("This cycle is closed. Its results remain available."),
}

Guard = Callable[..., None]  # guard(cycle=...) raises GuardFailed when the cycle is not ready
Hook = Callable[..., None]  # hook(cycle=..., actor=...) runs in the transition's transaction
Effect = Callable[..., None]  # called with cycle_id=... after commit; to reach Celery it publishes through core.publish


@dataclass(frozen=True)
class Transition:
    source: Phase
    target: Phase
    # The Cycle field holding the scheduled time of this boundary; the periodic task moves the
    # cycle when it passes. None: only by hand (or by its own service).
    scheduled_field: str | None
    # False: only its own service may take it (counting → results is certification); never the
    # generic "next phase" button, the API transition endpoint or the scheduler.
    generic: bool = True
    guards: list[Guard] = field(default_factory=list, compare=False)
    hooks: list[Hook] = field(default_factory=list, compare=False)
    effects: list[Effect] = field(default_factory=list, compare=False)


TRANSITIONS: dict[tuple[Phase, Phase], Transition] = {
    (t.source, t.target): t
    for t in (
        Transition(Phase.DRAFT, Phase.IDEAS, "ideas_open_at"),
        Transition(Phase.IDEAS, Phase.VETTING, "vetting_open_at"),
        Transition(Phase.VETTING, Phase.VOTING, "voting_open_at"),
        Transition(Phase.VOTING, Phase.COUNTING, "voting_close_at"),
        Transition(Phase.COUNTING, Phase.RESULTS, None, generic=False),
        Transition(Phase.RESULTS, Phase.IMPLEMENTATION, None),
        Transition(Phase.IMPLEMENTATION, Phase.ARCHIVED, None),
    )
}

# The schedule fields, in boundary order; a cycle's dates must be strictly increasing in it.
SCHEDULE_FIELDS: tuple[str, ...] = tuple(t.scheduled_field for t in TRANSITIONS.values() if t.scheduled_field)


def phase_allows(phase: str, capability: Capability) -> bool:
    return capability in CAPABILITIES[Phase(phase)]


def transition_get(source: str, target: str) -> Transition | None:
    return TRANSITIONS.get((Phase(source), Phase(target)))


def transition_next(source: str) -> Transition | None:
    """The forward transition out of ``source`` (the machine is a line; at most one)."""
    for (src, _tgt), transition in TRANSITIONS.items():
        if src == source:
            return transition
    return None


def phase_index(phase: str) -> int:
    return PHASE_ORDER.index(Phase(phase))


def phase_reached(current: str, target: str) -> bool:
    return phase_index(current) >= phase_index(target)


# Registration is idempotent: a function already on the transition is not added again, so wiring
# twice (a second ``ready``, a test) runs nothing twice. KeyError for a pair not in TRANSITIONS.
def _register(functions: list, function: Callable[..., None]) -> None:
    if function not in functions:
        functions.append(function)


def register_guard(source: Phase, target: Phase, guard: Guard) -> None:
    """``guard(cycle=...)`` runs before the phase changes and raises GuardFailed to refuse it."""
    _register(TRANSITIONS[(source, target)].guards, guard)


def register_hook(source: Phase, target: Phase, hook: Hook) -> None:
    """``hook(cycle=..., actor=...)`` runs after the phase is saved, in the same transaction."""
    _register(TRANSITIONS[(source, target)].hooks, hook)


def register_effect(source: Phase, target: Phase, effect: Effect) -> None:
    """``effect(cycle_id=...)`` runs once the transition has committed (never on rollback)."""
    _register(TRANSITIONS[(source, target)].effects, effect)
