"""Anonymising accounts for the archive (accounts/erase.py)."""

from datetime import date

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.db import models

from accounts import erase
from tests.factories import user_with_role

pytestmark = pytest.mark.django_db


def test_anonymising_blanks_every_personal_field_and_locks_the_account_out(client):
    user = user_with_role("resident", email="jane.doe@example.org", display_name="Jane Doe")
    client.force_login(user)
    assert erase.users_anonymise(user_ids=[user.pk]) == 1
    user.refresh_from_db()
    assert user.email.endswith("@anonymised.invalid") and "jane" not in user.email
    assert (user.display_name, user.is_active, user.last_login) == ("", False, None)
    assert not user.has_usable_password() and not user.groups.exists()
    assert not EmailAddress.objects.filter(user=user).exists()
    assert not client.login(email="jane.doe@example.org", password="pw-for-tests-123")
    assert erase.users_anonymise(user_ids=[user.pk]) == 0  # idempotent
    # A session of the account is ended by sessions_erase (the archive passes the same ids).
    assert erase.sessions_erase(user_ids=[user.pk], holds=lambda data: False) >= 1
    assert not Session.objects.exists()


def test_every_personal_field_of_an_account_is_blanked_including_fields_added_later():
    """The marker goes into every free-text field and every optional date of the account model, as
    it is on the day the test runs: a field added later (a phone, an address, a date of birth) is
    planted too, and must be blanked unless it is one of KEPT_FIELDS."""
    user_model = get_user_model()
    user = user_with_role("resident")
    planted = []
    for field in user_model._meta.concrete_fields:
        if field.name in ("password", "email") or field.choices or field.primary_key:
            continue
        if isinstance(field, models.CharField | models.TextField):
            setattr(user, field.attname, "Jane Marker"[: field.max_length or 100])
            planted.append(field.name)
        elif type(field) is models.DateField and field.null:
            setattr(user, field.attname, date(1931, 7, 19))
            planted.append(field.name)
    user.save()
    assert "display_name" in planted
    erase.users_anonymise(user_ids=[user.pk])
    row = str(user_model.objects.filter(pk=user.pk).values().get())
    assert "Jane Marker" not in row and "1931" not in row


def test_residents_only_leaves_staff_out(official, volunteer):
    resident = user_with_role("resident")
    assert erase.residents_only({resident.pk, official.pk, volunteer.pk}) == {resident.pk}


def test_sessions_erase_deletes_the_sessions_it_is_told_about():
    kept, doomed = SessionStore(), SessionStore()
    kept.update({"pb_voter": {"cycle_id": 1}})
    doomed.update({"pb_voter": {"cycle_id": 2}})
    kept.create()
    doomed.create()
    assert erase.sessions_erase(user_ids=[], holds=lambda data: data["pb_voter"]["cycle_id"] == 2) == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [kept.session_key]
