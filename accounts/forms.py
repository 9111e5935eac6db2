from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .roles import STAFF_ROLES
from .services import REASON_MAX_LENGTH


class PreferencesForm(forms.Form):
    notifications_enabled = forms.BooleanField(
        label=_("Send me updates by email"),
        required=False,
        help_text=_("News about your ideas and the projects you follow. Account emails are always sent."),
    )
    language = forms.ChoiceField(
        label=_("Preferred language"),
        choices=settings.LANGUAGES,
        help_text=_("For the emails we send you and for this site."),
    )


class NameForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_(
            "Your first and last name, as you would give them at a voting site. With your date of birth "
            "and address it makes sure each person votes once, however they vote. It is never shown to "
            "other people and never linked to your choices."
        ),
        error_messages={"required": _("Enter your full name.")},
    )


def _staff_role_choices():
    return [(role.value, role.label) for role in STAFF_ROLES]


class RoleGrantForm(forms.Form):
    email = forms.EmailField(label=_("Email address of the account"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=_staff_role_choices)
    reason = forms.CharField(
        label=_("Reason"),
        max_length=REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Why this person gets the role (kept in the audit log)."),
    )


class RoleRevokeForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput, max_length=254)
    role = forms.ChoiceField(choices=_staff_role_choices, widget=forms.HiddenInput)
    reason = forms.CharField(
        label=_("Reason for removing"),
        max_length=REASON_MAX_LENGTH,
        help_text=_("Kept in the audit log."),
    )
