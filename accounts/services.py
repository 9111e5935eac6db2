import contextlib
import contextvars

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.errors import Conflict, NotAllowed, ValidationFailed
from core.services import audit_record

from .models import User
from .permissions import check_manage_roles
from .roles import STAFF_ROLES, Role

# Set while a service below changes someone's groups: the m2m signal (accounts/signals.py) then leaves
# the auditing to the service. Any other change of groups is audited by the signal.
_role_service_active: contextvars.ContextVar[bool] = contextvars.ContextVar("role_service_active", default=False)


@contextlib.contextmanager
def _role_service():
    token = _role_service_active.set(True)
    try:
        yield
    finally:
        _role_service_active.reset(token)


def role_change_is_audited_by_service() -> bool:
    return _role_service_active.get()


@transaction.atomic
def user_add_role(*, user: User, role: Role, actor) -> None:
    """Give ``user`` a role (idempotent). Audited when it changes anything. For the system (sign-up,
    demo data); people appoint staff with ``role_grant``."""
    group = Group.objects.get(name=role.value)
    if user.groups.filter(pk=group.pk).exists():
        return
    with _role_service():
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
    with _role_service():
        user.groups.remove(group)
    user.__dict__.pop("_pb_roles", None)
    audit_record(
        actor=actor,
        action="user.role_removed",
        object_type="user",
        object_id=user.pk,
        before={"role": role.value},
    )


# --- Staff roles, appointed by an administrator ---------------------------------------------------------
MSG_NO_SUCH_ACCOUNT = _("No account has this email address.")
MSG_ACCOUNT_INACTIVE = _("This account is deactivated.")
MSG_UNKNOWN_ROLE = _("Choose one of the listed roles.")
MSG_REASON_REQUIRED = _("Give a reason: it is kept in the audit log.")
MSG_REASON_TOO_LONG = _("Keep the reason under 500 characters.")
MSG_ALREADY_HOLDS = _("This person already has this role.")
MSG_DOES_NOT_HOLD = _("This person does not have this role.")
MSG_LAST_ADMINISTRATOR = _("This is the last administrator: appoint another one before removing this role.")

REASON_MAX_LENGTH = 500


def _role_change_input(*, user: User | None, role: str, reason: str) -> tuple[Role, str]:
    """The checks both services share: a known staff role, an account, a reason."""
    errors: dict[str, list] = {}
    if user is None:
        errors["email"] = [MSG_NO_SUCH_ACCOUNT]
    if role not in {r.value for r in STAFF_ROLES}:
        errors["role"] = [MSG_UNKNOWN_ROLE]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [MSG_REASON_REQUIRED]
    elif len(reason) > REASON_MAX_LENGTH:
        errors["reason"] = [MSG_REASON_TOO_LONG]
    if errors:
        raise ValidationFailed(extra=errors)
    return Role(role), reason


def _lock(user: User, role: Role) -> tuple[User, Group]:
    """Lock the role's group (role changes of one role are serialised: two administrators removing
    each other cannot leave none) and the person's row."""
    group = Group.objects.select_for_update().get(name=role.value)
    return User.objects.select_for_update().get(pk=user.pk), group


@transaction.atomic
def role_grant(*, actor, user: User | None, role: str, reason: str) -> User:
    """An administrator appoints ``user`` to a staff role, giving a reason. Roles are global (they hold
    in every cycle). Audited in the same transaction (actor, person, role, reason).

    NotAllowed unless ``actor`` may manage roles (with TOTP); ValidationFailed for no account, an
    unknown role or an empty reason; Conflict if the person already holds the role."""
    check_manage_roles(actor)
    role, reason = _role_change_input(user=user, role=role, reason=reason)
    user, group = _lock(user, role)
    if not user.is_active:
        raise ValidationFailed(extra={"email": [MSG_ACCOUNT_INACTIVE]})
    if user.groups.filter(pk=group.pk).exists():
        raise Conflict(MSG_ALREADY_HOLDS)
    with _role_service():
        user.groups.add(group)
    audit_record(
        actor=actor,
        action="user.role_granted",
        object_type="user",
        object_id=user.pk,
        after={"role": role.value},
        reason=reason,
    )
    return user


@transaction.atomic
def role_revoke(*, actor, user: User | None, role: str, reason: str) -> User:
    """An administrator removes a staff role from ``user``, giving a reason; audited in the same
    transaction. The last active administrator keeps the role (Conflict), so the platform always has
    someone who can appoint staff; otherwise as ``role_grant``."""
    check_manage_roles(actor)
    role, reason = _role_change_input(user=user, role=role, reason=reason)
    user, group = _lock(user, role)
    if not user.groups.filter(pk=group.pk).exists():
        raise Conflict(MSG_DOES_NOT_HOLD)
    if role == Role.ADMINISTRATOR and not group.user_set.filter(is_active=True).exclude(pk=user.pk).exists():
        raise Conflict(MSG_LAST_ADMINISTRATOR)
    with _role_service():
        user.groups.remove(group)
    audit_record(
        actor=actor,
        action="user.role_revoked",
        object_type="user",
        object_id=user.pk,
        before={"role": role.value},
        reason=reason,
    )
    return user


MSG_CHANGED_OUTSIDE = "Changed outside the staff roles page"


@transaction.atomic
def user_groups_changed_record(*, user_id: int, added: list[str], removed: list[str]) -> None:
    """Audit a change of someone's groups made outside the services above (the Django shell, a script,
    a data migration): the system is the actor, the group names are recorded."""
    if not added and not removed:
        return
    audit_record(
        actor=None,
        action="user.groups_changed",
        object_type="user",
        object_id=user_id,
        before={"removed": sorted(removed)} if removed else None,
        after={"added": sorted(added)} if added else None,
        reason=MSG_CHANGED_OUTSIDE,
    )


@transaction.atomic
def user_access_changed_record(*, user_id: int, before: dict, after: dict) -> None:
    """Audit a change of ``is_staff``/``is_superuser`` (admin access, every permission): there is no
    page for these, so whoever changes them does it from the shell or a command; the system is the
    actor. Nothing is written when nothing changed."""
    changed = sorted(flag for flag in after if bool(before.get(flag)) != after[flag])
    if not changed:
        return
    audit_record(
        actor=None,
        action="user.access_changed",
        object_type="user",
        object_id=user_id,
        before={flag: bool(before.get(flag)) for flag in changed},
        after={flag: after[flag] for flag in changed},
        reason=MSG_CHANGED_OUTSIDE,
    )


@transaction.atomic
def administrator_create(*, email: str, password: str | None) -> tuple[User, bool]:
    """The first administrator of a fresh install (``manage.py createadmin``): an account for
    ``email`` (made if missing, with a verified address; an existing account keeps its password unless
    one is given) holding the resident and administrator roles. Returns (user, created). The system is
    the actor; each role added is audited."""
    email = User.objects.normalize_email(email or "").strip().lower()
    if not email or "@" not in email:
        raise ValidationFailed(extra={"email": [_("Enter a valid email address.")]})
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, password=password)
    elif password:
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email__iexact=email, defaults={"email": email, "verified": True, "primary": True}
    )
    for role in (Role.RESIDENT, Role.ADMINISTRATOR):
        user_add_role(user=user, role=role, actor=None)
    return user, created


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
        actor=actor,
        action="user.preferences_changed",
        object_type="user",
        object_id=user.pk,
        before=before,
        after=after,
    )
    return user


MSG_NAME_REQUIRED = _("Enter your full name.")
MSG_NAME_NOT_YOURS = _("You can only change the name on your own account.")
NAME_MAX = 150


@transaction.atomic
def user_set_name(*, actor, user: User, name: str) -> User:
    """A person gives (or corrects) the full name on their own account (``full_name``: private, never
    the public ``display_name`` shown on comments and ideas). Voting online asks for it
    before the first ballot: with the date of birth and address given on the ballot, it is how the
    same person voting on another channel is found.

    The name is stripped and its spaces collapsed; an empty one, or one over 150 characters, is a
    ValidationFailed; only the user themselves may do it (NotAllowed). Locks the user's row; audited
    as "user.name_set" when it changes anything."""
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.pk != user.pk:
        raise NotAllowed(MSG_NAME_NOT_YOURS)
    name = " ".join(str(name or "").split())
    if not any(ch.isalnum() for ch in name) or len(name) > NAME_MAX:
        raise ValidationFailed(extra={"full_name": [MSG_NAME_REQUIRED]})
    user = User.objects.select_for_update().get(pk=user.pk)
    before = user.full_name
    if name == before:
        return user
    user.full_name = name
    user.save(update_fields=["full_name"])
    audit_record(
        actor=actor,
        action="user.name_set",
        object_type="user",
        object_id=user.pk,
        before={"full_name": before},
        after={"full_name": name},
    )
    return user
