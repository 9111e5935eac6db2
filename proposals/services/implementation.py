"""Implementation tracking: officials post status updates —
planned, in progress, done, with a note and optionally a photo — on funded projects, and everyone
in the project's chain hears about it through the outbox.

"Funded" is the published result (the district's newest ``DistrictResult``, certified or revised
after a withdrawal) selecting the project, which is not withdrawn. Updates are posted in the
implementation phase (``Capability.POST_UPDATES``): after certification the cycle is in results,
and an official moves it on to implementation by hand once building starts.

The chain of a project: its followers, and for each idea it was made from, the idea's author, its
endorsers and its followers. Each person gets one notification however often they appear in the
chain, and only if they have not turned updates off (``core.services.notification_queue``).
"""

import json

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from budgets.models import Cycle, DistrictResult
from core.errors import Conflict, ValidationFailed
from core.services import audit_record

from .. import permissions
from ..images import image_clean
from ..models import UPDATE_NOTE_MAX, Endorsement, Follow, Idea, Project, ProjectSource, ProjectUpdate
from ..permissions import Action
from .common import FieldErrors, text_clean, user_notify

MSG_NOT_FUNDED = _("Updates are posted on funded projects only.")
MSG_STATUS_CHOICE = _("Choose planned, in progress or done.")


def project_is_funded(project: Project) -> bool:
    """The district's published result (its newest ``DistrictResult``) selects the project, and it
    has not been withdrawn."""
    if project.withdrawn_at is not None:
        return False
    result = (
        DistrictResult.objects.filter(district_id=project.district_id)
        .select_related("run")
        .order_by("-created_at", "-id")
        .first()
    )
    if result is None:
        return False
    return (project.external_id or project.code) in _selected(result)


def funded_projects(cycle: Cycle) -> list[Project]:
    """The cycle's funded projects (as ``project_is_funded`` says, for every district at once), in
    district and code order: the ones an official can post updates on. Two queries."""
    selected: dict[int, set[str]] = {}
    for result in (
        DistrictResult.objects.filter(district__cycle=cycle)
        .select_related("run")
        .order_by("district_id", "-created_at", "-id")
    ):
        # The newest row per district is its published result.
        selected.setdefault(result.district_id, _selected(result))
    projects = Project.objects.filter(cycle=cycle, district_id__in=selected, withdrawn_at__isnull=True)
    return [
        p
        for p in projects.select_related("district").order_by("district__code", "code")
        if (p.external_id or p.code) in selected[p.district_id]
    ]


def _selected(result: DistrictResult) -> set[str]:
    """The project ids (``external_id`` or code) a published result funds."""
    return set(json.loads(result.run.output).get("selected", []))


def project_chain_people(project: Project) -> list:
    """Everyone who proposed, endorsed or follows an idea the project was made from, or follows
    the project: active accounts, each once, in id order."""
    idea_ids = list(ProjectSource.objects.filter(project=project).values_list("idea_id", flat=True))
    ids = set(Follow.objects.filter(project=project).values_list("user_id", flat=True))
    ids |= set(Follow.objects.filter(idea_id__in=idea_ids).values_list("user_id", flat=True))
    ids |= set(Endorsement.objects.filter(idea_id__in=idea_ids).values_list("user_id", flat=True))
    ids |= set(Idea.objects.filter(pk__in=idea_ids, author__isnull=False).values_list("author_id", flat=True))
    return list(get_user_model().objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def project_updates(project: Project):
    """The project's updates, newest first (the public list)."""
    return ProjectUpdate.objects.filter(project=project).order_by("-created_at", "-id")


@transaction.atomic
def project_update_post(*, actor, project: Project | int, status: str, note: str, photo=None) -> ProjectUpdate:
    """Post a status update on a funded project and notify its chain (outbox, same transaction).

    Errors: NotAllowed (officials with MFA only), PhaseClosed (outside implementation), Conflict
    (the project is not funded, or was withdrawn), ValidationFailed (status, note, photo: nothing
    is stored). Locking: the project row.
    """
    permissions.check_who(actor, Action.POST_UPDATE)
    pk = project.pk if isinstance(project, Project) else project
    project = Project.objects.select_for_update().select_related("cycle", "district").get(pk=pk)
    permissions.check_when(Action.POST_UPDATE, project.cycle)
    if not project_is_funded(project):
        raise Conflict(MSG_NOT_FUNDED)
    errors = FieldErrors()
    if status not in ProjectUpdate.Status.values:
        errors.add("status", MSG_STATUS_CHOICE)
    note = text_clean(errors, "note", note, max_length=UPDATE_NOTE_MAX)
    clean_photo = None
    if photo:
        try:
            clean_photo = image_clean(photo, field="photo")
        except ValidationFailed as exc:  # its messages join the others
            for message in exc.extra.get("photo", []):
                errors.add("photo", message)
    errors.raise_if_any()
    update = ProjectUpdate(project=project, status=status, note=note, author=actor)
    if clean_photo is not None:
        update.photo.save(clean_photo.name, clean_photo, save=False)
    update.save()
    audit_record(
        actor=actor, action="project.update_posted", object_type="project", object_id=project.pk,
        after={"update": update.pk, "status": status, "note": note, "photo": bool(update.photo)},
    )  # fmt: skip
    for user in project_chain_people(project):
        text = project.text(getattr(user, "language", None) or "en")
        user_notify(
            user,
            "project.update",
            gettext_noop("News on project %(code)s: %(status)s"),
            gettext_noop("The funded project %(code)s “%(title)s” is now: %(status)s.\n\n%(note)s"),
            code=project.code,
            title=text.title if text else project.code,
            status=ProjectUpdate.Status(status).label,  # lazy: rendered in the recipient's language
            note=note,
        )
    return update
