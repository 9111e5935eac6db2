"""Budget cycles: create and configure them, and move them through their phases.

Every service here is keyword-only, owns its transaction, locks before it checks, and writes an
audit event for every change in the same transaction.
"""

import functools
import hashlib
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, GuardFailed, PhaseClosed, TransitionNotAllowed, ValidationFailed
from core.money import is_known_currency
from core.services import audit_record

from . import permissions
from .models import TIME_ZONE_CHOICES, Cycle, District
from .permissions import Action
from .phases import (
    SCHEDULE_FIELDS,
    TRANSITIONS,
    Capability,
    Phase,
    Transition,
    phase_allows,
    phase_reached,
    transition_get,
)

logger = logging.getLogger(__name__)

MSG_DUPLICATE_CODE = _("Each district needs its own code; “%(code)s” is used twice.")
MSG_NEGATIVE_BUDGET = _("A budget cannot be negative.")
MSG_BAD_BUDGET = _("Enter the budget as a number, e.g. 50000 or 50000.00.")
MSG_DATES_ORDER = _("“%(later)s” must come after “%(earlier)s”.")
MSG_DATE_PAST = _("“%(field)s” is in the past; choose a time still ahead.")
MSG_UNKNOWN_CURRENCY = _("Use a three-letter ISO 4217 currency code, e.g. USD.")
MSG_UNKNOWN_TIME_ZONE = _("Choose a time zone from the list, e.g. America/New_York.")
MSG_SLUG_TAKEN = _("Another cycle already uses this short name.")
MSG_NO_DISTRICTS = _("A cycle needs at least one district.")
MSG_ONE_CITYWIDE = _("A cycle can have only one citywide district.")
MSG_REASON_REQUIRED = _("Please give a reason; it is kept in the audit log.")
MSG_TRANSITION_FORBIDDEN = _("A cycle in “%(source)s” cannot move to “%(target)s”.")
MSG_TRANSITION_OWN_SERVICE = _("“%(target)s” can only be reached through its own step (%(via)s).")
MSG_EXTEND_NOT_LATER = _("The new closing time must be later than the current one and in the future.")
MSG_REQUIRED = _("This field is required.")
MSG_UNKNOWN_LANGUAGE = _("Use known language codes (e.g. zh-hans, ar, hi), each once, beyond English and Spanish.")
MSG_IDEA_LIMIT_RANGE = _("Allow between 1 and 1000 ideas per resident.")
# Editing a cycle under way: why a field is frozen, in words an official can act on.
MSG_FROZEN_AFTER_DRAFT = _(
    "Fixed once ideas open: residents, links and ideas already rely on it. It could only change in draft."
)
MSG_DATES_FROZEN = _(
    "Dates are frozen once voting opens: the close of voting is part of the ballot's fingerprint. "
    "Use “Extend voting” to give more time."
)
MSG_DATE_PASSED = _("This date has passed (or its phase has begun): it can no longer be moved.")
MSG_DISTRICTS_FROZEN = _(
    "Districts and budgets are frozen once voting opens: they are part of the ballot's fingerprint."
)
MSG_DISTRICT_ADD_CLOSED = _("Districts can be added only until vetting ends.")
MSG_DISTRICT_REMOVE_CLOSED = _(
    "Districts can be removed only in draft: once ideas open, ideas and projects may belong to them."
)
MSG_DATE_NOT_REMOVABLE = _("A date can be moved, not removed.")
MSG_STALE_EDIT = _(
    "This cycle was changed by someone else since you opened this page: reload it to see the changes; "
    "nothing was saved."
)
MSG_DATE_REASON = _("Say why the date moves; the old and new time are kept with your reason in the audit log.")

# The capability each cycle field needs to change (budgets/phases.py has which phases hold it).
FIELD_CAPABILITY: dict[str, Capability] = {
    "name": Capability.EDIT_TEXTS,
    "description": Capability.EDIT_TEXTS,
    "slug": Capability.CONFIGURE,
    "time_zone": Capability.CONFIGURE,
    "currency": Capability.CONFIGURE,
    "ideas_per_resident": Capability.CONFIGURE,
    "extra_languages": Capability.CONFIGURE,
    **{f: Capability.MOVE_DATES for f in SCHEDULE_FIELDS},
}
FROZEN_MESSAGE: dict[Capability, object] = {
    Capability.CONFIGURE: MSG_FROZEN_AFTER_DRAFT,
    Capability.MOVE_DATES: MSG_DATES_FROZEN,
    Capability.EDIT_DISTRICTS: MSG_DISTRICTS_FROZEN,
    Capability.ADD_DISTRICT: MSG_DISTRICT_ADD_CLOSED,
}
# A district's fields and the capability each needs once the district exists.
DISTRICT_FIELD_CAPABILITY: dict[str, Capability] = {
    "code": Capability.CONFIGURE,
    "kind": Capability.CONFIGURE,
    "name": Capability.EDIT_DISTRICTS,
    "budget": Capability.EDIT_DISTRICTS,
}
_SCHEDULE_PHASE = {t.scheduled_field: t.target for t in TRANSITIONS.values() if t.scheduled_field}

_TIME_ZONES = {tz for tz, _label in TIME_ZONE_CHOICES}
_MONEY_QUANTUM = Decimal("0.01")


@dataclass(frozen=True)
class DistrictInput:
    code: str
    name: str
    budget: Decimal | str | int
    kind: str = District.Kind.WARD
    id: int | None = None


def _field_label(name: str) -> str:
    return str(Cycle._meta.get_field(name).verbose_name)


def _validate_cycle(
    data: dict, districts: list[DistrictInput] | None, *, dates_set: Iterable[str] = ()
) -> tuple[dict, list[dict] | None]:
    """Check everything a person can get wrong; collect every problem (field → messages).
    ``dates_set``: the schedule fields being set or changed now, which must lie ahead (a date that
    has already passed and is left as it was stays)."""
    errors: dict[str, list] = {}

    def err(field, message):
        errors.setdefault(field, []).append(message)

    for required in ("name", "slug"):
        if required in data and not str(data[required] or "").strip():
            err(required, MSG_REQUIRED)
    if "currency" in data and not (
        isinstance(data["currency"], str) and len(data["currency"]) == 3 and is_known_currency(data["currency"])
    ):
        err("currency", MSG_UNKNOWN_CURRENCY)
    if "time_zone" in data and data["time_zone"] not in _TIME_ZONES:
        err("time_zone", MSG_UNKNOWN_TIME_ZONE)
    if "ideas_per_resident" in data and not (
        isinstance(data["ideas_per_resident"], int) and 1 <= data["ideas_per_resident"] <= 1000
    ):
        err("ideas_per_resident", MSG_IDEA_LIMIT_RANGE)
    if "extra_languages" in data:
        codes = data["extra_languages"]
        site = {code for code, _name in settings.LANGUAGES}
        if (
            not isinstance(codes, list)
            or any(c not in LANG_INFO or c in site for c in codes)
            or len(set(codes)) != len(codes)
        ):
            err("extra_languages", MSG_UNKNOWN_LANGUAGE)
    now = timezone.now()
    for field in dates_set:
        if data.get(field) is not None and data[field] < now:
            err(field, MSG_DATE_PAST % {"field": _field_label(field)})
    dates = [(f, data.get(f)) for f in SCHEDULE_FIELDS if data.get(f) is not None]
    for (f1, d1), (f2, d2) in zip(dates, dates[1:], strict=False):
        if not d1 < d2:
            err(f2, MSG_DATES_ORDER % {"later": _field_label(f2), "earlier": _field_label(f1)})

    clean_districts = None
    if districts is not None:
        clean_districts = []
        if not districts:
            err("districts", MSG_NO_DISTRICTS)
        seen: set[str] = set()
        citywide = 0
        for index, d in enumerate(districts):
            prefix = f"districts.{index}"
            code = (d.code or "").strip()
            try:
                District._meta.get_field("code").run_validators(code)
            except Exception as exc:  # noqa: BLE001 - Django ValidationError
                for message in getattr(exc, "messages", [str(exc)]):
                    err(f"{prefix}.code", message)
            if code.upper() in seen:
                err(f"{prefix}.code", MSG_DUPLICATE_CODE % {"code": code})
            seen.add(code.upper())
            if not (d.name or "").strip():
                err(f"{prefix}.name", MSG_REQUIRED)
            try:
                budget = Decimal(str(d.budget)).quantize(_MONEY_QUANTUM)
                if not budget.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                err(f"{prefix}.budget", MSG_BAD_BUDGET)
                budget = None
            if budget is not None and budget < 0:
                err(f"{prefix}.budget", MSG_NEGATIVE_BUDGET)
            if d.kind not in District.Kind.values:
                err(f"{prefix}.kind", MSG_REQUIRED)
            citywide += d.kind == District.Kind.CITYWIDE
            clean_districts.append(
                {"id": d.id, "code": code, "name": (d.name or "").strip(), "kind": d.kind, "budget": budget}
            )
        if citywide > 1:
            err("districts", MSG_ONE_CITYWIDE)
    if errors:
        raise ValidationFailed(extra=errors)
    return data, clean_districts


def _cycle_snapshot(cycle: Cycle) -> dict:
    return {
        "name": cycle.name,
        "slug": cycle.slug,
        "description": cycle.description,
        "time_zone": cycle.time_zone,
        "currency": cycle.currency,
        "ideas_per_resident": cycle.ideas_per_resident,
        "extra_languages": cycle.extra_languages,
        "phase": cycle.phase,
        **{f: getattr(cycle, f) for f in SCHEDULE_FIELDS},
        "districts": [
            {"code": d.code, "name": d.name, "kind": d.kind, "budget": d.budget}
            for d in cycle.districts.order_by("code")
        ],
    }


_EDITABLE = (
    "name",
    "slug",
    "description",
    "time_zone",
    "currency",
    "ideas_per_resident",
    "extra_languages",
    *SCHEDULE_FIELDS,
)


@transaction.atomic
def cycle_create(
    *,
    actor,
    name: str,
    slug: str,
    description: str = "",
    time_zone: str = "America/New_York",
    currency: str = "USD",
    ideas_per_resident: int = 10,
    extra_languages: list[str] | None = None,
    districts: list[DistrictInput],
    ideas_open_at: datetime | None = None,
    vetting_open_at: datetime | None = None,
    voting_open_at: datetime | None = None,
    voting_close_at: datetime | None = None,
) -> Cycle:
    """Create a cycle in draft with its districts.

    Errors: ``NotAllowed`` (not an official with MFA), ``ValidationFailed`` (every problem at once:
    duplicate district codes, negative budgets, dates out of order or in the past, unknown currency
    or zone, a slug in use). Nothing is saved on error.
    """
    permissions.check(actor, Action.CYCLE_CREATE)
    data = {
        "name": name,
        "slug": slug,
        "description": description,
        "time_zone": time_zone,
        "currency": currency,
        "ideas_per_resident": ideas_per_resident,
        "extra_languages": extra_languages or [],
        "ideas_open_at": ideas_open_at,
        "vetting_open_at": vetting_open_at,
        "voting_open_at": voting_open_at,
        "voting_close_at": voting_close_at,
    }
    data, clean_districts = _validate_cycle(data, districts, dates_set=SCHEDULE_FIELDS)
    if Cycle.objects.filter(slug=slug).exists():
        raise ValidationFailed(extra={"slug": [MSG_SLUG_TAKEN]})
    try:
        with transaction.atomic():
            cycle = Cycle.objects.create(phase=Phase.DRAFT, **data)
            District.objects.bulk_create(
                [District(cycle=cycle, **{k: v for k, v in d.items() if k != "id"}) for d in clean_districts]
            )
    except IntegrityError as exc:  # a concurrent create took the slug between check and insert
        raise ValidationFailed(extra={"slug": [MSG_SLUG_TAKEN]}) from exc
    audit_record(
        actor=actor,
        action="cycle.created",
        object_type="cycle",
        object_id=cycle.pk,
        after=_cycle_snapshot(cycle),
    )
    return cycle


def _lock(cycle: Cycle | int) -> Cycle:
    pk = cycle.pk if isinstance(cycle, Cycle) else cycle
    return Cycle.objects.select_for_update().get(pk=pk)


def field_frozen_reason(cycle: Cycle, field: str, *, now: datetime | None = None) -> str | None:
    """Why ``field`` of ``cycle`` cannot change now (a message), or None. Dates: a boundary whose
    phase has begun, or whose time has passed, stays where it is."""
    capability = FIELD_CAPABILITY[field]
    if not cycle.allows(capability):
        return FROZEN_MESSAGE.get(capability, permissions.MSG_ARCHIVED)
    if field in _SCHEDULE_PHASE and not cycle.allows(Capability.CONFIGURE):
        current = getattr(cycle, field)
        if phase_reached(cycle.phase, _SCHEDULE_PHASE[field]) or (
            current is not None and current <= (now or timezone.now())
        ):
            return MSG_DATE_PASSED
    return None


def district_frozen_reason(cycle: Cycle, field: str) -> str | None:
    """Why an existing district's ``field`` cannot change now, or None."""
    capability = DISTRICT_FIELD_CAPABILITY[field]
    return None if cycle.allows(capability) else FROZEN_MESSAGE[capability]


def _district_changes_refused(cycle: Cycle, districts: list[DistrictInput]) -> dict[str, list]:
    """Each change to the districts the phase no longer allows, keyed like the validation errors."""
    errors: dict[str, list] = {}
    existing = {d.pk: d for d in cycle.districts.all()}
    listed = set()
    for index, d in enumerate(districts):
        row = existing.get(d.id) if d.id is not None else None
        if row is None:
            if not cycle.allows(Capability.ADD_DISTRICT):
                errors.setdefault(f"districts.{index}.code", []).append(MSG_DISTRICT_ADD_CLOSED)
            continue
        listed.add(row.pk)
        new = {"code": (d.code or "").strip(), "name": (d.name or "").strip(), "kind": d.kind}
        try:
            new["budget"] = Decimal(str(d.budget)).quantize(_MONEY_QUANTUM)
        except (InvalidOperation, ValueError):
            new["budget"] = d.budget  # refused as a bad number by the validation anyway
        for field, value in new.items():
            if value != getattr(row, field) and (reason := district_frozen_reason(cycle, field)):
                errors.setdefault(f"districts.{index}.{field}", []).append(reason)
    if set(existing) - listed and not cycle.allows(Capability.CONFIGURE):
        errors.setdefault("districts", []).append(MSG_DISTRICT_REMOVE_CLOSED)
    return errors


class CycleChanged(Conflict):
    """The cycle changed since the edit page was loaded: nothing was saved."""

    code = "stale"
    default_message = MSG_STALE_EDIT


def cycle_edit_version(cycle: Cycle) -> str:
    """A fingerprint of what an edit page shows (the editable fields and the districts): a page
    sends back the one it was loaded with, and ``cycle_update`` refuses the save if it differs."""
    values = {f: getattr(cycle, f) for f in _EDITABLE}
    values["districts"] = sorted([d.pk, d.code, d.name, d.kind, str(d.budget)] for d in cycle.districts.all())
    text = json.dumps(values, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@transaction.atomic
def cycle_update(
    *,
    actor,
    cycle: Cycle | int,
    districts: list[DistrictInput] | None = None,
    reason: str = "",
    expected_version: str | None = None,
    **fields,
) -> Cycle:
    """Change a cycle's settings and (when ``districts`` is given) its set of districts: listed ids
    are updated, new entries created, unlisted districts removed.

    Invariant: each field changes only while the phase holds its capability (``FIELD_CAPABILITY``,
    ``DISTRICT_FIELD_CAPABILITY``): in draft everything; until voting opens the names, texts,
    budgets, dates still ahead and new districts (until vetting ends); then only the cycle's name
    and description, until the archive. A date is never moved once its boundary has passed; the
    schedule stays strictly increasing. Outside draft each moved date writes its own
    ``cycle.date_moved`` event (old time, new time, the reason, which is then required); other
    changes one ``cycle.updated`` event. Nothing that is the same is written. Once the cycle is past
    draft a date that was set can be moved, not removed. With ``expected_version`` (from
    ``cycle_edit_version`` when the page was loaded) a cycle changed since then is not touched.

    Errors: ``NotAllowed``; ``PhaseClosed`` (archived; or, with ``extra`` per field, a change the
    phase has frozen, with the reason why); ``ValidationFailed``. Locks the cycle, then checks.
    """
    unknown = set(fields) - set(_EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    permissions.check_who(actor, Action.CYCLE_EDIT)
    cycle = _lock(cycle)
    permissions.check_when(Action.CYCLE_EDIT, cycle)
    if expected_version is not None and expected_version != cycle_edit_version(cycle):
        raise CycleChanged()
    fields = {f: v for f, v in fields.items() if getattr(cycle, f) != v}
    frozen: dict[str, list] = {}
    for f in fields:
        if why := field_frozen_reason(cycle, f):
            frozen.setdefault(f, []).append(why)
    if districts is not None:
        frozen.update(_district_changes_refused(cycle, districts))
    if frozen:
        raise PhaseClosed(next(iter(frozen.values()))[0], extra=frozen)
    if not cycle.allows(Capability.CONFIGURE):
        removed = {f: [MSG_DATE_NOT_REMOVABLE] for f in SCHEDULE_FIELDS if f in fields and fields[f] is None}
        if removed:
            raise ValidationFailed(extra=removed)
    before = _cycle_snapshot(cycle)
    merged = {f: getattr(cycle, f) for f in _EDITABLE} | fields
    dates_changed = [f for f in SCHEDULE_FIELDS if f in fields]
    _data, clean_districts = _validate_cycle(merged, districts, dates_set=dates_changed)
    reason = (reason or "").strip()
    dated_audit = dates_changed and not cycle.allows(Capability.CONFIGURE)
    if dated_audit and not reason:
        raise ValidationFailed(extra={"reason": [MSG_DATE_REASON]})
    if "slug" in fields and Cycle.objects.filter(slug=fields["slug"]).exclude(pk=cycle.pk).exists():
        raise ValidationFailed(extra={"slug": [MSG_SLUG_TAKEN]})
    old_dates = {f: getattr(cycle, f) for f in dates_changed}
    for f, value in fields.items():
        setattr(cycle, f, value)
    if fields:
        cycle.save(update_fields=[*fields, "updated_at"])
    if clean_districts is not None:
        _districts_sync(cycle, clean_districts)
    after = _cycle_snapshot(cycle)
    if dated_audit:
        for f in dates_changed:
            audit_record(
                actor=actor,
                action="cycle.date_moved",
                object_type="cycle",
                object_id=cycle.pk,
                before={f: old_dates[f]},
                after={f: fields[f]},
                reason=reason,
            )
            before[f] = after[f]  # told by its own event
    if after != before:
        audit_record(
            actor=actor,
            action="cycle.updated",
            object_type="cycle",
            object_id=cycle.pk,
            before=before,
            after=after,
            reason=reason,
        )
    return cycle


def _districts_sync(cycle: Cycle, clean: list[dict]) -> None:
    existing = {d.pk: d for d in cycle.districts.all()}
    keep = {d["id"] for d in clean if d["id"] in existing}
    # Delete first, then update, then create: codes may move between rows within one edit.
    cycle.districts.exclude(pk__in=keep).delete()
    for d in clean:
        if d["id"] in existing:
            row = existing[d["id"]]
            row.code = f"~{row.pk}"  # free the code for a swap, rewritten just below
            row.save(update_fields=["code"])
    for d in clean:
        values = {k: v for k, v in d.items() if k != "id"}
        if d["id"] in existing:
            District.objects.filter(pk=d["id"]).update(**values)
        else:
            District.objects.create(cycle=cycle, **values)


@dataclass(frozen=True)
class PhaseMove:
    """A phase change under way, as the service's own steps see it (the phase already saved)."""

    actor: object
    cycle: Cycle
    source: Phase
    reason: str
    via: str | None


def pause_end(move: PhaseMove) -> None:
    """End a voting pause: its time and message are cleared when the cycle leaves the phase that
    allowed it."""
    cycle = move.cycle
    if cycle.voting_paused_at is None:
        return
    cycle.voting_paused_at = None
    cycle.voting_pause_reason = ""
    cycle.save(update_fields=["voting_paused_at", "voting_pause_reason", "updated_at"])


def phase_change_record(move: PhaseMove) -> None:
    """Write the move's one audit event, ``cycle.phase_changed`` (public).

    It holds the old and new phase, the actor, the reason and, for a transition's own service, its
    name."""
    audit_record(
        actor=move.actor,
        action="cycle.phase_changed",
        object_type="cycle",
        object_id=move.cycle.pk,
        before={"phase": move.source.value},
        after={"phase": move.cycle.phase, **({"via": move.via} if move.via else {})},
        reason=move.reason,
    )


def _leaves_pausable_phase(transition: Transition) -> bool:
    pausable = Capability.PAUSE_VOTING
    return phase_allows(transition.source, pausable) and not phase_allows(transition.target, pausable)


@dataclass(frozen=True)
class ServiceStep:
    """A step the phase-change service takes itself, on every transition ``applies`` accepts."""

    run: Callable[[PhaseMove], None]
    applies: Callable[[Transition], bool] = lambda transition: True


# What the phase-change service does itself, around the hooks registered on the transition
# (pbplatform/wiring.py), in the transition's transaction. ``transition_steps`` lists both in the
# order they run; ``manage.py phase_table`` prints it.
STEPS_BEFORE_HOOKS: tuple[ServiceStep, ...] = (ServiceStep(pause_end, applies=_leaves_pausable_phase),)
STEPS_AFTER_HOOKS: tuple[ServiceStep, ...] = (ServiceStep(phase_change_record),)


class StepKind(StrEnum):
    GUARD = "guard"  # registered; runs before the phase changes and may refuse it
    SERVICE = "service"  # the service's own step, in the transaction
    HOOK = "hook"  # registered; runs in the transaction after the phase is saved
    EFFECT = "effect"  # registered; runs after commit


def transition_steps(transition: Transition) -> list[tuple[StepKind, Callable[..., None]]]:
    """Everything that runs when ``transition`` is taken, in order: its guards, the service's own
    steps and its hooks, then its effects (after commit). Read from the live tables; the service
    runs exactly this list, so what ``phase_table`` prints is what runs."""
    return [
        *((StepKind.GUARD, guard) for guard in transition.guards),
        *((StepKind.SERVICE, step.run) for step in STEPS_BEFORE_HOOKS if step.applies(transition)),
        *((StepKind.HOOK, hook) for hook in transition.hooks),
        *((StepKind.SERVICE, step.run) for step in STEPS_AFTER_HOOKS if step.applies(transition)),
        *((StepKind.EFFECT, effect) for effect in transition.effects),
    ]


def _run_transition(*, actor, cycle: Cycle, target: Phase, reason: str, via: str | None) -> Cycle:
    """The one place a cycle's phase changes. The caller holds the row lock."""
    source = Phase(cycle.phase)
    transition = transition_get(source, target)
    if transition is None:
        raise TransitionNotAllowed(MSG_TRANSITION_FORBIDDEN % {"source": source.label, "target": Phase(target).label})
    if not transition.generic and via is None:
        raise TransitionNotAllowed(
            MSG_TRANSITION_OWN_SERVICE % {"target": Phase(target).label, "via": _("certification")}
        )
    steps = transition_steps(transition)  # the order they run in is the order phase_table prints
    for kind, guard in steps:
        if kind is StepKind.GUARD:
            guard(cycle=cycle)
    cycle.phase = transition.target
    cycle.save(update_fields=["phase", "updated_at"])
    move = PhaseMove(actor=actor, cycle=cycle, source=source, reason=reason, via=via)
    for kind, function in steps:
        if kind is StepKind.SERVICE:
            function(move)
        elif kind is StepKind.HOOK:
            function(cycle=cycle, actor=actor)
        elif kind is StepKind.EFFECT:
            transaction.on_commit(functools.partial(function, cycle_id=cycle.pk))
    return cycle


@transaction.atomic
def cycle_transition(*, actor, cycle: Cycle | int, target: Phase | str, reason: str) -> Cycle:
    """Move ``cycle`` to ``target`` along the transition table.

    Invariant: the phase changes only along TRANSITIONS, with its guards passed and its hooks run in
    this transaction, and each change writes exactly one audit event. Returns early, changing and
    auditing nothing, if the cycle is already at ``target`` (so a doubled request or a scheduler
    racing an official is harmless). Errors: ``NotAllowed``; ``ValidationFailed`` (no reason from a
    person); ``TransitionNotAllowed`` (not in the table, or a transition only its own service takes);
    ``GuardFailed`` (not ready). Locking: the cycle row, ``SELECT … FOR UPDATE``, before any check.
    """
    try:
        target = Phase(target)
    except ValueError as exc:
        raise ValidationFailed(extra={"target": [MSG_REQUIRED]}) from exc
    permissions.check_who(actor, Action.CYCLE_TRANSITION)
    reason = (reason or "").strip()
    if actor is not None and not reason:
        raise ValidationFailed(extra={"reason": [MSG_REASON_REQUIRED]})
    cycle = _lock(cycle)
    if cycle.phase == target:
        return cycle
    return _run_transition(actor=actor, cycle=cycle, target=target, reason=reason, via=None)


def cycle_transition_via(*, actor, cycle: Cycle, target: Phase, reason: str, via: str) -> Cycle:
    """For a transition's own service (e.g. certification), which holds the lock and has done its
    own checks. Not for views."""
    if cycle.phase == target:
        return cycle
    return _run_transition(actor=actor, cycle=cycle, target=target, reason=reason, via=via)


def cycles_advance_due(*, now: datetime | None = None) -> list[tuple[int, str, str]]:
    """Move every cycle whose scheduled boundary has passed, through ``cycle_transition`` with the
    system as actor, catching up several boundaries if needed. Each move is its own transaction;
    a cycle whose guard refuses stays where it is (logged) and is retried next time.
    Returns (cycle id, from, to) for each move."""
    now = now or timezone.now()
    moves = []
    for transition in TRANSITIONS.values():
        if not transition.scheduled_field or not transition.generic:
            continue
        due = Cycle.objects.filter(phase=transition.source, **{f"{transition.scheduled_field}__lte": now}).values_list(
            "pk", flat=True
        )
        for pk in due:
            moves.extend(_advance_one(pk, now))
    return moves


def _advance_one(pk: int, now: datetime) -> list[tuple[int, str, str]]:
    moves = []
    while True:
        cycle = Cycle.objects.get(pk=pk)
        transition = next(
            (t for t in TRANSITIONS.values() if t.source == cycle.phase and t.scheduled_field and t.generic), None
        )
        when = getattr(cycle, transition.scheduled_field) if transition else None
        if transition is None or when is None or when > now:
            return moves
        try:
            cycle_transition(
                actor=None, cycle=pk, target=transition.target, reason=f"scheduled: {transition.scheduled_field}"
            )
        except (GuardFailed, TransitionNotAllowed) as exc:
            logger.warning("cycle %s not advanced to %s: %s", pk, transition.target, exc)
            return moves
        moves.append((pk, transition.source.value, transition.target.value))


@transaction.atomic
def voting_extend(*, actor, cycle: Cycle | int, close_at: datetime, reason: str) -> Cycle:
    """Move the close of voting later (e.g. after an outage). Only while voting; the new time must
    be in the future and later than the current one. Audited with the old and new time."""
    permissions.check_who(actor, Action.VOTING_EXTEND)
    if actor is not None and not (reason or "").strip():
        raise ValidationFailed(extra={"reason": [MSG_REASON_REQUIRED]})
    cycle = _lock(cycle)
    permissions.check_when(Action.VOTING_EXTEND, cycle)
    now = timezone.now()
    if close_at is None or close_at <= now or (cycle.voting_close_at and close_at <= cycle.voting_close_at):
        raise ValidationFailed(extra={"voting_close_at": [MSG_EXTEND_NOT_LATER]})
    before = {"voting_close_at": cycle.voting_close_at}
    cycle.voting_close_at = close_at
    cycle.save(update_fields=["voting_close_at", "updated_at"])
    audit_record(
        actor=actor,
        action="cycle.voting_extended",
        object_type="cycle",
        object_id=cycle.pk,
        before=before,
        after={"voting_close_at": close_at},
        reason=reason.strip(),
    )
    return cycle


@transaction.atomic
def voting_pause(*, actor, cycle: Cycle | int, reason: str) -> Cycle:
    """Stop accepting ballots (with a message to voters) until ``voting_resume``. Audited."""
    permissions.check_who(actor, Action.VOTING_PAUSE)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(extra={"reason": [MSG_REASON_REQUIRED]})
    cycle = _lock(cycle)
    permissions.check_when(Action.VOTING_PAUSE, cycle)
    cycle.voting_paused_at = timezone.now()
    cycle.voting_pause_reason = reason
    cycle.save(update_fields=["voting_paused_at", "voting_pause_reason", "updated_at"])
    audit_record(actor=actor, action="cycle.voting_paused", object_type="cycle", object_id=cycle.pk, reason=reason)
    return cycle


@transaction.atomic
def voting_resume(*, actor, cycle: Cycle | int, reason: str) -> Cycle:
    permissions.check_who(actor, Action.VOTING_RESUME)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(extra={"reason": [MSG_REASON_REQUIRED]})
    cycle = _lock(cycle)
    permissions.check_when(Action.VOTING_RESUME, cycle)
    before = {"voting_paused_at": cycle.voting_paused_at}
    cycle.voting_paused_at = None
    cycle.voting_pause_reason = ""
    cycle.save(update_fields=["voting_paused_at", "voting_pause_reason", "updated_at"])
    audit_record(
        actor=actor,
        action="cycle.voting_resumed",
        object_type="cycle",
        object_id=cycle.pk,
        before=before,
        reason=reason,
    )
    return cycle
