"""The Django admin asks for the same second factor as the staff areas: its password-only login form
is gone, and superusers and ``is_staff`` accounts need TOTP; roles are not edited there."""

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from accounts.roles import user_requires_mfa
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests-123"  # tests.factories.UserFactory


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def superuser_with_totp(superuser):
    superuser.totp_secret = generate_totp_secret()
    TOTP.activate(superuser, superuser.totp_secret)
    return superuser


def test_superusers_and_admin_staff_need_totp(superuser):
    assert user_requires_mfa(superuser)
    assert user_requires_mfa(UserFactory(is_staff=True))
    assert not user_requires_mfa(UserFactory())


def test_the_admin_password_form_does_not_log_in(client, superuser_with_totp):
    response = client.post(
        reverse("admin:login"), {"username": superuser_with_totp.email, "password": PASSWORD, "next": "/admin/"}
    )

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next=/admin/"
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302


def test_admin_login_without_the_totp_code_is_refused(client, superuser_with_totp):
    response = client.post(reverse("account_login"), {"login": superuser_with_totp.email, "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert "_auth_user_id" not in client.session

    # Control: the right code logs in, and the admin opens.
    client.post(reverse("mfa_authenticate"), {"code": pyotp.TOTP(superuser_with_totp.totp_secret).now()})
    assert client.session["_auth_user_id"] == str(superuser_with_totp.pk)
    assert client.get("/admin/").status_code == 200
    # Logged in, the admin's login page goes on to the admin.
    response = client.get(reverse("admin:login"), {"next": "/admin/accounts/user/"})
    assert response.status_code == 302 and response["Location"] == "/admin/accounts/user/"


def test_a_superuser_without_totp_is_refused_and_sent_to_set_it_up(client, superuser):
    client.force_login(superuser)

    response = client.get("/admin/", follow=True)

    assert [url for url, _status in response.redirect_chain][:2] == [
        f"{reverse('admin:login')}?next=/admin/",
        reverse("mfa_activate_totp"),
    ]
    assert client.get("/admin/accounts/user/").status_code == 302


def test_a_non_staff_account_gets_a_403_from_the_admin_login(client, official):
    client.force_login(official)
    response = client.get(reverse("admin:login"))
    assert response.status_code == 403


def test_groups_cannot_be_changed_in_the_admin(client, superuser_with_totp):
    user = UserFactory()
    client.force_login(superuser_with_totp)
    url = reverse("admin:accounts_user_change", args=[user.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "email": user.email,
            "display_name": "Changed",
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [str(Group.objects.get(name="administrator").pk)],
        },
    )

    assert response.status_code == 302  # saved: the name changed, the roles and flags did not
    user = User.objects.get(pk=user.pk)
    assert user.display_name == "Changed"
    assert (user.is_staff, user.is_superuser, list(user.groups.all())) == (False, False, [])
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get("/admin/auth/group/").status_code == 404  # roles are not edited here
