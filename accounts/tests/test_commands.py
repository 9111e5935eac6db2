"""``manage.py createadmin``: the first administrator of a fresh install."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.models import User
from core.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Unusual-passphrase-42"


def createadmin(*args, **env) -> str:
    out = StringIO()
    call_command("createadmin", *args, stdout=out)
    return out.getvalue()


def test_createadmin_makes_an_administrator_who_must_set_up_totp(client, monkeypatch):
    monkeypatch.setenv("PB_ADMIN_PASSWORD", PASSWORD)
    output = createadmin("--email", "Mayor.Office@Example.org", "--no-input")

    user = User.objects.get(email="mayor.office@example.org")
    assert "mayor.office@example.org is an administrator." in output
    assert set(user.groups.values_list("name", flat=True)) == {"resident", "administrator"}
    assert user.check_password(PASSWORD)
    assert EmailAddress.objects.get(user=user).verified
    assert not (user.is_staff or user.is_superuser)
    events = AuditEvent.objects.filter(action="user.role_added", object_id=str(user.pk))
    assert sorted(e.after["role"] for e in events) == ["administrator", "resident"]
    assert all(e.actor_type == "system" for e in events)
    # The password logs in (no TOTP yet), and the page asks for TOTP first.
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert client.session["_auth_user_id"] == str(user.pk), response
    response = client.get(reverse("staff_roles"))
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


def test_createadmin_on_an_existing_account_keeps_its_password_and_is_idempotent(monkeypatch):
    monkeypatch.delenv("PB_ADMIN_PASSWORD", raising=False)
    user = UserFactory(email="clerk@example.org")
    createadmin("--email", "clerk@example.org", "--no-input")
    createadmin("--email", "clerk@example.org", "--no-input")

    user = User.objects.get(pk=user.pk)
    assert user.check_password("pw-for-tests-123")
    assert set(user.groups.values_list("name", flat=True)) == {"resident", "administrator"}
    assert AuditEvent.objects.filter(action="user.role_added", object_id=str(user.pk)).count() == 2


def test_createadmin_refuses_a_weak_password_or_a_bad_email(monkeypatch):
    monkeypatch.setenv("PB_ADMIN_PASSWORD", "123")
    with pytest.raises(CommandError):
        createadmin("--email", "a@example.org", "--no-input")
    monkeypatch.setenv("PB_ADMIN_PASSWORD", PASSWORD)
    with pytest.raises(CommandError):
        createadmin("--email", "not-an-email", "--no-input")
    assert not User.objects.exists()
