"""Forms of the vetting workspace. They parse and present; the services decide what is valid
(their errors come back as form errors), so HTML and API give the same answers."""

from django import forms
from django.conf import settings
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from core.languages import language_name
from core.money import format_money

from ..models import ADDRESS_MAX, DESCRIPTION_MAX, TITLE_MAX, Idea, Review
from ..services import IdeaInput, ProjectTextInput

IMAGE_ACCEPT = "image/jpeg,image/png,image/webp"


def _district_choices(cycle) -> list[tuple[str, str]]:
    return [(str(d.pk), f"{d.code} · {d.name}") for d in cycle.districts.all()]


def _category_choices(categories) -> list[tuple[str, str]]:
    return [("", _("No category"))] + [(str(c.pk), c.localized_name) for c in categories]


def _amount_field(label, *, required=False, help_text=""):
    # Text, not a number field: the service parses "25,000" or "$25,000" and gives the message.
    return forms.CharField(
        label=label,
        required=required,
        max_length=32,
        help_text=help_text,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )


class QueueFilterForm(forms.Form):
    """The queue's filters (GET). Unknown values are ignored rather than refused."""

    district = forms.ChoiceField(label=_("District"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    reviewer = forms.ChoiceField(label=_("Reviewer"), required=False)
    q = forms.CharField(label=_("Search"), required=False, max_length=200)

    def __init__(self, *args, cycle, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("All districts"))] + [
            (d.code, f"{d.code} · {d.name}") for d in cycle.districts.all()
        ]
        self.fields["status"].choices = [("", _("Any status"))] + list(Idea.Status.choices)
        self.fields["reviewer"].choices = [("", _("Anyone or no one")), ("none", _("Not assigned"))] + [
            (str(u.pk), str(u)) for u in reviewers
        ]

    def filters(self) -> dict:
        """The valid filters; a bad value in one field drops that filter only."""
        if not self.is_bound:
            return {name: "" for name in self.fields}
        self.is_valid()  # cleaned_data keeps the fields that passed
        return {name: self.cleaned_data.get(name) or "" for name in self.fields}


class AssignReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(
        label=_("Reviewer"), queryset=None, required=False, empty_label=_("Nobody (unassign)")
    )

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers


class ReviewForm(forms.Form):
    feasibility = forms.ChoiceField(label=_("Feasibility"), choices=Review.Feasibility.choices, required=False)
    public_reason = forms.CharField(
        label=_("Public reason"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Shown to residents when the decision is published. Required for “not feasible”."),
    )
    cost_estimate = _amount_field(_("Cost estimate"), help_text=_("In the cycle's currency, e.g. 25000."))
    department = forms.CharField(label=_("Responsible department"), required=False, max_length=120)
    internal_notes = forms.CharField(
        label=_("Internal notes"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Staff only: never shown to residents."),
    )

    @classmethod
    def initial_from(cls, review) -> dict:
        if review is None:
            return {}
        return {
            "feasibility": review.feasibility,
            "public_reason": review.public_reason,
            "cost_estimate": "" if review.cost_estimate is None else review.cost_estimate,
            "department": review.department,
            "internal_notes": review.internal_notes,
        }


class HideForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for hiding"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The author is told this reason."),
    )


class PaperIdeaForm(forms.Form):
    proposer_name = forms.CharField(label=_("Proposer's name"), max_length=150)
    proposer_contact = forms.CharField(
        label=_("Proposer's email or phone"),
        max_length=150,
        required=False,
        help_text=_("So staff can ask questions. Optional."),
    )
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX)
    description = forms.CharField(
        label=_("Description"), max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 6})
    )
    district = forms.ChoiceField(label=_("District"))
    category = forms.ChoiceField(label=_("Category"), required=False)
    address = forms.CharField(label=_("Address or place"), max_length=ADDRESS_MAX)
    latitude = forms.CharField(label=_("Latitude"), required=False, max_length=32)
    longitude = forms.CharField(label=_("Longitude"), required=False, max_length=32)
    cost_guess = _amount_field(_("Rough cost guess"), help_text=_("Optional."))
    language = forms.ChoiceField(label=_("Language the idea is written in"), choices=settings.LANGUAGES)
    photo = forms.FileField(
        label=_("Photo"),
        required=False,
        help_text=_("Optional. JPEG, PNG or WebP, up to 5 MB."),
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
    )

    def __init__(self, *args, cycle, categories, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("Choose a district"))] + _district_choices(cycle)
        self.fields["category"].choices = _category_choices(categories)

    def idea_input(self) -> IdeaInput:
        data = self.cleaned_data
        return IdeaInput(
            title=data["title"],
            description=data["description"],
            district=int(data["district"]),
            address=data["address"],
            category=int(data["category"]) if data.get("category") else None,
            latitude=data.get("latitude") or None,
            longitude=data.get("longitude") or None,
            cost_guess=data.get("cost_guess") or None,
            language=data["language"],
            photo=data.get("photo") or None,
        )


class IdeaIdsField(forms.MultipleChoiceField):
    """The cycle's ideas as choices; any whole number is accepted so that the service, not the
    form, says when an idea is not of this cycle (the same answer the API gives)."""

    default_error_messages = {"invalid_choice": _("Choose ideas from the list.")}

    def valid_value(self, value):
        return str(value).isdigit() and len(str(value)) <= 12

    def clean(self, value):
        return [int(v) for v in super().clean(value)]


class DecisionPublishForm(forms.Form):
    """The decisions chosen on the "decisions to publish" page (checkboxes named ``ideas``)."""

    ideas = IdeaIdsField(
        label=_("Decisions to publish"),
        required=True,
        error_messages={"required": _("Choose at least one decision to publish.")},
    )

    def __init__(self, *args, idea_choices, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ideas"].choices = idea_choices


class ProjectIdsField(IdeaIdsField):
    default_error_messages = {"invalid_choice": _("Choose projects from the list.")}


class ProjectPublishForm(forms.Form):
    """The draft projects ticked on the staff project list (checkboxes named ``projects``); any
    id passes here, so the service names what is wrong with each."""

    projects = ProjectIdsField(error_messages={"required": _("Choose at least one draft project to publish.")})


class ProjectForm(forms.Form):
    ideas = IdeaIdsField(
        label=_("Source ideas"),
        help_text=_(
            "Choose every idea this project comes from (several: they are merged). An idea already in "
            "a project may be chosen again (it is split). Hold Ctrl (Cmd on a Mac) to choose several."
        ),
        widget=forms.SelectMultiple(attrs={"size": 10}),
        error_messages={"required": _("Choose at least one idea.")},
    )
    code = forms.CharField(label=_("Public code"), max_length=16, help_text=_("Letters, digits and dashes, e.g. B-07."))
    district = forms.ChoiceField(label=_("District"))
    cost = _amount_field(_("Cost"), required=True, help_text=_("In the cycle's currency, e.g. 25000."))
    category = forms.ChoiceField(label=_("Category"), required=False)
    address = forms.CharField(label=_("Address or place"), required=False, max_length=ADDRESS_MAX)
    image = forms.FileField(
        label=_("Image"),
        required=False,
        help_text=_("Optional. JPEG, PNG or WebP, up to 5 MB."),
        widget=forms.FileInput(attrs={"accept": IMAGE_ACCEPT}),
    )

    def __init__(self, *args, cycle, categories, idea_choices=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["district"].choices = [("", _("Choose a district"))] + _district_choices(cycle)
        self.fields["category"].choices = _category_choices(categories)
        if idea_choices is None:
            del self.fields["ideas"]  # editing: the sources are fixed once the project exists
        else:
            self.fields["ideas"].choices = idea_choices

    def show_cost_guesses(self, guesses, currency: str) -> None:
        """Put the source ideas' own cost figures beside the cost field (in its help text, which
        the field's ``aria-describedby`` points to)."""
        if not guesses:
            return
        items = []
        for g in guesses:
            figures = []
            if g.guess is not None:
                figures.append(_("resident's guess %(amount)s") % {"amount": format_money(g.guess, currency)})
            if g.estimate is not None:
                figures.append(_("staff estimate %(amount)s") % {"amount": format_money(g.estimate, currency)})
            items.append((g.idea.pk, g.idea.title, "; ".join(figures) if figures else _("no figure")))
        self.fields["cost"].help_text = format_html(
            '{}<br>{}<ul class="cost-guesses">{}</ul>',
            self.fields["cost"].help_text,
            _("The ideas' own figures:"),
            format_html_join("", "<li>#{} {}: {}</li>", items),
        )

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {
            "district": int(data["district"]),
            "code": data["code"],
            "cost": data["cost"],
            "category": int(data["category"]) if data.get("category") else None,
            "address": data.get("address") or "",
            "image": data.get("image") or None,
        }
        if "ideas" in self.fields:
            kwargs["ideas"] = data["ideas"]
        return kwargs

    @classmethod
    def initial_from(cls, project) -> dict:
        return {
            "code": project.code,
            "district": str(project.district_id),
            "cost": project.cost,
            "category": str(project.category_id) if project.category_id else "",
            "address": project.address,
        }


class ProjectTextForm(forms.Form):
    """A project's text in one language (one form per language, prefixed by its code)."""

    title = forms.CharField(label=_("Title"), required=False, max_length=TITLE_MAX)
    summary = forms.CharField(
        label=_("Summary"), required=False, max_length=300, help_text=_("One or two sentences for the ballot.")
    )
    description = forms.CharField(
        label=_("Description"), required=False, max_length=DESCRIPTION_MAX, widget=forms.Textarea(attrs={"rows": 5})
    )

    def __init__(self, *args, language: str, language_name, main_name=None, **kwargs):
        super().__init__(*args, prefix=f"text-{language}", **kwargs)
        self.language = language
        self.language_name = language_name
        self.main_name = main_name  # set for an optional language: the one its readers fall back to
        for field in self.fields.values():
            field.widget.attrs["lang"] = language  # the text typed here is in that language

    def text_input(self) -> ProjectTextInput:
        data = self.cleaned_data
        return ProjectTextInput(
            title=data.get("title") or "", summary=data.get("summary") or "", description=data.get("description") or ""
        )


def project_text_forms(data=None, *, cycle, project=None, initial_texts=None) -> dict[str, ProjectTextForm]:
    """One text form per language of the cycle (the site's plus its own), filled from ``project``
    or else from ``initial_texts`` (language → title, summary, description). The first, the main
    language, is required; the others are optional."""
    existing = {t.language: t for t in project.texts.all()} if project is not None else {}
    text_forms = {}
    languages = [(code, language_name(code, name)) for code, name in cycle.content_languages()]
    main_name = languages[0][1]
    for index, (code, name) in enumerate(languages):
        text = existing.get(code)
        initial = {"title": text.title, "summary": text.summary, "description": text.description} if text else None
        if initial is None and initial_texts:
            initial = initial_texts.get(code)
        text_forms[code] = ProjectTextForm(
            data, language=code, language_name=name, main_name=main_name if index else None, initial=initial
        )
    return text_forms


class CategoryForm(forms.Form):
    """A category's name, plus one field per other language (e.g. ``name_es``)."""

    name = forms.CharField(label=_("Name (English)"), max_length=80)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = settings.LANGUAGE_CODE.split("-")[0]
        for code, name in settings.LANGUAGES:
            if code != default:
                self.fields[f"name_{code}"] = forms.CharField(
                    label=_("Name (%(language)s)") % {"language": language_name(code, name)},
                    max_length=80,
                    required=False,
                )

    def translations(self) -> dict[str, str]:
        return {
            name.removeprefix("name_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("name_") and value
        }
