"""Forms for paper ballots. They parse what was typed; ``voting.services.paper`` decides what a sheet says
(keying error, invalid sheet or valid sheet), so its messages come back as form errors.

A sheet's marks use the ballot page's field names (``project``, ``rank-<code>``,
``points-<code>``: ``voting.forms.ballot.ballot_choices`` reads them), so the keying form looks like the
ballot a voter fills in online."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .. import methods
from ..services.paper import MAX_ISSUED, MSG_NOT_WHOLE, MSG_UNREADABLE_AND_MARKS, SheetMarks
from .ballot import ballot_choices

MSG_REASON_NEEDED = _("Say why the sheet cannot be counted.")


def _number(label, *, min_value=0, max_value=MAX_ISSUED, **kwargs):
    return forms.IntegerField(
        label=label,
        min_value=min_value,
        max_value=max_value,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        **kwargs,
    )


class PaperBatchForm(forms.Form):
    district = forms.ChoiceField(label=_("District (ballot)"))
    site = forms.ChoiceField(label=_("Voting site"))
    label = forms.CharField(
        label=_("Batch label"), max_length=60, help_text=_("As written on the ballot box or envelope, e.g. “Box 3”.")
    )
    voted_on = forms.DateField(
        label=_("Voting day"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a date, e.g. 2026-05-12.")},
    )
    issued = _number(_("Ballots issued"), min_value=1, help_text=_("How many paper ballots were handed out."))
    spoiled = _number(
        _("Ballots spoiled"), initial=0, help_text=_("Ballots a voter spoiled and swapped for a new one, kept aside.")
    )

    def __init__(self, *args, districts, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(str(d.pk), f"{d.code} · {d.name}") for d in districts]
        self.fields["site"].choices = [(str(s.pk), s.name) for s in sites]


class PaperCountsForm(forms.Form):
    issued = _number(_("Ballots issued"), min_value=1)
    spoiled = _number(_("Ballots spoiled"))
    reason = forms.CharField(label=_("Reason for the correction"), max_length=500)


class _SheetForm(forms.Form):
    """The part of a sheet that is not its marks: cannot be counted, and why."""

    unreadable = forms.BooleanField(
        label=_("This sheet cannot be counted (unreadable, or the voter's intent is unclear)"), required=False
    )
    reason = forms.CharField(
        label=_("Why it cannot be counted"),
        max_length=300,
        required=False,
        help_text=_("Only when the box above is ticked, e.g. “torn”, “two marks crossed out”."),
    )

    def __init__(self, *args, method: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.method = methods.Method(method)
        self.keying_errors: list[str] = []

    def typed(self):
        """The marks as typed (a ``BallotChoices``), to show a bound form again; None if unbound."""
        return ballot_choices(self.data, self.method) if self.is_bound else None

    def clean(self):
        data = super().clean()
        if data.get("unreadable") and not (data.get("reason") or "").strip():
            self.add_error("reason", MSG_REASON_NEEDED)
        return data

    def marks(self) -> SheetMarks:
        """The marks as typed (``is_valid`` first); a value that is not a whole number is a keying
        error (in ``keying_errors``), never a mark."""
        choices = ballot_choices(self.data, self.method)
        if self.cleaned_data.get("unreadable"):
            if choices.picks or choices.ranks or choices.points:
                self.keying_errors.append(MSG_UNREADABLE_AND_MARKS)
            return SheetMarks(unreadable=self.cleaned_data["reason"])
        raw = choices.ranks if self.method == methods.Method.RANKED else choices.points
        numbers, wrong = {}, []
        for code, value in raw.items():
            try:
                numbers[code] = int(value)
            except ValueError:
                wrong.append(code)
        if wrong:
            self.keying_errors.append(MSG_NOT_WHOLE % {"codes": ", ".join(wrong)})
        if self.method == methods.Method.RANKED:
            return SheetMarks(ranks=numbers)
        if self.method == methods.Method.CUMULATIVE:
            return SheetMarks(points=numbers)
        return SheetMarks(picks=choices.picks)


class SheetForm(_SheetForm):
    """One volunteer keys one sheet."""

    sheet = forms.IntegerField(
        label=_("Sheet number"),
        min_value=1,
        max_value=MAX_ISSUED,
        help_text=_("The number written in the sheet-number box."),
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    field_order = ["sheet", "unreadable", "reason"]


class ResolveForm(_SheetForm):
    """An official records what a disputed sheet says."""

    note = forms.CharField(
        label=_("Note"), max_length=500, required=False, help_text=_("What you saw on the sheet, if it helps.")
    )
