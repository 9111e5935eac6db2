"""Officials settle provisional ballots and possible duplicate voters; auditors look, read-only.

Thin: the selectors and services of ``voting.services.review`` do the work. Each decision is its own POST
(no JavaScript needed); a refused decision comes back as a message, a missing reason as the form's
error on the list page again. Officials see voters' personal details (name, date of birth,
address, check-in); auditors see the same list without them. Nobody sees a ballot's choices here.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from budgets import selectors as cycle_selectors
from budgets.phases import Capability, Phase, phase_reached
from core.views_mixins import gate, service_call, user_passes

from .. import permissions
from ..forms.review import DuplicateReviewForm, ProvisionalAcceptForm, ProvisionalRejectForm
from ..models import ProvisionalBallot
from ..services import review

_staff_cycle = cycle_selectors.cycle_get_staff_or_404


def _acts(user) -> bool:
    """Officials with MFA decide; auditors (and officials' pages seen by them) only look."""
    return user_passes(permissions.check_official, user)


def _stage(cycle, *, open_now: bool, opens_at: Phase) -> str:
    """ "open", "before" (decisions come later) or "after" (they can no longer change)."""
    if open_now:
        return "open"
    return "after" if phase_reached(cycle.phase, opens_at) else "before"


# --- provisional ballots ------------------------------------------------------------------------------
def _accept_form(pk, data=None):
    return ProvisionalAcceptForm(data, auto_id=f"id_accept{pk}_%s")


def _reject_form(pk, data=None):
    return ProvisionalRejectForm(data, auto_id=f"id_reject{pk}_%s")


def _render_provisional(request, cycle, *, bound=None, status=200):
    """The list; ``bound`` = (provisional pk, "accept" | "reject", form with errors) to show again."""
    acts = _acts(request.user)
    stage = _stage(cycle, open_now=cycle.allows(Capability.REVIEW_PROVISIONAL), opens_at=Phase.COUNTING)
    rows = []
    for row in review.provisional_list(cycle):
        pk = row.provisional.pk
        forms = {"accept": _accept_form(pk), "reject": _reject_form(pk)}
        if bound and bound[0] == pk:
            forms[bound[1]] = bound[2]
        rows.append({"row": row, "accept_form": forms["accept"], "reject_form": forms["reject"]})
    return render(
        request,
        "voting/review/provisional.html",
        {
            "cycle": cycle,
            "rows": rows,
            "pending": sum(1 for r in rows if r["row"].pending),
            "acts": acts,
            "personal": acts,
            "stage": stage,
            "can_decide": acts and stage == "open",
            "error_form": bound[2] if bound else None,
        },
        status=status,
    )


@require_GET
def staff_provisional(request, slug):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_turnout, cycle):
        return refused
    return _render_provisional(request, cycle)


def _provisional_decide(request, slug, pk, kind):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    provisional = ProvisionalBallot.objects.filter(pk=pk, cycle=cycle).first()
    if provisional is None:
        raise Http404
    form = (_accept_form if kind == "accept" else _reject_form)(pk, request.POST)
    back = reverse("staff_provisional", args=[cycle.slug]) + f"#provisional-{pk}"
    if form.is_valid():
        # Decided meanwhile, or not counting (any more): back to the list, with why.
        with service_call(request, about=cycle, form=form, back=back) as call:
            if kind == "accept":
                review.provisional_accept(actor=request.user, provisional=provisional, note=form.cleaned_data["note"])
                messages.success(request, _("Provisional ballot accepted: it is counted."))
            else:
                review.provisional_reject(
                    actor=request.user, provisional=provisional, reason=form.cleaned_data["reason"]
                )
                messages.success(request, _("Provisional ballot rejected: it is voided and not counted."))
            return redirect(back)
        if call.response:
            return call.response
    return _render_provisional(request, cycle, bound=(pk, kind, form), status=400)


@require_POST
def staff_provisional_accept(request, slug, pk):
    return _provisional_decide(request, slug, pk, "accept")


@require_POST
def staff_provisional_reject(request, slug, pk):
    return _provisional_decide(request, slug, pk, "reject")


# --- possible duplicates ------------------------------------------------------------------------------
def _duplicate_form(group, data=None):
    return DuplicateReviewForm(data, initial={"group": group.match_key}, auto_id=f"id_{group.anchor}_%s")


def _render_duplicates(request, cycle, *, bound=None, status=200):
    """The groups; ``bound`` = (match key, form with errors) to show again."""
    acts = _acts(request.user)
    stage = _stage(cycle, open_now=review.duplicate_review_open(cycle), opens_at=Phase.VOTING)
    groups = []
    for group in review.duplicate_groups(cycle):
        form = bound[1] if bound and bound[0] == group.match_key else _duplicate_form(group)
        groups.append({"group": group, "form": form})
    return render(
        request,
        "voting/review/duplicates.html",
        {
            "cycle": cycle,
            "groups": groups,
            "undecided": sum(1 for g in groups if g["group"].review is None),
            "acts": acts,
            "personal": acts,
            "stage": stage,
            "can_decide": acts and stage == "open",
            "error_form": bound[1] if bound else None,
        },
        status=status,
    )


@require_GET
def staff_duplicates(request, slug):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_turnout, cycle):
        return refused
    return _render_duplicates(request, cycle)


@require_POST
def staff_duplicate_decide(request, slug):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    match_key = request.POST.get("group", "")
    group = next((g for g in review.duplicate_groups(cycle) if g.match_key == match_key), None)
    back = reverse("staff_duplicates", args=[cycle.slug])
    if group is None:
        messages.error(request, review.MSG_DUPLICATE_UNKNOWN)
        return redirect(back)
    form = _duplicate_form(group, request.POST)
    if form.is_valid():
        # Decided meanwhile, gone, or no longer open: back to the group, with why.
        with service_call(request, about=cycle, form=form, back=f"{back}#{group.anchor}") as call:
            review.duplicate_review_record(
                actor=request.user,
                cycle=cycle,
                match_key=match_key,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
            messages.success(request, _("Decision recorded for this group."))
            return redirect(f"{back}#{group.anchor}")
        if call.response:
            return call.response
    return _render_duplicates(request, cycle, bound=(match_key, form), status=400)
