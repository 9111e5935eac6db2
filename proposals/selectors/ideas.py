"""Reads of ideas and what residents do with them: the public list and page, an author's own ideas,
endorsements, follows, comments, and the reports moderators work through."""

from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from budgets.models import Cycle
from budgets.phases import Capability

from ..models import Comment, Endorsement, Follow, Idea, IdeaStatusChange, Project, Report, Review
from ..permissions import can_see_internal

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "endorsements": ("-endorsement_count", "-created_at", "-id"),
    "title": ("title", "id"),
}


def idea_search(qs: QuerySet, q: str) -> QuerySet:
    """``qs`` (ideas) narrowed to those matching the words ``q``, in the title or the description."""
    q = (q or "").strip()[:200]
    if not q:
        return qs
    if connection.vendor == "postgresql":
        vector = SearchVector("title", weight="A", config="simple") + SearchVector(
            "description", weight="B", config="simple"
        )
        return qs.annotate(search=vector).filter(search=SearchQuery(q, config="simple", search_type="websearch"))
    # The embedded SQLite default: every word must appear in the title or the description.
    for word in q.split():
        qs = qs.filter(Q(title__icontains=word) | Q(description__icontains=word))
    return qs


def idea_list_public(
    *,
    cycle: Cycle,
    q: str = "",
    district: str = "",
    category: str = "",
    status: str = "",
    sort: str = "newest",
    user=None,
) -> QuerySet[Idea]:
    """Visible ideas of a cycle with their endorsement and comment counts."""
    qs = (
        Idea.objects.filter(cycle=cycle, hidden_at__isnull=True)
        .exclude(status=Idea.Status.WITHDRAWN)
        .select_related("district", "category")
        .annotate(
            endorsement_count=Count("endorsements", distinct=True),
            comment_count=Count("comments", filter=Q(comments__hidden_at__isnull=True), distinct=True),
        )
    )
    if district:
        qs = qs.filter(district__code=district)
    if category:
        qs = qs.filter(category__slug=category)
    if status and status in Idea.Status.values:
        qs = qs.filter(status=status)
    if user is not None and getattr(user, "is_authenticated", False):
        qs = qs.annotate(endorsed=Exists(Endorsement.objects.filter(idea=OuterRef("pk"), user=user)))
    qs = idea_search(qs, q)
    return qs.order_by(*SORTS.get(sort, SORTS["newest"]))


def idea_list_public_with_projects(**filters) -> QuerySet[Idea]:
    """``idea_list_public`` plus the projects each idea became (their codes, one more query)."""
    return idea_list_public(**filters).prefetch_related(
        Prefetch("projects", queryset=Project.objects.published().only("id", "code").order_by("code"))
    )


def idea_get_public(*, pk: int, user=None) -> Idea | None:
    """One idea for its public page: visible to everyone unless hidden or withdrawn (its author and
    staff still see it, with the reason)."""
    idea = (
        Idea.objects.select_related("cycle", "district", "category")
        .prefetch_related(
            Prefetch("status_changes", queryset=IdeaStatusChange.objects.order_by("changed_at", "id")),
            Prefetch(
                "comments",
                queryset=Comment.objects.filter(hidden_at__isnull=True).select_related("author").order_by("created_at"),
                to_attr="visible_comments",
            ),
            Prefetch(
                "projects", queryset=Project.objects.published().select_related("district").prefetch_related("texts")
            ),
        )
        .annotate(endorsement_count=Count("endorsements", distinct=True))
        .filter(pk=pk)
        .first()
    )
    if idea is None or not idea_visible_to(idea, user):
        return None
    return idea


def idea_visible_to(idea: Idea, user=None) -> bool:
    """Whether ``user`` (None: the public) may see ``idea``: everyone unless it is hidden or
    withdrawn (its author and staff still do) or its cycle is not public yet (staff only)."""
    owner = user is not None and getattr(user, "is_authenticated", False) and idea.author_id == user.pk
    # No user is the public, not the system (for which permissions' checks pass everything).
    staff = user is not None and can_see_internal(user)
    if (idea.is_hidden or idea.status == Idea.Status.WITHDRAWN) and not (owner or staff):
        return False
    return idea.cycle.allows(Capability.PUBLIC) or staff


def idea_public_review(idea: Idea):
    """The published part of a review (never internal notes)."""
    try:
        review = idea.review
    except Review.DoesNotExist:
        return None
    if review.published_at is None:
        return None
    return {
        "feasibility": review.get_feasibility_display(),
        "public_reason": review.public_reason,
        "cost_estimate": review.cost_estimate,
        "department": review.department,
    }


def ideas_of_user(*, user, cycle: Cycle | None = None) -> QuerySet[Idea]:
    qs = (
        Idea.objects.filter(author=user)
        .select_related("cycle", "district", "category")
        .prefetch_related(Prefetch("projects", queryset=Project.objects.published().prefetch_related("texts")))
    )
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    return qs.order_by("-created_at")


def is_following(*, user, idea: Idea | None = None, project: Project | None = None) -> bool:
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Follow.objects.filter(user=user, idea=idea, project=project).exists()


def has_endorsed(*, user, idea: Idea) -> bool:
    """Whether ``user`` endorses ``idea`` (for the idea page's endorse/unendorse button)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Endorsement.objects.filter(user=user, idea=idea).exists()


def comment_get_public(*, pk: int, user=None) -> Comment | None:
    """A visible comment on an idea that ``user`` may see (for the report button)."""
    comment = Comment.objects.filter(pk=pk, hidden_at__isnull=True).first()
    if comment is None or idea_get_public(pk=comment.idea_id, user=user) is None:
        return None
    return comment


def comment_get(*, pk: int) -> Comment | None:
    """One comment, hidden or not, with its idea and cycle (for moderation)."""
    return Comment.objects.select_related("idea", "idea__cycle", "author").filter(pk=pk).first()


def report_list_open(*, cycle: Cycle) -> QuerySet[Report]:
    """Unresolved reports on the cycle's ideas and comments, oldest first."""
    return (
        Report.objects.filter(resolved_at__isnull=True)
        .filter(Q(idea__cycle=cycle) | Q(comment__idea__cycle=cycle))
        .select_related("reporter", "idea", "idea__district", "comment", "comment__author", "comment__idea")
        .order_by("created_at", "id")
    )
