"""Paper ballot pages: the printable ballot (per district and language), and for site workers the
batches of a cycle, opening a batch and keying its sheets (pass 1 or 2); for officials the
mismatches side by side with a form to resolve each, count corrections and reconciliation.

Thin: parse, call ``voting.services.paper``, render. Every state change is a POST answered by a redirect
(the keying form comes back with the next sheet number filled in); service errors come back as
form errors or messages, and denials go through ``core.views_mixins`` (logged).
"""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from budgets import selectors as cycle_selectors
from budgets.phases import Capability
from core.errors import Conflict, NotAllowed
from core.views_mixins import deny, gate, service_call, user_passes

from .. import methods, permissions, selectors, services
from ..forms.ballot import METHOD_LABELS
from ..forms.paper import PaperBatchForm, PaperCountsForm, ResolveForm, SheetForm
from ..models import PaperBatch, VotingSite
from ..services import paper

_staff_cycle = cycle_selectors.cycle_get_staff_or_404

# The printed page size, as a static stylesheet (no inline styles under the content security policy).
PAPER_SIZES = {"letter": "css/paper-letter.css", "a4": "css/paper-a4.css"}


def _batch(cycle, batch_id) -> PaperBatch:
    batch = paper.paper_batch_get(cycle, batch_id)
    if batch is None:
        raise Http404
    return batch


def _bidi(language: str) -> bool:
    try:
        return bool(translation.get_language_info(language).get("bidi"))
    except KeyError:
        return False


def _detail(batch):
    return redirect("paper_batch_detail", slug=batch.district.cycle.slug, batch_id=batch.pk)


# --- the printable ballot ----------------------------------------------------------------------------
@require_GET
def paper_ballot(request, slug, code):
    """A one-sheet printable ballot for a district, in one of the cycle's languages (``?lang=``),
    on Letter or A4 paper (``?size=a4``). Public once the ballot is frozen (voting has opened);
    before that officials may print a draft to check it."""
    cycle = cycle_selectors.cycle_get_staff_or_404(slug)
    frozen = not cycle.allows(Capability.DESIGN_BALLOT)
    if not frozen:
        if refused := gate(request, permissions.check_official, cycle):
            return refused
    elif cycle_selectors.cycle_get_public(slug) is None:
        raise Http404
    district = selectors.ballot_district(cycle, code)
    if district is None:
        raise Http404
    languages = cycle.content_languages()
    codes = [c for c, _name in languages]
    current = (translation.get_language() or "en").lower()
    lang = request.GET.get("lang", "").lower()
    lang = lang if lang in codes else (current if current in codes else codes[0])
    size = request.GET.get("size", "letter").lower()
    size = size if size in PAPER_SIZES else "letter"
    design, projects = selectors.ballot_for(district)  # no seed: the printed order is by code
    rules = services.ballot_rules(district, design)
    return render(
        request,
        "voting/paper/ballot_print.html",
        {
            "cycle": cycle,
            "district": district,
            "design": design,
            "intro": design.intro_for(lang),
            "method": design.method,
            "budget": district.budget,
            "min_spend": rules.min_spend,
            "rows": [{"project": p, "text": p.text(lang)} for p in projects],
            "ballot_lang": lang,
            "ballot_bidi": _bidi(lang),
            "ballot_languages": languages,
            "size": size,
            "page_css": PAPER_SIZES[size],
            "frozen": frozen,
            "fingerprint": selectors.ballot_fingerprint(cycle),
        },
    )


# --- batches (site workers) ----------------------------------------------------------------------------
@require_GET
def paper_batch_list(request, slug):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    batches = [{"batch": b, "state": paper.paper_batch_state(b)} for b in paper.paper_batches(cycle)]
    return render(
        request,
        "voting/paper/batch_list.html",
        {
            "cycle": cycle,
            "batches": batches,
            "open": cycle.allows(Capability.ENTER_PAPER_BALLOTS),
            "closed_message": paper.MSG_PAPER_CLOSED,
            "districts": selectors.ballot_districts(cycle),
            "ballot_languages": cycle.content_languages(),
            "printable": (
                not cycle.allows(Capability.DESIGN_BALLOT) or user_passes(permissions.check_official, request.user)
            ),
        },
    )


@require_http_methods(["GET", "POST"])
def paper_batch_create(request, slug):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    if not cycle.allows(Capability.ENTER_PAPER_BALLOTS):
        messages.error(request, paper.MSG_PAPER_CLOSED)
        return redirect("paper_batch_list", slug=cycle.slug)
    districts = selectors.ballot_districts(cycle)
    sites = list(VotingSite.objects.filter(cycle=cycle, active=True))
    today = timezone.localdate(timezone=ZoneInfo(cycle.time_zone))
    form = PaperBatchForm(
        request.POST or None, districts=districts, sites=sites, initial={"voted_on": today, "spoiled": 0}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with service_call(request, about=cycle, form=form, back=redirect("paper_batch_list", slug=cycle.slug)) as call:
            batch = paper.paper_batch_create(
                actor=request.user,
                district=next(d for d in districts if str(d.pk) == data["district"]),
                site=next(s for s in sites if str(s.pk) == data["site"]),
                label=data["label"],
                voted_on=data["voted_on"],
                issued=data["issued"],
                spoiled=data["spoiled"],
            )
            done = _("Batch “%(label)s” opened. Key its sheets in two passes.") % {"label": batch.label}
            messages.success(request, done)
            return redirect("paper_batch_detail", slug=cycle.slug, batch_id=batch.pk)
        if call.response:
            return call.response
    return render(
        request,
        "voting/paper/batch_form.html",
        {"cycle": cycle, "form": form, "has_sites": bool(sites)},
        status=400 if form.errors else 200,
    )


def _render_batch(request, cycle, batch, *, counts_form=None, status=200):
    state = paper.paper_batch_state(batch)
    passes = paper.paper_passes_open_to(batch, request.user)
    is_official = user_passes(permissions.check_official, request.user)
    keying = batch.status == PaperBatch.Status.KEYING
    return render(
        request,
        "voting/paper/batch_detail.html",
        {
            "cycle": cycle,
            "batch": batch,
            "state": state,
            "keying": keying,
            "open": cycle.allows(Capability.ENTER_PAPER_BALLOTS),
            "closed_message": paper.MSG_PAPER_CLOSED,
            "passes": [
                {"number": p, "open": p in passes, "next": paper.paper_next_sheet(batch, p), "keyed": state.keyed[p]}
                for p in paper.PASSES
            ],
            "is_official": is_official,
            "counts_form": counts_form or PaperCountsForm(initial={"issued": batch.issued, "spoiled": batch.spoiled}),
            "method_label": METHOD_LABELS.get(batch.district.ballot_design.method, ""),
        },
        status=status,
    )


@require_GET
def paper_batch_detail(request, slug, batch_id):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    return _render_batch(request, cycle, _batch(cycle, batch_id))


# --- keying a sheet ------------------------------------------------------------------------------------
def _mark_rows(projects, *, values=None, prefix="") -> list[dict]:
    """One row per project for the marks inputs, filled with ``values`` (a ``BallotChoices``)."""
    picks = set(values.picks) if values else set()
    ranks = values.ranks if values else {}
    points = values.points if values else {}
    return [
        {
            "project": p,
            "text": p.text(),
            "id": f"{prefix}mark-{p.pk}",
            "checked": p.code in picks,
            "rank": ranks.get(p.code, ""),
            "points": points.get(p.code, ""),
        }
        for p in projects
    ]


@never_cache
@require_http_methods(["GET", "POST"])
def paper_sheet_key(request, slug, batch_id, pass_no):
    """Key one sheet in pass 1 or 2; after each sheet the form comes back with the next number."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    batch = _batch(cycle, batch_id)
    if pass_no not in paper.PASSES:
        raise Http404
    if pass_no not in paper.paper_passes_open_to(batch, request.user):
        return deny(request, NotAllowed(paper.MSG_OTHER_PASS % {"other": 3 - pass_no, "pass": pass_no}), batch)
    if batch.status != PaperBatch.Status.KEYING:
        messages.error(request, paper.MSG_RECONCILED)
        return _detail(batch)
    if not cycle.allows(Capability.ENTER_PAPER_BALLOTS):
        messages.error(request, paper.MSG_PAPER_CLOSED)
        return _detail(batch)
    design, projects = selectors.ballot_for(batch.district)
    next_sheet = paper.paper_next_sheet(batch, pass_no)
    form = SheetForm(request.POST or None, method=design.method, initial={"sheet": next_sheet})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            marks = form.marks()
            if not form.keying_errors:
                # Closed, or reconciled meanwhile: back to the batch, with why.
                with service_call(request, about=batch, form=form, back=_detail(batch)) as call:
                    try:
                        entry = paper.paper_sheet_key(
                            actor=request.user,
                            batch=batch,
                            pass_no=pass_no,
                            sheet=form.cleaned_data["sheet"],
                            marks=marks,
                        )
                    except paper.SheetKeyed as error:  # keyed already in this pass: a mistyped number
                        form.add_error("sheet", error.message)
                    else:
                        done = _("Sheet %(sheet)s saved in pass %(pass)s.") % {"sheet": entry.sheet, "pass": pass_no}
                        if entry.invalid_reason:
                            done += " " + _("It breaks the ballot's rules and is recorded as invalid: %(reason)s") % {
                                "reason": entry.invalid_reason
                            }
                        messages.success(request, done)
                        return redirect("paper_sheet_key", slug=cycle.slug, batch_id=batch.pk, pass_no=pass_no)
                if call.response:
                    return call.response
    return render(
        request,
        "voting/paper/sheet_form.html",
        {
            "cycle": cycle,
            "batch": batch,
            "pass_no": pass_no,
            "form": form,
            "keying_errors": form.keying_errors,
            "method": design.method,
            "design": design,
            "rows": _mark_rows(projects, values=form.typed()),
            "next_sheet": next_sheet,
            "expected": batch.issued - batch.spoiled,
        },
        status=status,
    )


# --- officials: mismatches, counts, reconciliation ---------------------------------------------------
def _shown(reading: paper.Reading | None, code: str, method: str) -> str:
    """What a keying says about one project: ✓, the rank or the points written, or nothing."""
    if reading is None or code not in reading.choices:
        return ""
    if method in (methods.Method.APPROVAL, methods.Method.KNAPSACK):
        return "✓"
    return str(reading.points[reading.choices.index(code)]) if reading.points else ""


def _comparison(mismatch: paper.Mismatch, projects, method) -> dict:
    first = paper.Reading.of(mismatch.first) if mismatch.first else None
    second = paper.Reading.of(mismatch.second) if mismatch.second else None
    resolution = paper.Reading.of(mismatch.resolution) if mismatch.resolution else None
    rows = []
    for p in projects:
        a, b = _shown(first, p.code, method), _shown(second, p.code, method)
        rows.append(
            {
                "project": p,
                "text": p.text(),
                "first": a,
                "second": b,
                "resolution": _shown(resolution, p.code, method),
                "differs": a != b,
            }
        )
    return {
        "mismatch": mismatch,
        "rows": rows,
        "first": first,
        "second": second,
        "resolution": resolution,
        "validity_differs": bool(first and second and first.valid != second.valid),
    }


@never_cache
@require_http_methods(["GET", "POST"])
def paper_mismatches(request, slug, batch_id):
    """Officials: every sheet whose keyings differ (or that one pass lacks), side by side, with a
    form to record what the sheet says."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    batch = _batch(cycle, batch_id)
    design, projects = selectors.ballot_for(batch.district)
    bound_sheet, bound_form, status = None, None, 200
    if request.method == "POST":
        try:
            bound_sheet = int(request.POST.get("sheet", ""))
        except ValueError as exc:
            raise Http404 from exc
        bound_form = ResolveForm(request.POST, prefix=f"s{bound_sheet}", method=design.method)
        status = 400
        if bound_form.is_valid():
            marks = bound_form.marks()
            if not bound_form.keying_errors:
                back = redirect("paper_mismatches", slug=cycle.slug, batch_id=batch.pk)
                with service_call(request, about=batch, form=bound_form, back=back) as call:
                    resolution = paper.paper_sheet_resolve(
                        actor=request.user,
                        batch=batch,
                        sheet=bound_sheet,
                        marks=marks,
                        note=bound_form.cleaned_data["note"],
                    )
                    done = _("Sheet %(sheet)s resolved.") % {"sheet": resolution.sheet}
                    if resolution.invalid_reason:
                        done += " " + _("It is recorded as invalid: %(reason)s") % {"reason": resolution.invalid_reason}
                    messages.success(request, done)
                    return back
                if call.response:
                    return call.response
    reconciled = batch.status != PaperBatch.Status.KEYING
    keying = not reconciled and cycle.allows(Capability.ENTER_PAPER_BALLOTS)
    items = []
    for mismatch in paper.paper_mismatches(batch):
        item = _comparison(mismatch, projects, design.method)
        prefix = f"s{mismatch.sheet}"
        form = bound_form if mismatch.sheet == bound_sheet else ResolveForm(prefix=prefix, method=design.method)
        item.update(
            form=form,
            mark_rows=_mark_rows(projects, values=form.typed(), prefix=f"{prefix}-"),
            keying_errors=form.keying_errors,
        )
        items.append(item)
    return render(
        request,
        "voting/paper/mismatches.html",
        {
            "cycle": cycle,
            "batch": batch,
            "items": items,
            "method": design.method,
            "design": design,
            "keying": keying,
            "closed_message": paper.MSG_RECONCILED if reconciled else paper.MSG_PAPER_CLOSED,
        },
        status=status,
    )


@require_POST
def paper_batch_counts(request, slug, batch_id):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    batch = _batch(cycle, batch_id)
    form = PaperCountsForm(request.POST)
    if form.is_valid():
        with service_call(request, about=batch, form=form, back=_detail(batch)) as call:
            paper.paper_batch_counts_update(actor=request.user, batch=batch, **form.cleaned_data)
            messages.success(request, _("Counts saved."))
            return _detail(batch)
        if call.response:
            return call.response
    return _render_batch(request, cycle, batch, counts_form=form, status=400)


@require_POST
def paper_batch_reconcile(request, slug, batch_id):
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    batch = _batch(cycle, batch_id)
    with service_call(request, about=batch, back=_detail(batch)) as call:
        try:
            batch = paper.paper_batch_reconcile(actor=request.user, batch=batch)
        except Conflict as error:  # not reconcilable: the refusal and each of its reasons, in one message
            messages.error(request, " ".join([str(error.message), *map(str, error.extra.get("reconcile", []))]))
            return _detail(batch)
    if call.response:
        return call.response
    state = paper.paper_batch_state(batch)
    messages.success(
        request,
        _("Batch reconciled. Ballots stored: %(valid)s. Invalid sheets: %(invalid)s. Spoiled: %(spoiled)s.")
        % {"valid": state.valid, "invalid": state.invalid, "spoiled": batch.spoiled},
    )
    return _detail(batch)
