"""Roles are Django groups with permissions. This table is the one place that says
which role holds which permission; ``roles_sync`` makes the database match it (idempotent)."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    VETTING_STAFF = "vetting_staff", _("Vetting staff")
    OFFICIAL = "official", _("Official")
    VOLUNTEER = "volunteer", _("Volunteer")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


ROLE_PERMISSIONS: dict[Role, tuple[str, ...]] = {
    Role.RESIDENT: (),
    Role.VETTING_STAFF: ("budgets.view_staff_area", "proposals.vet_ideas"),
    Role.OFFICIAL: (
        "budgets.view_staff_area",
        "budgets.manage_cycle",
        "proposals.vet_ideas",
        "core.view_audit_log",
        "voting.run_voting_site",
    ),
    Role.VOLUNTEER: ("voting.run_voting_site",),
    Role.AUDITOR: ("core.view_audit_log",),
    # Appoints and removes the roles below; nothing else (an administrator who also runs cycles holds
    # the official role as well).
    Role.ADMINISTRATOR: ("accounts.manage_roles",),
}

# The roles an administrator appoints on the staff page. Roles are global (one set of groups for every
# cycle): a person's role holds in every cycle. Everyone who signs up is a resident, so "resident" is not
# appointed by hand.
STAFF_ROLES: tuple[Role, ...] = (Role.OFFICIAL, Role.VETTING_STAFF, Role.VOLUNTEER, Role.AUDITOR, Role.ADMINISTRATOR)

# Staff, auditor and administrator accounts must have TOTP set up before they can use their areas.
MFA_REQUIRED_ROLES = frozenset({Role.OFFICIAL, Role.VETTING_STAFF, Role.AUDITOR, Role.ADMINISTRATOR})


def user_roles(user) -> set[Role]:
    if not getattr(user, "is_authenticated", False):
        return set()
    cached = getattr(user, "_pb_roles", None)
    if cached is None:
        cached = {Role(name) for name in user.groups.values_list("name", flat=True) if name in Role.values}
        user._pb_roles = cached
    return cached


def user_has_role(user, role: Role) -> bool:
    return role in user_roles(user)


def user_requires_mfa(user) -> bool:
    """Staff roles need TOTP; so does any account that can enter the Django admin (``is_staff``) or
    holds every permission (``is_superuser``)."""
    if getattr(user, "is_superuser", False) or getattr(user, "is_staff", False):
        return True
    return bool(user_roles(user) & MFA_REQUIRED_ROLES)


def roles_sync(apps=global_apps) -> None:
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Permissions are normally created by auth's own post_migrate handler, app by app; make sure
    # every app's exist before the groups point at them.
    for app_config in global_apps.get_app_configs():
        create_permissions(app_config, verbosity=0, apps=apps)
    for role, perms in ROLE_PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=role.value)
        wanted = []
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(wanted)


def roles_sync_on_migrate(sender, apps=global_apps, **kwargs):
    if sender.label == "accounts":
        roles_sync(apps)
