"""The vetting workspace for vetting staff and officials: the queue, the review
page, paper ideas, projects, categories and reports. Thin: parse a form, call a service, render.

Who may enter is ``proposals.permissions`` (``proposals.vet_ideas`` and TOTP); a refusal goes
through ``core.views_mixins`` (log in, set up MFA, or 403; logged), as do the services' errors
(details on the form; a refusal of the whole request as a message on the page gone back to). What
the phase allows is asked of the same module, so a closed phase shows its message instead of a form.
"""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from budgets import selectors as budget_selectors
from core.errors import ApplicationError, Conflict, PhaseClosed
from core.views_mixins import gate, service_call, why_not

from .. import permissions, selectors, services
from ..forms.vetting import (
    AssignReviewerForm,
    CategoryForm,
    DecisionPublishForm,
    HideForm,
    PaperIdeaForm,
    ProjectForm,
    ProjectPublishForm,
    QueueFilterForm,
    ReviewForm,
    project_text_forms,
)
from ..models import Idea, Review
from ..permissions import Action

QUEUE_PAGE_SIZE = 50


# --- helpers -----------------------------------------------------------------------------------------
def _vetting(action: Action = Action.VETTING_AREA):
    """The check of a workspace page: the workspace, and ``action``."""

    def check(user) -> None:
        permissions.check_who(user, Action.VETTING_AREA)
        if action != Action.VETTING_AREA:
            permissions.check_who(user, action)

    return check


def _cycle(slug):
    cycle = budget_selectors.cycle_get_staff(slug)
    if cycle is None:
        raise Http404
    return cycle


def _idea(pk):
    idea = selectors.idea_get_staff(pk=pk)
    if idea is None:
        raise Http404
    return idea


def _closed(action: Action, cycle) -> str | None:
    """The phase's refusal message for ``action`` on ``cycle``, or None when it is open."""
    return why_not(permissions.check_when, action, cycle)


def _change(request, idea_or_cycle, form, back):
    """A change made from a form: errors about fields go on ``form`` (the page again); any refusal
    of the whole request (closed phase, state) becomes a message on ``back``."""
    return service_call(request, about=idea_or_cycle, form=form, back=back, back_on=ApplicationError)


def _review_of(idea) -> Review | None:
    try:
        return idea.review
    except Review.DoesNotExist:
        return None


# --- the queue ---------------------------------------------------------------------------------------
@require_safe
def vetting_queue(request, slug):
    if refused := gate(request, _vetting()):
        return refused
    cycle = _cycle(slug)
    reviewers = list(selectors.vetting_staff_list())
    form = QueueFilterForm(request.GET or None, cycle=cycle, reviewers=reviewers)
    ideas = selectors.vetting_queue(cycle=cycle, **form.filters())
    page = Paginator(ideas, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    user = request.user
    return render(
        request,
        "proposals/vetting/queue.html",
        {
            "cycle": cycle,
            "form": form,
            "page": page,
            "can_build": permissions.can(user, Action.PROJECT_EDIT, cycle),
            "review_closed": _closed(Action.REVIEW, cycle),
        },
    )


# --- one idea: review, publish, hide -------------------------------------------------------------------
def _idea_page(request, idea, *, assign_form=None, review_form=None, hide_form=None):
    user, cycle = request.user, idea.cycle
    review = _review_of(idea)
    if assign_form is None:
        assign_form = AssignReviewerForm(
            reviewers=selectors.vetting_staff_list(), initial={"reviewer": review.reviewer_id if review else None}
        )
    return render(
        request,
        "proposals/vetting/idea_review.html",
        {
            "cycle": cycle,
            "idea": idea,
            "review": review,
            "assign_form": assign_form,
            "review_form": review_form or ReviewForm(initial=ReviewForm.initial_from(review)),
            "hide_form": hide_form or HideForm(),
            "can_review": permissions.can(user, Action.REVIEW, cycle),
            # The services refuse a new decision on these; say so rather than offer the form.
            "decided": idea.status in (Idea.Status.IN_PROJECT, Idea.Status.WITHDRAWN),
            "can_moderate": permissions.can(user, Action.MODERATE, cycle),
            "review_closed": _closed(Action.REVIEW, cycle),
            "can_build": permissions.can(user, Action.PROJECT_EDIT, cycle),
        },
    )


@require_safe
def vetting_idea(request, pk):
    if refused := gate(request, _vetting()):
        return refused
    return _idea_page(request, _idea(pk))


@require_POST
def vetting_idea_assign(request, pk):
    if refused := gate(request, _vetting(Action.REVIEW)):
        return refused
    idea = _idea(pk)
    form = AssignReviewerForm(request.POST, reviewers=selectors.vetting_staff_list())
    if form.is_valid():
        reviewer = form.cleaned_data["reviewer"]
        back = redirect("vetting_idea", pk=idea.pk)
        with _change(request, idea, form, back) as call:
            services.review_assign(actor=request.user, idea=idea, reviewer=reviewer)
            if reviewer is None:
                messages.success(request, _("No one is assigned to review this idea now."))
            else:
                messages.success(request, _("%(name)s will review this idea.") % {"name": reviewer})
            return back
        if call.response:
            return call.response
    return _idea_page(request, idea, assign_form=form)


@require_POST
def vetting_idea_review(request, pk):
    if refused := gate(request, _vetting(Action.REVIEW)):
        return refused
    idea = _idea(pk)
    form = ReviewForm(request.POST)
    if form.is_valid():
        back = redirect("vetting_idea", pk=idea.pk)
        with _change(request, idea, form, back) as call:
            services.review_record(actor=request.user, idea=idea, **form.cleaned_data)
            messages.success(request, _("Review saved. Residents see the decision only once you publish it."))
            return back
        if call.response:
            return call.response
    return _idea_page(request, idea, review_form=form)


@require_POST
def vetting_idea_publish(request, pk):
    if refused := gate(request, _vetting(Action.REVIEW)):
        return refused
    idea = _idea(pk)
    back = redirect("vetting_idea", pk=idea.pk)
    with service_call(request, about=idea, back=back) as call:
        idea = services.review_publish(actor=request.user, idea=idea)
        messages.success(
            request, _("Decision published: the idea is now “%(status)s”.") % {"status": idea.get_status_display()}
        )
    return call.response or back


@require_http_methods(["GET", "POST"])
def vetting_decisions(request, slug):
    """Recorded decisions residents do not see yet; staff tick several and publish them together
    (one service call: all of them or none, with what was wrong about each)."""
    if refused := gate(request, _vetting(Action.REVIEW if request.method == "POST" else Action.VETTING_AREA)):
        return refused
    cycle = _cycle(slug)
    pending = list(selectors.decisions_to_publish(cycle=cycle))
    choices = [(str(idea.pk), idea.title) for idea in pending]
    status, problems = 200, []
    if request.method == "POST":
        form = DecisionPublishForm(request.POST, idea_choices=choices)
        status = 400
        if form.is_valid():
            with service_call(request, about=cycle, form=form) as call:
                try:
                    published = services.review_publish_many(
                        actor=request.user, cycle=cycle, ideas=form.cleaned_data["ideas"]
                    )
                except Conflict as error:  # all or none: what was wrong about each idea, on the page
                    problems = [str(m) for msgs in error.extra.values() for m in msgs]
                    form.add_error(None, str(error.message))
                    status = 409
                else:
                    messages.success(
                        request,
                        ngettext(
                            "%(count)s decision published: %(ideas)s.",
                            "%(count)s decisions published: %(ideas)s.",
                            len(published),
                        )
                        % {"count": len(published), "ideas": ", ".join(f"#{i.pk} “{i.title}”" for i in published)},
                    )
                    return redirect("vetting_decisions", slug=cycle.slug)
            if call.response:
                return call.response
    else:
        form = DecisionPublishForm(idea_choices=choices)
    chosen = set(request.POST.getlist("ideas")) if request.method == "POST" else set()
    return render(
        request,
        "proposals/vetting/decisions.html",
        {
            "cycle": cycle,
            "form": form,
            "pending": pending,
            "chosen": chosen,
            "problems": problems,
            "can_review": permissions.can(request.user, Action.REVIEW, cycle),
            "review_closed": _closed(Action.REVIEW, cycle),
        },
        status=status,
    )


@require_POST
def vetting_idea_hide(request, pk):
    if refused := gate(request, _vetting(Action.MODERATE)):
        return refused
    idea = _idea(pk)
    form = HideForm(request.POST)
    if form.is_valid():
        back = redirect("vetting_idea", pk=idea.pk)
        with _change(request, idea, form, back) as call:
            services.content_hide(actor=request.user, idea=idea, reason=form.cleaned_data["reason"])
            messages.success(request, _("The idea is hidden from public pages; its author has been told why."))
            return back
        if call.response:
            return call.response
    return _idea_page(request, idea, hide_form=form)


# --- paper ideas -------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def vetting_paper_idea_create(request, slug):
    if refused := gate(request, _vetting(Action.PAPER_IDEA_ENTER)):
        return refused
    cycle = _cycle(slug)
    context = {"cycle": cycle, "closed": _closed(Action.PAPER_IDEA_ENTER, cycle)}
    if context["closed"]:
        return render(
            request, "proposals/vetting/paper_idea_form.html", context, status=409 if request.method == "POST" else 200
        )
    categories = list(selectors.category_list(cycle=cycle))
    if request.method == "POST":
        form = PaperIdeaForm(request.POST, request.FILES, cycle=cycle, categories=categories)
        if form.is_valid():
            again = redirect("vetting_paper_idea_create", slug=cycle.slug)
            with _change(request, cycle, form, again) as call:
                idea = services.idea_submit_paper(
                    actor=request.user,
                    cycle=cycle,
                    data=form.idea_input(),
                    proposer_name=form.cleaned_data["proposer_name"],
                    proposer_contact=form.cleaned_data["proposer_contact"],
                )
                messages.success(
                    request,
                    _("Paper idea #%(number)s “%(title)s” entered.") % {"number": idea.pk, "title": idea.title},
                )
                if request.POST.get("then") == "another":
                    return again
                return redirect("vetting_idea", pk=idea.pk)
            if call.response:
                return call.response
    else:
        form = PaperIdeaForm(cycle=cycle, categories=categories, initial={"language": request.LANGUAGE_CODE})
    context["form"] = form
    return render(request, "proposals/vetting/paper_idea_form.html", context)


# --- projects ----------------------------------------------------------------------------------------
def _project_list_page(request, cycle, *, publish_form=None, problems=(), status=200):
    projects = list(selectors.project_list(cycle=cycle, drafts=True))
    return render(
        request,
        "proposals/vetting/project_list.html",
        {
            "cycle": cycle,
            "projects": projects,
            "has_drafts": any(p.is_draft for p in projects),
            "can_build": permissions.can(request.user, Action.PROJECT_EDIT, cycle),
            "frozen": _closed(Action.PROJECT_EDIT, cycle),
            # Implementation updates are posted from here too (and from the cycle and tally pages).
            "updatable": {p.pk for p in selectors.funded_projects(cycle)}
            if permissions.can(request.user, Action.POST_UPDATE, cycle)
            else None,
            "publish_form": publish_form,
            "problems": problems,
            "chosen": set(request.POST.getlist("projects")) if request.method == "POST" else set(),
        },
        status=status,
    )


@require_safe
def vetting_project_list(request, slug):
    if refused := gate(request, _vetting()):
        return refused
    return _project_list_page(request, _cycle(slug))


@require_POST
def vetting_project_publish(request, slug):
    """Publish the draft projects ticked on the project list, all or none (audited)."""
    if refused := gate(request, _vetting(Action.PROJECT_EDIT)):
        return refused
    cycle = _cycle(slug)
    form = ProjectPublishForm(request.POST)
    if not form.is_valid():
        return _project_list_page(request, cycle, publish_form=form, status=400)
    with service_call(request, about=cycle, form=form) as call:
        try:
            published = services.project_publish(
                actor=request.user, cycle=cycle, projects=form.cleaned_data["projects"]
            )
        except Conflict as error:  # all or none: what was wrong about each project, on the page
            form.add_error(None, str(error.message))
            problems = [str(m) for msgs in error.extra.values() for m in msgs]
            return _project_list_page(request, cycle, publish_form=form, problems=problems, status=error.status)
        codes = ", ".join(p.code for p in published)
        messages.success(
            request,
            ngettext(
                "Project %(codes)s published: residents can see it.",
                "Projects %(codes)s published: residents can see them.",
                len(published),
            )
            % {"codes": codes},
        )
        return redirect("vetting_project_list", slug=cycle.slug)
    return call.response or _project_list_page(request, cycle, publish_form=form, status=400)


def _idea_choices(cycle) -> tuple[list[tuple[str, str]], dict[str, Idea]]:
    """The cycle's ideas (withdrawn ones left out), labelled with the projects they are already
    in, and the ideas by their choice value."""
    choices, ideas = [], {}
    for idea in selectors.vetting_queue(cycle=cycle):
        if idea.status == Idea.Status.WITHDRAWN:
            continue
        label = f"#{idea.pk} · {idea.district.code} · {idea.title} ({idea.get_status_display()})"
        codes = [p.code for p in idea.projects.all()]
        if codes:
            label += " — " + _("already in %(codes)s") % {"codes": ", ".join(codes)}
        if idea.is_hidden:
            label += " — " + _("hidden")
        choices.append((str(idea.pk), label))
        ideas[str(idea.pk)] = idea
    return choices, ideas


def _picked(data, ideas: dict[str, Idea]) -> list[Idea]:
    """The cycle's ideas chosen in ``data`` (its ``ideas`` values), in the order given."""
    return [ideas[v] for v in dict.fromkeys(data.getlist("ideas")) if v in ideas]


def _project_form_page(request, cycle, *, form=None, text_forms=None, project=None, frozen=None, status=200):
    return render(
        request,
        "proposals/vetting/project_form.html",
        {
            "cycle": cycle,
            "form": form,
            "text_forms": text_forms,
            "project": project,
            "frozen": frozen,
        },
        status=status,
    )


def _valid(form, text_forms) -> bool:
    return form.is_valid() and all(f.is_valid() for f in text_forms.values())


def _texts(text_forms) -> dict:
    return {code: f.text_input() for code, f in text_forms.items()}


def _project_save(request, about, cycle, form, text_forms):
    """A project's save: the service's "texts.<language>[.<field>]" errors go on that language's
    form, the rest on ``form``; a closed phase (voting opened meanwhile) goes back to the list."""
    back = redirect("vetting_project_list", slug=cycle.slug)
    return service_call(
        request, about=about, form=form, prefix_forms={"texts": text_forms}, back=back, back_on=PhaseClosed
    )


@require_http_methods(["GET", "POST"])
def vetting_project_create(request, slug):
    if refused := gate(request, _vetting(Action.PROJECT_EDIT)):
        return refused
    cycle = _cycle(slug)
    if frozen := _closed(Action.PROJECT_EDIT, cycle):
        return _project_form_page(request, cycle, frozen=frozen, status=409 if request.method == "POST" else 200)
    categories = list(selectors.category_list(cycle=cycle))
    idea_choices, ideas = _idea_choices(cycle)
    if request.method == "POST":
        form = ProjectForm(request.POST, request.FILES, cycle=cycle, categories=categories, idea_choices=idea_choices)
        text_forms = project_text_forms(request.POST, cycle=cycle)
        suggestion = selectors.project_suggestion(_picked(request.POST, ideas))
        form.show_cost_guesses(suggestion.guesses if suggestion else [], cycle.currency)

        # Two buttons: "Save as draft" (first, so Enter in a field drafts) and "Create and publish".
        draft = request.POST.get("then") == "draft"

        if _valid(form, text_forms):
            with _project_save(request, cycle, cycle, form, text_forms) as call:
                project = services.project_create_from_ideas(
                    actor=request.user, cycle=cycle, draft=draft, texts=_texts(text_forms), **form.service_kwargs()
                )
                count = project.sources.count()
                if project.is_draft:
                    text = ngettext(
                        "Draft project %(code)s saved from %(count)s idea: only staff see it until it is published.",
                        "Draft project %(code)s saved from %(count)s ideas: only staff see it until it is published.",
                        count,
                    )
                else:
                    text = ngettext(
                        "Project %(code)s created from %(count)s idea.",
                        "Project %(code)s created from %(count)s ideas.",
                        count,
                    )
                messages.success(request, text % {"code": project.code, "count": count})
                return redirect("vetting_project_list", slug=cycle.slug)
            if call.response:
                return call.response
        if _closed(Action.PROJECT_EDIT, cycle):  # voting opened meanwhile
            return redirect("vetting_project_list", slug=cycle.slug)
    else:
        # Preselected from the queue (?ideas=1&ideas=2): the form starts from those ideas.
        picked = _picked(request.GET, ideas)
        initial = {"ideas": [str(i.pk) for i in picked]}
        suggestion = selectors.project_suggestion(picked)
        if suggestion is not None:
            initial["district"] = str(suggestion.district_id or "")
            initial["category"] = str(suggestion.category_id or "")
            initial["address"] = suggestion.address
            cost = suggestion.cost
            initial["cost"] = "" if cost is None else (int(cost) if cost == cost.to_integral_value() else cost)
        form = ProjectForm(initial=initial, cycle=cycle, categories=categories, idea_choices=idea_choices)
        form.show_cost_guesses(suggestion.guesses if suggestion else [], cycle.currency)
        text_forms = project_text_forms(cycle=cycle, initial_texts=suggestion.texts if suggestion else None)
    return _project_form_page(request, cycle, form=form, text_forms=text_forms)


@require_http_methods(["GET", "POST"])
def vetting_project_edit(request, pk):
    if refused := gate(request, _vetting(Action.PROJECT_EDIT)):
        return refused
    project = selectors.project_get(pk=pk)
    if project is None:
        raise Http404
    cycle = project.cycle
    if frozen := _closed(Action.PROJECT_EDIT, cycle):
        return _project_form_page(
            request, cycle, project=project, frozen=frozen, status=409 if request.method == "POST" else 200
        )
    categories = list(selectors.category_list(cycle=cycle))
    if request.method == "POST":
        form = ProjectForm(request.POST, request.FILES, cycle=cycle, categories=categories)
        text_forms = project_text_forms(request.POST, cycle=cycle)

        if _valid(form, text_forms):
            with _project_save(request, project, cycle, form, text_forms) as call:
                saved = services.project_update(
                    actor=request.user, project=project, texts=_texts(text_forms), **form.service_kwargs()
                )
                messages.success(request, _("Project %(code)s saved.") % {"code": saved.code})
                return redirect("vetting_project_list", slug=cycle.slug)
            if call.response:
                return call.response
        if _closed(Action.PROJECT_EDIT, cycle):
            return redirect("vetting_project_list", slug=cycle.slug)
    else:
        form = ProjectForm(initial=ProjectForm.initial_from(project), cycle=cycle, categories=categories)
        text_forms = project_text_forms(cycle=cycle, project=project)
    return _project_form_page(request, cycle, form=form, text_forms=text_forms, project=project)


# --- categories --------------------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def vetting_category_list(request, slug):
    if refused := gate(request, _vetting(Action.CATEGORY_MANAGE if request.method == "POST" else Action.VETTING_AREA)):
        return refused
    cycle = _cycle(slug)
    closed = _closed(Action.CATEGORY_MANAGE, cycle)
    form = None
    if request.method == "POST":
        if closed:
            messages.error(request, closed)
            return redirect("vetting_category_list", slug=cycle.slug)
        form = CategoryForm(request.POST)
        if form.is_valid():
            back = redirect("vetting_category_list", slug=cycle.slug)
            with _change(request, cycle, form, back) as call:
                category = services.category_create(
                    actor=request.user, cycle=cycle, name=form.cleaned_data["name"], translations=form.translations()
                )
                messages.success(request, _("Category “%(name)s” added.") % {"name": category.name})
                return back
            if call.response:
                return call.response
    can_manage = permissions.can(request.user, Action.CATEGORY_MANAGE, cycle)
    if form is None and can_manage:
        form = CategoryForm()
    return render(
        request,
        "proposals/vetting/category_list.html",
        {
            "cycle": cycle,
            "categories": selectors.category_list(cycle=cycle),
            "form": form,
            "closed": closed,
            "can_manage": can_manage,
        },
    )


# --- reports -----------------------------------------------------------------------------------------
def _report_groups(cycle, *, bound: tuple[int, HideForm] | None = None) -> list[dict]:
    """Open reports grouped by what they are about (one hide form per idea or comment)."""
    groups: dict[tuple[str, int], dict] = {}
    for report in selectors.report_list_open(cycle=cycle):
        key = ("idea", report.idea_id) if report.idea_id else ("comment", report.comment_id)
        if key not in groups:
            form = bound[1] if bound and bound[0] == report.pk else HideForm(prefix=f"report-{report.pk}")
            groups[key] = {
                "kind": key[0],
                "idea": report.idea if report.idea_id else report.comment.idea,
                "comment": report.comment,
                "first": report,
                "reports": [],
                "form": form,
            }
        groups[key]["reports"].append(report)
    return list(groups.values())


def _reports_page(request, cycle, *, bound=None):
    return render(
        request,
        "proposals/vetting/report_list.html",
        {
            "cycle": cycle,
            "groups": _report_groups(cycle, bound=bound),
            "can_moderate": permissions.can(request.user, Action.MODERATE, cycle),
        },
    )


@require_safe
def vetting_report_list(request, slug):
    if refused := gate(request, _vetting()):
        return refused
    return _reports_page(request, _cycle(slug))


@require_POST
def vetting_report_hide(request, slug, pk):
    """Hide what report ``pk`` is about (an idea or a comment); its open reports are resolved."""
    if refused := gate(request, _vetting(Action.MODERATE)):
        return refused
    cycle = _cycle(slug)
    report = selectors.report_list_open(cycle=cycle).filter(pk=pk).first()
    if report is None:
        messages.error(request, _("This report has already been dealt with."))
        return redirect("vetting_report_list", slug=cycle.slug)
    form = HideForm(request.POST, prefix=f"report-{report.pk}")
    if form.is_valid():
        target = {"idea": report.idea} if report.idea_id else {"comment": report.comment}
        back = redirect("vetting_report_list", slug=cycle.slug)
        with _change(request, report.idea or report.comment, form, back) as call:
            services.content_hide(actor=request.user, reason=form.cleaned_data["reason"], **target)
            if report.idea_id:
                messages.success(request, _("The idea “%(title)s” is now hidden.") % {"title": report.idea.title})
            else:
                messages.success(request, _("The comment is now hidden."))
            return back
        if call.response:
            return call.response
    return _reports_page(request, cycle, bound=(report.pk, form))
