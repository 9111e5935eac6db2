"""Ballot projects: staff build them from ideas (merged or split), as drafts or at once, publish
drafts together, change them until voting opens; and the cycle's categories.

Every service: keyword-only, its own transaction, lock → check → write, an audit event for every
change, notifications written to the outbox in the same transaction.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from budgets.models import Cycle
from core.errors import Conflict, ValidationFailed
from core.languages import language_name
from core.money import format_money
from core.services import audit_record

from .. import permissions
from ..images import image_clean
from ..models import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    TITLE_MAX,
    Category,
    Follow,
    Idea,
    Project,
    ProjectSource,
    ProjectText,
)
from ..permissions import Action
from .common import (
    MSG_NO_IDEAS,
    FieldErrors,
    amount_clean,
    category_clean,
    cycle_locked,
    district_clean,
    followers,
    locked_in_id_order,
    sorted_ids,
    text_clean,
    user_notify,
)
from .ideas import MSG_ALREADY_WITHDRAWN, idea_status_set

MSG_COST_OVER_BUDGET = _("The cost (%(cost)s) is more than the district's whole budget (%(budget)s).")
MSG_CODE_TAKEN = _("Another project in this cycle already uses the code “%(code)s”.")
MSG_CODE_FORMAT = _("Use a short code of letters, digits and dashes, e.g. B-07.")
MSG_IDEA_OTHER_CYCLE = _("All ideas must belong to this cycle.")
MSG_TEXT_MISSING = _("Give the title, summary and description in %(language)s.")
MSG_TEXT_INCOMPLETE = _(
    "Give the title, summary and description in %(language)s, or leave all three empty: readers of "
    "%(language)s then see the text in the main language."
)
MSG_NO_PROJECTS = _("Choose at least one project.")
MSG_PROJECTS_REFUSED = _("Nothing was published: some of the chosen projects cannot be published.")
MSG_PROJECT_OTHER_CYCLE = _("Project %(project)s is not a project of this cycle.")
MSG_PROJECT_ALREADY_PUBLISHED = _("Project %(project)s is already published.")


@dataclass(frozen=True)
class ProjectTextInput:
    title: str
    summary: str
    description: str


_CODE_CHARS = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")


def _project_fields(errors: FieldErrors, cycle: Cycle, *, district, code, cost, category, address, texts) -> dict:

    district = district_clean(errors, cycle, district)
    code = (code or "").strip().upper()
    if not code or len(code) > 16 or not set(code) <= _CODE_CHARS:
        errors.add("code", MSG_CODE_FORMAT)
    cost = amount_clean(errors, "cost", cost, required=True)
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
        "category": category_clean(errors, cycle, category),
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
    cycle = cycle_locked(cycle)
    permissions.check_when(Action.PROJECT_EDIT, cycle)
    errors = FieldErrors()
    idea_ids = sorted_ids(ideas)
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
            idea_status_set(idea, Idea.Status.IN_PROJECT)
            idea.save(update_fields=["status", "updated_at"])
        for user in followers(idea=idea):
            Follow.objects.get_or_create(user=user, project=project)
    audit_record(
        actor=actor,
        action="project.drafted" if draft else "project.created",
        object_type="project",
        object_id=project.pk,
        after=_project_snapshot(project),
    )
    if not draft:
        _notify_in_project(project, locked)
    return project


def _notify_in_project(project: Project, ideas: list[Idea]) -> None:
    """Tell each source idea's author and followers that it is part of the (public) project."""
    for idea in ideas:
        for user in followers(idea=idea):
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
    cycle = cycle_locked(cycle)
    permissions.check_when(Action.PROJECT_EDIT, cycle)
    project_ids = sorted_ids(projects)
    if not project_ids:
        raise ValidationFailed(extra={"projects": [MSG_NO_PROJECTS]})
    locked = locked_in_id_order(Project, project_ids)
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
            idea_status_set(idea, Idea.Status.IN_PROJECT)
            idea.save(update_fields=["status", "updated_at"])
    now = timezone.now()
    published = []
    for pk in project_ids:
        project = locked[pk]
        project.published_at = now
        project.save(update_fields=["published_at", "updated_at"])
        audit_record(
            actor=actor,
            action="project.published",
            object_type="project",
            object_id=project.pk,
            before={"published": False},
            after={"published": True, **_project_snapshot(project)},
        )
        _notify_in_project(project, list(Idea.objects.filter(project_links__project=project).order_by("pk")))
        published.append(project)
    return published


@transaction.atomic
def project_update(
    *,
    actor,
    project: Project | int,
    district,
    code: str,
    cost,
    texts: dict,
    category=None,
    address: str = "",
    image=None,
) -> Project:
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
    cycle = cycle_locked(cycle)
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
        actor=actor,
        action="category.created",
        object_type="category",
        object_id=category.pk,
        after={"cycle": cycle.pk, "name": name, "translations": clean},
    )
    return category
