"""Anonymising accounts and ending sessions, for the archive step (audit app).

An anonymised account keeps its row — so endorsements still count, comments keep their place and
the audit log's actor ids still point at a row — but nothing about the person: the email becomes a
random address on the reserved ``.invalid`` domain, the name and last login are blanked, the password
made unusable, the account deactivated; its email addresses, second factors, API tokens, group
memberships and sessions are deleted. It cannot be logged into again.
"""

import secrets
from collections.abc import Callable, Iterable

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import Token

from .roles import Role

ANONYMOUS_DOMAIN = "anonymised.invalid"


def residents_only(user_ids: Iterable[int]) -> set[int]:
    """Of ``user_ids``, the accounts that are nothing but residents: no staff role (a group other
    than residents', a permission of their own), no Django admin access, not a superuser."""
    ids = set(user_ids)
    staff = (
        get_user_model()
        .objects.filter(pk__in=ids)
        .filter(
            Q(is_staff=True)
            | Q(is_superuser=True)
            | Q(groups__in=Group.objects.exclude(name=Role.RESIDENT.value))
            | Q(user_permissions__isnull=False)
        )
    )
    return ids - set(staff.values_list("pk", flat=True))


# Fields of the account that say nothing about the person, kept as they are.
KEPT_FIELDS = frozenset({"password", "language", "email"})


def _personal_fields(model) -> list:
    """Every text field of the account (a name today; a phone or an address if one is added) and
    every optional date (a date of birth), except ``KEPT_FIELDS``: blanked by ``users_anonymise``."""
    fields = []
    for field in model._meta.concrete_fields:
        if field.name in KEPT_FIELDS or field.primary_key or field.choices:
            continue
        text = isinstance(field, models.CharField | models.TextField | models.JSONField) and field.blank
        day = type(field) is models.DateField and field.null
        if text or day:
            fields.append(field)
    return fields


def users_anonymise(*, user_ids: Iterable[int]) -> int:
    """Anonymise the accounts ``user_ids`` (see the module docstring). Idempotent."""
    User = get_user_model()
    count = 0
    for user in User.objects.filter(pk__in=list(user_ids)).exclude(email__endswith=f"@{ANONYMOUS_DOMAIN}"):
        for field in _personal_fields(User):
            blank = "" if field.empty_strings_allowed and not field.null else None
            setattr(user, field.attname, field.get_default() if field.has_default() else blank)
        user.email = f"{secrets.token_hex(12)}@{ANONYMOUS_DOMAIN}"
        user.last_login = None
        user.is_active = False
        user.notifications_enabled = False
        user.set_unusable_password()
        user.save()
        user.groups.clear()
        user.user_permissions.clear()
        count += 1
    EmailAddress.objects.filter(user_id__in=list(user_ids)).delete()
    Authenticator.objects.filter(user_id__in=list(user_ids)).delete()
    Token.objects.filter(user_id__in=list(user_ids)).delete()
    return count


def sessions_erase(*, user_ids: Iterable[int], holds: Callable[[dict], bool]) -> int:
    """Delete the expired sessions, the sessions of ``user_ids`` and every session whose data
    ``holds(data)`` says belongs to what is being erased (a voter checked in for its cycle…)."""
    ids = {str(pk) for pk in user_ids}
    deleted, _detail = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    doomed = []
    for session in Session.objects.iterator():
        data = session.get_decoded()
        if str(data.get("_auth_user_id", "")) in ids or holds(data):
            doomed.append(session.pk)
    return deleted + Session.objects.filter(pk__in=doomed).delete()[0]
