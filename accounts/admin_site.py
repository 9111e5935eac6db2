"""The Django admin asks for the same second factor as the staff areas.

Its own password-only login form is not used: ``/admin/login/`` sends people to the site's login
(allauth), which asks for the TOTP code of an account that has one; and the admin is open only to
staff accounts that have TOTP set up (superusers and ``is_staff`` accounts always need it)."""

from django.contrib import admin, messages
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from .permissions import MSG_MFA_REQUIRED, MSG_ROLE_REQUIRED, user_mfa_ready


class MFAAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and user_mfa_ready(request.user)

    def login(self, request, extra_context=None):
        next_url = request.GET.get(REDIRECT_FIELD_NAME) or request.POST.get(REDIRECT_FIELD_NAME) or ""
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = ""
        next_url = next_url or reverse("admin:index", current_app=self.name)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(next_url, resolve_url("account_login"))
        if not (user.is_active and user.is_staff):
            return render(request, "403.html", {"message": MSG_ROLE_REQUIRED}, status=403)
        if not user_mfa_ready(user):
            messages.warning(request, MSG_MFA_REQUIRED)
            return redirect("mfa_activate_totp")
        return redirect(next_url)
