"""Ideas and what residents do with them: submit (online, or on paper through staff), edit,
withdraw; endorse, comment, follow, report; and moderators hide an idea or a comment.

Every service: keyword-only, its own transaction, lock → check → write, an audit event for every
change, notifications written to the outbox in the same transaction.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from budgets.models import Cycle, District
from core.errors import ApplicationError, Conflict, ValidationFailed
from core.services import audit_record

from .. import permissions
from ..images import image_clean
from ..models import (
    ADDRESS_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    Category,
    Comment,
    Endorsement,
    Follow,
    Idea,
    IdeaStatusChange,
    Project,
    Report,
)
from ..permissions import Action
from .common import (
    FieldErrors,
    amount_clean,
    category_clean,
    coordinates_clean,
    district_clean,
    language_clean,
    text_clean,
    user_notify,
)

IDEAS_PER_HOUR = 5  # per resident, against spam; counted in PostgreSQL


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many submissions in a short time. Please try again later.")


MSG_IDEA_LIMIT = _("You have reached this cycle's limit of %(limit)s ideas.")
MSG_IDEA_AGAIN = _("You have already submitted this idea: it is in your ideas.")
MSG_NOT_EDITABLE = _("This idea can no longer be changed: staff have started reviewing it.")
MSG_ALREADY_WITHDRAWN = _("This idea has been withdrawn.")
MSG_OWN_IDEA = _("You cannot endorse your own idea.")
MSG_REASON_REQUIRED = _("Please give a reason.")
MSG_HIDDEN = _("This content is hidden.")
MSG_ALREADY_HIDDEN = _("This is already hidden.")


def idea_status_set(idea: Idea, to_status: str, reason: str = "") -> None:
    """Move ``idea`` (locked) to ``to_status`` with an entry in its public history; the caller
    saves it. Nothing happens when it has that status already."""
    if idea.status == to_status:
        return
    IdeaStatusChange.objects.create(idea=idea, from_status=idea.status, to_status=to_status, public_reason=reason)
    idea.status = to_status


def _idea_snapshot(idea: Idea) -> dict:
    return {
        "title": idea.title,
        "description": idea.description,
        "district": idea.district.code,
        "category": idea.category_id,
        "address": idea.address,
        "cost_guess": idea.cost_guess,
        "language": idea.language,
        "status": idea.status,
        "photo": bool(idea.photo),
    }


@dataclass(frozen=True)
class IdeaInput:
    title: str
    description: str
    district: District | int | None
    address: str
    category: Category | int | None = None
    latitude: Decimal | str | None = None
    longitude: Decimal | str | None = None
    cost_guess: Decimal | str | None = None
    language: str = "en"
    photo: object = None  # an UploadedFile


def _idea_fields(cycle: Cycle, data: IdeaInput) -> dict:
    errors = FieldErrors()
    fields = {
        "title": text_clean(errors, "title", data.title, max_length=TITLE_MAX),
        "description": text_clean(errors, "description", data.description, max_length=DESCRIPTION_MAX),
        "address": text_clean(errors, "address", data.address, max_length=ADDRESS_MAX),
        "district": district_clean(errors, cycle, data.district),
        "category": category_clean(errors, cycle, data.category),
        "cost_guess": amount_clean(errors, "cost_guess", data.cost_guess),
        "language": language_clean(errors, data.language),
    }
    fields["latitude"], fields["longitude"] = coordinates_clean(errors, data.latitude, data.longitude)
    photo = None
    if data.photo:
        try:
            photo = image_clean(data.photo)
        except ValidationFailed as exc:
            for f, msgs in exc.extra.items():
                for m in msgs:
                    errors.add(f, m)
    errors.raise_if_any()
    if photo is not None:
        fields["photo"] = photo
    return fields


# --- ideas -------------------------------------------------------------------------------------------
@transaction.atomic
def idea_submit(*, actor, cycle: Cycle | int, data: IdeaInput) -> Idea:
    """A resident submits an idea while the cycle collects ideas.

    Limits: ``cycle.ideas_per_resident`` per cycle and IDEAS_PER_HOUR per hour, counted under a lock
    on the author's row so parallel submissions cannot pass the limit together; under the same lock,
    the same title and description as one of the author's ideas in the cycle is the same form sent
    twice (two tabs, a double click), refused as a Conflict. Errors: NotAllowed, PhaseClosed,
    ValidationFailed, Conflict, RateLimited. Notifies the author (outbox), who also follows it.
    """
    permissions.check_who(actor, Action.IDEA_SUBMIT)
    cycle = Cycle.objects.get(pk=cycle.pk if isinstance(cycle, Cycle) else cycle)
    permissions.check_when(Action.IDEA_SUBMIT, cycle)
    get_user_model().objects.select_for_update().filter(pk=actor.pk).first()
    fields = _idea_fields(cycle, data)
    mine = Idea.objects.filter(cycle=cycle, author=actor).exclude(status=Idea.Status.WITHDRAWN)
    if mine.filter(title=fields["title"], description=fields["description"]).exists():
        raise Conflict(MSG_IDEA_AGAIN)
    if mine.count() >= cycle.ideas_per_resident:
        raise Conflict(MSG_IDEA_LIMIT % {"limit": cycle.ideas_per_resident})
    if Idea.objects.filter(author=actor, created_at__gte=timezone.now() - timedelta(hours=1)).count() >= IDEAS_PER_HOUR:
        raise RateLimited()
    idea = _idea_create(cycle=cycle, fields=fields, author=actor, source=Idea.Source.ONLINE, entered_by=actor)
    audit_record(
        actor=actor, action="idea.submitted", object_type="idea", object_id=idea.pk, after=_idea_snapshot(idea)
    )
    Follow.objects.get_or_create(user=actor, idea=idea)
    user_notify(
        actor,
        "idea.received",
        gettext_noop("We received your idea “%(title)s”"),
        gettext_noop(
            "Thank you! Your idea “%(title)s” has been received. You will hear from us when staff have reviewed it."
        ),
        title=idea.title,
    )
    return idea


def _idea_create(*, cycle, fields, author, source, entered_by, **extra) -> Idea:
    photo = fields.pop("photo", None)
    idea = Idea(cycle=cycle, author=author, source=source, entered_by=entered_by, **fields, **extra)
    if photo is not None:
        idea.photo.save(photo.name, photo, save=False)
    idea.save()
    IdeaStatusChange.objects.create(idea=idea, from_status="", to_status=Idea.Status.SUBMITTED)
    return idea


@transaction.atomic
def idea_submit_paper(
    *, actor, cycle: Cycle | int, data: IdeaInput, proposer_name: str, proposer_contact: str = "", author=None
) -> Idea:
    """Vetting staff key in an idea collected on paper or at a meeting, on a resident's behalf."""
    permissions.check_who(actor, Action.PAPER_IDEA_ENTER)
    cycle = Cycle.objects.get(pk=cycle.pk if isinstance(cycle, Cycle) else cycle)
    permissions.check_when(Action.PAPER_IDEA_ENTER, cycle)
    errors = FieldErrors()
    name = text_clean(errors, "proposer_name", proposer_name, max_length=150)
    contact = text_clean(errors, "proposer_contact", proposer_contact, max_length=150, required=False)
    try:
        fields = _idea_fields(cycle, data)
    except ValidationFailed as exc:
        for f, msgs in exc.extra.items():
            for m in msgs:
                errors.add(f, m)
        errors.raise_if_any()
    errors.raise_if_any()
    idea = _idea_create(
        cycle=cycle,
        fields=fields,
        author=author,
        source=Idea.Source.PAPER,
        entered_by=actor,
        proposer_name=name,
        proposer_contact=contact,
    )
    audit_record(
        actor=actor, action="idea.paper_entered", object_type="idea", object_id=idea.pk, after=_idea_snapshot(idea)
    )
    if author is not None:
        Follow.objects.get_or_create(user=author, idea=idea)
    return idea


def idea_locked(idea: Idea | int) -> Idea:
    """The idea's row, locked (``SELECT … FOR UPDATE``), with its cycle and district."""
    pk = idea.pk if isinstance(idea, Idea) else idea
    return Idea.objects.select_for_update().select_related("cycle", "district").get(pk=pk)


@transaction.atomic
def idea_edit(*, actor, idea: Idea | int, data: IdeaInput) -> Idea:
    """The author changes their idea while ideas are collected and before review starts."""
    idea = idea_locked(idea)
    permissions.check(actor, Action.IDEA_EDIT, idea.cycle, idea)
    if idea.status == Idea.Status.WITHDRAWN:
        raise Conflict(MSG_ALREADY_WITHDRAWN)
    if idea.status != Idea.Status.SUBMITTED:
        raise Conflict(MSG_NOT_EDITABLE)
    before = _idea_snapshot(idea)
    fields = _idea_fields(idea.cycle, data)
    photo = fields.pop("photo", None)
    for name, value in fields.items():
        setattr(idea, name, value)
    if photo is not None:
        idea.photo.save(photo.name, photo, save=False)
    idea.save()
    after = _idea_snapshot(idea)
    if after != before:
        audit_record(
            actor=actor, action="idea.edited", object_type="idea", object_id=idea.pk, before=before, after=after
        )
    return idea


@transaction.atomic
def idea_withdraw(*, actor, idea: Idea | int, reason: str = "") -> Idea:
    idea = idea_locked(idea)
    permissions.check(actor, Action.IDEA_WITHDRAW, idea.cycle, idea)
    if idea.status == Idea.Status.WITHDRAWN:
        return idea
    if idea.status != Idea.Status.SUBMITTED:
        raise Conflict(MSG_NOT_EDITABLE)
    before = {"status": idea.status}
    idea_status_set(idea, Idea.Status.WITHDRAWN, (reason or "").strip()[:500])
    idea.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="idea.withdrawn",
        object_type="idea",
        object_id=idea.pk,
        before=before,
        after={"status": idea.status},
        reason=(reason or "").strip()[:500],
    )
    return idea


# --- endorsements, comments, follows, reports ----------------------------------------------------------
def _visible_idea(idea: Idea | int) -> Idea:
    idea = Idea.objects.select_related("cycle").get(pk=idea.pk if isinstance(idea, Idea) else idea)
    if idea.is_hidden or idea.status == Idea.Status.WITHDRAWN:
        raise Conflict(MSG_HIDDEN)
    return idea


@transaction.atomic
def idea_endorse(*, actor, idea: Idea | int) -> bool:
    """One endorsement per resident per idea (a database constraint). Returns False if it existed."""
    idea = _visible_idea(idea)
    permissions.check(actor, Action.IDEA_ENDORSE, idea.cycle)
    if idea.author_id == actor.pk:
        raise Conflict(MSG_OWN_IDEA)
    try:
        with transaction.atomic():
            Endorsement.objects.create(idea=idea, user=actor)
    except IntegrityError:
        return False
    audit_record(actor=actor, action="idea.endorsed", object_type="idea", object_id=idea.pk)
    return True


@transaction.atomic
def idea_unendorse(*, actor, idea: Idea | int) -> bool:
    idea = _visible_idea(idea)
    permissions.check(actor, Action.IDEA_ENDORSE, idea.cycle)
    deleted, _rows = Endorsement.objects.filter(idea=idea, user=actor).delete()
    if deleted:
        audit_record(actor=actor, action="idea.unendorsed", object_type="idea", object_id=idea.pk)
    return bool(deleted)


@transaction.atomic
def comment_add(*, actor, idea: Idea | int, body: str) -> Comment:
    idea = _visible_idea(idea)
    permissions.check(actor, Action.IDEA_COMMENT, idea.cycle)
    errors = FieldErrors()
    body = text_clean(errors, "body", body, max_length=COMMENT_MAX)
    errors.raise_if_any()
    comment = Comment.objects.create(idea=idea, author=actor, body=body)
    audit_record(
        actor=actor, action="comment.added", object_type="comment", object_id=comment.pk, after={"idea": idea.pk}
    )
    return comment


@transaction.atomic
def follow_set(*, actor, idea: Idea | None = None, project: Project | None = None, on: bool = True) -> bool:
    """Follow or unfollow an idea or a project. Returns whether anything changed."""
    target = idea or project
    permissions.check(actor, Action.FOLLOW, target.cycle)
    lookup = {"user": actor, "idea": idea} if idea else {"user": actor, "project": project}
    if on:
        _obj, changed = Follow.objects.get_or_create(**lookup)
    else:
        changed = bool(Follow.objects.filter(**lookup).delete()[0])
    if changed:
        audit_record(
            actor=actor,
            action="follow.added" if on else "follow.removed",
            object_type="idea" if idea else "project",
            object_id=target.pk,
        )
    return changed


@transaction.atomic
def content_report(*, actor, reason: str, idea: Idea | None = None, comment: Comment | None = None) -> Report:
    cycle = (idea or comment.idea).cycle
    permissions.check(actor, Action.REPORT, cycle)
    errors = FieldErrors()
    reason = text_clean(errors, "reason", reason, max_length=1000)
    errors.raise_if_any()
    report = Report.objects.create(reporter=actor, idea=idea, comment=comment, reason=reason)
    audit_record(
        actor=actor,
        action="content.reported",
        object_type="idea" if idea else "comment",
        object_id=(idea or comment).pk,
        reason=reason,
    )
    return report


@transaction.atomic
def content_hide(*, actor, reason: str, idea: Idea | None = None, comment: Comment | None = None):
    """Staff hide an idea or comment with a public reason; its author is told; reports resolved."""
    target = idea or comment
    model = Idea if idea else Comment
    target = model.objects.select_for_update().get(pk=target.pk)
    cycle = (target if idea else target.idea).cycle
    permissions.check(actor, Action.MODERATE, cycle)
    errors = FieldErrors()
    reason = text_clean(errors, "reason", reason, max_length=1000)
    errors.raise_if_any()
    if target.is_hidden:
        raise Conflict(MSG_ALREADY_HIDDEN)
    target.hidden_at = timezone.now()
    target.hidden_reason = reason
    target.save(update_fields=["hidden_at", "hidden_reason"])
    Report.objects.filter(**({"idea": target} if idea else {"comment": target}), resolved_at__isnull=True).update(
        resolved_at=timezone.now()
    )
    kind = "idea" if idea else "comment"
    audit_record(actor=actor, action=f"{kind}.hidden", object_type=kind, object_id=target.pk, reason=reason)
    user_notify(
        target.author,
        f"{kind}.hidden",
        gettext_noop("Your contribution was hidden"),
        gettext_noop("A moderator hid your %(kind)s. Reason: %(reason)s"),
        kind=_("idea") if idea else _("comment"),
        reason=reason,
    )
    return target
