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
