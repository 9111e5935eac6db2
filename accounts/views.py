"""A resident's own account pages (allauth provides login, sign-up, email and MFA pages), and the
administrators' staff roles page."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import MSG_LOGIN_REQUIRED, check_manage_roles
from core.errors import NotAllowed
from core.views_mixins import deny, gate, service_call

from . import selectors, services
from .forms import NameForm, PreferencesForm, RoleGrantForm, RoleRevokeForm
from .roles import Role


@require_http_methods(["GET", "POST"])
def preferences(request):
    user = request.user
    if not user.is_authenticated:
        return deny(request, NotAllowed(MSG_LOGIN_REQUIRED))
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            with service_call(request, about=user, form=form) as call:
                services.user_update_preferences(actor=user, user=user, **form.cleaned_data)
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
            if call.response:
                return call.response
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
    form = NameForm(request.POST or None, initial={"full_name": user.full_name})
    if request.method == "POST" and form.is_valid():
        with service_call(request, about=user, form=form) as call:
            services.user_set_name(actor=user, user=user, name=form.cleaned_data["full_name"])
            messages.success(request, _("Your name is saved."))
            return redirect(target or "account_preferences")
        if call.response:
            return call.response
    return render(request, "accounts/name.html", {"form": form, "next": target, "first_time": not user.full_name})


# --- staff roles (administrators) -------------------------------------------------------------------------
def _staff_roles_page(request, *, grant_form=None, revoke_form=None, status=200):
    return render(
        request,
        "accounts/staff_roles.html",
        {
            "members": selectors.staff_members(),
            "grant_form": grant_form or RoleGrantForm(),
            "revoke_form": revoke_form,
        },
        status=status,
    )


@require_http_methods(["GET"])
def staff_roles(request):
    if refused := gate(request, check_manage_roles):
        return refused
    return _staff_roles_page(request)


def _role_change(request, form_class, service, done_message, form_key):
    if refused := gate(request, check_manage_roles):
        return refused
    form = form_class(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        with service_call(request, form=form) as call:
            user = service(
                actor=request.user,
                user=selectors.user_by_email(data["email"]),
                role=data["role"],
                reason=data["reason"],
            )
            messages.success(request, done_message % {"person": user.email, "role": Role(data["role"]).label})
            return redirect("staff_roles")
        if call.response:
            return call.response
    return _staff_roles_page(request, **{form_key: form}, status=400)


@require_POST
def staff_role_grant(request):
    return _role_change(request, RoleGrantForm, services.role_grant, _("%(person)s is now: %(role)s."), "grant_form")


@require_POST
def staff_role_revoke(request):
    return _role_change(
        request, RoleRevokeForm, services.role_revoke, _("%(person)s no longer has the role: %(role)s."), "revoke_form"
    )
