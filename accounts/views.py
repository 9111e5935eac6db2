"""A resident's own account pages (allauth provides login, sign-up, email and MFA pages)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import MSG_LOGIN_REQUIRED
from core.errors import ApplicationError, NotAllowed
from core.views_mixins import apply_errors, deny

from . import services
from .forms import PreferencesForm


@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.user
    if not user.is_authenticated:
        return deny(request, NotAllowed(MSG_LOGIN_REQUIRED))
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            try:
                services.user_update_preferences(actor=user, user=user, **form.cleaned_data)
            except NotAllowed as error:
                return deny(request, error, object_type="user", object_id=str(user.pk))
            except ApplicationError as error:
                apply_errors(error, form)
            else:
                language = form.cleaned_data["language"]
                translation.activate(language)  # the confirmation in the language just chosen
                messages.success(request, _("Your preferences are saved."))
                response = redirect("account_preferences")
                # The site follows the preferred language from now on (the header's switch still works).
                response.set_cookie(
                    settings.LANGUAGE_COOKIE_NAME,
                    language,
                    max_age=settings.LANGUAGE_COOKIE_AGE,
                    samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
                    secure=settings.LANGUAGE_COOKIE_SECURE,
                    httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                )
                return response
    else:
        form = PreferencesForm(initial={"notifications_enabled": user.notifications_enabled, "language": user.language})
    return render(request, "accounts/preferences.html", {"form": form})
