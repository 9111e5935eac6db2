"""Audit pages: the auditor area (bundles, receipt look-ups), officials' voiding of a ballot, and the
public record of a certified cycle.

Thin: check, call a service, render. Gates and service errors go through ``core.views_mixins`` (a
denial is logged). Pages work without JavaScript: a bundle being built is shown with its progress;
the auditor area reloads itself (a meta refresh) until the download link is there, the public
record offers "check again" (and, with JavaScript, follows the build through a small status
endpoint, without reloading).
"""

from django.contrib import messages
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from budgets import selectors as cycle_selectors
from core.errors import ApplicationError, NotFound
from core.views_mixins import gate, service_call, why_not

from . import permissions, selectors, services
from .forms import BallotVoidForm, ReceiptLookupForm
from .models import Bundle

REFRESH_SECONDS = 5  # the auditor area's bundle list reloads itself while a bundle is built


def bundle_status_label(bundle: Bundle) -> str:
    """ "Being built (ballots.csv)": what the status block says while a bundle is built."""
    return f"{bundle.get_status_display()} ({bundle.stage})" if bundle.stage else str(bundle.get_status_display())


_staff_cycle = cycle_selectors.cycle_get_staff_or_404


def bundle_file_response(path, bundle: Bundle) -> FileResponse:
    """A bundle's zip as a download, with its SHA-256 in a header (the pages and the API)."""
    response = FileResponse(open(path, "rb"), as_attachment=True, filename=bundle.filename)  # noqa: SIM115
    response["Content-Type"] = "application/zip"
    response["X-Content-SHA256"] = bundle.sha256
    return response


# --- the auditor area --------------------------------------------------------------------------------
@require_GET
def audit_index(request):
    """The cycles an auditor can take a bundle of."""
    if refused := gate(request, permissions.check_auditor):
        return refused
    return render(request, "audit/index.html", {"cycles": cycle_selectors.cycle_list_staff()})


@never_cache
@require_http_methods(["GET", "POST"])
def audit_cycle(request, slug):
    """One cycle: ask for its auditor bundle, follow the build, download it; the public record."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_auditor, cycle):
        return refused
    if request.method == "POST":
        back = redirect("audit_cycle", slug=cycle.slug)
        with service_call(request, about=cycle, back=back) as call:
            services.bundle_request(actor=request.user, cycle=cycle)
            messages.success(request, _("The bundle is being built. This page shows its progress."))
        return call.response or back
    bundles = list(selectors.bundles_for(cycle, variant=Bundle.Variant.AUDITOR)[:20])
    return render(
        request,
        "audit/cycle.html",
        {
            "cycle": cycle,
            "bundles": bundles,
            "refresh": REFRESH_SECONDS if selectors.building(bundles) else None,
            "public_record": permissions.public_record_exists(cycle),
            "exportable": permissions.ballots_exportable(cycle),
            "not_exportable_message": permissions.MSG_NOT_EXPORTABLE,
            "can_void": permissions.can_void(request.user),
            "receipt_form": ReceiptLookupForm(),
        },
    )


@require_GET
def audit_bundle_download(request, pk):
    """The auditor bundle's zip (auditors and officials with MFA); every download is audited."""
    bundle = selectors.bundle_get(pk)
    if bundle is None or bundle.variant != Bundle.Variant.AUDITOR:
        raise Http404
    with service_call(request, about=bundle, back=redirect("audit_cycle", slug=bundle.cycle.slug)) as call:
        try:
            path = services.bundle_download(actor=request.user, bundle=bundle)
        except NotFound as error:  # the file is gone: the bundle has no download
            raise Http404 from error
        return bundle_file_response(path, bundle)
    return call.response


@never_cache
@require_http_methods(["GET", "POST"])
def audit_receipt(request, slug):
    """Settle a voter's complaint: which ballots.csv row a receipt code belongs to (audited)."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_auditor, cycle):
        return refused
    form = ReceiptLookupForm(request.POST or None)
    result, looked_up = None, False
    if request.method == "POST" and form.is_valid():
        with service_call(request, about=cycle, form=form) as call:
            result = services.receipt_lookup(actor=request.user, cycle=cycle, code=form.cleaned_data["code"])
            looked_up = True
            form = ReceiptLookupForm()  # the code is not echoed back into the page
        if call.response:
            return call.response
    return render(
        request, "audit/receipt.html", {"cycle": cycle, "form": form, "result": result, "looked_up": looked_up}
    )


# --- voiding a ballot (officials) ------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def staff_ballot_void(request, slug):
    """Officials void a ballot with a reason during counting; the cycle's voided ballots below."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_voider, cycle):
        return refused
    districts = list(cycle.districts.filter(ballot_design__isnull=False).order_by("code"))
    form = BallotVoidForm(request.POST or None, districts=districts)
    is_open = why_not(permissions.check_void_open, cycle) is None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        ballot = services.ballot_find(cycle=cycle, district_code=data["district"], ballot_id=data["ballot_id"])
        if ballot is None:
            form.add_error("ballot_id", services.MSG_BALLOT_UNKNOWN)
        else:
            with service_call(request, about=cycle, form=form) as call:
                services.ballot_void(actor=request.user, ballot_id=ballot.pk, reason=data["reason"])
                # No ballot id in the message: flash messages travel in cookies and sessions.
                messages.success(request, _("The ballot is void. Run the tally again before certifying the results."))
                return redirect("staff_ballot_void", slug=cycle.slug)
            if call.response:
                return call.response
    return render(
        request,
        "audit/void.html",
        {
            "cycle": cycle,
            "form": form,
            "is_open": is_open,
            "closed_message": permissions.MSG_VOID_CLOSED,
            "voids": selectors.voids_for(cycle),
        },
    )


# --- the public record ---------------------------------------------------------------------------------
def _public_cycle(slug):
    cycle = cycle_selectors.cycle_get_public(slug)
    if cycle is None or not permissions.public_record_exists(cycle):
        raise Http404
    return cycle


def _public_bundle(cycle, pk) -> Bundle:
    bundle = Bundle.objects.filter(pk=pk, cycle=cycle, variant=Bundle.Variant.PUBLIC).select_related("cycle").first()
    if bundle is None:
        raise Http404
    return bundle


@never_cache
@require_GET
def public_record(request, slug):
    """The public record of a certified cycle: its status while it is built, then the download.
    The page never reloads itself: with JavaScript (static/js/bundle-status.js) it asks
    ``public_record_status`` how the build goes and shows the link when it is ready; without, it
    offers a "check again" link."""
    cycle = _public_cycle(slug)
    bundle = services.public_record_get(cycle=cycle)
    return render(request, "audit/public_record.html", {"cycle": cycle, "bundle": bundle})


@never_cache
@require_GET
def public_record_status(request, slug, pk):
    """How the build of a public record goes, for the page's script: its status, its progress, a
    sentence saying so and, once it is ready or has failed, the status block to show."""
    cycle = _public_cycle(slug)
    bundle = _public_bundle(cycle, pk)
    building = bundle.status in (Bundle.Status.QUEUED, Bundle.Status.BUILDING)
    html = ""
    if not building:
        html = render_to_string(
            "audit/_bundle_status_body.html",
            {"bundle": bundle, "download_url": reverse("public_record_download", args=[cycle.slug, bundle.pk])},
            request=request,
        )
    return JsonResponse(
        {"status": bundle.status, "progress": bundle.progress, "message": bundle_status_label(bundle), "html": html}
    )


@require_GET
def public_record_download(request, slug, pk):
    cycle = _public_cycle(slug)
    bundle = _public_bundle(cycle, pk)
    try:
        path = services.bundle_download(actor=request.user, bundle=bundle)
    except ApplicationError as error:
        raise Http404 from error
    return bundle_file_response(path, bundle)
