"""Reads for the vetting workspace: the staff's queue, the decisions waiting to be published, one
idea with everything staff see, and who may review."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Count, F, Prefetch, Q, QuerySet

from budgets.models import Cycle

from ..models import Idea, IdeaStatusChange, Project, Report
from .ideas import idea_search


def vetting_queue(
    *, cycle: Cycle, district: str = "", status: str = "", reviewer: str = "", q: str = ""
) -> QuerySet[Idea]:
    """Staff's queue: every idea of the cycle (hidden ones too, marked), with its review and
    reviewer, endorsement count and linked projects — in a constant number of queries."""
    qs = (
        Idea.objects.filter(cycle=cycle)
        .select_related("district", "category", "review", "review__reviewer", "author")
        .prefetch_related(Prefetch("projects", queryset=Project.objects.only("id", "code", "cycle_id")))
        .annotate(endorsement_count=Count("endorsements", distinct=True))
    )
    if district:
        qs = qs.filter(district__code=district)
    if status and status in Idea.Status.values:
        qs = qs.filter(status=status)
    if reviewer == "none":
        qs = qs.filter(Q(review__isnull=True) | Q(review__reviewer__isnull=True))
    elif reviewer:
        qs = qs.filter(review__reviewer_id=reviewer)
    qs = idea_search(qs, q)
    return qs.order_by("district__code", "created_at", "id")


def decisions_to_publish(*, cycle: Cycle) -> QuerySet[Idea]:
    """Ideas of the cycle whose recorded decision residents do not see yet: never published, or
    changed since (a feasibility value is the status it publishes). Withdrawn ideas and ideas in a
    project take no new decision. By district, then oldest first."""
    return (
        Idea.objects.filter(cycle=cycle)
        .exclude(review__feasibility="")
        .exclude(review__isnull=True)
        .exclude(status__in=[Idea.Status.WITHDRAWN, Idea.Status.IN_PROJECT])
        .filter(Q(review__published_at__isnull=True) | ~Q(status=F("review__feasibility")))
        .select_related("district", "review", "review__reviewer")
        .order_by("district__code", "created_at", "id")
    )


def idea_get_staff(*, pk: int) -> Idea | None:
    """One idea for the review page: everything, hidden or withdrawn, with its review (internal
    notes included), history, reports and projects."""
    return (
        Idea.objects.select_related(
            "cycle", "district", "category", "author", "entered_by", "review", "review__reviewer"
        )
        .prefetch_related(
            Prefetch("status_changes", queryset=IdeaStatusChange.objects.order_by("changed_at", "id")),
            Prefetch("reports", queryset=Report.objects.select_related("reporter").order_by("created_at", "id")),
            Prefetch("projects", queryset=Project.objects.select_related("district").prefetch_related("texts")),
        )
        .annotate(endorsement_count=Count("endorsements", distinct=True))
        .filter(pk=pk)
        .first()
    )


def vetting_staff_list() -> QuerySet:
    """Active users who may review ideas (``proposals.vet_ideas`` through a group, directly, or as
    superuser): the choices for "assign a reviewer"."""
    perms = Permission.objects.filter(content_type__app_label="proposals", codename="vet_ideas")
    return (
        get_user_model()
        .objects.filter(Q(groups__permissions__in=perms) | Q(user_permissions__in=perms) | Q(is_superuser=True))
        .filter(is_active=True)
        .distinct()
        .order_by("display_name", "email", "pk")
    )
