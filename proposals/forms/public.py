"""Residents' forms. They parse and present; the services decide what is valid (their errors come
back as form errors through ``core.views_mixins.service_call``), so HTML and API give the same
answers. Length limits appear as ``maxlength`` attributes for the browser, but are checked by the
services."""

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from .. import services
from ..models import ADDRESS_MAX, COMMENT_MAX, DESCRIPTION_MAX, TITLE_MAX, Idea

SORT_CHOICES = [
    ("newest", _("Newest first")),
    ("oldest", _("Oldest first")),
    ("endorsements", _("Most endorsed")),
    ("title", _("Title (A–Z)")),
]


class ServiceChoiceField(forms.ChoiceField):
    """A select whose value the service checks (membership in the cycle), not the form.

    ``coerce=int`` turns the value into a primary key; a value that is not one gets
    ``invalid_message``, the service's own wording."""

    def __init__(self, *, coerce=str, invalid_message="", **kwargs):
        self.coerce = coerce
        self.invalid_message = invalid_message
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        if value in self.empty_values:
            return None
        try:
            return self.coerce(value)
        except (TypeError, ValueError) as exc:
            raise forms.ValidationError(self.invalid_message, code="invalid") from exc

    def validate(self, value):
        if self.required and value in self.empty_values:
            raise forms.ValidationError(self.error_messages["required"], code="required")


def active_language() -> str:
    codes = [code for code, _name in settings.LANGUAGES]
    language = (translation.get_language() or codes[0]).split("-")[0]
    return language if language in codes else codes[0]


class IdeaForm(forms.Form):
    # Required fields are checked by the service (all errors in one answer); the attribute tells
    # browsers and assistive technology.
    title = forms.CharField(
        label=_("Title"),
        required=False,
        help_text=_("A short name for your idea, e.g. “Benches along Grove Street”."),
        widget=forms.TextInput(attrs={"maxlength": TITLE_MAX, "required": True}),
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        help_text=_("What should be built or improved, and why? Who would it help?"),
        widget=forms.Textarea(attrs={"rows": 6, "maxlength": DESCRIPTION_MAX, "required": True}),
    )
    district = ServiceChoiceField(
        label=_("District"),
        required=False,
        coerce=int,
        invalid_message=services.MSG_WRONG_DISTRICT,
        choices=(),
        widget=forms.Select(attrs={"required": True}),
    )
    category = ServiceChoiceField(
        label=_("Category"), required=False, coerce=int, invalid_message=services.MSG_WRONG_CATEGORY, choices=()
    )
    address = forms.CharField(
        label=_("Address or place"),
        required=False,
        help_text=_("A street address, a corner or the name of a park or building."),
        widget=forms.TextInput(attrs={"maxlength": ADDRESS_MAX, "autocomplete": "off", "required": True}),
    )
    latitude = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-map-lat": ""}))
    longitude = forms.CharField(required=False, widget=forms.HiddenInput(attrs={"data-map-lng": ""}))
    cost_guess = forms.CharField(
        label=_("Rough cost guess (optional)"),
        required=False,
        help_text=_("In the cycle's currency, if you have an idea, e.g. 25000. Staff will estimate the real cost."),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 14}),
    )
    language = ServiceChoiceField(
        label=_("Language of your idea"), choices=settings.LANGUAGES, invalid_message=services.MSG_BAD_LANGUAGE
    )
    photo = forms.FileField(
        label=_("Photo (optional)"),
        required=False,
        help_text=_("A JPEG, PNG or WebP photo of up to 5 MB. Location and camera data are removed."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )

    def __init__(self, *args, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.cycle = cycle
        self.fields["district"].choices = [("", _("Choose your district"))] + [
            (d.pk, f"{d.name} ({d.code})") for d in cycle.districts.all()
        ]
        self.fields["category"].choices = [("", _("No category"))] + [
            (c.pk, c.localized_name) for c in cycle.categories.order_by("name", "id")
        ]
        self.fields["language"].initial = active_language()

    @classmethod
    def initial_from(cls, idea: Idea) -> dict:
        return {
            "title": idea.title,
            "description": idea.description,
            "district": idea.district_id,
            "category": idea.category_id or "",
            "address": idea.address,
            "latitude": "" if idea.latitude is None else idea.latitude,
            "longitude": "" if idea.longitude is None else idea.longitude,
            "cost_guess": "" if idea.cost_guess is None else idea.cost_guess,
            "language": idea.language,
        }

    def idea_input(self) -> services.IdeaInput:
        data = self.cleaned_data
        return services.IdeaInput(
            title=data.get("title") or "",
            description=data.get("description") or "",
            district=data.get("district"),
            category=data.get("category"),
            address=data.get("address") or "",
            latitude=data.get("latitude") or None,
            longitude=data.get("longitude") or None,
            cost_guess=data.get("cost_guess") or None,
            language=data.get("language") or active_language(),
            photo=data.get("photo") or None,
        )


class IdeaFilterForm(forms.Form):
    """The list's GET form. Values that do not validate are ignored (the list shows everything)."""

    q = forms.CharField(
        label=_("Search"), required=False, max_length=200, widget=forms.TextInput(attrs={"type": "search"})
    )
    district = forms.ChoiceField(label=_("District"), required=False, choices=())
    category = forms.ChoiceField(label=_("Category"), required=False, choices=())
    status = forms.ChoiceField(label=_("Status"), required=False, choices=())
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)

    def __init__(self, *args, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("All districts"))] + [
            (d.code, f"{d.name} ({d.code})") for d in cycle.districts.all()
        ]
        self.fields["category"].choices = [("", _("All categories"))] + [
            (c.slug, c.localized_name) for c in cycle.categories.order_by("name", "id")
        ]
        self.fields["status"].choices = [("", _("Any status"))] + [
            (value, label) for value, label in Idea.Status.choices if value != Idea.Status.WITHDRAWN
        ]

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or "" for name in ("q", "district", "category", "status")} | {
            "sort": data.get("sort") or "newest"
        }


class ProjectFilterForm(forms.Form):
    district = forms.ChoiceField(label=_("District"), required=False, choices=())

    def __init__(self, *args, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("All districts"))] + [
            (d.code, f"{d.name} ({d.code})") for d in cycle.districts.all()
        ]

    def district_code(self) -> str:
        self.is_valid()
        return getattr(self, "cleaned_data", {}).get("district") or ""


class CommentForm(forms.Form):
    body = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 4, "maxlength": COMMENT_MAX}))


class ReportForm(forms.Form):
    reason = forms.CharField(label=_("What is wrong?"), widget=forms.Textarea(attrs={"rows": 3, "maxlength": 1000}))


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("Why are you withdrawing it? (optional, shown publicly)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "maxlength": 500}),
    )
