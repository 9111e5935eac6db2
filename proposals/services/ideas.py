"""Ideas, reviews, projects, endorsements, comments, follows and moderation.

Every service: keyword-only, its own transaction, lock → check → write, an audit event for every
change, notifications written to the outbox in the same transaction.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle, District
from core.errors import ApplicationError, Conflict, ValidationFailed
from core.languages import language_name
from core.money import format_money
from core.services import audit_record, notification_queue

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
    ProjectSource,
    ProjectText,
    Report,
    Review,
)
from ..permissions import Action

IDEAS_PER_HOUR = 5  # per resident, against spam; counted in PostgreSQL


class RateLimited(ApplicationError):
    status = 429
    code = "rate_limited"
    default_message = _("Too many submissions in a short time. Please try again later.")


MSG_REQUIRED = _("This field is required.")
MSG_TOO_LONG = _("Please keep this under %(max)s characters (it has %(length)s).")
MSG_BAD_AMOUNT = _("Enter an amount as a number, e.g. 25000 or 25000.00.")
MSG_NEGATIVE = _("An amount cannot be negative.")
MSG_WRONG_DISTRICT = _("Choose a district of this cycle.")
MSG_WRONG_CATEGORY = _("Choose a category of this cycle.")
MSG_BAD_LANGUAGE = _("Choose one of the listed languages.")
MSG_BAD_COORDINATES = _("The map point is not valid.")
MSG_IDEA_LIMIT = _("You have reached this cycle's limit of %(limit)s ideas.")
MSG_IDEA_AGAIN = _("You have already submitted this idea: it is in your ideas.")
MSG_NOT_EDITABLE = _("This idea can no longer be changed: staff have started reviewing it.")
MSG_ALREADY_WITHDRAWN = _("This idea has been withdrawn.")
MSG_OWN_IDEA = _("You cannot endorse your own idea.")
MSG_REASON_REQUIRED = _("Please give a reason.")
MSG_NOT_FEASIBLE_REASON = _("Explain publicly why the idea is not feasible.")
MSG_NOTHING_TO_PUBLISH = _("Record a feasibility decision before publishing it.")
MSG_COST_OVER_BUDGET = _("The cost (%(cost)s) is more than the district's whole budget (%(budget)s).")
MSG_CODE_TAKEN = _("Another project in this cycle already uses the code “%(code)s”.")
MSG_CODE_FORMAT = _("Use a short code of letters, digits and dashes, e.g. B-07.")
MSG_NO_IDEAS = _("Choose at least one idea.")
MSG_IDEA_OTHER_CYCLE = _("All ideas must belong to this cycle.")
MSG_TEXT_MISSING = _("Give the title, summary and description in %(language)s.")
MSG_TEXT_INCOMPLETE = _(
    "Give the title, summary and description in %(language)s, or leave all three empty: readers of "
    "%(language)s then see the text in the main language."
)
MSG_HIDDEN = _("This content is hidden.")
MSG_ALREADY_HIDDEN = _("This is already hidden.")
MSG_REVIEWER_NOT_STAFF = _("The reviewer must be a member of the vetting staff.")
MSG_NO_PROJECTS = _("Choose at least one project.")
MSG_PROJECTS_REFUSED = _("Nothing was published: some of the chosen projects cannot be published.")
MSG_PROJECT_OTHER_CYCLE = _("Project %(project)s is not a project of this cycle.")
MSG_PROJECT_ALREADY_PUBLISHED = _("Project %(project)s is already published.")
MSG_ALREADY_PUBLISHED = _("This decision is already published.")
MSG_BATCH_REFUSED = _("Nothing was published: some of the chosen decisions cannot be published.")
MSG_BATCH_OTHER_CYCLE = _("Idea %(idea)s is not an idea of this cycle.")
MSG_BATCH_DECIDED = _("Idea %(idea)s cannot get a new decision: it is “%(status)s”.")
MSG_BATCH_NO_DECISION = _("Idea %(idea)s has no recorded decision to publish.")
MSG_BATCH_ALREADY_PUBLISHED = _("The decision on idea %(idea)s is already published.")


# --- validation helpers ----------------------------------------------------------------------------
class FieldErrors:
    """A form's worth of field errors: each check adds to it, ``raise_if_any`` raises them all at once
    as one ``ValidationFailed``. Shared by these services and implementation tracking."""

    def __init__(self):
        self.errors: dict[str, list] = {}

    def add(self, field, message):
        self.errors.setdefault(field, []).append(message)

    def raise_if_any(self):
        if self.errors:
            raise ValidationFailed(extra=self.errors)


def text_clean(errors: FieldErrors, field: str, value, *, max_length: int, required: bool = True) -> str:
    """``value`` stripped; a missing (when ``required``) or too long text adds its error to ``errors``."""
    value = (value or "").strip()
    if required and not value:
        errors.add(field, MSG_REQUIRED)
    if len(value) > max_length:
        errors.add(field, MSG_TOO_LONG % {"max": max_length, "length": len(value)})
    return value


def _amount(errors: FieldErrors, field: str, value, *, required: bool = False) -> Decimal | None:
    if value in (None, ""):
        if required:
            errors.add(field, MSG_REQUIRED)
        return None
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip()).quantize(Decimal("0.01"))
        if not amount.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        errors.add(field, MSG_BAD_AMOUNT)
        return None
    if amount < 0:
        errors.add(field, MSG_NEGATIVE)
        return None
    if amount >= Decimal("1e12"):
        errors.add(field, MSG_BAD_AMOUNT)
        return None
    return amount


def _coordinates(errors: FieldErrors, latitude, longitude) -> tuple[Decimal | None, Decimal | None]:
    if latitude in (None, "") and longitude in (None, ""):
        return None, None
    try:
        lat = Decimal(str(latitude)).quantize(Decimal("0.000001"))
        lng = Decimal(str(longitude)).quantize(Decimal("0.000001"))
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise ValueError
    except (InvalidOperation, ValueError, TypeError):
        errors.add("location", MSG_BAD_COORDINATES)
        return None, None
    return lat, lng


def _language(errors: FieldErrors, value) -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    if value not in codes:
        errors.add("language", MSG_BAD_LANGUAGE)
        return codes[0]
    return value


def _district(errors: FieldErrors, cycle: Cycle, district) -> District | None:
    pk = district.pk if isinstance(district, District) else district
    found = District.objects.filter(cycle=cycle, pk=pk).first() if pk else None
    if found is None:
        errors.add("district", MSG_WRONG_DISTRICT)
    return found


def _category(errors: FieldErrors, cycle: Cycle, category) -> Category | None:
    if category in (None, ""):
        return None
    pk = category.pk if isinstance(category, Category) else category
    found = Category.objects.filter(cycle=cycle, pk=pk).first()
    if found is None:
        errors.add("category", MSG_WRONG_CATEGORY)
    return found


def user_notify(user, kind: str, subject: str, body: str, /, **params) -> None:
    """Queue a notification rendered in the recipient's language. Positional-only, so a message
    may use ``%(kind)s`` (or any other name) as a parameter."""
    if user is None:
        return
    with translation.override(getattr(user, "language", None) or "en"):
        # Lazy parameters (labels) render here, in the recipient's language.
        params = {k: str(v) for k, v in params.items()}
        notification_queue(recipient=user, kind=kind, subject=gettext(subject) % params, body=gettext(body) % params)


def _status(idea: Idea, to_status: str, reason: str = "") -> None:
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
        "district": _district(errors, cycle, data.district),
        "category": _category(errors, cycle, data.category),
        "cost_guess": _amount(errors, "cost_guess", data.cost_guess),
        "language": _language(errors, data.language),
    }
    fields["latitude"], fields["longitude"] = _coordinates(errors, data.latitude, data.longitude)
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


def _lock_idea(idea: Idea | int) -> Idea:
    pk = idea.pk if isinstance(idea, Idea) else idea
    return Idea.objects.select_for_update().select_related("cycle", "district").get(pk=pk)


@transaction.atomic
def idea_edit(*, actor, idea: Idea | int, data: IdeaInput) -> Idea:
    """The author changes their idea while ideas are collected and before review starts."""
    idea = _lock_idea(idea)
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
    idea = _lock_idea(idea)
    permissions.check(actor, Action.IDEA_WITHDRAW, idea.cycle, idea)
    if idea.status == Idea.Status.WITHDRAWN:
        return idea
    if idea.status != Idea.Status.SUBMITTED:
        raise Conflict(MSG_NOT_EDITABLE)
    before = {"status": idea.status}
    _status(idea, Idea.Status.WITHDRAWN, (reason or "").strip()[:500])
    idea.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor, action="idea.withdrawn", object_type="idea", object_id=idea.pk, before=before,
        after={"status": idea.status}, reason=(reason or "").strip()[:500],
    )  # fmt: skip
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


# --- vetting -----------------------------------------------------------------------------------------
def _review_for(idea: Idea) -> Review:
    review, _created = Review.objects.select_for_update().get_or_create(idea=idea)
    return review


def _review_snapshot(review: Review) -> dict:
    return {
        "reviewer": review.reviewer_id,
        "feasibility": review.feasibility,
        "public_reason": review.public_reason,
        "cost_estimate": review.cost_estimate,
        "department": review.department,
        "internal_notes": review.internal_notes,
    }


@transaction.atomic
def review_assign(*, actor, idea: Idea | int, reviewer) -> Review:
    idea = _lock_idea(idea)
    permissions.check(actor, Action.REVIEW, idea.cycle)
    if reviewer is not None and not reviewer.has_perm(permissions.STAFF_VET):
        raise ValidationFailed(extra={"reviewer": [MSG_REVIEWER_NOT_STAFF]})
    review = _review_for(idea)
    before = _review_snapshot(review)
    review.reviewer = reviewer
    review.save(update_fields=["reviewer", "updated_at"])
    if idea.status == Idea.Status.SUBMITTED:
        _status(idea, Idea.Status.UNDER_REVIEW)
        idea.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor, action="review.assigned", object_type="idea", object_id=idea.pk,
        before={"reviewer": before["reviewer"]}, after={"reviewer": review.reviewer_id},
    )  # fmt: skip
    return review


@transaction.atomic
def review_record(
    *,
    actor,
    idea: Idea | int,
    feasibility: str,
    public_reason: str = "",
    cost_estimate=None,
    department: str = "",
    internal_notes: str = "",
) -> Review:
    """Record (not yet publish) the assessment. "Not feasible" needs a public reason."""
    idea = _lock_idea(idea)
    permissions.check(actor, Action.REVIEW, idea.cycle)
    if idea.status in (Idea.Status.WITHDRAWN, Idea.Status.IN_PROJECT):
        raise Conflict(MSG_NOT_EDITABLE)
    errors = FieldErrors()
    if feasibility not in Review.Feasibility.values:
        errors.add("feasibility", MSG_REQUIRED)
    reason = text_clean(errors, "public_reason", public_reason, max_length=2000, required=False)
    if feasibility == Review.Feasibility.NOT_FEASIBLE and not reason:
        errors.add("public_reason", MSG_NOT_FEASIBLE_REASON)
    cost = _amount(errors, "cost_estimate", cost_estimate)
    department = text_clean(errors, "department", department, max_length=120, required=False)
    notes = text_clean(errors, "internal_notes", internal_notes, max_length=5000, required=False)
    errors.raise_if_any()
    review = _review_for(idea)
    before = _review_snapshot(review)
    review.feasibility, review.public_reason, review.cost_estimate = feasibility, reason, cost
    review.department, review.internal_notes = department, notes
    if review.reviewer_id is None:
        review.reviewer = actor
    review.save()
    if idea.status == Idea.Status.SUBMITTED:
        _status(idea, Idea.Status.UNDER_REVIEW)
        idea.save(update_fields=["status", "updated_at"])
    after = _review_snapshot(review)
    if after != before:
        audit_record(
            actor=actor, action="review.recorded", object_type="idea", object_id=idea.pk, before=before, after=after
        )
    return review


_FEASIBILITY_STATUS = {
    Review.Feasibility.FEASIBLE: Idea.Status.FEASIBLE,
    Review.Feasibility.NOT_FEASIBLE: Idea.Status.NOT_FEASIBLE,
    Review.Feasibility.NEEDS_INFO: Idea.Status.NEEDS_INFO,
}


@transaction.atomic
def review_publish(*, actor, idea: Idea | int) -> Idea:
    """Make the decision public: the idea's status and public reason change, its author and
    followers are notified. A decision already published as it stands is refused (Conflict), so
    a form sent twice tells residents once."""
    idea = _lock_idea(idea)
    permissions.check(actor, Action.REVIEW, idea.cycle)
    review = Review.objects.select_for_update().filter(idea=idea).first()
    if review is None or not review.feasibility:
        raise Conflict(MSG_NOTHING_TO_PUBLISH)
    if idea.status in (Idea.Status.WITHDRAWN, Idea.Status.IN_PROJECT):
        raise Conflict(MSG_NOT_EDITABLE)
    if not _review_pending(idea, review):  # sent twice: residents were told once
        raise Conflict(MSG_ALREADY_PUBLISHED)
    _review_publish_one(actor=actor, idea=idea, review=review)
    return idea


def _review_pending(idea: Idea, review: Review | None) -> bool:
    """Whether ``review`` holds a decision residents do not see yet (none published, or a
    different one recorded since): the rule of ``selectors.decisions_to_publish``."""
    if review is None or not review.feasibility:
        return False
    return review.published_at is None or idea.status != _FEASIBILITY_STATUS[review.feasibility]


def _idea_label(idea: Idea) -> str:
    return f"#{idea.pk} “{idea.title}”"


def _cycle_locked(cycle: Cycle | int) -> Cycle:
    """The cycle's row, locked (``SELECT … FOR UPDATE``): first in every batch, so batches queue."""
    return Cycle.objects.select_for_update().get(pk=cycle.pk if isinstance(cycle, Cycle) else cycle)


def _ids(items) -> list[int]:
    """Ids of objects or ids, once each, in ascending order (the order rows are locked in)."""
    return sorted({item.pk if hasattr(item, "pk") else int(item) for item in items or []})


def _locked_in_id_order(model, ids: list[int]) -> dict:
    """``{id: row}`` of ``model`` (an idea or a project, with its cycle and district), each row locked,
    in id order — the same order as every other batch, so two batches cannot deadlock."""
    rows = model.objects.select_for_update().select_related("cycle", "district").filter(pk__in=ids).order_by("pk")
    return {row.pk: row for row in rows}


@transaction.atomic
def review_publish_many(*, actor, cycle: Cycle | int, ideas: list[Idea | int]) -> list[Idea]:
    """Publish several recorded decisions of one cycle together: all of them or none.

    Each decision is published as ``review_publish`` does it (status, public history, one audit
    event, notifications). Refused as a whole (Conflict, ``extra["ideas"]`` naming each idea and
    what is wrong) when any idea is of another cycle, has no decision to publish, is withdrawn or
    in a project, or its decision is already published: so a form sent twice publishes nothing
    twice. Locks the cycle, then the ideas and their reviews in id order (the same order as any
    other batch, so two batches cannot deadlock). Errors: NotAllowed, PhaseClosed (outside
    vetting), ValidationFailed (no idea chosen), Conflict."""
    permissions.check_who(actor, Action.REVIEW)
    cycle = _cycle_locked(cycle)
    permissions.check_when(Action.REVIEW, cycle)
    idea_ids = _ids(ideas)
    if not idea_ids:
        raise ValidationFailed(extra={"ideas": [MSG_NO_IDEAS]})
    locked = _locked_in_id_order(Idea, idea_ids)
    reviews = {
        r.idea_id: r for r in Review.objects.select_for_update().filter(idea_id__in=idea_ids).order_by("idea_id")
    }
    problems = []
    for pk in idea_ids:
        idea = locked.get(pk)
        if idea is None or idea.cycle_id != cycle.pk:
            problems.append(MSG_BATCH_OTHER_CYCLE % {"idea": f"#{pk}"})
        elif idea.status in (Idea.Status.WITHDRAWN, Idea.Status.IN_PROJECT):
            problems.append(MSG_BATCH_DECIDED % {"idea": _idea_label(idea), "status": idea.get_status_display()})
        elif reviews.get(pk) is None or not reviews[pk].feasibility:
            problems.append(MSG_BATCH_NO_DECISION % {"idea": _idea_label(idea)})
        elif not _review_pending(idea, reviews[pk]):
            problems.append(MSG_BATCH_ALREADY_PUBLISHED % {"idea": _idea_label(idea)})
    if problems:
        raise Conflict(MSG_BATCH_REFUSED, extra={"ideas": problems})
    published = []
    for pk in idea_ids:
        _review_publish_one(actor=actor, idea=locked[pk], review=reviews[pk])
        published.append(locked[pk])
    return published


def _review_publish_one(*, actor, idea: Idea, review: Review) -> None:
    """Publish ``review`` (locked, with a decision) on ``idea`` (locked): status, history, audit
    event and notifications."""
    before = {"status": idea.status}
    _status(idea, _FEASIBILITY_STATUS[review.feasibility], review.public_reason)
    idea.save(update_fields=["status", "updated_at"])
    review.published_at = timezone.now()
    review.save(update_fields=["published_at", "updated_at"])
    audit_record(
        actor=actor, action="review.published", object_type="idea", object_id=idea.pk, before=before,
        after={"status": idea.status, "public_reason": review.public_reason},
    )  # fmt: skip
    for user in _followers(idea=idea):
        user_notify(
            user,
            "idea.decision",
            gettext_noop("A decision on the idea “%(title)s”"),
            gettext_noop("Staff have reviewed the idea “%(title)s”: %(status)s. %(reason)s"),
            title=idea.title,
            status=Idea.Status(idea.status).label,  # lazy: rendered in the recipient's language
            reason=review.public_reason,
        )


def _followers(*, idea: Idea | None = None, project: Project | None = None):
    User = get_user_model()
    if idea is not None:
        ids = set(Follow.objects.filter(idea=idea).values_list("user_id", flat=True))
        if idea.author_id:
            ids.add(idea.author_id)
    else:
        ids = set(Follow.objects.filter(project=project).values_list("user_id", flat=True))
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


# --- projects ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectTextInput:
    title: str
    summary: str
    description: str


_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _project_fields(errors: FieldErrors, cycle: Cycle, *, district, code, cost, category, address, texts) -> dict:

    district = _district(errors, cycle, district)
    code = (code or "").strip().upper()
    if not code or len(code) > 16 or not set(code) <= _CODE_CHARS:
        errors.add("code", MSG_CODE_FORMAT)
    cost = _amount(errors, "cost", cost, required=True)
    if district is not None and cost is not None and cost > district.budget:
        errors.add(
            "cost",
            MSG_COST_OVER_BUDGET
            % {"cost": format_money(cost, cycle.currency), "budget": format_money(district.budget, cycle.currency)},
        )
    clean_texts = {}
    languages = cycle.content_languages()
    main = languages[0][0]  # the cycle's main language: every project is written in it
    for language, name in languages:
        text = (texts or {}).get(language)
        given = [bool((getattr(text, f, "") or "").strip()) for f in ("title", "summary", "description")]
        if language != main and not any(given):
            continue  # optional: readers of this language see the main language's text (marked)
        if not all(given):
            message = MSG_TEXT_MISSING if language == main else MSG_TEXT_INCOMPLETE
            errors.add(f"texts.{language}", message % {"language": language_name(language, name)})
            continue
        clean_texts[language] = ProjectTextInput(
            title=text_clean(errors, f"texts.{language}.title", text.title, max_length=TITLE_MAX),
            summary=text_clean(errors, f"texts.{language}.summary", text.summary, max_length=300),
            description=text_clean(
                errors, f"texts.{language}.description", text.description, max_length=DESCRIPTION_MAX
            ),
        )
    return {
        "district": district,
        "code": code,
        "cost": cost,
        "category": _category(errors, cycle, category),
        "address": text_clean(errors, "address", address, max_length=ADDRESS_MAX, required=False),
        "texts": clean_texts,
    }


def _project_image(errors: FieldErrors, image):
    """The uploaded image re-encoded without metadata, or None (problems go to ``errors``)."""
    if not image:
        return None
    try:
        return image_clean(image, field="image")
    except ValidationFailed as exc:
        for m in exc.extra.get("image", []):
            errors.add("image", m)
    return None


def _project_snapshot(project: Project) -> dict:
    return {
        "code": project.code,
        "district": project.district.code,
        "cost": project.cost,
        "category": project.category_id,
        "address": project.address,
        "ideas": sorted(project.sources.values_list("idea_id", flat=True)),
        "texts": {t.language: [t.title, t.summary, t.description] for t in project.texts.all()},
    }


@transaction.atomic
def project_create_from_ideas(
    *,
    actor,
    cycle: Cycle | int,
    ideas: list[Idea | int],
    district,
    code: str,
    cost,
    texts: dict[str, ProjectTextInput],
    category=None,
    address: str = "",
    image=None,
    draft: bool = False,
) -> Project:
    """Staff build a ballot project from one or more ideas (merge), or one of several projects
    from one idea (split: call again with the same idea). Links are kept both ways; each source
    idea becomes "in project", its author and followers now follow the project and are told —
    for a ``draft``, only once it is published (``project_publish``): until then no public page,
    ballot or export shows it, its source ideas keep their public status and history, and its
    audit event keeps its content out of the public record.

    Errors: NotAllowed, PhaseClosed (outside vetting: projects are frozen once voting opens),
    ValidationFailed (cost above the district budget, duplicate code, missing translations, ideas
    of another cycle)."""
    permissions.check_who(actor, Action.PROJECT_EDIT)
    cycle = _cycle_locked(cycle)
    permissions.check_when(Action.PROJECT_EDIT, cycle)
    errors = FieldErrors()
    idea_ids = _ids(ideas)
    locked = list(Idea.objects.select_for_update().filter(pk__in=idea_ids).order_by("pk"))
    if not idea_ids:
        errors.add("ideas", MSG_NO_IDEAS)
    elif len(locked) != len(idea_ids) or any(i.cycle_id != cycle.pk for i in locked):
        errors.add("ideas", MSG_IDEA_OTHER_CYCLE)
    elif any(i.status == Idea.Status.WITHDRAWN for i in locked):
        errors.add("ideas", MSG_ALREADY_WITHDRAWN)
    fields = _project_fields(
        errors, cycle, district=district, code=code, cost=cost, category=category, address=address, texts=texts
    )
    if fields["code"] and Project.objects.filter(cycle=cycle, code=fields["code"]).exists():
        errors.add("code", MSG_CODE_TAKEN % {"code": fields["code"]})
    clean_image = _project_image(errors, image)
    errors.raise_if_any()
    texts = fields.pop("texts")
    project = Project(cycle=cycle, published_at=None if draft else timezone.now(), **fields)
    if clean_image is not None:
        project.image.save(clean_image.name, clean_image, save=False)
    project.save()
    ProjectText.objects.bulk_create(
        [ProjectText(project=project, language=lang, **vars(t)) for lang, t in sorted(texts.items())]
    )
    ProjectSource.objects.bulk_create([ProjectSource(project=project, idea=idea) for idea in locked])
    for idea in locked:
        if not draft:  # a draft's ideas keep their public status until it is published
            _status(idea, Idea.Status.IN_PROJECT)
            idea.save(update_fields=["status", "updated_at"])
        for user in _followers(idea=idea):
            Follow.objects.get_or_create(user=user, project=project)
    audit_record(
        actor=actor, action="project.drafted" if draft else "project.created", object_type="project",
        object_id=project.pk, after=_project_snapshot(project),
    )  # fmt: skip
    if not draft:
        _notify_in_project(project, locked)
    return project


def _notify_in_project(project: Project, ideas: list[Idea]) -> None:
    """Tell each source idea's author and followers that it is part of the (public) project."""
    for idea in ideas:
        for user in _followers(idea=idea):
            text = project.text(getattr(user, "language", None) or "en")
            user_notify(
                user,
                "idea.in_project",
                gettext_noop("The idea “%(title)s” became project %(code)s"),
                gettext_noop(
                    "The idea “%(title)s” is now part of the ballot project %(code)s “%(project)s” (cost %(cost)s)."
                ),
                title=idea.title,
                code=project.code,
                project=text.title if text else project.code,
                cost=format_money(project.cost, project.cycle.currency),
            )


@transaction.atomic
def project_publish(*, actor, cycle: Cycle | int, projects: list[Project | int]) -> list[Project]:
    """Publish draft projects of one cycle together, all or none: from now on the public pages,
    the API, the map, exports and the ballot (once voting opens) show them. Each gets a public
    ``project.published`` audit event with its content, its source ideas become "in project"
    (with that entry in their public history), and their authors and followers are told. Refused
    as a whole (Conflict, ``extra["projects"]`` naming each project) when one is of another cycle
    or is already published — so the same form sent twice publishes nothing twice. Locks the
    cycle, then the projects in id order, then their source ideas in id order. Errors: NotAllowed, PhaseClosed
    (outside vetting: the ballot is frozen once voting opens), ValidationFailed (none chosen),
    Conflict."""
    permissions.check_who(actor, Action.PROJECT_EDIT)
    cycle = _cycle_locked(cycle)
    permissions.check_when(Action.PROJECT_EDIT, cycle)
    project_ids = _ids(projects)
    if not project_ids:
        raise ValidationFailed(extra={"projects": [MSG_NO_PROJECTS]})
    locked = _locked_in_id_order(Project, project_ids)
    problems = []
    for pk in project_ids:
        project = locked.get(pk)
        if project is None or project.cycle_id != cycle.pk:
            problems.append(MSG_PROJECT_OTHER_CYCLE % {"project": f"#{pk}"})
        elif not project.is_draft:
            problems.append(MSG_PROJECT_ALREADY_PUBLISHED % {"project": project.code})
    if problems:
        raise Conflict(MSG_PROJECTS_REFUSED, extra={"projects": problems})
    # The source ideas, locked in id order (as every batch locks ideas), become "in project" now.
    sources = list(
        Idea.objects.select_for_update()
        .filter(pk__in=ProjectSource.objects.filter(project_id__in=project_ids).values("idea_id"))
        .order_by("pk")
    )
    for idea in sources:
        if idea.status != Idea.Status.WITHDRAWN:
            _status(idea, Idea.Status.IN_PROJECT)
            idea.save(update_fields=["status", "updated_at"])
    now = timezone.now()
    published = []
    for pk in project_ids:
        project = locked[pk]
        project.published_at = now
        project.save(update_fields=["published_at", "updated_at"])
        audit_record(
            actor=actor, action="project.published", object_type="project", object_id=project.pk,
            before={"published": False}, after={"published": True, **_project_snapshot(project)},
        )  # fmt: skip
        _notify_in_project(project, list(Idea.objects.filter(project_links__project=project).order_by("pk")))
        published.append(project)
    return published


@transaction.atomic
def project_update(
    *, actor, project: Project | int, district, code: str, cost, texts: dict, category=None, address: str = "",
    image=None,
) -> Project:  # fmt: skip
    """Change a project until voting opens (afterwards PhaseClosed: the ballot is frozen)."""
    permissions.check_who(actor, Action.PROJECT_EDIT)
    project = (
        Project.objects.select_for_update()
        .select_related("cycle", "district")
        .get(pk=project.pk if isinstance(project, Project) else project)
    )
    cycle = project.cycle
    permissions.check_when(Action.PROJECT_EDIT, cycle)
    errors = FieldErrors()
    fields = _project_fields(
        errors, cycle, district=district, code=code, cost=cost, category=category, address=address, texts=texts
    )
    if fields["code"] and Project.objects.filter(cycle=cycle, code=fields["code"]).exclude(pk=project.pk).exists():
        errors.add("code", MSG_CODE_TAKEN % {"code": fields["code"]})
    clean_image = _project_image(errors, image)
    errors.raise_if_any()
    before = _project_snapshot(project)
    texts = fields.pop("texts")
    for name, value in fields.items():
        setattr(project, name, value)
    if clean_image is not None:
        project.image.save(clean_image.name, clean_image, save=False)
    project.save()
    for lang, t in texts.items():
        ProjectText.objects.update_or_create(project=project, language=lang, defaults=vars(t))
    # An optional language left empty: its text is removed (its readers get the main language's).
    codes = [code for code, _name in cycle.content_languages()]
    project.texts.filter(language__in=codes).exclude(language__in=list(texts)).delete()
    after = _project_snapshot(project)
    if after != before:
        audit_record(
            actor=actor,
            # A draft's content stays out of the public record until it is published.
            action="project.draft_updated" if project.is_draft else "project.updated",
            object_type="project",
            object_id=project.pk,
            before=before,
            after=after,
        )
    return project


# --- categories ------------------------------------------------------------------------------------
@transaction.atomic
def category_create(*, actor, cycle: Cycle | int, name: str, translations: dict | None = None) -> Category:
    cycle = _cycle_locked(cycle)
    permissions.check(actor, Action.CATEGORY_MANAGE, cycle)
    errors = FieldErrors()
    name = text_clean(errors, "name", name, max_length=80)
    errors.raise_if_any()
    slug = slugify(name)[:60] or "category"
    if Category.objects.filter(cycle=cycle, slug=slug).exists():
        raise ValidationFailed(extra={"name": [_("This category exists already.")]})
    clean = {k: str(v).strip()[:80] for k, v in (translations or {}).items() if str(v or "").strip()}
    category = Category.objects.create(cycle=cycle, slug=slug, name=name, translations=clean)
    audit_record(
        actor=actor, action="category.created", object_type="category", object_id=category.pk,
        after={"cycle": cycle.pk, "name": name, "translations": clean},
    )  # fmt: skip
    return category
