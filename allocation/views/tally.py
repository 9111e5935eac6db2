"""The officials' tally page: what blocks the tally, running it (a Celery task; the page refreshes
itself while it runs, no JavaScript needed), every rule's outcome side by side per district (a dry
run, never public), certification, and after it the published result, where a funded project that
proves impossible can be withdrawn. Officials with MFA act; auditors (with MFA) look, read-only.

Thin: ``allocation.selectors`` reads, the services of ``allocation.services`` and ``allocation.services.lottery``
decide. A refused action comes back on the page, in an alert, with the service's words.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from budgets.models import TieBreak
from budgets.phases import Capability
from budgets.selectors import cycle_get_staff_or_404
from core.errors import ApplicationError, Conflict
from core.views_mixins import gate, service_call, user_passes
from proposals.models import Project
from voting.models import RULE_EXPLANATIONS

from .. import selectors, services
from ..forms import CertifyForm, LotteryDrawForm, TallyRunForm, TieBreakForm, WithdrawForm
from ..permissions import check_tally_official, check_tally_viewer
from ..selectors import preview
from ..selectors.results import RULE_LABELS
from ..services import lottery

REFRESH_SECONDS = 5

# Officials (with MFA) and auditors (with MFA, read-only) see the tally page; officials act.
_cycle = cycle_get_staff_or_404


def _acts(user) -> bool:
    return user_passes(check_tally_official, user)


def _withdraw_form(project_pk, data=None):
    return WithdrawForm(data, auto_id=f"id_withdraw{project_pk}_%s")


def _error_texts(error: ApplicationError) -> list[str]:
    texts = [str(m) for msgs in error.extra.values() for m in msgs]
    return texts or [str(error.message)]


def _render(request, cycle, *, bound: dict | None = None, errors: list[str] | None = None, status: int = 200):
    """The page; ``bound`` replaces a default form by the one with errors ("run", "certify",
    "tie_break", "draw", or ("withdraw", project pk))."""
    bound = bound or {}
    page = selectors.tally_page(cycle)
    acts = _acts(request.user)
    for item in page.published:
        for funded in item.funded:
            key = ("withdraw", funded.project.pk if funded.project else None)
            funded.form = bound.get(key) or _withdraw_form(funded.project.pk if funded.project else 0)
    form_errors = [f for f in bound.values() if f.errors]
    return render(
        request,
        "allocation/staff/tally.html",
        {
            "cycle": cycle,
            "page": page,
            "acts": acts,
            "errors": errors or [],
            "form_errors": form_errors,
            "refresh": REFRESH_SECONDS if page.busy else None,
            "run_form": bound.get("run") or TallyRunForm(),
            "certify_form": bound.get("certify") or CertifyForm(),
            "tie_break_form": bound.get("tie_break") or TieBreakForm(initial={"tie_break": cycle.tie_break}),
            "draw_form": bound.get("draw") or LotteryDrawForm(),
            "lottery": cycle.tie_break == TieBreak.LOTTERY,
            "can_set_tie_break": acts and cycle.allows(Capability.DESIGN_BALLOT),
            "can_draw": acts and page.lottery_pending and "draw" in _open_steps(cycle),
            "can_run": acts and not page.tally_blockers,
            "can_certify": acts and "certify" in _open_steps(cycle),
            "can_withdraw": acts and cycle.allows(Capability.VIEW_RESULTS) and cycle.allows(Capability.RUN_TALLY),
            "can_post_updates": acts and cycle.allows(Capability.POST_UPDATES),
        },
        status=status,
    )


def _open_steps(cycle) -> set[str]:
    """The lottery draw and certification belong to counting: the tally may run, results are not out."""
    if cycle.allows(Capability.CERTIFY_RESULTS):
        return {"draw", "certify"}
    return set()


def _back(cycle, anchor: str = ""):
    return redirect(reverse("staff_tally", args=[cycle.slug]) + (f"#{anchor}" if anchor else ""))


@never_cache
@require_GET
def staff_tally(request, slug):
    cycle = _cycle(slug)
    if refused := gate(request, check_tally_viewer, cycle):
        return refused
    return _render(request, cycle)


def _act(request, slug, *, key, form, call, done, anchor):
    """The common shape of the page's POSTs: gate, parse, call the service, say what happened."""
    cycle = _cycle(slug)
    if refused := gate(request, check_tally_official, cycle):
        return refused
    form = form(request.POST)
    if not form.is_valid():
        return _render(request, cycle, bound={key: form}, status=400)
    with service_call(request, about=cycle, form=form) as outcome:
        try:
            call(cycle, form.cleaned_data)
        except Conflict as error:  # refused as a whole (a blocker, a closed step): said on the page
            return _render(request, cycle, bound={key: form}, errors=_error_texts(error), status=error.status)
        messages.success(request, done)
        return _back(cycle, anchor)
    return outcome.response or _render(request, cycle, bound={key: form}, status=400)


@require_POST
def staff_tally_run(request, slug):
    def call(cycle, data):
        services.tally_request(actor=request.user, cycle=cycle, compare=data["rules"] == "compare")

    return _act(
        request,
        slug,
        key="run",
        form=TallyRunForm,
        call=call,
        anchor="progress",
        done=_("The tally has been asked for. Each district's progress is shown below."),
    )


@require_POST
def staff_tally_certify(request, slug):
    def call(cycle, data):
        services.cycle_certify(actor=request.user, cycle=cycle, reason=data["reason"].strip())

    return _act(
        request,
        slug,
        key="certify",
        form=CertifyForm,
        call=call,
        anchor="published",
        done=_("The results are certified and published."),
    )


@require_POST
def staff_tally_tie_break(request, slug):
    def call(cycle, data):
        lottery.cycle_tie_break_set(actor=request.user, cycle=cycle, tie_break=data["tie_break"], reason=data["reason"])

    return _act(
        request, slug, key="tie_break", form=TieBreakForm, call=call, anchor="ties", done=_("The tie-break is saved.")
    )


@require_POST
def staff_tally_draw(request, slug):
    def call(cycle, data):
        lottery.cycle_lottery_draw(actor=request.user, cycle=cycle, seed=data["seed"])

    return _act(
        request,
        slug,
        key="draw",
        form=LotteryDrawForm,
        call=call,
        anchor="ties",
        done=_("The draw is recorded. Ties will follow the order it gives."),
    )


@require_POST
def staff_tally_withdraw(request, slug, pk):
    cycle = _cycle(slug)
    if refused := gate(request, check_tally_official, cycle):
        return refused
    project = Project.objects.published().filter(pk=pk, cycle=cycle).first()
    if project is None:
        raise Http404
    form = _withdraw_form(pk, request.POST)
    key = ("withdraw", pk)
    if not form.is_valid():
        return _render(request, cycle, bound={key: form}, status=400)
    with service_call(request, about=project, form=form) as call:
        try:
            services.project_withdraw(actor=request.user, project=project, reason=form.cleaned_data["reason"])
        except Conflict as error:  # not funded, or not after certification (a closed phase): said on the page
            return _render(request, cycle, bound={key: form}, errors=_error_texts(error), status=409)
        messages.success(
            request,
            _("Project %(code)s is withdrawn; the district's revised result is published.") % {"code": project.code},
        )
        return _back(cycle, "published")
    return call.response or _render(request, cycle, bound={key: form}, status=400)


@never_cache
@require_GET
def staff_ballot_preview(request, slug):
    """Every rule on a synthetic sample of ballots per district, while the ballots are designed: how
    the rules treat this district's costs, before any vote (``allocation.selectors.preview``). Never real votes."""
    cycle = _cycle(slug)
    if refused := gate(request, check_tally_viewer, cycle):
        return refused
    return render(
        request,
        "allocation/staff/ballot_preview.html",
        {
            "cycle": cycle,
            "districts": preview.design_preview(cycle),
            "designing": cycle.allows(Capability.DESIGN_BALLOT),
            "voters": preview.SAMPLE_VOTERS,
            "explanations": [(str(RULE_LABELS[rule]), text) for rule, text in RULE_EXPLANATIONS.items()],
        },
    )
