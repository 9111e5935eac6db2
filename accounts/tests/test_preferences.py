"""A resident's preferences page and service: notifications on/off, preferred language."""

import pytest
from django.conf import settings
from django.urls import reverse

from accounts import services as account_services
from core.errors import NotAllowed, ValidationFailed
from core.models import AuditEvent
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_resident(db):
    return user_with_role("resident")


def test_preferences_turn_notifications_off_and_pick_a_language(client, resident):
    client.force_login(resident)
    url = reverse("account_preferences")
    response = client.get(url)
    assert response.status_code == 200
    assert response.context["form"]["notifications_enabled"].value() is True
    response = client.post(url, {"language": "es"})  # an unticked box is not sent
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    resident.refresh_from_db()
    assert (resident.notifications_enabled, resident.language) == (False, "es")
    event = AuditEvent.objects.get(action="user.preferences_changed")
    assert event.before == {"notifications_enabled": True, "language": "en"}
    assert event.after == {"notifications_enabled": False, "language": "es"}
    client.post(url, {"language": "es"})  # nothing changes: nothing audited
    assert AuditEvent.objects.filter(action="user.preferences_changed").count() == 1


def test_preferences_refuse_an_unknown_language(client, resident):
    client.force_login(resident)
    response = client.post(reverse("account_preferences"), {"language": "xx", "notifications_enabled": "on"})
    assert response.status_code == 200
    assert response.context["form"].errors["language"]
    resident.refresh_from_db()
    assert resident.language == "en"


def test_preferences_need_a_login(client):
    response = client.get(reverse("account_preferences"))
    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_preferences_service_validates_and_refuses_others(resident, other_resident):
    with pytest.raises(ValidationFailed) as error:
        account_services.user_update_preferences(
            actor=resident, user=resident, notifications_enabled=True, language="de"
        )
    assert error.value.extra == {"language": [account_services.MSG_BAD_LANGUAGE]}
    with pytest.raises(NotAllowed):
        account_services.user_update_preferences(
            actor=other_resident, user=resident, notifications_enabled=False, language="en"
        )
    resident.refresh_from_db()
    assert resident.notifications_enabled is True
