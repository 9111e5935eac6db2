from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.utils import translation

from .roles import Role
from .services import user_add_role


def _active_language() -> str:
    """The site language the request is in (the switcher, cookie or browser), as a preference."""
    try:
        language = translation.get_supported_language_variant(translation.get_language() or "")
    except LookupError:
        language = settings.LANGUAGE_CODE
    return language if language in {code for code, _name in settings.LANGUAGES} else settings.LANGUAGE_CODE


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        # The language a person signs up in is the one their e-mails are written in later.
        user.language = _active_language()
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            # Everyone who signs up is a resident.
            user_add_role(user=user, role=Role.RESIDENT, actor=None)
        return user
