"""Forms of the officials' review pages: accept or reject a provisional ballot, decide on a group of
possible duplicates. They parse; the services in ``voting.services.review`` decide (a missing reason, a
missing decision: their messages come back as form errors)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from budgets.forms import audit_note_field

from ..models import DuplicateReview
from ..services.review import MAX_TEXT


class ProvisionalAcceptForm(forms.Form):
    note = audit_note_field(max_length=MAX_TEXT)


class ProvisionalRejectForm(forms.Form):
    # Not required here: the service says what is missing, with the same message for the API.
    reason = forms.CharField(
        label=_("Reason for rejecting"),
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "Required. Kept in the audit log and with the voided ballot in the vote record: do not write the "
            "voter's name or other personal details."
        ),
    )


class DuplicateReviewForm(forms.Form):
    group = forms.CharField(widget=forms.HiddenInput)
    decision = forms.ChoiceField(
        label=_("Decision"),
        required=False,
        choices=DuplicateReview.Decision.choices,
        widget=forms.RadioSelect,
    )
    note = audit_note_field(max_length=MAX_TEXT)
