"""Voting forms. They parse and present; the services and the pure ballot methods decide what is
valid (their messages come back as form errors), so HTML and API give the same answers.

A ballot's choices are not a Django field: the page names every project it shows, but a posted
ballot may name anything, and the method must be the one to say "not on this ballot" or "chosen
twice". ``ballot_choices`` reads them from the POST as sent."""

from dataclasses import dataclass, field

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import matching, methods
from ..methods.base import Problem, ballot_from_points, ballot_from_ranks
from ..models import RULE_EXPLANATIONS, AllocationRule
from ..services import MSG_ADDRESS_NEEDED, MSG_ATTEST, MSG_NAME_NEEDED

METHOD_LABELS = {
    methods.Method.APPROVAL: _("Approval: pick between a minimum and a maximum number of projects"),
    methods.Method.KNAPSACK: _("Knapsack: pick projects whose total cost fits the budget"),
    methods.Method.RANKED: _("Ranked: rank up to a number of projects"),
    methods.Method.CUMULATIVE: _("Cumulative: spread a number of points"),
}

PICK = "project"  # approval and knapsack: one value per chosen project code
RANK_PREFIX = "rank-"  # ranked: rank-<code> = 1, 2, … (blank: not ranked)
POINTS_PREFIX = "points-"  # cumulative: points-<code> = whole points (blank or 0: none)


# --- the voter's ballot -----------------------------------------------------------------------------
@dataclass
class BallotChoices:
    """What a POST says about the ballot: the raw values (to show the form again) and the ballot
    built from them, with the problems found while building it (a rank that is not a number …)."""

    method: methods.Method
    picks: list[str] = field(default_factory=list)
    ranks: dict[str, str] = field(default_factory=dict)
    points: dict[str, str] = field(default_factory=dict)
    ballot: methods.Ballot = field(default_factory=lambda: methods.Ballot(choices=()))
    problems: list[Problem] = field(default_factory=list)

    def hidden_fields(self) -> list[tuple[str, str]]:
        """(name, value) pairs that carry these choices through the review page unchanged."""
        if self.method in (methods.Method.APPROVAL, methods.Method.KNAPSACK):
            return [(PICK, code) for code in self.picks]
        if self.method == methods.Method.RANKED:
            return [(RANK_PREFIX + code, value) for code, value in self.ranks.items()]
        return [(POINTS_PREFIX + code, value) for code, value in self.points.items()]


def _prefixed(data, prefix: str) -> dict[str, str]:
    values = {}
    for key in data:
        if key.startswith(prefix) and len(key) > len(prefix):
            value = (data.get(key) or "").strip()
            if value:
                values[key[len(prefix) :]] = value
    return values


def ballot_choices(data, method: str) -> BallotChoices:
    method = methods.Method(method)
    choices = BallotChoices(method=method)
    if method in (methods.Method.APPROVAL, methods.Method.KNAPSACK):
        choices.picks = [code.strip() for code in data.getlist(PICK) if code.strip()]
        # Sorted: the order a voter happened to see (shuffled per voter) must not reach the ballot.
        choices.ballot = methods.Ballot(choices=tuple(sorted(choices.picks)))
    elif method == methods.Method.RANKED:
        choices.ranks = _prefixed(data, RANK_PREFIX)
        ranks, not_numbers = {}, False
        for code, value in choices.ranks.items():
            try:
                ranks[code] = int(value)
            except ValueError:
                not_numbers = True
        choices.ballot, choices.problems = ballot_from_ranks(ranks)
        if not_numbers and not any(p.code == "rank_invalid" for p in choices.problems):
            choices.problems.insert(0, Problem("rank_invalid"))
    else:
        choices.points = {code: value for code, value in _prefixed(data, POINTS_PREFIX).items() if value != "0"}
        points, not_numbers = {}, False
        for code, value in choices.points.items():
            try:
                points[code] = int(value)
            except ValueError:
                not_numbers = True
        choices.ballot = ballot_from_points(points)
        if not_numbers:
            choices.problems.append(Problem("points_not_positive"))
    return choices


def attest_label(*, citywide: bool, live_work_study: bool) -> str:
    if citywide:
        if live_work_study:
            return _("I live, work or study in this city, and the information I give is true")
        return _("I live in this city, and the information I give is true")
    if live_work_study:
        return _("I live, work or study in this ward, and the information I give is true")
    return _("I live in this ward, and the information I give is true")


class VoterForm(forms.Form):
    """The ballot page's "About you": what eligibility and finding one person on two channels need
    (US PB: no census, the voter attests). ``ask_name``: a voter without an account gives their
    name here; an account's name is the one on the account."""

    name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_("Your first and last name, as you would give them at a voting site."),
        error_messages={"required": MSG_NAME_NEEDED},
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "bday"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter your date of birth, e.g. 1990-04-30.")},
    )
    address = forms.CharField(
        label=_("Home address"),
        max_length=300,
        widget=forms.TextInput(attrs={"autocomplete": "street-address"}),
        help_text=_("Number, street and apartment or unit, e.g. 12 Elm St, Apt 3."),
        error_messages={"required": MSG_ADDRESS_NEEDED},
    )
    attest = forms.BooleanField(label="", error_messages={"required": MSG_ATTEST})

    def __init__(self, *args, attest_text: str = "", ask_name: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attest"].label = attest_text
        if not ask_name:
            del self.fields["name"]

    def clean_name(self):
        name = " ".join(self.cleaned_data["name"].split())
        if not matching.name_normalize(name):
            raise forms.ValidationError(MSG_NAME_NEEDED)
        return name

    def clean_address(self):
        address = " ".join(self.cleaned_data["address"].split())
        if not matching.address_normalize(address):
            raise forms.ValidationError(MSG_ADDRESS_NEEDED)
        return address

    @classmethod
    def initial_from_post(cls, data) -> dict:
        return {
            "name": data.get("name", ""),
            "date_of_birth": data.get("date_of_birth", ""),
            "address": data.get("address", ""),
            "attest": bool(data.get("attest")),
        }


# --- voting without an account ---------------------------------------------------------------------
_NO_AUTOFILL = {"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}


class AccessCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Access code"),
        max_length=64,
        help_text=_("The code printed on your card, e.g. 7K2M-QX9D-4H8T."),
        widget=forms.TextInput(attrs=_NO_AUTOFILL),
    )


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile phone number"),
        max_length=32,
        help_text=_("A US number with its area code, e.g. 201-555-0123. We send it a 7-digit code by SMS."),
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )


class PhoneCodeForm(forms.Form):
    phone = forms.CharField(max_length=32, widget=forms.HiddenInput)
    code = forms.CharField(
        label=_("Code from the SMS"),
        max_length=16,
        help_text=_("The 7 digits we sent to your phone."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


# --- receipts ---------------------------------------------------------------------------------------
class ReceiptForm(forms.Form):
    code = forms.CharField(
        label=_("Receipt code"),
        max_length=64,
        help_text=_("The code you were shown after voting, e.g. 7K2M-QX9D-4H8T-BN3R-W6YP."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


# --- officials --------------------------------------------------------------------------------------
def _count(label, *, required=False, initial=None, max_value=32767, help_text=""):
    return forms.IntegerField(
        label=label, required=required, initial=initial, min_value=0, max_value=max_value, help_text=help_text
    )


# The design fields each ballot method uses (voting.methods.base.validate); the others are shown
# only when it is chosen (static/js/ballot-design.js). Fields not listed here apply to every method.
METHOD_FIELDS: dict[str, tuple[str, ...]] = {
    "min_picks": (methods.Method.APPROVAL, methods.Method.KNAPSACK, methods.Method.RANKED),
    "max_picks": tuple(methods.Method),
    "min_spend_percent": (methods.Method.KNAPSACK,),
    "points_total": (methods.Method.CUMULATIVE,),
    "points_cap": (methods.Method.CUMULATIVE,),
}


class BallotDesignForm(forms.Form):
    method = forms.ChoiceField(
        label=_("Ballot method"),
        choices=[(m.value, label) for m, label in METHOD_LABELS.items()],
        widget=forms.Select(attrs={"data-method-switch": ""}),
    )
    min_picks = _count(_("Minimum picks"), required=True, initial=1)
    max_picks = _count(
        _("Maximum picks"),
        help_text=_("Required for a ranked ballot: how many projects to rank. Otherwise leave empty for no maximum."),
    )
    min_spend_percent = _count(
        _("Minimum share of the budget to spend (%)"),
        required=True,
        initial=0,
        max_value=100,
        help_text=_("Knapsack only."),
    )
    points_total = _count(_("Points to spread"), help_text=_("Cumulative only."))
    points_cap = _count(_("Most points per project"), help_text=_("Cumulative only; empty for no cap."))
    allocation_rule = forms.ChoiceField(
        label=_("Allocation rule"),
        # Equal shares with its completion first, and chosen for a new design.
        choices=[(rule, AllocationRule(rule).label) for rule in RULE_EXPLANATIONS],
        initial=AllocationRule.MES_GREEDY,
        widget=forms.RadioSelect,
        help_text=_("How the votes become funded projects once voting closes."),
    )
    intro = forms.CharField(
        label=_("Introduction shown above the ballot"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    shuffle = forms.BooleanField(
        label=_("Show projects in a random order for each voter"), required=False, initial=True
    )

    def __init__(self, *args, languages=(), **kwargs):
        """``languages``: (code, name) the introduction may be translated into, each an optional
        field after the introduction (``services.intro_languages``)."""
        super().__init__(*args, **kwargs)
        self.intro_languages = list(languages)
        fields = list(self.fields.items())
        at = [name for name, _field in fields].index("intro") + 1
        extra = [(self.intro_field_name(code), self._intro_field(code, name)) for code, name in self.intro_languages]
        self.fields = dict(fields[:at] + extra + fields[at:])

    @staticmethod
    def intro_field_name(code: str) -> str:
        return "intro_" + code.replace("-", "_")

    @staticmethod
    def _intro_field(code: str, name: str) -> forms.CharField:
        return forms.CharField(
            label=_("Introduction · %(language)s (optional)") % {"language": gettext(str(name))},
            required=False,
            widget=forms.Textarea(attrs={"rows": 3, "lang": code}),
            help_text=_("Leave empty to show the main introduction to readers of this language."),
        )

    def clean(self):
        cleaned = super().clean()
        cleaned["intro_translations"] = {
            code: cleaned.pop(self.intro_field_name(code), "") or "" for code, _name in self.intro_languages
        }
        return cleaned

    @classmethod
    def initial_from(cls, design) -> dict:
        if design is None:
            return {}
        initial = {name: getattr(design, name) for name in cls.base_fields}
        for code, text in (design.intro_translations or {}).items():
            initial[cls.intro_field_name(code)] = text
        return initial

    def fields_by_method(self) -> list[tuple]:
        """(bound field, the methods it belongs to as a space-separated list, or "" for all)."""
        return [(field, " ".join(str(m) for m in METHOD_FIELDS.get(field.name, ()))) for field in self]

    def rule_radios(self) -> list[tuple]:
        """The allocation rule's radio buttons, each with its one-sentence explanation."""
        return [(radio, RULE_EXPLANATIONS[radio.data["value"]]) for radio in self["allocation_rule"]]


class EligibilityForm(forms.Form):
    minimum_age = forms.IntegerField(label=_("Minimum age"), min_value=0, max_value=120, initial=14)
    age_on = forms.DateField(
        label=_("Age counted on"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty to count age on the day voting closes."),
    )
    allow_live_work_study = forms.BooleanField(label=_("People who work or study here may vote too"), required=False)
    allow_ballot_change = forms.BooleanField(
        label=_("Voters may change their ballot until voting closes"),
        required=False,
        help_text=_(
            "Off by default. A new ballot then replaces the voter's earlier one, which is kept out of "
            "the count; the link between them is erased when voting closes."
        ),
    )

    @classmethod
    def initial_from(cls, eligibility) -> dict:
        return {name: getattr(eligibility, name) for name in cls.base_fields}


class AccessCodeBatchForm(forms.Form):
    """Officials make a batch of printed codes for one district."""

    district = forms.ChoiceField(label=_("District"))
    count = forms.IntegerField(label=_("How many codes"), min_value=1, max_value=20000, initial=100)
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        max_value=365,
        initial=30,
        help_text=_("Codes expire after this many days (and cannot be used once voting closes)."),
    )

    def __init__(self, *args, districts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(str(d.pk), f"{d.code} · {d.name}") for d in districts]
