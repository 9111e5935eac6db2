"""Vetting: staff assign a reviewer, record an idea's feasibility, and publish decisions — one at
a time or several together, all or none.

Every service: keyword-only, its own transaction, lock → check → write, an audit event for every
change, notifications written to the outbox in the same transaction.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from budgets.models import Cycle
from core.errors import Conflict, ValidationFailed
from core.services import audit_record

from .. import permissions
from ..models import Idea, Review
from ..permissions import Action
from .common import (
    MSG_NO_IDEAS,
    MSG_REQUIRED,
    FieldErrors,
    amount_clean,
    cycle_locked,
    followers,
    locked_in_id_order,
    sorted_ids,
    text_clean,
    user_notify,
)
from .ideas import MSG_NOT_EDITABLE, idea_locked, idea_status_set

MSG_NOT_FEASIBLE_REASON = _("Explain publicly why the idea is not feasible.")
MSG_NOTHING_TO_PUBLISH = _("Record a feasibility decision before publishing it.")
MSG_REVIEWER_NOT_STAFF = _("The reviewer must be a member of the vetting staff.")
MSG_ALREADY_PUBLISHED = _("This decision is already published.")
MSG_BATCH_REFUSED = _("Nothing was published: some of the chosen decisions cannot be published.")
MSG_BATCH_OTHER_CYCLE = _("Idea %(idea)s is not an idea of this cycle.")
MSG_BATCH_DECIDED = _("Idea %(idea)s cannot get a new decision: it is “%(status)s”.")
MSG_BATCH_NO_DECISION = _("Idea %(idea)s has no recorded decision to publish.")
MSG_BATCH_ALREADY_PUBLISHED = _("The decision on idea %(idea)s is already published.")


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
    idea = idea_locked(idea)
    permissions.check(actor, Action.REVIEW, idea.cycle)
    if reviewer is not None and not reviewer.has_perm(permissions.STAFF_VET):
        raise ValidationFailed(extra={"reviewer": [MSG_REVIEWER_NOT_STAFF]})
    review = _review_for(idea)
    before = _review_snapshot(review)
    review.reviewer = reviewer
    review.save(update_fields=["reviewer", "updated_at"])
    if idea.status == Idea.Status.SUBMITTED:
        idea_status_set(idea, Idea.Status.UNDER_REVIEW)
        idea.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action="review.assigned",
        object_type="idea",
        object_id=idea.pk,
        before={"reviewer": before["reviewer"]},
        after={"reviewer": review.reviewer_id},
    )
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
    idea = idea_locked(idea)
    permissions.check(actor, Action.REVIEW, idea.cycle)
    if idea.status in (Idea.Status.WITHDRAWN, Idea.Status.IN_PROJECT):
        raise Conflict(MSG_NOT_EDITABLE)
    errors = FieldErrors()
    if feasibility not in Review.Feasibility.values:
        errors.add("feasibility", MSG_REQUIRED)
    reason = text_clean(errors, "public_reason", public_reason, max_length=2000, required=False)
    if feasibility == Review.Feasibility.NOT_FEASIBLE and not reason:
        errors.add("public_reason", MSG_NOT_FEASIBLE_REASON)
    cost = amount_clean(errors, "cost_estimate", cost_estimate)
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
        idea_status_set(idea, Idea.Status.UNDER_REVIEW)
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
    idea = idea_locked(idea)
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
    cycle = cycle_locked(cycle)
    permissions.check_when(Action.REVIEW, cycle)
    idea_ids = sorted_ids(ideas)
    if not idea_ids:
        raise ValidationFailed(extra={"ideas": [MSG_NO_IDEAS]})
    locked = locked_in_id_order(Idea, idea_ids)
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
    idea_status_set(idea, _FEASIBILITY_STATUS[review.feasibility], review.public_reason)
    idea.save(update_fields=["status", "updated_at"])
    review.published_at = timezone.now()
    review.save(update_fields=["published_at", "updated_at"])
    audit_record(
        actor=actor,
        action="review.published",
        object_type="idea",
        object_id=idea.pk,
        before=before,
        after={"status": idea.status, "public_reason": review.public_reason},
    )
    for user in followers(idea=idea):
        user_notify(
            user,
            "idea.decision",
            gettext_noop("A decision on the idea “%(title)s”"),
            gettext_noop("Staff have reviewed the idea “%(title)s”: %(status)s. %(reason)s"),
            title=idea.title,
            status=Idea.Status(idea.status).label,  # lazy: rendered in the recipient's language
            reason=review.public_reason,
        )
