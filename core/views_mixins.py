"""Helpers for HTML views: one way to gate a page and one way to answer a service's refusal.

Every page that changes something follows one recipe: gate, look up, call a service, answer its
error, redirect. The answer depends only on the error (``core.errors``) and on what the page has
to show it with, so it is written once, here:

- ``NotAllowed``: ``deny`` (log in, set up MFA, or a 403 page; logged to the security log).
- An error with details (``extra``: field name → messages) on a page with a form: the messages go
  on the form's fields (a detail about no field goes on top of the form); the page is shown again.
- A refusal of the whole request (``Conflict``, which includes a closed phase, or ``NotFound``:
  the state changed, the thing is gone) on a page that names where to go ``back`` to: a message,
  and a redirect there.
- Any other error on a page with a form: the form says it (on top); the page is shown again. On a
  page with only a place to go back to: a message and the redirect.
- ``NotFound`` with neither: a 404. Anything else with neither: not handled here (the view says).

``gate`` checks who may see a page; ``service_call`` runs the service::

    if refused := gate(request, permissions.check_official, cycle):
        return refused
    with service_call(request, about=cycle, form=form, back=redirect("cycle", slug=cycle.slug)) as call:
        services.cycle_do(actor=request.user, cycle=cycle, **form.cleaned_data)
        messages.success(request, _("Done."))
        return redirect("cycle", slug=cycle.slug)
    if call.response:
        return call.response  # the denial, or the message and the redirect
    return render(...)  # the form with its errors

A view whose error means something special (a ballot refused, a list of problems shown on the page)
catches that error itself, inside the ``with`` block.
"""

import re
from urllib.parse import urlsplit

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme

from .errors import ApplicationError, Conflict, NotAllowed, NotFound
from .security import denial_log

REFUSALS_GOING_BACK = (Conflict, NotFound)  # a refusal of the whole request: the state, not the input


def _named(about) -> tuple[str, str]:
    """(object type, object id) a denial names: a model instance ("voting_site", "12"), an explicit
    pair, or the page itself."""
    if about is None:
        return "page", ""
    if isinstance(about, tuple):
        return about[0], str(about[1])
    return re.sub(r"(?<!^)(?=[A-Z])", "_", about._meta.object_name).lower(), str(about.pk)


def deny(request, error: NotAllowed, about=None):
    """Answer a refused request: log in, set up MFA, or a 403 page. Every denial is logged to the
    security log (core.security, rate-limited), never to the audit log: a refusal changes nothing.
    ``about``: the object refused (a model instance or an ("object type", id) pair), else the page."""
    object_type, object_id = _named(about)
    status = 403 if request.user.is_authenticated and "mfa" not in error.extra else 302  # 302: log in, or MFA
    denial_log(
        request=request,
        reason=str(error.message),
        object_type=object_type,
        object_id=object_id or request.path[:64],
        status=status,
    )
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


_UNHANDLED = object()


def _refusal(
    request,
    error: ApplicationError,
    *,
    about=None,
    form=None,
    prefix_forms=None,
    back=None,
    back_on=REFUSALS_GOING_BACK,
):
    """The answer to ``error`` (see the module docstring): a response, None (the errors are on
    ``form``: show the page again), or ``_UNHANDLED``. Raises ``Http404`` for a ``NotFound`` with
    neither a form nor a page to go back to."""
    if isinstance(error, NotAllowed):
        return deny(request, error, about)
    if form is not None and error.extra:
        apply_errors(error, form, prefix_forms=prefix_forms)
        return None
    if back is not None and (form is None or isinstance(error, back_on)):
        message_error(request, error)
        return back if isinstance(back, HttpResponse) else redirect(back)
    if form is not None:
        apply_errors(error, form, prefix_forms=prefix_forms)
        return None
    if isinstance(error, NotFound):
        raise Http404 from error
    return _UNHANDLED


class service_call:  # noqa: N801 - a context manager, read as a sentence: "with service_call(...)"
    """Run a service (the ``with`` block) and answer the ``ApplicationError`` it raises.

    ``about``: what a denial names (a model instance or an ("object type", id) pair). ``form``: where
    field errors go (``prefix_forms`` as for ``apply_errors``). ``back``: where a refusal of the whole
    request goes, with its message (a URL or a response); ``back_on``: which errors are such refusals
    on a page with a form (default: ``Conflict`` and ``NotFound``; the rest go on the form).

    After the block, ``response`` is the answer to return (a denial, or the message's redirect), or
    None: either nothing was refused, or the errors are on the form (``error`` is set) and the page is
    shown again. An error the page has no way to show propagates.
    """

    def __init__(self, request, *, about=None, form=None, prefix_forms=None, back=None, back_on=REFUSALS_GOING_BACK):
        self.request, self.about, self.form, self.prefix_forms = request, about, form, prefix_forms
        self.back, self.back_on = back, back_on
        self.response: HttpResponse | None = None
        self.error: ApplicationError | None = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, error, traceback) -> bool:
        if not isinstance(error, ApplicationError):
            return False
        answer = _refusal(
            self.request,
            error,
            about=self.about,
            form=self.form,
            prefix_forms=self.prefix_forms,
            back=self.back,
            back_on=self.back_on,
        )
        if answer is _UNHANDLED:
            return False
        self.error, self.response = error, answer
        return True


def gate(request, check, about=None, *, back=None):
    """None if ``check(request.user)`` lets the user in; else the response that refuses: a denial
    naming ``about`` (log in, MFA set-up or 403; logged), or, for a check that also asks the phase,
    a closed phase's message and a redirect to ``back``. ``check`` takes the user (wrap a check that
    needs more in a lambda)."""
    with service_call(request, about=about, back=back) as call:
        check(request.user)
    return call.response


def user_passes(check, user) -> bool:
    """Whether ``check(user)`` lets ``user`` through (what a page offers; the services decide)."""
    try:
        check(user)
    except NotAllowed:
        return False
    return True


def why_not(check, *args) -> str | None:
    """What a page says instead of offering a form: the message of the refusal ``check(*args)``
    raises (a closed phase, a refusal), or None when it passes."""
    try:
        check(*args)
    except (Conflict, NotAllowed) as error:
        return str(error.message)
    return None


def apply_errors(error: ApplicationError, form, *, prefix_forms: dict | None = None) -> None:
    """Put a service's errors on a form. Keys ``prefix.part.field`` go on sub-forms: for a prefix
    mapped to ``(forms_list, formset)`` the part is an index in ``forms_list`` (else the message is
    one of the formset's own errors); for a prefix mapped to a dict of forms the part is a key of it
    (``prefix.part`` alone: on top of that form)."""
    if not error.extra:
        form.add_error(None, error.message)
        return
    for key, msgs in error.extra.items():
        target, field = form, key
        parts = key.split(".")
        sub = (prefix_forms or {}).get(parts[0])
        if isinstance(sub, dict) and len(parts) in (2, 3) and parts[1] in sub:
            target, field = sub[parts[1]], parts[2] if len(parts) == 3 else None
        elif isinstance(sub, tuple):
            forms_list, formset = sub
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(forms_list):
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
    """An error as a message on the next page: its details when it has some, else its message."""
    text = str(error.message)
    if error.extra:
        text = " ".join(str(m) for msgs in error.extra.values() for m in msgs)
    messages.error(request, text)
