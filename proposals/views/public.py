"""Residents' and visitors' pages: browse, submit, discuss and follow ideas; see the projects they
became. Thin: parse a form, call a service, render. Service errors are answered by
``core.views_mixins.service_call``: form errors, denials (login, MFA set-up or 403; logged), and a
closed phase or a conflicting state as a message on the page gone back to."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from budgets import selectors as cycle_selectors
from budgets.phases import Capability
from core.errors import NotAllowed, PhaseClosed
from core.views_mixins import deny, gate, service_call

from .. import permissions, selectors, services
from ..forms.public import CommentForm, IdeaFilterForm, IdeaForm, ProjectFilterForm, ReportForm, WithdrawForm
from ..models import Idea
from ..permissions import MSG_LOGIN_REQUIRED, Action

IDEAS_PER_PAGE = 25
DEFAULT_TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
DEFAULT_ATTRIBUTION = '© <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
DEFAULT_CENTER = "40.7178,-74.0431"  # Jersey City


# --- helpers -----------------------------------------------------------------------------------------
def _public_cycle(slug):
    cycle = cycle_selectors.cycle_get_public(slug)
    if cycle is None:
        raise Http404
    return cycle


def _visible_idea(request, pk) -> Idea:
    idea = selectors.idea_get_public(pk=pk, user=request.user)
    if idea is None:
        raise Http404
    return idea


def _to_idea(idea, anchor: str = ""):
    return redirect(reverse("idea_detail", args=[idea.pk]) + anchor)


def _map_settings() -> dict:
    """The optional map (static/js/idea-map.js): tiles from a setting, never needed to use the page."""
    return {
        "map_tile_url": getattr(settings, "PB_MAP_TILE_URL", DEFAULT_TILE_URL),
        "map_attribution": getattr(settings, "PB_MAP_ATTRIBUTION", DEFAULT_ATTRIBUTION),
        "map_center": getattr(settings, "PB_MAP_CENTER", DEFAULT_CENTER),
    }


def _may(action: Action, cycle=None, idea: Idea | None = None):
    """The check for ``action``: who may do it at all (role, verified email), and with a cycle, whether
    its phase allows it (and the idea is the user's own)."""
    if cycle is None:
        return lambda user: permissions.check_who(user, action)
    return lambda user: permissions.check(user, action, cycle, idea)


def _unchangeable(request, idea: Idea):
    """None if ``idea`` can still change; else its page, with why not."""
    if idea.status == Idea.Status.WITHDRAWN:
        messages.error(request, services.MSG_ALREADY_WITHDRAWN)
        return _to_idea(idea)
    if idea.status != Idea.Status.SUBMITTED:
        messages.error(request, services.MSG_NOT_EDITABLE)
        return _to_idea(idea)
    return None


# --- ideas -------------------------------------------------------------------------------------------
@require_GET
def idea_list(request, slug):
    cycle = _public_cycle(slug)
    if not cycle.allows(Capability.BROWSE_IDEAS):
        raise Http404
    form = IdeaFilterForm(request.GET or None, cycle=cycle)
    filters = form.filters()
    ideas = selectors.idea_list_public(cycle=cycle, user=request.user, **filters)
    page = Paginator(ideas, IDEAS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "proposals/public/idea_list.html",
        {
            "cycle": cycle,
            "form": form,
            "page_obj": page,
            "filtered": any(filters[name] for name in ("q", "district", "category", "status")),
            "can_submit": cycle.allows(Capability.SUBMIT_IDEAS) and not permissions.read_only(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def idea_submit(request, slug):
    cycle = _public_cycle(slug)
    back = redirect("cycle_detail", slug=cycle.slug)
    if refused := gate(request, _may(Action.IDEA_SUBMIT, cycle), cycle, back=back):
        return refused
    if request.method == "POST":
        form = IdeaForm(request.POST, request.FILES, cycle=cycle)
        if form.is_valid():
            # A closed phase goes back; invalid input, the per-cycle limit, too many at once: on the form.
            with service_call(request, about=cycle, form=form, back=back, back_on=PhaseClosed) as call:
                idea = services.idea_submit(actor=request.user, cycle=cycle, data=form.idea_input())
                messages.success(
                    request, _("Thank you! Your idea “%(title)s” has been submitted.") % {"title": idea.title}
                )
                return _to_idea(idea)
            if call.response:
                return call.response
    else:
        form = IdeaForm(cycle=cycle)
    return render(
        request, "proposals/public/idea_form.html", {"cycle": cycle, "form": form, "idea": None, **_map_settings()}
    )


@require_GET
def idea_detail(request, pk):
    idea = _visible_idea(request, pk)
    user, cycle = request.user, idea.cycle
    visible = not idea.is_hidden and idea.status != Idea.Status.WITHDRAWN
    changeable = idea.status == Idea.Status.SUBMITTED
    return render(
        request,
        "proposals/public/idea_detail.html",
        {
            "idea": idea,
            "cycle": cycle,
            "review": selectors.idea_public_review(idea),  # the published part only: never internal notes
            "is_author": user.is_authenticated and idea.author_id == user.pk,
            "can_edit": changeable and permissions.can(user, Action.IDEA_EDIT, cycle, idea),
            "can_withdraw": changeable and permissions.can(user, Action.IDEA_WITHDRAW, cycle, idea),
            "visible": visible,
            "withdrawn": idea.status == Idea.Status.WITHDRAWN,
            "discussion_open": visible and cycle.allows(Capability.DISCUSS_IDEAS),
            "endorsed": selectors.has_endorsed(user=user, idea=idea),
            "following": selectors.is_following(user=user, idea=idea),
            "read_only": permissions.read_only(user),  # an auditor: no buttons that can only be refused
            "comment_form": CommentForm(auto_id="comment-%s"),
            **_map_settings(),
        },
    )


@require_http_methods(["GET", "POST"])
def idea_edit(request, pk):
    idea = _visible_idea(request, pk)
    back = _to_idea(idea)
    if refused := gate(request, _may(Action.IDEA_EDIT, idea.cycle, idea), idea, back=back):
        return refused
    if refused := _unchangeable(request, idea):
        return refused
    if request.method == "POST":
        form = IdeaForm(request.POST, request.FILES, cycle=idea.cycle)
        if form.is_valid():
            # The phase closed or review started meanwhile: back to the idea, with why.
            with service_call(request, about=idea, form=form, back=back) as call:
                idea = services.idea_edit(actor=request.user, idea=idea, data=form.idea_input())
                messages.success(request, _("Your changes are saved."))
                return _to_idea(idea)
            if call.response:
                return call.response
    else:
        form = IdeaForm(initial=IdeaForm.initial_from(idea), cycle=idea.cycle)
    return render(
        request,
        "proposals/public/idea_form.html",
        {"cycle": idea.cycle, "form": form, "idea": idea, **_map_settings()},
    )


@require_http_methods(["GET", "POST"])
def idea_withdraw(request, pk):
    """GET: the confirmation page; POST: withdraw."""
    idea = _visible_idea(request, pk)
    back = _to_idea(idea)
    if refused := gate(request, _may(Action.IDEA_WITHDRAW, idea.cycle, idea), idea, back=back):
        return refused
    if refused := _unchangeable(request, idea):
        return refused
    form = WithdrawForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with service_call(request, about=idea, back=back) as call:
            services.idea_withdraw(actor=request.user, idea=idea, reason=form.cleaned_data["reason"])
            messages.success(request, _("Your idea has been withdrawn."))
        return call.response or back
    return render(request, "proposals/public/idea_withdraw.html", {"idea": idea, "cycle": idea.cycle, "form": form})


# --- buttons on the idea page (POST; a GET, e.g. after logging in, goes back to the idea) -------------
@require_http_methods(["GET", "POST"])
def idea_endorse(request, pk):
    idea = _visible_idea(request, pk)
    if request.method == "GET":
        return _to_idea(idea)
    endorse = request.POST.get("action", "endorse") != "unendorse"
    back = _to_idea(idea, "#support")
    with service_call(request, about=idea, back=back) as call:
        if endorse:
            changed = services.idea_endorse(actor=request.user, idea=idea)
            text = _("Thank you: you endorse this idea.") if changed else _("You already endorse this idea.")
        else:
            changed = services.idea_unendorse(actor=request.user, idea=idea)
            text = _("You no longer endorse this idea.") if changed else _("You had not endorsed this idea.")
        messages.success(request, text)
    return call.response or back


@require_http_methods(["GET", "POST"])
def idea_follow(request, pk):
    idea = _visible_idea(request, pk)
    if request.method == "GET":
        return _to_idea(idea)
    on = request.POST.get("action", "follow") != "unfollow"
    back = _to_idea(idea, "#support")
    with service_call(request, about=idea, back=back) as call:
        services.follow_set(actor=request.user, idea=idea, on=on)
        messages.success(
            request,
            _("You follow this idea: we will tell you about its progress.")
            if on
            else _("You no longer follow this idea."),
        )
    return call.response or back


@require_http_methods(["GET", "POST"])
def idea_comment(request, pk):
    idea = _visible_idea(request, pk)
    if request.method == "GET":
        return _to_idea(idea, "#comments")
    if refused := gate(request, _may(Action.IDEA_COMMENT), idea):
        return refused
    back = _to_idea(idea, "#comment-form")
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Your comment is empty: write something before posting it."))
        return back
    with service_call(request, about=idea, back=back) as call:
        comment = services.comment_add(actor=request.user, idea=idea, body=form.cleaned_data["body"])
        messages.success(request, _("Your comment is posted."))
        return _to_idea(idea, f"#comment-{comment.pk}")
    return call.response


def _report(request, *, idea, comment=None):
    target = comment or idea
    if refused := gate(request, _may(Action.REPORT), target):
        return refused
    form = ReportForm(request.POST)
    if not form.is_valid():
        messages.error(request, services.MSG_REASON_REQUIRED)
        return _to_idea(idea)
    back = _to_idea(idea, f"#comment-{comment.pk}" if comment else "")
    with service_call(request, about=target, back=back) as call:
        services.content_report(
            actor=request.user,
            reason=form.cleaned_data["reason"],
            idea=None if comment else idea,
            comment=comment,
        )
        messages.success(request, _("Thank you. A moderator will look at your report."))
    return call.response or back


@require_http_methods(["GET", "POST"])
def idea_report(request, pk):
    idea = _visible_idea(request, pk)
    if request.method == "GET":
        return _to_idea(idea)
    return _report(request, idea=idea)


@require_http_methods(["GET", "POST"])
def comment_report(request, pk):
    comment = selectors.comment_get_public(pk=pk, user=request.user)
    if comment is None:
        raise Http404
    idea = comment.idea
    if request.method == "GET":
        return _to_idea(idea, f"#comment-{comment.pk}")
    return _report(request, idea=idea, comment=comment)


@require_GET
def my_ideas(request):
    if not request.user.is_authenticated:
        return deny(request, NotAllowed(MSG_LOGIN_REQUIRED))
    return render(request, "proposals/public/my_ideas.html", {"ideas": selectors.ideas_of_user(user=request.user)})


# --- projects ----------------------------------------------------------------------------------------
@require_GET
def project_list(request, slug):
    cycle = _public_cycle(slug)
    form = ProjectFilterForm(request.GET or None, cycle=cycle)
    return render(
        request,
        "proposals/public/project_list.html",
        {"cycle": cycle, "form": form, "projects": selectors.project_list(cycle=cycle, district=form.district_code())},
    )


def _visible_project(request, pk):
    project = selectors.project_get(pk=pk)
    if project is None or not selectors.project_visible_to(project, request.user):
        raise Http404
    return project


@require_GET
def project_detail(request, pk):
    project = _visible_project(request, pk)
    return render(
        request,
        "proposals/public/project_detail.html",
        {
            "project": project,
            "cycle": project.cycle,
            "text": project.text(),
            # Hidden ideas stay out of public pages (withdrawn ideas never become projects).
            "source_ideas": [source.idea for source in project.sources.all() if not source.idea.is_hidden],
            "following": selectors.is_following(user=request.user, project=project),
            "read_only": permissions.read_only(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def project_follow(request, pk):
    project = _visible_project(request, pk)
    back = redirect("project_detail", pk=project.pk)
    if request.method == "GET":
        return back
    on = request.POST.get("action", "follow") != "unfollow"
    with service_call(request, about=project, back=back) as call:
        services.follow_set(actor=request.user, project=project, on=on)
        messages.success(
            request,
            _("You follow this project: we will tell you about its progress.")
            if on
            else _("You no longer follow this project."),
        )
    return call.response or back
