"""Account-level checks shared by every app's permissions module: roles and MFA."""

from allauth.mfa.models import Authenticator
from allauth.mfa.utils import is_mfa_enabled

from .roles import user_requires_mfa


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
