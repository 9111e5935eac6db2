from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import NotAllowed, ValidationFailed
from core.services import audit_record

from .models import User
from .roles import Role


@transaction.atomic
def user_add_role(*, user: User, role: Role, actor) -> None:
    """Give ``user`` a role (idempotent). Audited when it changes anything."""
    group = Group.objects.get(name=role.value)
    if user.groups.filter(pk=group.pk).exists():
        return
    user.groups.add(group)
    user.__dict__.pop("_pb_roles", None)
    audit_record(
        actor=actor,
        action="user.role_added",
        object_type="user",
        object_id=user.pk,
        after={"role": role.value},
    )


@transaction.atomic
def user_remove_role(*, user: User, role: Role, actor) -> None:
    group = Group.objects.get(name=role.value)
    if not user.groups.filter(pk=group.pk).exists():
        return
    user.groups.remove(group)
    user.__dict__.pop("_pb_roles", None)
    audit_record(
        actor=actor,
        action="user.role_removed",
        object_type="user",
        object_id=user.pk,
        before={"role": role.value},
    )


MSG_BAD_LANGUAGE = _("Choose one of the listed languages.")
MSG_NOT_YOUR_ACCOUNT = _("You can only change your own preferences.")


@transaction.atomic
def user_update_preferences(*, actor, user: User, notifications_enabled: bool, language: str) -> User:
    """A person changes their own notification switch and preferred language.

    ``language`` must be one of ``settings.LANGUAGES`` (ValidationFailed otherwise); only the user
    themselves may do it (NotAllowed). Locks the user's row; audited when anything changes."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk != user.pk:
        raise NotAllowed(MSG_NOT_YOUR_ACCOUNT)
    if language not in {code for code, _name in settings.LANGUAGES}:
        raise ValidationFailed(extra={"language": [MSG_BAD_LANGUAGE]})
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {"notifications_enabled": user.notifications_enabled, "language": user.language}
    after = {"notifications_enabled": bool(notifications_enabled), "language": language}
    if after == before:
        return user
    user.notifications_enabled, user.language = after["notifications_enabled"], after["language"]
    user.save(update_fields=["notifications_enabled", "language"])
    audit_record(
        actor=actor, action="user.preferences_changed", object_type="user", object_id=user.pk, before=before,
        after=after,
    )  # fmt: skip
    return user


MSG_NAME_REQUIRED = _("Enter your full name.")
MSG_NAME_NOT_YOURS = _("You can only change the name on your own account.")
NAME_MAX = 150


@transaction.atomic
def user_set_name(*, actor, user: User, name: str) -> User:
    """A person gives (or corrects) the full name on their own account. Voting online asks for it
    before the first ballot: with the date of birth and address given on the ballot, it is how the
    same person voting on another channel is found.

    The name is stripped and its spaces collapsed; an empty one, or one over 150 characters, is a
    ValidationFailed; only the user themselves may do it (NotAllowed). Locks the user's row; audited
    as "user.name_set" when it changes anything."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk != user.pk:
        raise NotAllowed(MSG_NAME_NOT_YOURS)
    name = " ".join(str(name or "").split())
    if not any(ch.isalnum() for ch in name) or len(name) > NAME_MAX:
        raise ValidationFailed(extra={"display_name": [MSG_NAME_REQUIRED]})
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user.display_name
    if name == before:
        return user
    user.display_name = name
    user.save(update_fields=["display_name"])
    audit_record(
        actor=actor, action="user.name_set", object_type="user", object_id=user.pk,
        before={"display_name": before}, after={"display_name": name},
    )  # fmt: skip
    return user
