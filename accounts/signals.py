"""Changes of anyone's groups (roles) made outside the role services are audited: the Django shell,
a script or a data migration cannot appoint staff without leaving a trace in the audit log. So are
changes of the two flags that act like roles: Django admin access (``is_staff``) and every permission
(``is_superuser``), e.g. by ``createsuperuser``. The resident group is left out: it grants nothing an
account does not already have, and sign-up's own grant of it is audited by its service."""

from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_migrate, post_save, pre_save

from . import services
from .models import User
from .roles import Role, roles_sync_on_migrate


def _group_names(pks) -> list[str]:
    return list(Group.objects.filter(pk__in=pks).exclude(name=Role.RESIDENT.value).values_list("name", flat=True))


def _record(*, user_id: int, added: list[str], removed: list[str]) -> None:
    added = [name for name in added if name != Role.RESIDENT.value]
    removed = [name for name in removed if name != Role.RESIDENT.value]
    services.user_groups_changed_record(user_id=user_id, added=added, removed=removed)


def user_groups_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    if services.role_change_is_audited_by_service():
        return
    if action == "pre_clear":
        # Remember what is about to go; "post_clear" has no pk_set.
        if reverse:  # group.user_set.clear()
            instance._pb_cleared = list(instance.user_set.values_list("pk", flat=True))
        else:
            instance._pb_cleared = list(instance.groups.values_list("name", flat=True))
        return
    if action == "pre_remove":
        # ``remove`` reports every pk it was given, held or not: keep only the ones really held.
        if not pk_set:
            instance._pb_removing = set()
        elif reverse:
            instance._pb_removing = set(instance.user_set.filter(pk__in=pk_set).values_list("pk", flat=True))
        else:
            instance._pb_removing = set(instance.groups.filter(pk__in=pk_set).values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        instance.__dict__.pop("_pb_roles", None)  # accounts.roles.user_roles' cache
    if action == "post_clear":
        cleared = instance.__dict__.pop("_pb_cleared", [])
        if reverse:
            for user_id in cleared:
                _record(user_id=user_id, added=[], removed=[instance.name])
        else:
            _record(user_id=instance.pk, added=[], removed=cleared)
        return
    added = action == "post_add"
    if not added:
        pk_set = instance.__dict__.pop("_pb_removing", set())
    if not pk_set:
        return
    if reverse:  # group.user_set.add(users...) / remove(...)
        for user_id in sorted(pk_set):
            names = [instance.name]
            _record(user_id=user_id, added=names if added else [], removed=[] if added else names)
    else:
        names = _group_names(pk_set)
        _record(user_id=instance.pk, added=names if added else [], removed=[] if added else names)


ACCESS_FLAGS = ("is_staff", "is_superuser")


def user_access_before_save(sender, instance, raw, update_fields, **kwargs):
    if raw or (update_fields is not None and not set(update_fields) & set(ACCESS_FLAGS)):
        instance._pb_flags_before = None
        return
    if instance.pk is None or instance._state.adding:
        instance._pb_flags_before = dict.fromkeys(ACCESS_FLAGS, False)
        return
    before = User.objects.filter(pk=instance.pk).values(*ACCESS_FLAGS).first()
    instance._pb_flags_before = before or dict.fromkeys(ACCESS_FLAGS, False)


def user_access_after_save(sender, instance, raw, **kwargs):
    before = instance.__dict__.pop("_pb_flags_before", None)
    if before is None:
        return
    after = {flag: bool(getattr(instance, flag)) for flag in ACCESS_FLAGS}
    services.user_access_changed_record(user_id=instance.pk, before=before, after=after)


GROUPS_THROUGH = User.groups.through

# Connected once, when AccountsConfig.ready() imports this module.
post_migrate.connect(roles_sync_on_migrate, dispatch_uid="accounts.roles_sync")
m2m_changed.connect(user_groups_changed, sender=GROUPS_THROUGH, dispatch_uid="accounts.groups_audit")
pre_save.connect(user_access_before_save, sender=User, dispatch_uid="accounts.access_before")
post_save.connect(user_access_after_save, sender=User, dispatch_uid="accounts.access_audit")
