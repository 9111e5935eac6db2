"""Audit bundles, receipt look-ups, voiding a ballot and the archive step.

- Bundles: ``bundle_request`` stores a request and dispatches its build after commit;
  ``bundle_build`` (the Celery task's body, idempotent) writes the zip with ``audit.bundle``;
  ``bundle_download`` hands it out and, for the auditor bundle, writes the download's audit event.
  ``public_record_get`` returns (or starts) the public record of the current published results.
- ``receipt_lookup``: an auditor settles a voter's complaint: which ``ballot_id`` row of
  ``ballots.csv`` the receipt code belongs to. Audited without the code or the ballot id (the
  complainant is a person: no audit event names a ballot together with one).
- ``ballot_void``: an official takes a ballot out of the count with a reason (``BallotVoid``); the
  ballot stays in the record, marked void; the roll is unchanged. The district's ``.pb`` (the tally
  input) changes, so certification needs a new tally run.
- ``cycle_archive``: after ``settings.PB_RETENTION_DAYS`` from the results, the cycle moves to
  archived and the hook on implementation → archived erases the personal data the cycle holds
  (``audit.archive``).
"""

import contextvars
import logging
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle
from budgets.permissions import Action, check_who
from budgets.phases import PHASE_ORDER, Phase, phase_reached, transition_get
from budgets.services import cycle_transition
from core import times
from core.errors import Conflict, GuardFailed, NotFound, ValidationFailed
from core.models import AuditEvent
from core.publish import task_publish_on_commit
from core.services import audit_record
from voting import crypto
from voting.models import Ballot, BallotVoid, ProvisionalBallot, VoidReason
from voting.services import receipt_check, record

from . import bundle as bundle_module
from . import tasks
from .archive import personal_data_erase
from .models import Bundle
from .permissions import check_auditor, check_exportable, check_public_record, check_void_open, check_voider

logger = logging.getLogger(__name__)

MSG_VOID_REASON = _("Give the reason for voiding this ballot.")
MSG_BALLOT_UNKNOWN = _("There is no ballot with this id in this cycle.")
MSG_ALREADY_VOID = _("This ballot is already void.")
MSG_VOID_PROVISIONAL = _(
    "This ballot is a provisional ballot waiting for review: accept or reject it in the provisional review."
)
MSG_RECEIPT_EMPTY = _("Enter a receipt code.")
MSG_BUNDLE_NOT_READY = _("This bundle is not ready yet.")
MSG_RETENTION = _(
    "The personal details of this cycle's voters are kept until %(date)s (%(days)s days after the results). "
    "The cycle can be archived from then on."
)
MSG_EARLY_REASON = _("Say why the cycle is archived before the end of the retention period.")
MAX_REASON = 2000


# --- bundles ---------------------------------------------------------------------------------------
def bundle_root() -> Path:
    return Path(settings.PB_BUNDLE_ROOT)


def _dispatch(bundle_id: int) -> None:
    """Hand the build to Celery after commit (``core.publish``); a broker that is down only leaves
    the bundle queued (asking again re-dispatches it)."""
    task_publish_on_commit(tasks.bundle_build_task, bundle_id)  # tasks imports this module: read at call time


@transaction.atomic
def bundle_request(*, actor, cycle: Cycle, variant: str = Bundle.Variant.AUDITOR, results_key: str = "") -> Bundle:
    """Queue a bundle of ``cycle`` and dispatch its build after commit, once voting has closed
    (PhaseClosed before). The auditor bundle: auditors and officials with MFA (audited). The public
    record: only after certification (``actor`` may be anyone; see ``public_record_get``). A bundle
    of the same kind still queued or being built is returned (and re-dispatched if queued) instead
    of a second one. Locking: the cycle row."""
    variant = Bundle.Variant(variant)
    if variant == Bundle.Variant.AUDITOR:
        check_auditor(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    check_exportable(cycle)
    if variant == Bundle.Variant.PUBLIC:
        check_public_record(cycle)
    pending = Bundle.objects.filter(
        cycle=cycle, variant=variant, status__in=[Bundle.Status.QUEUED, Bundle.Status.BUILDING]
    )
    if variant == Bundle.Variant.PUBLIC:
        pending = pending.filter(results_key=results_key)
    existing = pending.first()
    if existing is not None:
        if existing.status == Bundle.Status.QUEUED:
            _dispatch(existing.pk)
        return existing
    bundle = Bundle.objects.create(
        cycle=cycle, variant=variant, results_key=results_key, requested_by_id=getattr(actor, "pk", None)
    )
    if variant == Bundle.Variant.AUDITOR:
        audit_record(
            actor=actor,
            action="bundle.request",
            object_type="cycle",
            object_id=cycle.pk,
            after={"bundle": bundle.pk, "variant": variant.value},
        )
    _dispatch(bundle.pk)
    return bundle


def _progress_writer(bundle_id: int):
    """progress(stage, percent) for the bundle row. While ``bundle_write`` holds its read-only
    snapshot (PostgreSQL, outside a transaction) the update goes through a second connection, so the
    page shows it at once; otherwise through the ORM."""
    side = None
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        wrapper = connections[DEFAULT_DB_ALIAS]
        side = type(wrapper)(dict(wrapper.settings_dict), alias="audit_progress")
    last: list[int] = [-1]

    def progress(stage: str, percent: int) -> None:
        if percent == last[0]:
            return
        last[0] = percent
        try:
            if side is not None:
                with side.cursor() as cursor:
                    cursor.execute(
                        "UPDATE audit_bundle SET progress = %s, stage = %s WHERE id = %s",
                        [percent, stage[:40], bundle_id],
                    )
            else:
                Bundle.objects.filter(pk=bundle_id).update(progress=percent, stage=stage[:40])
        except DatabaseError:  # progress is for show: never fail a build over it
            logger.warning("bundle %s: progress not recorded", bundle_id)

    def close() -> None:
        if side is not None:
            side.close()

    return progress, close


def bundle_build(*, bundle_id: int) -> Bundle:
    """Build a queued bundle (the Celery task's body). Idempotent: a bundle already built, or being
    built by another worker, is left alone. The zip is written to a temporary name and moved into
    place, so a half-written file is never offered. Errors are stored on the row (status failed)."""
    with transaction.atomic():
        bundle = Bundle.objects.select_for_update(skip_locked=True).select_related("cycle").filter(pk=bundle_id).first()
        if bundle is None or bundle.status not in (Bundle.Status.QUEUED, Bundle.Status.FAILED):
            return bundle or Bundle.objects.get(pk=bundle_id)
        bundle.status, bundle.progress, bundle.error = Bundle.Status.BUILDING, 0, ""
        bundle.save(update_fields=["status", "progress", "error"])
    relative = Path(bundle.cycle.slug) / f"{bundle.pk}-{bundle.variant}-{secrets.token_hex(8)}.zip"
    final = bundle_root() / relative
    temporary = final.with_suffix(".part")
    progress, close = _progress_writer(bundle.pk)
    try:
        info = bundle_module.bundle_write(
            cycle=bundle.cycle, out=temporary, public=bundle.variant == Bundle.Variant.PUBLIC, progress=progress
        )
        os.replace(temporary, final)
    except Exception as exc:
        logger.exception("bundle %s failed", bundle.pk)
        temporary.unlink(missing_ok=True)
        Bundle.objects.filter(pk=bundle.pk).update(
            status=Bundle.Status.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000], finished_at=timezone.now()
        )
        raise
    finally:
        close()
    Bundle.objects.filter(pk=bundle.pk).update(
        status=Bundle.Status.READY,
        progress=100,
        stage="",
        path=str(relative),
        sha256=info.sha256,
        size=info.size,
        ballots=info.ballots,
        finished_at=timezone.now(),
    )
    bundle.refresh_from_db()
    return bundle


@transaction.atomic
def bundle_download(*, actor, bundle: Bundle) -> Path:
    """The file of a ready bundle. The auditor bundle: auditors and officials with MFA, and every
    download is an audit event. The public record: anyone, once certified (not audited: it is public,
    and logging its readers would only collect their addresses)."""
    bundle = Bundle.objects.select_related("cycle").get(pk=bundle.pk)
    if bundle.variant == Bundle.Variant.AUDITOR:
        check_auditor(actor)
    else:
        check_public_record(bundle.cycle)
    if bundle.status != Bundle.Status.READY:
        raise Conflict(MSG_BUNDLE_NOT_READY)
    path = bundle_root() / bundle.path
    if not path.exists():
        raise NotFound()
    if bundle.variant == Bundle.Variant.AUDITOR:
        after = {"cycle": bundle.cycle.slug, "variant": bundle.variant, "sha256": bundle.sha256}
        audit_record(actor=actor, action="bundle.download", object_type="bundle", object_id=bundle.pk, after=after)
    return path


def public_record_get(*, cycle: Cycle) -> Bundle:
    """The public record of the cycle's current published results: the one built (or being built),
    else a new one queued. Refused (PhaseClosed) before certification."""
    check_public_record(cycle)
    key = bundle_module.results_key(cycle)
    existing = (
        Bundle.objects.filter(cycle=cycle, variant=Bundle.Variant.PUBLIC, results_key=key)
        .exclude(status=Bundle.Status.FAILED)
        .order_by("-id")
        .first()
    )
    if existing is not None and existing.status != Bundle.Status.QUEUED:
        return existing
    return bundle_request(actor=None, cycle=cycle, variant=Bundle.Variant.PUBLIC, results_key=key)


# --- receipts ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReceiptFound:
    ballot_id: str  # as in ballots.csv (and the .pb)
    district: str
    status: str  # "counted", "pending", "replaced", "voided" (voting.services.receipt_check)


@transaction.atomic
def receipt_lookup(*, actor, cycle: Cycle, code: str) -> ReceiptFound | None:
    """Which row of the auditor bundle's ``ballots.csv`` a voter's receipt code belongs to (None:
    no ballot of this cycle has it). Auditors and officials with MFA. Audited as a look-up that
    found something or not — never with the code or the ballot id."""
    check_auditor(actor)
    if not crypto.code_normalize(code):
        raise ValidationFailed(extra={"code": [MSG_RECEIPT_EMPTY]})
    row = (
        Ballot.objects.filter(receipt_hash=crypto.receipt_hash(code), district__cycle=cycle)
        .values_list("id", "source__voter_id", "district__code")
        .first()
    )
    audit_record(
        actor=actor, action="receipt.lookup", object_type="cycle", object_id=cycle.pk, after={"found": row is not None}
    )
    if row is None:
        return None
    ballot_id, source_id, district = row  # the id ballots.csv shows: an imported ballot's source id
    return ReceiptFound(ballot_id=source_id or str(ballot_id), district=district, status=receipt_check(code=code))


# --- voiding a ballot ----------------------------------------------------------------------------------
class AlreadyVoid(Conflict):
    code = "already_void"
    default_message = MSG_ALREADY_VOID


def ballot_find(*, cycle: Cycle, district_code: str, ballot_id: str):
    """The ballot of ``cycle`` shown as ``ballot_id`` in ``ballots.csv`` in that district (a UUID, or
    an imported ballot's source voter id), or None."""
    ballot_id = (ballot_id or "").strip()
    if not ballot_id:
        return None
    ballots = Ballot.objects.filter(district__cycle=cycle, district__code=district_code)
    try:
        found = ballots.filter(pk=uuid.UUID(ballot_id)).first()
    except ValueError:
        found = None
    return found or ballots.filter(source__voter_id=ballot_id).first()


@transaction.atomic
def ballot_void(*, actor, ballot_id: uuid.UUID | str, reason: str):
    """Take one ballot out of the count, with the reason (officials with MFA, during counting).

    Invariant: the ballot stays in the record (``ballots.csv`` shows it void); the roll is unchanged
    (the person took part). The audit event names the ballot and its district, with the official as
    the actor — never a voter. The district's tally input changes, so certification needs a new run.
    Errors: NotAllowed; ValidationFailed (no reason, not a ballot id); NotFound; PhaseClosed (not
    counting); Conflict (a provisional ballot still pending — the review decides it); AlreadyVoid.
    Locking: the cycle row (as transitions and the provisional review), then the insert, whose unique
    ballot id is what refuses a second void.
    """
    check_voider(actor)
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise ValidationFailed(extra={"reason": [MSG_VOID_REASON]})
    try:
        ballot_id = ballot_id if isinstance(ballot_id, uuid.UUID) else uuid.UUID(str(ballot_id).strip())
    except ValueError as exc:
        raise NotFound(MSG_BALLOT_UNKNOWN) from exc
    found = Ballot.objects.filter(pk=ballot_id).values_list("district__cycle_id", "district__code").first()
    if found is None:
        raise NotFound(MSG_BALLOT_UNKNOWN)
    cycle = Cycle.objects.select_for_update().get(pk=found[0])
    check_void_open(cycle)
    if BallotVoid.objects.filter(ballot_id=ballot_id).exists():
        raise AlreadyVoid()
    if ProvisionalBallot.objects.filter(
        ballot_tag=crypto.ballot_tag(ballot_id), status=ProvisionalBallot.Status.PENDING
    ).exists():
        raise Conflict(MSG_VOID_PROVISIONAL)
    void = record.ballot_void_insert(ballot_id=ballot_id, kind=VoidReason.OFFICIAL, reason=reason, actor_id=actor.pk)
    if void is None:  # voided meanwhile
        raise AlreadyVoid()
    audit_record(
        actor=actor,
        action="ballot.void",
        object_type="ballot",
        object_id=str(ballot_id),
        after={"cycle": cycle.slug, "district": found[1]},
        reason=reason,
    )
    return void


# --- the archive ----------------------------------------------------------------------------------------
# Set by ``cycle_archive(early=True)`` for the one transition it makes: the retention guard lets
# that cycle through.
_EARLY: contextvars.ContextVar[int | None] = contextvars.ContextVar("pb_archive_early", default=None)
LIVE_PHASES = [p.value for p in PHASE_ORDER if not phase_reached(p, Phase.ARCHIVED)]


def results_at(cycle: Cycle) -> datetime:
    """When the cycle's results were published (its move to results in the audit log); for a cycle
    that never moved there through the phase machine, the close of voting or its last change."""
    entered = (
        AuditEvent.objects.filter(
            object_type="cycle", object_id=str(cycle.pk), action="cycle.phase_changed", after__phase=Phase.RESULTS.value
        )
        .order_by("-id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return entered or cycle.voting_close_at or cycle.updated_at


def retention_ends(cycle: Cycle) -> datetime:
    return results_at(cycle) + timedelta(days=settings.PB_RETENTION_DAYS)


def guard_retention(*, cycle: Cycle) -> None:
    """implementation → archived: not before the retention period has passed (unless an official
    archives early, with a reason, through ``cycle_archive``)."""
    if _EARLY.get() == cycle.pk:
        return
    ends = retention_ends(cycle)
    if ends > timezone.now():
        message = str(MSG_RETENTION % {"date": times.format_date(ends, cycle), "days": settings.PB_RETENTION_DAYS})
        raise GuardFailed(message, extra={"archive": [message]})


def hook_archive(*, cycle: Cycle, actor) -> None:
    """implementation → archived: erase the cycle's personal data, in the transition's transaction."""
    summary = personal_data_erase(cycle=cycle, live_phases=LIVE_PHASES)
    audit_record(actor=actor, action="cycle.archive_erase", object_type="cycle", object_id=cycle.pk, after=summary)


@transaction.atomic
def cycle_archive(*, actor, cycle: Cycle, early: bool = False, reason: str = "") -> Cycle:
    """Move a cycle in results or implementation to archived (through implementation: the phase
    machine is a line), which erases its voters' personal data (the hook). Refused before
    ``retention_ends(cycle)`` unless ``early`` — and an early archive by a person needs a reason.
    ``actor`` None is the system (the ``archive_cycle`` command). Errors: NotAllowed (officials with
    MFA), ValidationFailed, TransitionNotAllowed (another phase), GuardFailed (retention). Locking:
    the cycle row, through ``cycle_transition``."""
    check_who(actor, Action.CYCLE_TRANSITION)
    reason = (reason or "").strip()[:MAX_REASON]
    if early and actor is not None and not reason:
        raise ValidationFailed(extra={"reason": [MSG_EARLY_REASON]})
    reason = reason or "archive: retention period over"
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    if transition_get(cycle.phase, Phase.ARCHIVED) is None and transition_get(cycle.phase, Phase.IMPLEMENTATION):
        # results: on to implementation first (the machine is a line)
        cycle = cycle_transition(actor=actor, cycle=cycle, target=Phase.IMPLEMENTATION, reason=reason)
    token = _EARLY.set(cycle.pk if early else None)
    try:
        return cycle_transition(actor=actor, cycle=cycle, target=Phase.ARCHIVED, reason=reason)
    finally:
        _EARLY.reset(token)
