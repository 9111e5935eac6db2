from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


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
    display_name = forms.CharField(
        label=_("Full name"),
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        help_text=_(
            "Your first and last name, as you would give them at a voting site. With your date of birth "
            "and address it makes sure each person votes once, however they vote; it is never linked to "
            "your choices."
        ),
        error_messages={"required": _("Enter your full name.")},
    )
