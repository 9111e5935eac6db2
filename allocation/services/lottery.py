"""A public lottery for ties: where the rule's tie-break is not wanted, a cycle can declare a public
lottery instead, its draw recorded in the audit log.

A cycle declares how the tally breaks ties while its ballots are still being designed (the rule is
part of what voters are told): the declared order (the projects' codes, or an imported file's ids,
in ascending string order) or a public lottery. With a lottery, once voting has closed and before
the tally, an official records the draw: a seed drawn in public (e.g. the numbers of a public
raffle). The tie order is then the project ids sorted by SHA-256(seed, newline, id): anyone with the
seed can recompute it. The seed is stored on the cycle, recorded in the audit log with the tie
order it gives each district, and goes into each tally run's parameters, so the run key changes and
the tally stays reproducible. A draw is recorded once: drawing again until a wanted outcome appears
is exactly what a lottery must not allow.
"""

import hashlib
import json
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle, TieBreak
from budgets.phases import Capability
from core.errors import Conflict, PhaseClosed, ValidationFailed
from core.services import audit_record

from ..permissions import check_tally_official
from .interop import counted_districts, district_projects

SEED_MAX = 100
MSG_TIE_BREAK_FROZEN = _("The tie-break can be changed only until voting opens: it is part of the declared rules.")
MSG_TIE_BREAK_CHOICE = _("Choose the declared order or a public lottery.")
MSG_NO_LOTTERY = _("This cycle breaks ties by the declared order: there is no lottery to draw.")
MSG_DRAW_PHASE = _("The lottery is drawn after voting has closed and before the results are certified.")
MSG_ALREADY_DRAWN = _("The lottery has already been drawn; a draw cannot be changed.")
MSG_SEED_REQUIRED = _("Enter the numbers or words drawn in public.")
MSG_SEED_TOO_LONG = _("Keep the draw under %(max)s characters.")
MSG_SEED_PRINTABLE = _("Use letters, digits, spaces and punctuation only.")
MSG_DRAW_FIRST = _("A public lottery breaks ties in this cycle: record the draw before the tally.")


def lottery_order(seed: str, project_ids: Iterable[str]) -> list[str]:
    """The tie order a draw gives: ids sorted by SHA-256 of ``seed + "\\n" + id`` (UTF-8), first wins."""
    return sorted(
        (str(pid) for pid in project_ids),
        key=lambda pid: (hashlib.sha256(f"{seed}\n{pid}".encode()).hexdigest(), pid),
    )


def lottery_pending(cycle: Cycle) -> bool:
    """A lottery is declared and its draw not recorded yet (the tally waits for it)."""
    return cycle.tie_break == TieBreak.LOTTERY and not cycle.lottery_seed


def tally_params(cycle: Cycle) -> str:
    """The rule parameters of the cycle's tally runs (canonical JSON; part of the run key)."""
    if cycle.tie_break != TieBreak.LOTTERY:
        return "{}"
    return json.dumps({"seed": cycle.lottery_seed, "tie_break": "lottery"}, sort_keys=True, separators=(",", ":"))


def tie_order(cycle: Cycle, project_ids: Iterable[str]) -> list[str] | None:
    """The tie order for the tally: None (the rules' declared order), or the lottery's."""
    if cycle.tie_break != TieBreak.LOTTERY:
        return None
    return lottery_order(cycle.lottery_seed, project_ids)


@transaction.atomic
def cycle_tie_break_set(*, actor, cycle: Cycle, tie_break: str, reason: str = "") -> Cycle:
    """Declare how the tally breaks ties. Officials with MFA, while ballots are designed (before
    voting opens). Errors: NotAllowed, PhaseClosed, ValidationFailed. Locks the cycle."""
    check_tally_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if not cycle.allows(Capability.DESIGN_BALLOT):
        raise PhaseClosed(MSG_TIE_BREAK_FROZEN)
    if tie_break not in TieBreak.values:
        raise ValidationFailed(extra={"tie_break": [MSG_TIE_BREAK_CHOICE]})
    if cycle.tie_break == tie_break:
        return cycle
    before = {"tie_break": cycle.tie_break}
    cycle.tie_break = tie_break
    cycle.save(update_fields=["tie_break", "updated_at"])
    audit_record(
        actor=actor,
        action="cycle.tie_break",
        object_type="cycle",
        object_id=cycle.pk,
        before=before,
        after={"tie_break": tie_break},
        reason=(reason or "").strip(),
    )
    return cycle


def _clean_seed(seed: str) -> str:
    seed = " ".join((seed or "").split())
    if not seed:
        raise ValidationFailed(extra={"seed": [MSG_SEED_REQUIRED]})
    if len(seed) > SEED_MAX:
        raise ValidationFailed(extra={"seed": [MSG_SEED_TOO_LONG % {"max": SEED_MAX}]})
    if not seed.isprintable():
        raise ValidationFailed(extra={"seed": [MSG_SEED_PRINTABLE]})
    return seed


@transaction.atomic
def cycle_lottery_draw(*, actor, cycle: Cycle, seed: str, reason: str = "") -> Cycle:
    """Record the public draw (once) before the tally; the audit event holds the seed and the tie
    order it gives every district. Officials with MFA, after voting has closed and before
    certification. Errors: NotAllowed, Conflict (no lottery declared, already drawn), PhaseClosed,
    ValidationFailed (empty, too long or unprintable seed). Locks the cycle."""
    check_tally_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if cycle.tie_break != TieBreak.LOTTERY:
        raise Conflict(MSG_NO_LOTTERY)
    if not cycle.allows(Capability.CERTIFY_RESULTS):
        raise PhaseClosed(MSG_DRAW_PHASE)
    if cycle.lottery_seed:
        raise Conflict(MSG_ALREADY_DRAWN)
    seed = _clean_seed(seed)
    cycle.lottery_seed, cycle.lottery_drawn_at = seed, timezone.now()
    cycle.save(update_fields=["lottery_seed", "lottery_drawn_at", "updated_at"])
    orders = {
        district.code: lottery_order(seed, [p.export_id for p in district_projects(district)])
        for district in counted_districts(cycle)
    }
    audit_record(
        actor=actor,
        action="tally.lottery_drawn",
        object_type="cycle",
        object_id=cycle.pk,
        after={"seed": seed, "method": "sha256(seed + newline + project id), ascending", "tie_order": orders},
        reason=(reason or "").strip(),
    )
    return cycle
