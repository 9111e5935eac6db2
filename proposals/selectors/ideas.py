"""Reads for idea and project pages, the vetting queue and the API.

Lists run a constant number of queries whatever their length: counts are annotations and related
rows come through select_related/prefetch_related. Public reads never include hidden or withdrawn
ideas (except an author's own), and never touch internal notes.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from budgets.models import Cycle
from budgets.phases import Capability

from ..models import (
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
from ..permissions import can_see_internal

SORTS = {
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
    "endorsements": ("-endorsement_count", "-created_at", "-id"),
    "title": ("title", "id"),
}


def _search(qs: QuerySet, q: str) -> QuerySet:
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
    *, cycle: Cycle, q: str = "", district: str = "", category: str = "", status: str = "", sort: str = "newest",
    user=None,
) -> QuerySet[Idea]:  # fmt: skip
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
    qs = _search(qs, q)
    return qs.order_by(*SORTS.get(sort, SORTS["newest"]))


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


def project_visible_to(project: Project, user=None) -> bool:
    """A project (and its updates) is public once its cycle is and it is not a draft; staff see it
    before."""
    if user is not None and can_see_internal(user):
        return True
    return project.cycle.allows(Capability.PUBLIC) and not project.is_draft


def media_visible(*, name: str, user=None) -> bool:
    """Whether the uploaded file stored as ``name`` may be served to ``user``: only a file some idea,
    project or project update refers to, under the visibility of that object (a hidden or
    withdrawn idea's photo: its author and staff only). A name nothing refers to is not served."""
    if not name:
        return False
    idea = Idea.objects.select_related("cycle").filter(photo=name).first()
    if idea is not None:
        return idea_visible_to(idea, user)
    project = Project.objects.select_related("cycle").filter(Q(image=name) | Q(updates__photo=name)).distinct().first()
    return project is not None and project_visible_to(project, user)


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
    qs = _search(qs, q)
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


@dataclass(frozen=True)
class CostGuess:
    idea: Idea
    guess: Decimal | None  # the resident's rough guess
    estimate: Decimal | None  # staff's estimate in the review

    @property
    def best(self) -> Decimal | None:
        return self.estimate if self.estimate is not None else self.guess


@dataclass(frozen=True)
class ProjectSuggestion:
    """What a project made from ``ideas`` starts from on its form (staff change anything)."""

    district_id: int | None
    category_id: int | None
    address: str
    cost: Decimal | None  # the sum of the ideas' estimates (staff's, else the resident's guess)
    texts: dict  # language → {"title", "summary", "description"}
    guesses: list[CostGuess]


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def project_suggestion(ideas: list[Idea]) -> ProjectSuggestion | None:
    """A project's starting point from its source ideas (merged when several): the ideas' shared
    district, category and place; their titles and descriptions, in the language each idea is
    written in; the sum of their cost estimates (staff's estimate, else the resident's guess),
    left empty when one of them has none; and each idea's own figures, shown beside the cost."""
    if not ideas:
        return None

    def shared(values):
        values = set(values)
        return values.pop() if len(values) == 1 else None

    guesses = []
    for idea in ideas:
        review = idea.review if _has_review(idea) else None
        guesses.append(CostGuess(idea=idea, guess=idea.cost_guess, estimate=review.cost_estimate if review else None))
    bests = [g.best for g in guesses]
    by_language: dict[str, list[Idea]] = {}
    for idea in ideas:
        by_language.setdefault(idea.language, []).append(idea)
    texts = {}
    for language, group in by_language.items():
        if len(group) == 1:
            title, description = group[0].title, group[0].description
        else:
            title = " · ".join(i.title for i in group)
            description = "\n\n".join(f"{i.title}: {i.description}" for i in group)
        texts[language] = {
            "title": _shorten(title, TITLE_MAX),
            "summary": _shorten(" ".join(i.description for i in group), 300),
            "description": _shorten(description, DESCRIPTION_MAX)
            if len(description) > DESCRIPTION_MAX
            else description,
        }
    return ProjectSuggestion(
        district_id=shared(i.district_id for i in ideas),
        category_id=shared(i.category_id for i in ideas),
        address=shared(i.address for i in ideas) or "",
        cost=sum(bests, Decimal(0)) if all(b is not None for b in bests) else None,
        texts=texts,
        guesses=guesses,
    )


def _has_review(idea: Idea) -> bool:
    try:
        idea.review  # noqa: B018 - select_related by the queue; a missing one raises
    except Review.DoesNotExist:
        return False
    return True


def project_list(*, cycle: Cycle, district: str = "", drafts: bool = False) -> QuerySet[Project]:
    """The cycle's projects; drafts only when asked (for staff)."""
    qs = (
        (Project.objects if drafts else Project.objects.published())
        .filter(cycle=cycle)
        .select_related("district", "category")
        .prefetch_related(
            "texts",
            Prefetch("sources", queryset=ProjectSource.objects.select_related("idea").order_by("idea_id")),
        )
    )
    if district:
        qs = qs.filter(district__code=district)
    return qs.order_by("district__code", "code")


def project_get(*, cycle: Cycle | None = None, pk: int) -> Project | None:
    qs = Project.objects.select_related("cycle", "district", "category").prefetch_related(
        "texts", Prefetch("sources", queryset=ProjectSource.objects.select_related("idea").order_by("idea_id"))
    )
    if cycle is not None:
        qs = qs.filter(cycle=cycle)
    return qs.filter(pk=pk).first()


def project_text_for(project: Project, language: str) -> ProjectText | None:
    return project.text(language)


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


# --- vetting workspace (staff pages) ------------------------------------------------------------------
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


def report_list_open(*, cycle: Cycle) -> QuerySet[Report]:
    """Unresolved reports on the cycle's ideas and comments, oldest first."""
    return (
        Report.objects.filter(resolved_at__isnull=True)
        .filter(Q(idea__cycle=cycle) | Q(comment__idea__cycle=cycle))
        .select_related("reporter", "idea", "idea__district", "comment", "comment__author", "comment__idea")
        .order_by("created_at", "id")
    )


def category_list(*, cycle: Cycle) -> QuerySet[Category]:
    return Category.objects.filter(cycle=cycle).order_by("name", "id")


# --- API ---------------------------------------------------------------------------------------------
def idea_list_public_with_projects(**filters) -> QuerySet[Idea]:
    """``idea_list_public`` plus the projects each idea became (their codes, one more query)."""
    return idea_list_public(**filters).prefetch_related(
        Prefetch("projects", queryset=Project.objects.published().only("id", "code").order_by("code"))
    )


def comment_get(*, pk: int) -> Comment | None:
    """One comment, hidden or not, with its idea and cycle (for moderation)."""
    return Comment.objects.select_related("idea", "idea__cycle", "author").filter(pk=pk).first()
