"""Reads of ballot projects: the list and one project, who may see them, what a project made from
ideas starts from on its form, and the cycle's categories."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from budgets.models import Cycle
from budgets.phases import Capability

from ..models import DESCRIPTION_MAX, TITLE_MAX, Category, Idea, Project, ProjectSource, ProjectText, Review
from ..permissions import can_see_internal


def project_visible_to(project: Project, user=None) -> bool:
    """A project (and its updates) is public once its cycle is and it is not a draft; staff see it
    before."""
    if user is not None and can_see_internal(user):
        return True
    return project.cycle.allows(Capability.PUBLIC) and not project.is_draft


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


def category_list(*, cycle: Cycle) -> QuerySet[Category]:
    return Category.objects.filter(cycle=cycle).order_by("name", "id")
