"""Group (role) changes made outside the role services — the Django shell, a script, the reverse side
of the relation — are written to the audit log; the services' own changes are audited once."""

import pytest
from django.contrib.auth.models import Group

from accounts import services
from accounts.models import User
from accounts.roles import Role
from core.models import AuditEvent
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db


def outside_events(user) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action="user.groups_changed", object_id=str(user.pk))
        .order_by("pk")
        .values_list("actor_type", "before", "after", "reason")
    )


def test_adding_and_removing_groups_through_the_orm_is_audited():
    user = UserFactory()
    official = Group.objects.get(name="official")

    user.groups.add(official)
    user.groups.remove(official)

    assert outside_events(user) == [
        ("system", {}, {"added": ["official"]}, services.MSG_CHANGED_OUTSIDE),
        ("system", {"removed": ["official"]}, {}, services.MSG_CHANGED_OUTSIDE),
    ]


def test_set_clear_and_the_reverse_side_are_audited():
    user = UserFactory()
    auditor, admin = Group.objects.get(name="auditor"), Group.objects.get(name="administrator")

    user.groups.set([auditor, admin])
    user.groups.clear()
    admin.user_set.add(user)
    admin.user_set.remove(user)
    admin.user_set.add(user)
    admin.user_set.clear()

    assert [(before, after) for _t, before, after, _r in outside_events(user)] == [
        ({}, {"added": ["administrator", "auditor"]}),
        ({"removed": ["administrator", "auditor"]}, {}),
        ({}, {"added": ["administrator"]}),
        ({"removed": ["administrator"]}, {}),
        ({}, {"added": ["administrator"]}),
        ({"removed": ["administrator"]}, {}),
    ]
    assert not user.groups.exists()


def test_a_no_op_change_writes_nothing():
    user = user_with_role("official")
    count = AuditEvent.objects.count()
    user.groups.add(Group.objects.get(name="official"))  # held already
    user.groups.remove(Group.objects.get(name="auditor"))  # never held
    assert AuditEvent.objects.count() == count


def test_the_services_changes_are_audited_once():
    administrator = user_with_role("administrator")
    user = UserFactory()
    count = AuditEvent.objects.count()

    services.user_add_role(user=user, role=Role.RESIDENT, actor=None)
    services.role_grant(actor=administrator, user=user, role="volunteer", reason="Kiosk at the library.")
    services.role_revoke(actor=administrator, user=user, role="volunteer", reason="Season over.")

    assert list(AuditEvent.objects.filter(pk__gt=0).order_by("pk").values_list("action", flat=True))[count:] == [
        "user.role_added",
        "user.role_granted",
        "user.role_revoked",
    ]
    assert outside_events(user) == []


def test_admin_access_and_superuser_changes_are_audited():
    superuser = User.objects.create_superuser(email="root@example.org", password="x-Long-passphrase-9")
    user = UserFactory()
    user.is_staff = True
    user.save()
    user.display_name = "Only the name"
    user.save()
    User.objects.get(pk=user.pk).save(update_fields=["last_login"])

    events = AuditEvent.objects.filter(action="user.access_changed").order_by("pk")
    assert [(e.object_id, e.before, e.after, e.actor_type) for e in events] == [
        (
            str(superuser.pk),
            {"is_staff": False, "is_superuser": False},
            {"is_staff": True, "is_superuser": True},
            "system",
        ),
        (str(user.pk), {"is_staff": False}, {"is_staff": True}, "system"),
    ]
