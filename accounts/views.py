"""A resident's own account pages (allauth provides login, sign-up, email and MFA pages)."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.permissions import MSG_LOGIN_REQUIRED
from core.errors import ApplicationError, NotAllowed
from core.views_mixins import apply_errors, deny

from . import services
from .forms import NameForm, PreferencesForm


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


def _next_url(request) -> str:
    """Where to go once the name is saved: a page of this site (e.g. the ballot), else preferences."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


@require_http_methods(["GET", "POST"])
def name(request):
    """The full name on one's own account: asked before the first ballot online (the ballot page
    sends voters here with ``next``), and changed here at any time."""
    user = request.user
    if not user.is_authenticated:
        return deny(request, NotAllowed(MSG_LOGIN_REQUIRED))
    target = _next_url(request)
    form = NameForm(request.POST or None, initial={"display_name": user.display_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.user_set_name(actor=user, user=user, name=form.cleaned_data["display_name"])
        except NotAllowed as error:
            return deny(request, error, object_type="user", object_id=str(user.pk))
        except ApplicationError as error:
            apply_errors(error, form)
        else:
            messages.success(request, _("Your name is saved."))
            return redirect(target or "account_preferences")
    return render(request, "accounts/name.html", {"form": form, "next": target, "first_time": not user.display_name})
