from django.contrib.auth.models import Group
from django.db import transaction

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
