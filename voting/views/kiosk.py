"""Voting sites (officials) and kiosks (a volunteer, and the voters they check in).

A kiosk is the volunteer's logged-in device in kiosk mode: ``kiosk_start`` opens it at a site, then
is its check-in page; the checked-in voter votes on the ordinary ballot pages (``ballot.ballot_steps``)
in the kiosk's layout, which hides the site's menus. The voter part of the session is forgotten on
cast, on "next voter" or "leave without voting", on a new check-in, and when the voter's page sat
idle: its script (static/js/kiosk.js) asks "Are you still here?" after ``PB_KIOSK_IDLE_SECONDS``
without any interaction and returns to the start if nobody answers (``voting.services.kiosk`` explains why a
page without JavaScript never times out). The kiosk itself stays open until the volunteer closes it.
"""

from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from budgets import selectors as cycle_selectors
from budgets.models import District
from core.errors import Conflict
from core.views_mixins import gate, service_call

from .. import permissions, selectors, services, sites
from ..forms.kiosk import CheckInForm, KioskCloseForm, KioskOpenForm, KioskVoterForm, VotingSiteForm
from ..middleware import SESSION_KIOSK  # Kiosk.as_session(): cycle, site, volunteer, opened at
from ..models import VotingSite
from ..services import kiosk
from ..services.kiosk import CheckedIn, Kiosk
from . import ballot as ballot_views

SESSION_KIOSK_VOTER = "pb_kiosk_voter"  # CheckedIn.as_session(), or nothing
SESSION_KIOSK_PIN = "pb_kiosk_pin"  # kiosk.pin_seal(): salt, keyed hash, wrong tries

MSG_OPEN_FIRST = gettext_lazy("This device is not a kiosk for this cycle: open a kiosk first.")
MSG_NO_VOTER = gettext_lazy("No voter is checked in on this kiosk. Nothing was recorded: check the voter in.")
MSG_VOTER_EXPIRED = gettext_lazy(
    "The voter's session ended after a time without activity. Nothing was recorded: check the voter in again."
)
MSG_KIOSK_CLOSED = gettext_lazy("The kiosk is closed. Log in again to use your account on this device.")
MSG_PIN_WRONG = gettext_lazy("That is not the kiosk's PIN.")
MSG_PIN_LOCKED = gettext_lazy(
    "The kiosk's PIN was entered wrongly too many times: the kiosk is closed and this device is logged out."
)
MSG_SITE_ADDED = gettext_lazy("Voting site “%(name)s” added.")
MSG_SITE_OPENED = gettext_lazy("“%(name)s” is open for voting.")
MSG_SITE_CLOSED = gettext_lazy("“%(name)s” is closed: its kiosks check no one in.")


# --- the kiosk in the session ------------------------------------------------------------------------
def _kiosk(request, cycle) -> Kiosk | None:
    """This device's open kiosk for ``cycle``, if the logged-in person opened it."""
    opened = Kiosk.from_session(request.session.get(SESSION_KIOSK))
    if opened is None or opened.cycle_id != cycle.pk or opened.volunteer_id != request.user.pk:
        return None
    return opened


def _forget_voter(request) -> None:
    request.session.pop(SESSION_KIOSK_VOTER, None)


def _checked_in(request, opened: Kiosk) -> tuple[CheckedIn | None, bool]:
    """(the checked-in voter, or None; whether one has just timed out). A voter who timed out is
    forgotten here, so nothing they send afterwards can be stored."""
    voter = CheckedIn.from_session(request.session.get(SESSION_KIOSK_VOTER) or {})
    if voter is None or voter.volunteer_id != opened.volunteer_id:
        return None, False
    if voter.expired():
        _forget_voter(request)
        return None, True
    return voter, False


def _kiosk_page(cycle, opened: Kiosk, *, idle_timer: bool) -> dict:
    """What the kiosk layout needs. ``idle_timer``: a voter's page warns, then returns to the start,
    when idle (with JavaScript)."""
    return {
        "layout": "voting/kiosk/layout.html",
        "kiosk": opened,
        "kiosk_idle": kiosk.idle_seconds() if idle_timer else None,
        "kiosk_warning": kiosk.warning_seconds(),
        "kiosk_ping": kiosk.ping_seconds(),
        "kiosk_reset_url": reverse("kiosk_reset", args=[cycle.slug]),
        "kiosk_alive_url": reverse("kiosk_alive", args=[cycle.slug]),
    }


# --- volunteer: open the kiosk, check voters in, close it ----------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def kiosk_start(request, slug):
    """Without an open kiosk: choose a site and open one. With one: the check-in page."""
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    opened = _kiosk(request, cycle)
    if opened is None:
        return _open_page(request, cycle)
    return _checkin_page(request, cycle, opened)


def _open_page(request, cycle):
    all_sites = kiosk.voting_sites(cycle)
    form = KioskOpenForm(request.POST if request.POST.get("action") == "open" else None, sites=all_sites)
    if request.method == "POST" and request.POST.get("action") != "open":
        messages.warning(request, MSG_OPEN_FIRST)  # e.g. a check-in posted after the kiosk was closed
        return redirect("kiosk_start", slug=cycle.slug)
    if request.method == "POST" and form.is_valid():
        site = next(s for s in all_sites if s.pk == form.cleaned_data["site"])
        with service_call(request, about=site, form=form) as call:
            try:
                opened = kiosk.kiosk_open(actor=request.user, site=site)
            except Conflict as error:  # voting not open, or the site closed: said at the site chosen
                form.add_error("site", error.message)
            else:
                request.session[SESSION_KIOSK] = opened.as_session()
                request.session[SESSION_KIOSK_PIN] = kiosk.pin_seal(form.cleaned_data["pin"])
                _forget_voter(request)
                return redirect("kiosk_start", slug=cycle.slug)
        if call.response:
            return call.response
    return render(
        request,
        "voting/kiosk/open.html",
        {
            "cycle": cycle,
            "form": form,
            "active_sites": [s for s in all_sites if s.active],
            "can_open": kiosk.kiosk_can_open(cycle),
            "not_open_message": kiosk.MSG_KIOSK_NOT_VOTING,
        },
    )


def _checkin_page(request, cycle, opened: Kiosk):
    districts = selectors.ballot_districts(cycle)
    posted = request.method == "POST"
    if posted:
        _forget_voter(request)  # a new check-in replaces the last one, even when it is refused
        if request.POST.get("action") != "checkin":
            return redirect("kiosk_start", slug=cycle.slug)
    form = CheckInForm(request.POST if posted else None, districts=districts, languages=cycle.content_languages())
    if posted and form.is_valid() and not _pin_ok(request, form.cleaned_data["pin"]):
        if _pin_locked(request, cycle, opened):
            return redirect("home")
        form.add_error("pin", MSG_PIN_WRONG)
    elif posted and form.is_valid():
        del form.cleaned_data["pin"]
        with service_call(request, about=("voting_site", opened.site_id), form=form) as call:
            try:
                checked_in = kiosk.kiosk_checkin(actor=request.user, kiosk=opened, **form.cleaned_data)
            except services.NotEligible as error:
                # The voter's details fail the cycle's rule (age, a mistyped date): the volunteer
                # corrects them or explains, on the same form; no refusal page, nothing stored.
                form.add_error("date_of_birth", error.message)
            else:
                request.session[SESSION_KIOSK_VOTER] = checked_in.as_session()
                return redirect("kiosk_ballot", slug=cycle.slug)
        if call.response:
            return call.response
    state = ballot_views.voting_state(cycle)
    site = VotingSite.objects.filter(pk=opened.site_id).first()
    return render(
        request,
        "voting/kiosk/checkin.html",
        {
            "cycle": cycle,
            "form": form,
            "close_form": KioskCloseForm(prefix="close"),
            "state": state,
            "state_title": ballot_views.STATE_TITLES.get(state, ""),
            "state_message": ballot_views.state_message(state) if state != "open" else "",
            "site_inactive_message": kiosk.MSG_SITE_INACTIVE if site is None or not site.active else "",
            **_kiosk_page(cycle, opened, idle_timer=False),
        },
    )


def _pin_ok(request, pin: str) -> bool:
    sealed = request.session.get(SESSION_KIOSK_PIN)
    if kiosk.pin_matches(sealed, pin):
        return True
    if isinstance(sealed, dict):
        sealed["failures"] = int(sealed.get("failures", 0)) + 1
        request.session[SESSION_KIOSK_PIN] = sealed
    return False


def _pin_locked(request, cycle, opened: Kiosk) -> bool:
    """After too many wrong PINs: close the kiosk and log the device out (True)."""
    sealed = request.session.get(SESSION_KIOSK_PIN)
    if isinstance(sealed, dict) and int(sealed.get("failures", 0)) < kiosk.PIN_TRIES:
        return False
    _close_and_log_out(request, opened)
    messages.error(request, MSG_PIN_LOCKED)
    return True


def _close_and_log_out(request, opened: Kiosk | None) -> None:
    """End kiosk mode (audited) and the volunteer's session on this device: whoever uses it next
    must log in, so a voter left alone with it reaches nothing."""
    if opened is not None:
        site = VotingSite.objects.select_related("cycle").filter(pk=opened.site_id).first()
        if site is not None:
            kiosk.kiosk_close(actor=request.user, site=site)
    logout(request)  # flushes the session: the kiosk, the voter, the PIN


@require_POST
def kiosk_close(request, slug):
    """End kiosk mode on this device (the kiosk's PIN; audited) and log the device out."""
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    opened = _kiosk(request, cycle)
    if opened is None:
        request.session.pop(SESSION_KIOSK, None)
        _forget_voter(request)
        return redirect("kiosk_start", slug=cycle.slug)
    form = KioskCloseForm(request.POST, prefix="close")
    if not (form.is_valid() and _pin_ok(request, form.cleaned_data["pin"])):
        if _pin_locked(request, cycle, opened):
            return redirect("home")
        messages.error(request, MSG_PIN_WRONG)
        return redirect("kiosk_start", slug=cycle.slug)
    _close_and_log_out(request, opened)
    messages.success(request, MSG_KIOSK_CLOSED)
    return redirect("home")


@never_cache
@require_http_methods(["GET", "POST"])
def kiosk_reset(request, slug):
    """Forget the checked-in voter (after a ballot, "next voter", "leave without voting", or when
    the device sat idle) and return to the check-in. Forgetting is always safe, so anyone may ask."""
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    _forget_voter(request)
    return redirect("kiosk_start", slug=cycle.slug)


@never_cache
@require_POST
def kiosk_alive(request, slug):
    """The idle timer's ping while the voter is active (and once when a voter's page loads, which
    tells the server the page watches for idleness): 204 (still checked in, or nobody is), 410 (the
    voter timed out: nothing they send will be stored)."""
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    opened = _kiosk(request, cycle)
    if opened is None:
        return HttpResponse(status=410)
    voter, expired = _checked_in(request, opened)
    if expired:
        return HttpResponse(status=410)
    if voter is not None:
        request.session[SESSION_KIOSK_VOTER] = voter.seen(watched=True).as_session()
    return HttpResponse(status=204)


# --- the voter: the ordinary ballot pages, in the kiosk's layout -------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def kiosk_ballot(request, slug):
    """The checked-in voter's ballot (review, cast) in the language chosen at check-in. Cast as
    channel "kiosk", verification "checkin", with the site on the roll entry; then the receipt
    code, once, and the voter is forgotten."""
    cycle = cycle_selectors.cycle_get_public_or_404(slug)
    if refused := gate(request, permissions.check_site_worker, cycle):
        return refused
    opened = _kiosk(request, cycle)
    if opened is None:
        messages.warning(request, MSG_OPEN_FIRST)
        return redirect("kiosk_start", slug=cycle.slug)
    voter, expired = _checked_in(request, opened)
    if voter is None:
        messages.warning(request, MSG_VOTER_EXPIRED if expired else MSG_NO_VOTER)
        return redirect("kiosk_start", slug=cycle.slug)
    if not VotingSite.objects.filter(pk=opened.site_id, active=True).exists():
        _forget_voter(request)
        messages.error(request, kiosk.MSG_SITE_INACTIVE)
        return redirect("kiosk_start", slug=cycle.slug)
    district = District.objects.filter(pk=voter.district_id, cycle=cycle).first()
    if district is None or selectors.ballot_district(cycle, district.code) is None:
        _forget_voter(request)
        raise Http404
    request.session[SESSION_KIOSK_VOTER] = voter.seen().as_session()

    page = {**_kiosk_page(cycle, opened, idle_timer=True), "form_action": reverse("kiosk_ballot", args=[cycle.slug])}
    with translation.override(kiosk.page_language(voter.language)):  # the voter's, not the volunteer's
        ballot = ballot_views.BallotPage(
            request, cycle, district, seed=voter.identity_key, page=page, language=voter.language
        )

        def voter_form(data=None, initial=None):
            return KioskVoterForm(data, initial=initial, attest_text=ballot.attest_text, checked_in=voter)

        def on_cast(result) -> dict:
            _forget_voter(request)  # one ballot per check-in; the kiosk stays open
            # No ballot is being filled in any more: without JavaScript too, the receipt page
            # returns to the start after the idle time, so the next person does not see it.
            return {"provisional": result.provisional, "kiosk_receipt_refresh": True}

        return ballot_views.ballot_steps(
            request,
            ballot,
            key=voter.identity_key,
            voter_for=lambda data: voter.voter(),
            on_cast=on_cast,
            voter_form=voter_form,
        )


# --- officials: voting sites ---------------------------------------------------------------------------
@require_http_methods(["GET", "POST"])
def staff_sites(request, slug):
    """The cycle's voting sites: add one, open or close one (a closed site's kiosks check no one in)."""
    cycle = cycle_selectors.cycle_get_staff_or_404(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    action = request.POST.get("action", "")
    form = VotingSiteForm(request.POST if action == "create" else None)
    if request.method == "POST":
        if action not in ("create", "open", "close"):
            raise Http404
        with service_call(request, about=cycle, form=form if action == "create" else None) as call:
            if action == "create":
                if form.is_valid():
                    site = sites.voting_site_create(actor=request.user, cycle=cycle, **form.cleaned_data)
                    messages.success(request, MSG_SITE_ADDED % {"name": site.name})
                    return redirect("staff_sites", slug=cycle.slug)
            else:
                site = _site_of(cycle, request.POST.get("site"))
                try:
                    sites.voting_site_set_active(actor=request.user, site=site, active=action == "open")
                except Conflict as error:  # the sites can no longer change: said on the page shown again
                    messages.error(request, error.message)
                else:
                    done = MSG_SITE_OPENED if action == "open" else MSG_SITE_CLOSED
                    messages.success(request, done % {"name": site.name})
                    return redirect("staff_sites", slug=cycle.slug)
        if call.response:
            return call.response
    return render(
        request,
        "voting/staff_sites.html",
        {
            "cycle": cycle,
            "sites": kiosk.voting_sites(cycle),
            "form": form,
            "can_open_kiosks": kiosk.kiosk_can_open(cycle),
            "can_change_sites": sites.voting_sites_can_change(cycle),
            "sites_closed_message": sites.MSG_SITES_CLOSED,
        },
    )


def _site_of(cycle, value) -> VotingSite:
    try:
        return VotingSite.objects.get(cycle=cycle, pk=int(value))
    except (TypeError, ValueError, VotingSite.DoesNotExist) as exc:
        raise Http404 from exc
