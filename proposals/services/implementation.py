"""Implementation tracking: officials post status updates — planned, in progress, done, with a note
and optionally a photo — on funded projects, and everyone in the project's chain hears about it
through the outbox.

Which projects are funded, and who is in a project's chain, ``selectors.implementation`` says.
Updates are posted in the implementation phase (``Capability.POST_UPDATES``): after certification
the cycle is in results, and an official moves it on to implementation by hand once building starts.
Each person in the chain gets one notification however often they appear in it, and only if they
have not turned updates off (``core.services.notification_queue``).
"""

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from core.errors import Conflict, ValidationFailed
from core.services import audit_record

from .. import permissions
from ..images import image_clean
from ..models import UPDATE_NOTE_MAX, Project, ProjectUpdate
from ..permissions import Action
from ..selectors.implementation import project_chain_people, project_is_funded
from .common import FieldErrors, text_clean, user_notify

MSG_NOT_FUNDED = _("Updates are posted on funded projects only.")
MSG_STATUS_CHOICE = _("Choose planned, in progress or done.")


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
        actor=actor,
        action="project.update_posted",
        object_type="project",
        object_id=project.pk,
        after={"update": update.pk, "status": status, "note": note, "photo": bool(update.photo)},
    )
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
