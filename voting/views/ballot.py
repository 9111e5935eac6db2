"""Voting pages: a resident casts a ballot online (choose → review → cast; JavaScript only adds a
live meter), anyone checks a receipt code, officials design the ballots and watch turnout.

Thin: parse, call a service, render. The receipt code exists only in the response to the cast
POST: never in a URL, the session, a flash message, an email or a log; the pages that carry
choices or a code are never cached. Service errors come back as form errors (a message per broken
rule) or as a page that says why nothing was recorded; denials go through ``core.views_mixins.gate``.
"""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from budgets import selectors as cycle_selectors
from budgets.models import District
from budgets.phases import Capability, Phase, phase_allows, phase_reached
from core import times
from core.errors import NotAllowed, ValidationFailed
from core.middleware import client_ip
from core.money import format_money
from core.views_mixins import apply_errors, gate, service_call

from .. import cards, crypto, matching, methods, permissions, selectors, services
from ..forms.ballot import (
    METHOD_LABELS,
    AccessCodeBatchForm,
    AccessCodeForm,
    BallotDesignForm,
    EligibilityForm,
    PhoneCodeForm,
    PhoneForm,
    ReceiptForm,
    VoterForm,
    attest_label,
    ballot_choices,
)
from ..methods.messages import problem_message
from ..models import RULE_EXPLANATIONS, Channel
from ..services import verification

# --- helpers -----------------------------------------------------------------------------------------
_public_cycle = cycle_selectors.cycle_get_public_or_404
_staff_cycle = cycle_selectors.cycle_get_staff_or_404


def _identity_key(user) -> str:
    return crypto.identity_key("account", str(user.pk))


def voting_state(cycle) -> str:
    """ "open", "paused", "not_open" (before voting) or "closed", for what a page offers. Casting
    itself is decided by the vote path, under its lock."""
    if cycle.is_paused and phase_allows(cycle.phase, Capability.CAST_BALLOTS):
        return "paused"
    if cycle.allows(Capability.CAST_BALLOTS):
        if cycle.voting_close_at is not None and timezone.now() >= cycle.voting_close_at:
            return "closed"
        return "open"
    return "closed" if phase_reached(cycle.phase, Phase.VOTING) else "not_open"


STATE_TITLES = {
    "paused": gettext_lazy("Voting is paused"),
    "closed": gettext_lazy("Voting is closed"),
    "not_open": gettext_lazy("Voting has not opened yet"),
    "already_voted": gettext_lazy("You have already voted"),
    "code_not_usable": gettext_lazy("This access code cannot be used"),
}


def state_message(state: str) -> str:
    """What a page shown before any ballot is sent says (the vote path's own messages say that
    nothing was recorded)."""
    if state == "paused":
        return _("Ballots cannot be cast for the moment; please come back later.")
    if state == "closed":
        return _("Voting has closed: ballots can no longer be cast.")
    if state == "not_open":
        return _("Voting has not opened yet. Come back when it opens.")
    return str(services.AlreadyVoted.default_message)


MSG_VOTED_HERE = gettext_lazy("You voted in %(district)s on %(day)s. Thank you for voting!")
MSG_WARD_CAST_ELSEWHERE = gettext_lazy(
    "You have already cast your ward ballot, in %(district)s: one ward ballot per person in a cycle."
)


def _standing_message(standing: services.BallotStanding) -> str:
    """Why a ballot is not offered to this voter (never how they voted)."""
    if standing.voted:
        return MSG_VOTED_HERE % {"district": standing.district.name, "day": times.format_day(standing.voted_on)}
    if standing.cast_in is not None:
        return MSG_WARD_CAST_ELSEWHERE % {"district": standing.cast_in.name}
    return str(services.AlreadyVoted.default_message)


def _ballot_district(cycle, code) -> District:
    district = selectors.ballot_district(cycle, code)
    if district is None:
        raise Http404
    return district


def _money(cycle):
    return lambda amount: format_money(amount, cycle.currency)


# --- voters without an account (printed access code, phone verified by SMS) --------------------------
# The session keeps only what ``VerifiedVoter`` holds (identity key, keyed hash of the code, never a
# code or a phone number), with the cycle and the time of the check; it is good for 30 minutes.
SESSION_VOTER = "pb_voter"
SESSION_VOTER_TTL = timedelta(minutes=30)
MSG_VERIFY_AGAIN = gettext_lazy("Your verification has expired. Please verify again to vote.")
# After a code's ballot is cast, the session remembers only that (the cycle's id), so a second tab or
# the back button is told the code is spent rather than sent to an account log-in page.
SESSION_CODE_CAST = "pb_code_cast"
MSG_CODE_CAST = gettext_lazy(
    "Your access code has been used and its ballot is recorded. Your receipt code lets you check it was counted."
)
MSG_CODE_OTHER_BALLOT = gettext_lazy(
    "Your access code is for the ballot of %(district)s. It cannot be used for another ballot."
)


def _client_key(request) -> str:
    return client_ip(request) or "unknown"


def _session_voter_store(request, cycle, verified: verification.VerifiedVoter) -> None:
    request.session.cycle_key()  # a new session id once verified (no session fixation)
    request.session.pop(SESSION_CODE_CAST, None)  # a new voter on this device
    request.session[SESSION_VOTER] = {
        **verified.as_session(),
        "cycle_id": cycle.pk,
        "at": timezone.now().timestamp(),
    }


def _session_voter(request, cycle) -> tuple[dict | None, bool]:
    """(the session voter for this cycle or None, whether one has just expired)."""
    data = request.session.get(SESSION_VOTER)
    if not isinstance(data, dict) or data.get("cycle_id") != cycle.pk:
        return None, False
    if timezone.now().timestamp() - float(data.get("at", 0)) > SESSION_VOTER_TTL.total_seconds():
        del request.session[SESSION_VOTER]
        return None, True
    return data, False


# --- voting ------------------------------------------------------------------------------------------
@require_GET
def vote_index(request, slug):
    """The ballots this voter can cast in the cycle (their ward's and the citywide one), marked
    when already cast."""
    cycle = _public_cycle(slug)
    session_voter, expired = None, False
    if request.user.is_authenticated:
        if refused := gate(request, permissions.check_online_voter, cycle):
            return refused
        key = _identity_key(request.user)
    else:
        session_voter, expired = _session_voter(request, cycle)
        key = session_voter["identity_key"] if session_voter else None
    # What the cast would allow now: a ballot voted in shows as done, and another ward's ballot is
    # not offered once the one ward ballot is cast (the same rule as ``ballot_check``).
    ballots = services.ballot_standings(cycle=cycle, districts=selectors.ballot_districts(cycle), identity_key=key)
    state = voting_state(cycle)
    return render(
        request,
        "voting/vote_index.html",
        {
            "cycle": cycle,
            "wards": [b for b in ballots if b.district.kind == District.Kind.WARD],
            "citywide": [b for b in ballots if b.district.kind == District.Kind.CITYWIDE],
            "state": state,
            "state_title": STATE_TITLES.get(state, ""),
            "state_message": state_message(state) if state != "open" else "",
            "unverified": key is None,
            "expired_message": MSG_VERIFY_AGAIN if expired else "",
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def vote_code(request, slug):
    """A printed access code: checked (not used up: the ballot's transaction does that), then the
    visitor goes to that code's ballot. The code travels only in this POST's body."""
    cycle = _public_cycle(slug)
    if request.user.is_authenticated or voting_state(cycle) != "open":
        return redirect("vote_index", slug=cycle.slug)
    status, errors = 200, []
    form = AccessCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            verified = verification.access_code_redeem(code=form.cleaned_data["code"], client_key=_client_key(request))
        except verification.TooManyAttempts as error:
            errors, status = [error.message], error.status
        except NotAllowed as error:
            errors = [error.message]
        else:
            district = District.objects.filter(pk=verified.district_id, cycle=cycle).first()
            if district is not None:
                _session_voter_store(request, cycle, verified)
                return redirect("vote_ballot", slug=cycle.slug, code=district.code)
            errors = [verification.MSG_CODE_INVALID]  # a code for another cycle
        form = AccessCodeForm()  # the code is not shown back
    return render(request, "voting/vote_code.html", {"cycle": cycle, "form": form, "errors": errors}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def vote_phone(request, slug):
    """A phone number verified by SMS. POST ``step=send``: send a 7-digit code, then the form for
    it (the number rides along in a hidden field, never in the session or a URL). POST
    ``step=verify``: check it, then the list of ballots."""
    cycle = _public_cycle(slug)
    if request.user.is_authenticated or voting_state(cycle) != "open":
        return redirect("vote_index", slug=cycle.slug)
    step = request.POST.get("step", "send") if request.method == "POST" else ""
    status = 200
    language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]

    if step == "verify":
        form = PhoneCodeForm(request.POST)
        if form.is_valid():
            try:
                verified = verification.phone_challenge_verify(
                    phone=form.cleaned_data["phone"], code=form.cleaned_data["code"], client_key=_client_key(request)
                )
            except verification.TooManyAttempts as error:
                form.add_error(None, error.message)
                status = error.status
            except (NotAllowed, ValidationFailed) as error:
                form.add_error(None, error.message)
            else:
                _session_voter_store(request, cycle, verified)
                return redirect("vote_index", slug=cycle.slug)
        return render(
            request, "voting/vote_phone.html", {"cycle": cycle, "form": form, "step": "verify"}, status=status
        )

    form = PhoneForm(request.POST or None)
    if step == "send" and form.is_valid():
        try:
            number = verification.phone_normalize(form.cleaned_data["phone"])
            verification.phone_challenge_start(phone=number, client_key=_client_key(request), language=language)
        except verification.TooManyAttempts as error:
            form.add_error(None, error.message)
            status = error.status
        except ValidationFailed as error:
            apply_errors(error, form)
        else:
            return render(
                request,
                "voting/vote_phone.html",
                {
                    "cycle": cycle,
                    "form": PhoneCodeForm(initial={"phone": number}),
                    "step": "verify",
                    "sent_to": number[-4:],
                },
            )
    return render(request, "voting/vote_phone.html", {"cycle": cycle, "form": form, "step": "send"}, status=status)


class BallotPage:
    """Everything the ballot page, the review page and the confirmation page show."""

    def __init__(self, request, cycle, district, *, seed: str, page: dict | None = None, language: str | None = None):
        self.cycle, self.district = cycle, district
        self.page = page or {}  # e.g. a kiosk's layout and form action (voting/views/kiosk.py)
        # The language of the ballot's own texts (introduction, projects): the page's, unless a
        # kiosk voter chose one of the cycle's languages the site's pages are not translated into.
        self.language = (language or translation.get_language() or settings.LANGUAGE_CODE).lower()
        self.design, self.projects = selectors.ballot_for(district, seed=f"{seed}:{district.pk}")
        self.method = methods.Method(self.design.method)
        self.eligibility = selectors.eligibility_for(cycle)
        self.attest_text = attest_label(
            citywide=district.kind == District.Kind.CITYWIDE, live_work_study=self.eligibility.allow_live_work_study
        )
        self.rules = services.ballot_rules(district, self.design)

    def context(self, **extra) -> dict:
        design, rules = self.design, self.rules
        return {
            "cycle": self.cycle,
            "district": self.district,
            "design": design,
            "method": self.method.value,
            "budget": self.district.budget,
            "min_spend": rules.min_spend,
            "rank_options": [str(n) for n in range(1, min(design.max_picks or 0, len(self.projects)) + 1)],
            "pause_reason": self.cycle.voting_pause_reason,
            "attest_text": self.attest_text,
            "intro": design.intro_for(self.language),
            **self.page,
            **extra,
        }

    def rows(self, choices=None) -> list[dict]:
        picks = set(choices.picks) if choices else set()
        ranks = choices.ranks if choices else {}
        points = choices.points if choices else {}
        return [
            {
                "project": p,
                "text": p.text(self.language),
                "checked": p.code in picks,
                "rank": ranks.get(p.code, ""),
                "points": points.get(p.code, ""),
            }
            for p in self.projects
        ]

    def chosen(self, ballot: methods.Ballot) -> tuple[list[dict], object]:
        """The review page's list, in ballot order, and its total (cost, or points)."""
        by_code = {p.code: p for p in self.projects}
        rows = []
        for index, code in enumerate(ballot.choices):
            project = by_code[code]
            rows.append(
                {
                    "project": project,
                    "text": project.text(self.language),
                    "rank": index + 1,
                    "points": ballot.points[index] if ballot.points else None,
                }
            )
        if self.method == methods.Method.CUMULATIVE:
            return rows, sum(ballot.points or ())
        return rows, sum((by_code[c].cost for c in ballot.choices), Decimal(0))


def _render_ballot_form(
    request, ballot: BallotPage, *, form, choices=None, ballot_errors=(), status=200, changing=False
):
    return render(
        request,
        "voting/ballot_form.html",
        ballot.context(form=form, rows=ballot.rows(choices), ballot_errors=list(ballot_errors), changing=changing),
        status=status,
    )


def _render_refused(request, ballot: BallotPage, *, state: str, message, status=409):
    if state == "paused":
        ballot.cycle.refresh_from_db(fields=["voting_paused_at", "voting_pause_reason"])
    return render(
        request,
        "voting/ballot_refused.html",
        ballot.context(state=state, state_title=STATE_TITLES[state], message=message),
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def vote_ballot(request, slug, code):
    """GET: the ballot. POST ``step=review``: check everything, show the choices to confirm (carried
    in hidden fields). POST ``step=edit``: the ballot again, as filled in. POST ``step=cast``: cast
    it; the response is the confirmation with the receipt code (no redirect: the code must not
    travel in a URL or the session)."""
    cycle = _public_cycle(slug)
    session_voter = None
    if request.user.is_authenticated:
        if refused := gate(request, permissions.check_online_voter, cycle):
            return refused
        key, seed = _identity_key(request.user), str(request.user.pk)
    else:
        session_voter, expired = _session_voter(request, cycle)
        if expired:
            messages.warning(request, MSG_VERIFY_AGAIN)
            return redirect("vote_index", slug=cycle.slug)
        if session_voter is None and request.session.get(SESSION_CODE_CAST) == cycle.pk:
            messages.info(request, MSG_CODE_CAST)
            return redirect("vote_index", slug=cycle.slug)
        if session_voter is None:
            return gate(request, permissions.check_online_voter, cycle)  # log in (or verify: see the list)
        key = seed = session_voter["identity_key"]
    district = _ballot_district(cycle, code)
    if session_voter is None and not matching.name_normalize(request.user.full_name):
        # An account gives its name before its first ballot (with the birth date and address asked
        # on the ballot, it finds the same person voting on another channel).
        return redirect(f"{reverse('account_name')}?{urlencode({'next': request.path})}")
    if session_voter and session_voter.get("district_id") not in (None, district.pk):
        own = District.objects.filter(pk=session_voter["district_id"]).first()
        message = MSG_CODE_OTHER_BALLOT % {"district": own.name if own else "—"}
        return render(request, "403.html", {"message": message}, status=403)
    ballot = BallotPage(request, cycle, district, seed=seed)

    def voter_for(data) -> services.Voter:
        language = (translation.get_language() or settings.LANGUAGE_CODE).split("-")[0]
        if session_voter:
            return services.Voter(
                identity_key=key,
                channel=session_voter["channel"],
                verification=session_voter["verification"],
                access_code_hash=session_voter.get("access_code_hash", ""),
                language=language,
                name=data["name"],
                date_of_birth=data["date_of_birth"],
                address=data["address"],
            )
        return services.Voter(
            identity_key=key,
            channel=Channel.ONLINE,
            verification="account",
            language=language,
            date_of_birth=data["date_of_birth"],
            address=data["address"],
            name=request.user.full_name,  # with the address and birth date: duplicate review across channels
            email=request.user.email,
            notify_user=request.user,
        )

    def on_cast(result) -> dict:
        if session_voter and session_voter["channel"] == Channel.CODE:
            del request.session[SESSION_VOTER]  # one ballot per code; a phone may still cast the citywide one
            request.session[SESSION_CODE_CAST] = cycle.pk
        return {}

    def voter_form(data=None, initial=None):
        # Without an account the voter gives their name here; an account's is on the account.
        return VoterForm(data, initial=initial, attest_text=ballot.attest_text, ask_name=bool(session_voter))

    return ballot_steps(request, ballot, key=key, voter_for=voter_for, on_cast=on_cast, voter_form=voter_form)


def ballot_steps(request, ballot: BallotPage, *, key: str, voter_for, on_cast, voter_form=None):
    """The ballot page's steps for one voter, whoever they are (an account, a session voter, a
    kiosk's checked-in voter): GET the form, POST ``edit`` / ``review`` / ``cast``.
    ``voter_for(cleaned data)`` builds the ``services.Voter``; ``on_cast(result)`` runs after a cast
    and returns extra context for the confirmation; ``voter_form(data=None, initial=None)`` makes
    the "About you" form (default: ``VoterForm``)."""

    def make_form(data=None, initial=None):
        if voter_form is not None:
            return voter_form(data, initial=initial)
        return VoterForm(data, initial=initial, attest_text=ballot.attest_text)

    if request.method == "GET":
        state = voting_state(ballot.cycle)
        standing = None
        if state == "open":
            # Not a form the voter may not cast: voted here already, or their one ward ballot cast
            # in another ward (the rule ``ballot_check`` applies at review).
            [standing] = services.ballot_standings(cycle=ballot.cycle, districts=[ballot.district], identity_key=key)
            if not standing.may_cast:
                return _render_refused(
                    request, ballot, state="already_voted", message=_standing_message(standing), status=200
                )
        if state != "open":
            return _render_refused(request, ballot, state=state, message=state_message(state), status=200)
        return _render_ballot_form(request, ballot, form=make_form(), changing=standing.changeable)

    step = request.POST.get("step", "review")
    choices = ballot_choices(request.POST, ballot.method)
    if step == "edit":
        form = make_form(initial=VoterForm.initial_from_post(request.POST))
        return _render_ballot_form(request, ballot, form=form, choices=choices)

    form = make_form(request.POST)
    problems = choices.problems
    if not form.is_valid() or problems:
        problems = [*problems, *methods.validate(ballot.rules, choices.ballot)]  # every mistake at once
    if problems or form.errors:
        errors = [problem_message(p, money=_money(ballot.cycle)) for p in problems]
        return _render_ballot_form(request, ballot, form=form, choices=choices, ballot_errors=errors)

    data = form.cleaned_data
    voter = voter_for(data)
    service = services.ballot_cast if step == "cast" else services.ballot_check
    try:
        result = service(voter=voter, district=ballot.district, ballot=choices.ballot, attested=data["attest"])
    except services.BallotInvalid as error:
        errors = error.extra.get("ballot") or [error.message]
        return _render_ballot_form(request, ballot, form=form, choices=choices, ballot_errors=errors)
    except services.NotEligible as error:
        form.add_error(None, error.message)
        return _render_ballot_form(request, ballot, form=form, choices=choices)
    except ValidationFailed as error:  # a detail about the voter the vote path needs (name, address)
        apply_errors(error, form)
        return _render_ballot_form(request, ballot, form=form, choices=choices)
    except services.AlreadyVoted as error:
        return _render_refused(request, ballot, state="already_voted", message=error.message)
    except services.VotingPaused as error:
        return _render_refused(request, ballot, state="paused", message=error.message)
    except services.VotingClosed as error:
        return _render_refused(request, ballot, state="closed", message=error.message)
    except services.CodeNotUsable as error:
        request.session.pop(SESSION_VOTER, None)
        return _render_refused(request, ballot, state="code_not_usable", message=error.message)

    if step == "cast":
        extra = on_cast(result) or {}
        return render(
            request,
            "voting/ballot_cast.html",
            ballot.context(receipt_code=result.receipt_code, replaced=result.replaced, **extra),
        )
    rows, total = ballot.chosen(choices.ballot)
    return render(
        request,
        "voting/ballot_review.html",
        ballot.context(chosen=rows, total=total, hidden=choices.hidden_fields(), voter=voter),
    )


@never_cache
@require_http_methods(["GET", "POST"])
def receipt(request):
    """Anyone with a receipt code learns whether that ballot is in the count (nothing about its
    choices). POST only: the code never goes in a URL."""
    result = None
    if request.method == "POST":
        form = ReceiptForm(request.POST)
        if form.is_valid():
            result = services.receipt_check(code=form.cleaned_data["code"])
            form = ReceiptForm()  # the code is not shown back
    else:
        form = ReceiptForm()
    return render(request, "voting/receipt.html", {"form": form, "result": result})


# --- officials ---------------------------------------------------------------------------------------
def _design_forms(cycle, districts, *, bound=None):
    forms_by_code = {}
    for district in districts:
        prefix = f"design-{district.code}"
        if bound is not None and bound[0] == district.code:
            forms_by_code[district.code] = bound[1]
        else:
            design = getattr(district, "ballot_design", None)
            forms_by_code[district.code] = BallotDesignForm(
                prefix=prefix, initial=BallotDesignForm.initial_from(design), languages=services.intro_languages(cycle)
            )
    return forms_by_code


@require_http_methods(["GET", "POST"])
def staff_ballot(request, slug):
    """Per district a form for its ballot design, and the cycle's eligibility form, until voting
    opens; after that the frozen designs, read-only, with their fingerprint."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    districts = selectors.designs_for(cycle)
    eligibility = selectors.eligibility_for(cycle)
    eligibility_form = EligibilityForm(prefix="eligibility", initial=EligibilityForm.initial_from(eligibility))
    bound = None

    if request.method == "POST":
        which = request.POST.get("form", "")
        if which == "eligibility":
            form = eligibility_form = EligibilityForm(request.POST, prefix="eligibility")

            def save(data):
                services.eligibility_set(actor=request.user, cycle=cycle, **data)

            done = _("Eligibility saved.")
        else:
            district = next((d for d in districts if f"design-{d.code}" == which), None)
            if district is None:
                raise Http404
            form = BallotDesignForm(request.POST, prefix=which, languages=services.intro_languages(cycle))
            bound = (district.code, form)

            def save(data):
                services.ballot_design_set(actor=request.user, district=district, **data)

            done = _("Ballot design for %(district)s saved.") % {"district": district.name}
        # Voting opened meanwhile: the ballot is frozen, nothing changed; back to the page, with why.
        back = redirect("staff_ballot", slug=cycle.slug)
        with service_call(request, about=cycle, form=form, back=back) as call:
            permissions.check_design_open(cycle)
            if form.is_valid():
                save(form.cleaned_data)
                messages.success(request, done)
                return back
        if call.response:
            return call.response

    frozen = not cycle.allows(Capability.DESIGN_BALLOT)
    design_forms = _design_forms(cycle, districts, bound=bound)
    return render(
        request,
        "voting/staff_ballot.html",
        {
            "cycle": cycle,
            "frozen": frozen,
            "frozen_message": permissions.MSG_BALLOT_FROZEN,
            "fingerprint": selectors.ballot_fingerprint(cycle),
            "districts": [
                {
                    "district": d,
                    "design": getattr(d, "ballot_design", None),
                    "form": design_forms[d.code],
                    "method_label": METHOD_LABELS.get(getattr(getattr(d, "ballot_design", None), "method", None), ""),
                    "rule_explained": RULE_EXPLANATIONS.get(
                        getattr(getattr(d, "ballot_design", None), "allocation_rule", None), ""
                    ),
                }
                for d in districts
            ],
            "eligibility": eligibility,
            "eligibility_form": eligibility_form,
        },
    )


@require_GET
def staff_turnout(request, slug):
    """Participation from the voter roll — counts only, never choices."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_turnout, cycle):
        return refused
    data = selectors.turnout(cycle)
    counted = {row["district__code"]: row["count"] for row in data["by_district"]}
    channels = dict(Channel.choices)
    languages = dict(settings.LANGUAGES)
    return render(
        request,
        "voting/staff_turnout.html",
        {
            "cycle": cycle,
            "total": data["total"],
            "by_district": [{"district": d, "count": counted.get(d.code, 0)} for d in cycle.districts.all()],
            "by_channel": [
                {"label": channels.get(r["channel"], r["channel"]), "count": r["count"]} for r in data["by_channel"]
            ],
            "by_site": [
                {"label": r["site"] or _("no voting site (online, phone, code)"), "count": r["count"]}
                for r in data["by_site"]
            ],
            "by_language": [
                {"label": languages.get(r["language"], r["language"] or _("not recorded")), "count": r["count"]}
                for r in data["by_language"]
            ],
            "by_day": data["by_day"],
            "now": timezone.now(),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
def staff_access_codes(request, slug):
    """Officials make a batch of printed one-time codes for a district. The answer to the POST is the
    download itself (a zip with codes.csv and codes.pdf): the codes exist in clear only there."""
    cycle = _staff_cycle(slug)
    if refused := gate(request, permissions.check_official, cycle):
        return refused
    districts = selectors.ballot_districts(cycle) or list(cycle.districts.all())
    form = AccessCodeBatchForm(request.POST or None, districts=districts)
    if request.method == "POST" and form.is_valid():
        district = next(d for d in districts if str(d.pk) == form.cleaned_data["district"])
        expires_at = timezone.now() + timedelta(days=form.cleaned_data["valid_days"])
        with service_call(request, about=cycle, form=form) as call:
            codes = verification.access_codes_generate(
                actor=request.user, district=district, count=form.cleaned_data["count"], expires_at=expires_at
            )
            bundle = cards.access_codes_bundle(district=district, codes=codes, expires_at=expires_at)
            response = HttpResponse(bundle, content_type="application/zip")
            response["Content-Disposition"] = f'attachment; filename="access-codes-{cycle.slug}-{district.code}.zip"'
            return response
        if call.response:
            return call.response
    return render(request, "voting/staff_access_codes.html", {"cycle": cycle, "form": form})
