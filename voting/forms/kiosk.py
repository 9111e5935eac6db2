"""Forms for voting sites and kiosks. They parse and present; ``voting.services.kiosk`` and
``voting.sites`` decide (their messages come back as form errors)."""

from django import forms
from django.conf import settings
from django.core.validators import RegexValidator
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from budgets.models import District

from .ballot import VoterForm


class VotingSiteForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("E.g. City Hall, Public Library."))
    address = forms.CharField(label=_("Address"), max_length=300, required=False)


def pin_field(**kwargs) -> forms.CharField:
    return forms.CharField(
        min_length=4,
        max_length=8,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
        validators=[RegexValidator(r"^[0-9]+$", _("Use digits only."))],
        **kwargs,
    )


class KioskOpenForm(forms.Form):
    site = forms.TypedChoiceField(label=_("Voting site"), coerce=int, empty_value=None)
    pin = pin_field(
        label=_("Kiosk PIN"),
        help_text=_(
            "4 to 8 digits that only you know. You enter it to check each voter in and to close the "
            "kiosk: without it, a voter cannot leave the kiosk's pages."
        ),
    )

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [(site.pk, self.label(site)) for site in sites]

    @staticmethod
    def label(site) -> str:
        label = f"{site.name} — {site.address}" if site.address else site.name
        return label if site.active else _("%(site)s (closed)") % {"site": label}


class CheckInForm(forms.Form):
    """What the volunteer asks and sees at check-in."""

    pin = pin_field(label=_("Kiosk PIN (volunteer)"))

    name = forms.CharField(label=_("Full name"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date", "autocomplete": "off"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter the date of birth as year-month-day, e.g. 1990-04-30.")},
    )
    address = forms.CharField(
        label=_("Home address"), max_length=300, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
    district = forms.TypedChoiceField(
        label=_("Ballot"),
        coerce=int,
        empty_value=None,
        help_text=_("The ward the voter lives in, or the citywide ballot. One ballot per check-in."),
    )
    language = forms.ChoiceField(label=_("Language of the ballot"))
    eligibility_confirmed = forms.BooleanField(
        label=_("I saw proof of the voter's age and home address"),
        required=False,
        help_text=_("If not, the voter can still vote: the ballot is provisional until officials check it."),
    )
    note = forms.CharField(
        label=_("Note for the officials (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Only for a provisional ballot: why eligibility could not be confirmed."),
    )

    def __init__(self, *args, districts, languages=None, **kwargs):
        """``languages``: the cycle's (``Cycle.content_languages``), each named in itself so the voter
        recognises theirs; default: the site's."""
        super().__init__(*args, **kwargs)
        wards = [(d.pk, d.name) for d in districts if d.kind == District.Kind.WARD]
        citywide = [(d.pk, d.name) for d in districts if d.kind == District.Kind.CITYWIDE]
        choices = [("", _("Choose a ballot"))]
        if citywide:
            choices += [(_("Wards"), wards), (_("Citywide"), citywide)]
        else:
            choices += wards
        self.fields["district"].choices = choices
        self.fields["language"].choices = [
            (code, language_name_local(code, name)) for code, name in (languages or settings.LANGUAGES)
        ]
        # The volunteer's own page language when the cycle has it (a Spanish page: a Spanish ballot).
        codes = [code for code, _name in self.fields["language"].choices]
        active = (translation.get_language() or "").split("-")[0]
        site = (settings.LANGUAGE_CODE or "en").split("-")[0]
        self.fields["language"].initial = active if active in codes else site


def language_name_local(code: str, name) -> str:
    """ "Español (Spanish)": the name a speaker knows, then the volunteer's."""
    try:
        local = translation.get_language_info(code)["name_local"]
    except KeyError:
        return str(name)
    local, translated = local[:1].upper() + local[1:], translation.gettext(str(name))
    return local if local.casefold() == translated.casefold() else f"{local} ({translated})"


class KioskVoterForm(VoterForm):
    """The ballot page's "About you" for a voter checked in at a kiosk: name, date of birth and
    address as the volunteer entered them, shown read-only (a posted value is ignored), and the
    attestation."""

    def __init__(self, *args, checked_in, **kwargs):
        super().__init__(*args, **kwargs)
        self.initial = {
            **self.initial,
            "name": checked_in.name,
            "date_of_birth": checked_in.date_of_birth,
            "address": checked_in.address,
        }
        for name in ("name", "date_of_birth", "address"):
            self.fields[name].disabled = True
            self.fields[name].help_text = _("As entered at check-in. If it is wrong, ask the volunteer.")


class KioskCloseForm(forms.Form):
    pin = pin_field(label=_("Kiosk PIN"))
