"""Roles as groups with permissions, signup as a resident, mandatory email verification, and MFA
for staff."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser, Group
from django.core import mail
from django.urls import reverse

from accounts.models import User
from accounts.permissions import user_mfa_ready
from accounts.roles import MFA_REQUIRED_ROLES, ROLE_PERMISSIONS, Role, roles_sync, user_requires_mfa
from budgets.permissions import MSG_MFA_REQUIRED, MSG_ROLE_REQUIRED
from core.models import AuditEvent

PASSWORD = "a-long-Unusual-passphrase-42"


def _perm_names(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}


# --- groups ------------------------------------------------------------------------------------------
def test_every_role_is_a_group_with_exactly_its_permissions(db):
    assert set(Group.objects.values_list("name", flat=True)) >= set(Role.values)
    for role, perms in ROLE_PERMISSIONS.items():
        assert _perm_names(Group.objects.get(name=role.value)) == set(perms), role


def test_officials_manage_cycles_and_auditors_only_read_the_log(db):
    assert "budgets.manage_cycle" in ROLE_PERMISSIONS[Role.OFFICIAL]
    assert set(ROLE_PERMISSIONS[Role.AUDITOR]) == {"core.view_audit_log"}
    assert ROLE_PERMISSIONS[Role.RESIDENT] == ()


def test_roles_sync_repairs_drift_and_is_idempotent(db):
    official = Group.objects.get(name=Role.OFFICIAL.value)
    official.permissions.clear()
    Group.objects.get(name=Role.AUDITOR.value).delete()

    roles_sync()
    roles_sync()

    assert Group.objects.filter(name__in=Role.values).count() == len(Role)
    assert _perm_names(official) == set(ROLE_PERMISSIONS[Role.OFFICIAL])
    assert _perm_names(Group.objects.get(name=Role.AUDITOR.value)) == {"core.view_audit_log"}


def test_staff_roles_require_mfa():
    assert {Role.OFFICIAL, Role.VETTING_STAFF, Role.AUDITOR, Role.ADMINISTRATOR} == MFA_REQUIRED_ROLES


# --- signup and verification -----------------------------------------------------------------------
def _signup(client, email="new.resident@example.org"):
    return client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})


def test_signup_makes_a_resident_sends_a_verification_email_and_audits(client, db):
    response = _signup(client, "New.Resident@Example.org")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email__iexact="new.resident@example.org")
    assert list(user.groups.values_list("name", flat=True)) == [Role.RESIDENT.value]
    assert not EmailAddress.objects.get(user=user).verified

    assert len(mail.outbox) == 1
    assert [a.lower() for a in mail.outbox[0].to] == ["new.resident@example.org"]

    event = AuditEvent.objects.get(action="user.role_added")
    assert (event.object_type, event.object_id) == ("user", str(user.pk))
    assert event.after == {"role": "resident"}
    assert event.actor_type == "system"


def test_login_is_refused_until_the_email_is_verified(client, db):
    _signup(client)
    client.logout()
    user = User.objects.get(email="new.resident@example.org")
    mail.outbox.clear()

    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    assert len(mail.outbox) == 1  # a fresh verification link instead

    # Control: once verified, the same credentials log in.
    EmailAddress.objects.filter(user=user).update(verified=True)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


# --- MFA ---------------------------------------------------------------------------------------------
def test_user_mfa_ready(official, official_without_mfa, resident, auditor):
    assert user_requires_mfa(official_without_mfa)
    assert user_mfa_ready(official_without_mfa) is False
    assert user_mfa_ready(official) is True
    assert user_mfa_ready(auditor) is True
    assert user_requires_mfa(resident) is False
    assert user_mfa_ready(resident) is True  # residents need no MFA
    assert user_mfa_ready(AnonymousUser()) is False


def test_official_without_totp_is_sent_to_set_it_up_and_the_denial_logged(client, official_without_mfa, denials):
    client.force_login(official_without_mfa)
    events = AuditEvent.objects.count()  # making the official is itself audited
    response = client.get("/staff/cycles/")

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_activate_totp")
    [denial] = denials()
    assert (denial["actor_type"], denial["actor_id"]) == ("user", official_without_mfa.pk)
    assert denial["reason"] == str(MSG_MFA_REQUIRED)
    assert (denial["method"], denial["path"]) == ("GET", "/staff/cycles/")
    assert AuditEvent.objects.count() == events


def test_official_with_totp_gets_the_staff_area(client, official, denials):
    client.force_login(official)
    response = client.get("/staff/cycles/")

    assert response.status_code == 200
    assert denials() == []


def test_resident_gets_403_on_the_staff_area(client, resident, denials):
    client.force_login(resident)
    response = client.get("/staff/cycles/")

    assert response.status_code == 403
    assert str(MSG_ROLE_REQUIRED) in response.content.decode()
    [denial] = denials()
    assert (denial["actor_type"], denial["actor_id"], denial["status"]) == ("user", resident.pk, 403)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("path", ["/staff/cycles/", "/staff/cycles/new/"])
def test_anonymous_is_sent_to_log_in(client, db, path, denials):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={path}"
    assert [d["actor_type"] for d in denials()] == ["anonymous"]
    assert not AuditEvent.objects.exists()
