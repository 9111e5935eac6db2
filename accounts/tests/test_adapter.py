"""Signing up: the language the page was in becomes the account's preferred language, so the
e-mails written later in the recipient's language arrive in it."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Unusual-passphrase-42"


def _signup(client, email):
    response = client.post(reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    return User.objects.get(email=email)


def _preferences_page(user) -> str:
    fresh = Client()  # no language cookie: the page follows nothing but the account
    fresh.force_login(user)
    return fresh.get(reverse("account_preferences")).content.decode()


def test_signing_up_with_the_switcher_on_spanish_saves_spanish(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    user = _signup(client, "ana@example.org")
    assert user.language == "es"
    assert '<option value="es" selected>' in _preferences_page(user)


def test_signing_up_from_a_spanish_browser_saves_spanish(client):
    response = client.post(
        reverse("account_signup"),
        {"email": "luis@example.org", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9",
    )
    assert response.status_code == 302
    assert User.objects.get(email="luis@example.org").language == "es"


def test_signing_up_in_english_saves_english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    user = _signup(client, "joe@example.org")
    assert user.language == "en"
    assert '<option value="en" selected>' in _preferences_page(user)
