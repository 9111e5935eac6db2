"""Audit area forms: they parse and present; the services decide."""

from django import forms
from django.utils.translation import gettext_lazy as _

from .services import MSG_VOID_REASON


class ReceiptLookupForm(forms.Form):
    code = forms.CharField(
        label=_("Receipt code"),
        max_length=64,
        help_text=_("The code the voter was shown after voting, e.g. 7K2M-QX9D-4H8T-BN3R-W6YP."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )


class BallotVoidForm(forms.Form):
    district = forms.ChoiceField(label=_("District"))
    ballot_id = forms.CharField(
        label=_("Ballot id"),
        max_length=200,
        help_text=_("As in the ballot_id column of the auditor bundle's ballots.csv."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        help_text=_("Why this ballot must not be counted (e.g. a keying error found at reconciliation)."),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": MSG_VOID_REASON},
    )

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [(d.code, f"{d.name} ({d.code})") for d in districts]
