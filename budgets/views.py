"""Public cycle pages and the officials' area. Thin: parse, call a service, render."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.permissions import MANAGE_ROLES
from core.errors import ApplicationError
from core.views_mixins import gate, service_call

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
def _staff(action: Action):
    """The check of an officials' page: the staff area, and ``action``."""

    def check(user) -> None:
        permissions.check_who(user, Action.STAFF_AREA)
        permissions.check_who(user, action)

    return check


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
    if refused := gate(request, _staff(Action.STAFF_AREA)):
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
    if refused := gate(request, _staff(Action.CYCLE_CREATE)):
        return refused
    if request.method == "POST":
        form = CycleForm(request.POST)
        # The same offered rows as the page had: a row left as offered (a code and a name, no budget)
        # is skipped like an empty one, so a city with fewer wards need not delete the others.
        formset = DistrictFormSet(request.POST, prefix="districts", initial=_district_initial_for_new())
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            districts = (formset.filled_forms(), formset)
            with service_call(request, form=form, prefix_forms={"districts": districts}) as call:
                cycle = services.cycle_create(actor=request.user, districts=formset.district_inputs(), **data)
                messages.success(request, _("Cycle “%(name)s” created in draft.") % {"name": cycle.name})
                return redirect("staff_cycle_detail", slug=cycle.slug)
            if call.response:
                return call.response
    else:
        form = CycleForm()
        formset = DistrictFormSet(prefix="districts", initial=_district_initial_for_new())
    return render(request, "budgets/staff/cycle_form.html", {"form": form, "formset": formset, "creating": True})


def staff_cycle_detail(request, slug):
    if refused := gate(request, _staff(Action.STAFF_AREA)):
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
    back = redirect("staff_cycle_detail", slug=cycle.slug)
    if refused := gate(request, _staff(Action.CYCLE_EDIT), cycle):
        return refused
    if refused := gate(request, lambda user: permissions.check_when(Action.CYCLE_EDIT, cycle), cycle, back=back):
        return refused
    data = request.POST if request.method == "POST" else None
    form = CycleEditForm(data, cycle=cycle)
    formset = district_formset_for(cycle, data)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        # A refusal per field (frozen, with why) or bad input goes on the form; a closed phase, back.
        districts = (formset.filled_forms(), formset)
        with service_call(request, about=cycle, form=form, prefix_forms={"districts": districts}, back=back) as call:
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
            messages.success(request, _("Changes saved."))
            return redirect("staff_cycle_detail", slug=cycle.slug)
        if call.response:
            return call.response
    return render(
        request,
        "budgets/staff/cycle_form.html",
        {"form": form, "formset": formset, "cycle": cycle, "creating": False, "under_way": bool(form.frozen)},
    )


@require_http_methods(["GET", "POST"])
def staff_cycle_advance(request, slug):
    """Confirmation step: shows where the cycle goes next and asks for a reason."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, _staff(Action.CYCLE_TRANSITION), cycle):
        return refused
    nxt = transition_next(cycle.phase)
    if request.method == "POST":
        form = TransitionForm(request.POST)
        if form.is_valid():
            before = cycle.phase  # as this page found it; the service reads the row again under its lock
            back = redirect("staff_cycle_detail", slug=cycle.slug)
            # A guard's problems and bad input go on the form; a transition refused as a whole, back.
            with service_call(request, about=cycle, form=form, back=back, back_on=ApplicationError) as call:
                services.cycle_transition(
                    actor=request.user,
                    cycle=cycle,
                    target=form.cleaned_data["target"],
                    reason=form.cleaned_data["reason"],
                )
                cycle.refresh_from_db()
                label = Phase(cycle.phase).label
                if cycle.phase == before:  # a second tab, or the scheduler, got there first
                    messages.info(
                        request,
                        _("The cycle was already in the “%(phase)s” phase; nothing changed.") % {"phase": label},
                    )
                else:
                    messages.success(request, _("The cycle is now in the “%(phase)s” phase.") % {"phase": label})
                return back
            if call.response:
                return call.response
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
    if refused := gate(request, _staff(Action.VOTING_EXTEND), cycle):
        return refused
    if request.method == "POST":
        form = ExtendVotingForm(request.POST, cycle=cycle)
        if form.is_valid():
            close_at = form.cleaned_data["voting_close_at"]
            back = redirect("staff_cycle_detail", slug=cycle.slug)
            with service_call(request, about=cycle, form=form, back=back) as call:
                services.voting_extend(
                    actor=request.user, cycle=cycle, close_at=close_at, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("Voting has been extended."))
                return back
            if call.response:
                return call.response
    else:
        form = ExtendVotingForm(cycle=cycle)
    return render(request, "budgets/staff/voting_extend.html", {"cycle": cycle, "form": form})


def _pause_or_resume(request, slug, action: Action, service, done_message):
    cycle = _staff_cycle(slug)
    if refused := gate(request, _staff(action), cycle):
        return refused
    back = redirect("staff_cycle_detail", slug=cycle.slug)
    form = ReasonForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Please give a reason; it is kept in the audit log."))
        return back
    with service_call(request, about=cycle, back=back) as call:
        service(actor=request.user, cycle=cycle, reason=form.cleaned_data["reason"])
        messages.success(request, done_message)
    return call.response or back


@require_POST
def staff_voting_pause(request, slug):
    return _pause_or_resume(request, slug, Action.VOTING_PAUSE, services.voting_pause, _("Voting is paused."))


@require_POST
def staff_voting_resume(request, slug):
    return _pause_or_resume(request, slug, Action.VOTING_RESUME, services.voting_resume, _("Voting has resumed."))
