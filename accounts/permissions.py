"""Account-level checks shared by every app's permissions module: roles, MFA and a verified email."""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled
from django.db import connection
from django.utils.translation import gettext_lazy as _

from core.errors import NotAllowed

from .roles import user_requires_mfa

# The refusals every app's permissions module gives (one text, one translation).
MSG_LOGIN_REQUIRED = _("Please log in first.")
MSG_ROLE_REQUIRED = _("Your account does not have the role needed for this.")
MSG_MFA_REQUIRED = _("Set up two-factor authentication (an authenticator app) before using this area.")


def user_mfa_ready(user) -> bool:
    """A staff or auditor account may use its area only once TOTP is set up (and allauth then
    asks for the code at every login). Residents and volunteers need no MFA."""
    if not getattr(user, "is_authenticated", False):
        return False
    if not user_requires_mfa(user):
        return True
    cached = getattr(user, "_pb_mfa_ready", None)
    if cached is None:
        cached = is_mfa_enabled(user, [Authenticator.Type.TOTP])
        user._pb_mfa_ready = cached
    return cached


_EMAIL_VERIFIED = f"SELECT 1 FROM {EmailAddress._meta.db_table} WHERE user_id = %s AND verified LIMIT 1"  # noqa: S608


def user_email_verified(user) -> bool:
    """Has the user confirmed an email address (allauth's table)? Asked on every ballot cast, so it
    is one plain statement rather than a query the ORM builds each time."""
    cached = getattr(user, "_pb_email_verified", None)
    if cached is None:
        with connection.cursor() as cursor:
            cursor.execute(_EMAIL_VERIFIED, [user.pk])
            cached = cursor.fetchone() is not None
        user._pb_email_verified = cached
    return cached


def check_role_with_mfa(user, *perms: str) -> None:
    """Logged in, holding at least one of ``perms``, and with TOTP set up when the role needs it:
    the shared shape of every staff and auditor check. Raises ``NotAllowed`` (log in / role / MFA)."""
    if not getattr(user, "is_authenticated", False):
        raise NotAllowed(MSG_LOGIN_REQUIRED)
    if perms and not any(user.has_perm(perm) for perm in perms):
        raise NotAllowed(MSG_ROLE_REQUIRED)
    if not user_mfa_ready(user):
        raise NotAllowed(MSG_MFA_REQUIRED, extra={"mfa": ["required"]})


MANAGE_ROLES = "accounts.manage_roles"


def check_manage_roles(user) -> None:
    """May ``user`` appoint and remove staff roles? Administrators (and superusers), with TOTP."""
    check_role_with_mfa(user, MANAGE_ROLES)
