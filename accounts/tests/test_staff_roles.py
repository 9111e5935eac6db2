"""The staff roles page: an administrator with TOTP appoints and removes roles, with a reason and an
audit event; everyone else is refused and changes nothing; bad input is a clear error that changes
nothing; the last administrator cannot be removed."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import User
from accounts.permissions import MSG_MFA_REQUIRED, MSG_ROLE_REQUIRED
from accounts.roles import Role
from core.errors import Conflict, NotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.factories import UserFactory, user_with_role

pytestmark = pytest.mark.django_db

REASON = "Runs the Ward B assemblies this year."
ROLE_ACTIONS = ("user.role_granted", "user.role_revoked", "user.groups_changed")


@pytest.fixture
def administrator(db):
    return user_with_role("administrator")


@pytest.fixture
def person(db):
    return user_with_role("resident", email="dana@example.org")


def memberships() -> list[tuple[int, str]]:
    return sorted(User.groups.through.objects.values_list("user_id", "group__name"))


def role_events() -> list[tuple]:
    return list(
        AuditEvent.objects.filter(action__in=ROLE_ACTIONS)
        .order_by("pk")
        .values_list("action", "actor_id", "object_id", "before", "after", "reason")
    )


def roles_of(user) -> set[str]:
    return set(User.objects.get(pk=user.pk).groups.values_list("name", flat=True))


# --- the page, as an administrator -------------------------------------------------------------------------
def test_administrator_sees_the_staff_and_the_form(client, administrator, official):
    client.force_login(administrator)
    response = client.get(reverse("staff_roles"))

    assert response.status_code == 200
    html = response.content.decode()
    assert official.email in html and administrator.email in html
    assert 'action="/accounts/staff/grant/"' in html
    assert f'value="{official.email}"' in html  # a removal form for the official's role
    # The navigation offers the page to administrators only.
    assert f'href="{reverse("staff_roles")}"' in html


def test_administrator_appoints_a_role_with_a_reason_audited(client, administrator, person):
    client.force_login(administrator)
    events = role_events()
    response = client.post(
        reverse("staff_role_grant"), {"email": "DANA@example.org", "role": "official", "reason": f"  {REASON} "}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("staff_roles")
    assert roles_of(person) == {"resident", "official"}
    (event,) = AuditEvent.objects.filter(action="user.role_granted")
    assert (event.actor_type, event.actor_id) == ("user", administrator.pk)
    assert (event.object_type, event.object_id) == ("user", str(person.pk))
    assert event.after == {"role": "official"}
    assert event.reason == REASON
    assert len(role_events()) == len(events) + 1  # one event: the signal leaves it to the service
    page = client.get(reverse("staff_roles")).content.decode()
    assert f"{person.email} is now: Official." in page


def test_administrator_removes_a_role_with_a_reason_audited(client, administrator, official):
    client.force_login(administrator)
    response = client.post(
        reverse("staff_role_revoke"), {"email": official.email, "role": "official", "reason": "Left the city."}
    )

    assert response.status_code == 302
    assert roles_of(official) == {"resident"}
    (event,) = AuditEvent.objects.filter(action="user.role_revoked")
    assert (event.actor_id, event.object_id, event.before, event.reason) == (
        administrator.pk,
        str(official.pk),
        {"role": "official"},
        "Left the city.",
    )
    # The person lost the staff area at once.
    client.force_login(User.objects.get(pk=official.pk))
    assert client.get("/staff/cycles/").status_code == 403


def test_an_appointed_official_gets_the_staff_area_once_totp_is_set_up(client, administrator, person):
    services.role_grant(actor=administrator, user=person, role="official", reason=REASON)
    client.force_login(User.objects.get(pk=person.pk))
    response = client.get("/staff/cycles/")
    assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")


# --- refused: nothing changes ------------------------------------------------------------------------------
@pytest.fixture
def callers(administrator, official, resident, auditor, vetting_staff, volunteer):
    return {
        "anonymous": None,
        "administrator_no_totp": user_with_role("administrator", mfa=False),
        "official": official,
        "vetting_staff": vetting_staff,
        "auditor": auditor,
        "volunteer": volunteer,
        "resident": resident,
    }


@pytest.mark.parametrize(
    "who", ["anonymous", "administrator_no_totp", "official", "vetting_staff", "auditor", "volunteer", "resident"]
)
@pytest.mark.parametrize(
    "name, data",
    [
        ("staff_roles", None),
        ("staff_role_grant", {"email": "dana@example.org", "role": "administrator", "reason": REASON}),
        ("staff_role_revoke", {"email": "ADMIN", "role": "administrator", "reason": REASON}),
    ],
)
def test_everyone_but_an_administrator_with_totp_is_refused(client, callers, administrator, person, who, name, data):
    user = callers[who]
    if user is not None:
        client.force_login(user)
    if data and data["email"] == "ADMIN":
        data = data | {"email": administrator.email}
    before, events = memberships(), role_events()

    url = reverse(name)
    response = client.post(url, data) if data else client.get(url)

    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(f"{reverse('account_login')}?next=")
    elif who == "administrator_no_totp":
        assert response.status_code == 302 and response["Location"] == reverse("mfa_activate_totp")
    else:
        assert response.status_code == 403
        assert str(MSG_ROLE_REQUIRED) in response.content.decode()
    assert memberships() == before
    assert role_events() == events


def test_the_services_refuse_without_the_role_or_without_totp(administrator, official, person):
    no_totp = user_with_role("administrator", mfa=False)
    before, events = memberships(), role_events()
    for actor, message in ((official, MSG_ROLE_REQUIRED), (no_totp, MSG_MFA_REQUIRED), (None, None)):
        with pytest.raises(NotAllowed) as info:
            services.role_grant(actor=actor, user=person, role="official", reason=REASON)
        if message:
            assert info.value.message == message
        with pytest.raises(NotAllowed):
            services.role_revoke(actor=actor, user=administrator, role="administrator", reason=REASON)
    assert memberships() == before
    assert role_events() == events


# --- bad input: a clear error, nothing changed -------------------------------------------------------------
@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "nobody@example.org", "role": "official"}, "email", services.MSG_NO_SUCH_ACCOUNT),
        ({"email": "dana@example.org", "role": "mayor"}, "role", "Select a valid choice."),
        ({"email": "dana@example.org", "role": "resident"}, "role", "Select a valid choice."),
        ({"email": "dana@example.org", "role": "official", "reason": "   "}, "reason", "This field is required."),
        ({"email": "dana@example.org", "role": "official", "reason": "x" * 501}, "reason", "at most 500"),
        ({"email": "not an email", "role": "official"}, "email", "Enter a valid email address."),
    ],
)
def test_bad_appointments_are_clear_errors_that_change_nothing(client, administrator, person, data, field, message):
    client.force_login(administrator)
    before, events = memberships(), role_events()

    response = client.post(reverse("staff_role_grant"), {"reason": REASON} | data)

    assert response.status_code == 400
    form = response.context["grant_form"]
    assert any(str(message) in str(error) for error in form.errors[field]), form.errors
    assert str(message)[:20] in response.content.decode().replace("&#x27;", "'")
    assert memberships() == before
    assert role_events() == events


def test_appointing_a_role_held_already_is_an_error(client, administrator, official):
    client.force_login(administrator)
    before, events = memberships(), role_events()
    response = client.post(reverse("staff_role_grant"), {"email": official.email, "role": "official", "reason": REASON})
    assert response.status_code == 400
    assert str(services.MSG_ALREADY_HOLDS) in response.content.decode().replace("&#x27;", "'")
    assert (memberships(), role_events()) == (before, events)


def test_appointing_a_deactivated_account_is_an_error(administrator, person):
    User.objects.filter(pk=person.pk).update(is_active=False)
    with pytest.raises(ValidationFailed) as info:
        services.role_grant(actor=administrator, user=person, role="auditor", reason=REASON)
    assert info.value.extra == {"email": [services.MSG_ACCOUNT_INACTIVE]}
    assert roles_of(person) == {"resident"}


def test_removing_a_role_not_held_is_an_error(client, administrator, person):
    client.force_login(administrator)
    before, events = memberships(), role_events()
    response = client.post(reverse("staff_role_revoke"), {"email": person.email, "role": "auditor", "reason": "x"})
    assert response.status_code == 400
    assert str(services.MSG_DOES_NOT_HOLD) in response.content.decode()
    assert (memberships(), role_events()) == (before, events)


def test_removing_without_a_reason_is_an_error(client, administrator, official):
    client.force_login(administrator)
    before = memberships()
    response = client.post(reverse("staff_role_revoke"), {"email": official.email, "role": "official", "reason": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert memberships() == before
    with pytest.raises(ValidationFailed) as info:
        services.role_revoke(actor=administrator, user=official, role="official", reason=" \n ")
    assert info.value.extra == {"reason": [services.MSG_REASON_REQUIRED]}
    assert memberships() == before


def test_the_last_administrator_cannot_remove_their_own_role(client, administrator):
    client.force_login(administrator)
    before, events = memberships(), role_events()

    response = client.post(
        reverse("staff_role_revoke"), {"email": administrator.email, "role": "administrator", "reason": "Leaving."}
    )

    assert response.status_code == 400
    assert str(services.MSG_LAST_ADMINISTRATOR) in response.content.decode().replace("&#x27;", "'")
    assert (memberships(), role_events()) == (before, events)


def test_an_administrator_may_step_down_when_another_remains(administrator):
    other = user_with_role("administrator")
    services.role_revoke(actor=administrator, user=administrator, role="administrator", reason="Handing over.")
    assert roles_of(administrator) == {"resident"}
    # Now ``other`` is the last one: a deactivated administrator does not count either.
    third = user_with_role("administrator")
    User.objects.filter(pk=third.pk).update(is_active=False)
    with pytest.raises(Conflict):
        services.role_revoke(actor=other, user=other, role="administrator", reason="Leaving too.")
    assert "administrator" in roles_of(other)


def test_roles_are_global_groups():
    """Roles hold in every cycle: one group per role, no per-cycle rows."""
    assert set(Group.objects.filter(name__in=Role.values).values_list("name", flat=True)) == set(Role.values)
    assert Group.objects.get(name="administrator").permissions.get().codename == "manage_roles"


def test_no_role_page_for_a_plain_account(client):
    user = UserFactory()
    client.force_login(user)
    response = client.get(reverse("home"))
    assert f'href="{reverse("staff_roles")}"' not in response.content.decode()


# --- concurrency -------------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_two_administrators_removing_each_other_at_once_leave_one(transactional_db):
    first, second = user_with_role("administrator"), user_with_role("administrator")
    barrier = threading.Barrier(2, timeout=10)
    statuses, errors = [], []

    def remove(actor, target):
        try:
            client = Client()
            client.force_login(actor)
            barrier.wait()
            response = client.post(
                reverse("staff_role_revoke"), {"email": target.email, "role": "administrator", "reason": "Race."}
            )
            statuses.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=remove, args=pair) for pair in ((first, second), (second, first))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sorted(statuses) == [302, 400]
    assert Group.objects.get(name="administrator").user_set.count() == 1
    assert AuditEvent.objects.filter(action="user.role_revoked").count() == 1
