"""Forms of the officials' tally page. They parse; the services in ``allocation.services`` and
``allocation.services.lottery`` decide (a missing reason or draw: their messages come back as form errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.forms import audit_note_field
from budgets.models import TieBreak

REASON_MAX = 2000


class TallyRunForm(forms.Form):
    rules = forms.ChoiceField(
        label=_("Rules to run"),
        choices=[
            ("compare", _("All three rules, to compare them side by side (a dry run)")),
            ("declared", _("Only each district's declared rule")),
        ],
        initial="compare",
        widget=forms.RadioSelect,
    )


class CertifyForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I have checked each district's outcome with its declared rule, and I certify these results."),
        error_messages={"required": _("Tick the box to confirm the results you certify.")},
    )
    reason = audit_note_field(max_length=REASON_MAX)


class WithdrawForm(forms.Form):
    # Not required here: the service says what is missing, with the same message for every caller.
    reason = forms.CharField(
        label=_("Why the project cannot be built"),
        required=False,
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required. Shown publicly with the revised result, and kept in the audit log."),
    )


class TieBreakForm(forms.Form):
    tie_break = forms.ChoiceField(label=_("Ties between projects"), choices=TieBreak.choices, widget=forms.RadioSelect)
    reason = audit_note_field(max_length=REASON_MAX, widget=forms.TextInput)


class LotteryDrawForm(forms.Form):
    seed = forms.CharField(
        label=_("The draw"),
        required=False,
        max_length=400,
        help_text=_(
            "What was drawn in public, exactly as announced, e.g. “07 19 23 31 42”. It cannot be changed later."
        ),
    )
