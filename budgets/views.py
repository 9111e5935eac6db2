"""Public cycle pages and the officials' area. Thin: parse, call a service, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import MANAGE_ROLES
from core.errors import ApplicationError, NotAllowed, PhaseClosed
from core.views_mixins import apply_errors, deny, message_error

from . import permissions, selectors, services
from .forms import (
    CycleEditForm,
    CycleForm,
    DistrictFormSet,
    ExtendVotingForm,
    ReasonForm,
    TransitionForm,
    district_formset_for,
)
from .models import District
from .permissions import RULES, Action
from .phases import RESIDENT_GUIDANCE, Phase, transition_next


# --- public ------------------------------------------------------------------------------------------
def home(request):
    cycles = list(selectors.cycle_list_public())
    timelines = selectors.cycle_timelines(cycles)
    for cycle in cycles:
        cycle.guidance = RESIDENT_GUIDANCE[Phase(cycle.phase)]
        cycle.timeline = timelines[cycle.pk]
    return render(request, "budgets/home.html", {"cycles": cycles})


def cycle_detail(request, slug):
    cycle = selectors.cycle_get_public(slug)
    if cycle is None:
        raise Http404
    return render(
        request,
        "budgets/cycle_detail.html",
        {
            "cycle": cycle,
            "guidance": RESIDENT_GUIDANCE[Phase(cycle.phase)],
            "timeline": selectors.cycle_timeline(cycle),
        },
    )


# --- officials' area -----------------------------------------------------------------------------------
def _staff_gate(request, action: Action, cycle=None):
    """None if allowed; else the response for the denial (login, MFA set-up, or 403)."""
    try:
        permissions.check_who(request.user, Action.STAFF_AREA)
        permissions.check_who(request.user, action)
    except NotAllowed as error:
        return deny(request, error, object_type="cycle" if cycle else "page", object_id=str(cycle.pk) if cycle else "")
    return None


def _staff_cycle(slug):
    cycle = selectors.cycle_get_staff(slug)
    if cycle is None:
        raise Http404
    return cycle


def staff_home(request):
    """/staff/: the staff area's front door. An administrator who only appoints staff lands on the staff
    roles page; everyone else on the cycle list, which asks for a login, the second factor or refuses as
    it always does."""
    user = request.user
    if user.has_perm(MANAGE_ROLES) and not user.has_perm(RULES[Action.STAFF_AREA].permission):
        return redirect("staff_roles")
    return redirect("staff_cycle_list")


def staff_cycle_list(request):
    if refused := _staff_gate(request, Action.STAFF_AREA):
        return refused
    cycles = list(selectors.cycle_list_staff())
    return render(
        request,
        "budgets/staff/cycle_list.html",
        {
            "cycles": cycles,
            "can_create": permissions.can(request.user, Action.CYCLE_CREATE),
            "schedule_warnings": _schedule_warnings(request.user, cycles),
        },
    )


def _schedule_warnings(user, cycles):
    """Officials (who can move a cycle by hand) are told when the schedule is overdue."""
    if not permissions.can(user, Action.CYCLE_TRANSITION):
        return []
    return selectors.cycle_schedule_warnings(cycles)


def _district_initial_for_new():
    rows = [{"code": c, "name": _("Ward %(code)s") % {"code": c}, "kind": District.Kind.WARD} for c in "ABCDEF"]
    return rows


@require_http_methods(["GET", "POST"])
def staff_cycle_create(request):
    if refused := _staff_gate(request, Action.CYCLE_CREATE):
        return refused
    if request.method == "POST":
        form = CycleForm(request.POST)
        # The same offered rows as the page had: a row left as offered (a code and a name, no budget)
        # is skipped like an empty one, so a city with fewer wards need not delete the others.
        formset = DistrictFormSet(request.POST, prefix="districts", initial=_district_initial_for_new())
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                cycle = services.cycle_create(actor=request.user, districts=formset.district_inputs(), **data)
            except ApplicationError as error:
                apply_errors(error, form, prefix_forms={"districts": (formset.filled_forms(), formset)})
            else:
                messages.success(request, _("Cycle “%(name)s” created in draft.") % {"name": cycle.name})
                return redirect("staff_cycle_detail", slug=cycle.slug)
    else:
        form = CycleForm()
        formset = DistrictFormSet(prefix="districts", initial=_district_initial_for_new())
    return render(request, "budgets/staff/cycle_form.html", {"form": form, "formset": formset, "creating": True})


def staff_cycle_detail(request, slug):
    if refused := _staff_gate(request, Action.STAFF_AREA):
        return refused
    cycle = _staff_cycle(slug)
    nxt = transition_next(cycle.phase)
    user = request.user
    return render(
        request,
        "budgets/staff/cycle_detail.html",
        {
            "cycle": cycle,
            "timeline": selectors.cycle_timeline(cycle),
            "next_transition": nxt if nxt and nxt.generic else None,
            "own_service_transition": nxt if nxt and not nxt.generic else None,
            "can_edit": permissions.can(user, Action.CYCLE_EDIT, cycle),
            "can_transition": permissions.can(user, Action.CYCLE_TRANSITION, cycle),
            "can_extend": permissions.can(user, Action.VOTING_EXTEND, cycle),
            "can_pause": permissions.can(user, Action.VOTING_PAUSE, cycle),
            "can_resume": permissions.can(user, Action.VOTING_RESUME, cycle),
            "reason_form": ReasonForm(),
            "schedule_warnings": _schedule_warnings(user, [cycle]),
        },
    )


@require_http_methods(["GET", "POST"])
def staff_cycle_edit(request, slug):
    """In draft everything; once the cycle is under way, what its phase still allows (the rest is
    shown disabled with the reason). Archived: back to the cycle page with the reason."""
    cycle = _staff_cycle(slug)
    if refused := _staff_gate(request, Action.CYCLE_EDIT, cycle):
        return refused
    try:
        permissions.check_when(Action.CYCLE_EDIT, cycle)
    except PhaseClosed as error:
        messages.error(request, error.message)
        return redirect("staff_cycle_detail", slug=cycle.slug)
    data = request.POST if request.method == "POST" else None
    form = CycleEditForm(data, cycle=cycle)
    formset = district_formset_for(cycle, data)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            cycle = services.cycle_update(
                actor=request.user,
                cycle=cycle,
                districts=formset.district_inputs(),
                reason=form.cleaned_data.get("reason", ""),
                expected_version=form.cleaned_data.get("version") or None,
                **form.changes(),
            )
        except services.CycleChanged as error:  # saved from a stale page: show what is there now
            cycle = _staff_cycle(slug)
            context = {
                "form": CycleEditForm(cycle=cycle),
                "formset": district_formset_for(cycle, None),
                "cycle": cycle,
                "creating": False,
                "stale": error.message,
            }
            context["under_way"] = bool(context["form"].frozen)
            return render(request, "budgets/staff/cycle_form.html", context, status=error.status)
        except ApplicationError as error:  # a refusal per field (frozen, with why) or bad input
            if isinstance(error, PhaseClosed) and not error.extra:
                messages.error(request, error.message)
                return redirect("staff_cycle_detail", slug=cycle.slug)
            apply_errors(error, form, prefix_forms={"districts": (formset.filled_forms(), formset)})
        else:
            messages.success(request, _("Changes saved."))
            return redirect("staff_cycle_detail", slug=cycle.slug)
    return render(
        request,
        "budgets/staff/cycle_form.html",
        {"form": form, "formset": formset, "cycle": cycle, "creating": False, "under_way": bool(form.frozen)},
    )


@require_http_methods(["GET", "POST"])
def staff_cycle_advance(request, slug):
    """Confirmation step: shows where the cycle goes next and asks for a reason."""
    cycle = _staff_cycle(slug)
    if refused := _staff_gate(request, Action.CYCLE_TRANSITION, cycle):
        return refused
    nxt = transition_next(cycle.phase)
    if request.method == "POST":
        form = TransitionForm(request.POST)
        if form.is_valid():
            before = cycle.phase  # as this page found it; the service reads the row again under its lock
            try:
                services.cycle_transition(
                    actor=request.user,
                    cycle=cycle,
                    target=form.cleaned_data["target"],
                    reason=form.cleaned_data["reason"],
                )
            except ApplicationError as error:
                if error.extra:
                    apply_errors(error, form)
                else:
                    message_error(request, error)
                    return redirect("staff_cycle_detail", slug=cycle.slug)
            else:
                cycle.refresh_from_db()
                label = Phase(cycle.phase).label
                if cycle.phase == before:  # a second tab, or the scheduler, got there first
                    messages.info(
                        request,
                        _("The cycle was already in the “%(phase)s” phase; nothing changed.") % {"phase": label},
                    )
                else:
                    messages.success(request, _("The cycle is now in the “%(phase)s” phase.") % {"phase": label})
                return redirect("staff_cycle_detail", slug=cycle.slug)
    else:
        if nxt is None or not nxt.generic:
            messages.error(request, _("There is no next phase to move to from here by hand."))
            return redirect("staff_cycle_detail", slug=cycle.slug)
        form = TransitionForm(initial={"target": nxt.target.value})
    target = form.data.get("target") or form.initial.get("target")
    return render(
        request,
        "budgets/staff/cycle_advance.html",
        {"cycle": cycle, "form": form, "target_label": Phase(target).label if target in Phase.values else target},
    )


@require_http_methods(["GET", "POST"])
def staff_voting_extend(request, slug):
    cycle = _staff_cycle(slug)
    if refused := _staff_gate(request, Action.VOTING_EXTEND, cycle):
        return refused
    if request.method == "POST":
        form = ExtendVotingForm(request.POST, cycle=cycle)
        if form.is_valid():
            close_at = form.cleaned_data["voting_close_at"]
            try:
                services.voting_extend(
                    actor=request.user, cycle=cycle, close_at=close_at, reason=form.cleaned_data["reason"]
                )
            except PhaseClosed as error:
                messages.error(request, error.message)
                return redirect("staff_cycle_detail", slug=cycle.slug)
            except ApplicationError as error:
                apply_errors(error, form)
            else:
                messages.success(request, _("Voting has been extended."))
                return redirect("staff_cycle_detail", slug=cycle.slug)
    else:
        form = ExtendVotingForm(cycle=cycle)
    return render(request, "budgets/staff/voting_extend.html", {"cycle": cycle, "form": form})


def _pause_or_resume(request, slug, action: Action, service, done_message):
    cycle = _staff_cycle(slug)
    if refused := _staff_gate(request, action, cycle):
        return refused
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give a reason; it is kept in the audit log."))
        return redirect("staff_cycle_detail", slug=cycle.slug)
    try:
        service(actor=request.user, cycle=cycle, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        message_error(request, error)
    else:
        messages.success(request, done_message)
    return redirect("staff_cycle_detail", slug=cycle.slug)


@require_POST
def staff_voting_pause(request, slug):
    return _pause_or_resume(request, slug, Action.VOTING_PAUSE, services.voting_pause, _("Voting is paused."))


@require_POST
def staff_voting_resume(request, slug):
    return _pause_or_resume(request, slug, Action.VOTING_RESUME, services.voting_resume, _("Voting has resumed."))
