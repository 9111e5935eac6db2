"""Helpers for HTML views: show service errors as form errors or messages, log denials."""

from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import ApplicationError, NotAllowed
from .security import denial_log


def deny(request, error: NotAllowed, *, object_type: str = "page", object_id: str = ""):
    """Answer a refused request: log in, set up MFA, or a 403 page. Every denial is logged to the
    security log (core.security, rate-limited), never to the audit log: a refusal changes nothing."""
    status = 403 if request.user.is_authenticated and "mfa" not in error.extra else 302  # 302: log in, or MFA
    denial_log(
        request=request, reason=str(error.message), object_type=object_type, object_id=object_id or request.path[:64],
        status=status,
    )  # fmt: skip
    if not request.user.is_authenticated:
        return redirect_to_login(login_next(request))
    if "mfa" in error.extra:
        messages.warning(request, error.message)
        return redirect("mfa_activate_totp")
    return render(request, "403.html", {"message": error.message}, status=403)


def login_next(request) -> str:
    """Where to come back after logging in. A GET comes back to itself. A refused POST (a form sent
    after the session expired) cannot be replayed by a redirect, so it comes back to the page the
    form was on (the Referer, if it is this site), else to the home page."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        parts = urlsplit(referer)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return resolve_url("home")


def gate(request, check, *, object_type: str = "page", object_id: str = ""):
    """None if ``check(request.user)`` passes; else the denial (log in, MFA set-up or 403; logged,
    naming ``object_type``/``object_id``)."""
    try:
        check(request.user)
    except NotAllowed as error:
        return deny(request, error, object_type=object_type, object_id=object_id)
    return None


def cycle_gate(request, check, cycle):
    """``gate`` for a page about one cycle (the denial names the cycle)."""
    return gate(request, check, object_type="cycle", object_id=str(cycle.pk))


def user_passes(check, user) -> bool:
    """Whether ``check(user)`` lets ``user`` through (what a page offers; the services decide)."""
    try:
        check(user)
    except NotAllowed:
        return False
    return True


def apply_errors(error: ApplicationError, form, *, prefix_forms: dict | None = None) -> None:
    """Put a service's errors on a form (and on sub-forms by ``prefix.index.field`` keys)."""
    if not error.extra:
        form.add_error(None, error.message)
        return
    for key, msgs in error.extra.items():
        target, field = form, key
        parts = key.split(".")
        if prefix_forms and parts[0] in prefix_forms:
            forms_list, formset = prefix_forms[parts[0]]
            if len(parts) == 3 and int(parts[1]) < len(forms_list):
                target, field = forms_list[int(parts[1])], parts[2]
            else:
                for m in msgs:
                    formset._non_form_errors = formset.non_form_errors() + [str(m)]
                continue
        if field not in target.fields:
            field = None
        for m in msgs:
            target.add_error(field, str(m))


def message_error(request, error: ApplicationError) -> None:
    text = str(error.message)
    if error.extra:
        text = " ".join(str(m) for msgs in error.extra.values() for m in msgs)
    messages.error(request, text)
