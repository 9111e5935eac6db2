"""Officials' forms. They parse and present; the services decide what is valid (their errors
come back as form errors), so HTML and API give the same answers."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django import forms
from django.utils.html import escape
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.times import AmbiguousTime, NonexistentTime, aware_from_wall_clock, zone_name

from .models import TIME_ZONE_CHOICES, District
from .phases import SCHEDULE_FIELDS, Capability
from .services import (
    FIELD_CAPABILITY,
    MSG_BAD_BUDGET,
    MSG_DISTRICT_REMOVE_CLOSED,
    DistrictInput,
    cycle_edit_version,
    district_frozen_reason,
    field_frozen_reason,
)

_INPUT_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def in_cycle_zone(value: datetime, zone) -> datetime:
    """The typed wall-clock time as a moment in ``zone``; a time the clocks skip or repeat that
    night is refused with a message naming the zone."""
    try:
        return aware_from_wall_clock(value, zone)
    except NonexistentTime:
        message = gettext("This time does not exist in %(zone)s: the clocks change that night. Choose another time.")
        raise forms.ValidationError(message % {"zone": zone_name(zone, at=value)}, code="nonexistent_time") from None
    except AmbiguousTime:
        message = gettext(
            "This time happens twice in %(zone)s: the clocks go back that night. "
            "Choose a time outside the repeated hour."
        )
        raise forms.ValidationError(message % {"zone": zone_name(zone, at=value)}, code="ambiguous_time") from None


class LocalDateTimeField(forms.Field):
    """A wall-clock date and time, without a zone: the form applies the cycle's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    default_error_messages = {"invalid": _("Enter a date and time, e.g. 2026-09-01 09:00.")}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        for fmt in _INPUT_FORMATS:
            try:
                return datetime.strptime(str(value).strip(), fmt)
            except ValueError:
                continue
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")


class CycleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    slug = forms.SlugField(
        label=_("Short name for links"), max_length=80, help_text=_("Letters, digits and hyphens, e.g. jc-2026.")
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES, initial="America/New_York")
    currency = forms.CharField(
        label=_("Currency"), max_length=3, min_length=3, initial="USD", help_text=_("ISO 4217 code, e.g. USD.")
    )
    ideas_per_resident = forms.IntegerField(
        label=_("Ideas per resident"),
        min_value=1,
        max_value=1000,
        initial=10,
        help_text=_("How many ideas one resident may submit in this cycle."),
    )
    extra_languages = forms.CharField(
        label=_("More languages for project texts"),
        required=False,
        max_length=200,
        help_text=_("Optional language codes beyond English and Spanish, separated by commas, e.g. zh-hans, ar."),
    )
    ideas_open_at = LocalDateTimeField(label=_("Ideas open"), required=False)
    vetting_open_at = LocalDateTimeField(label=_("Vetting starts"), required=False)
    voting_open_at = LocalDateTimeField(label=_("Voting opens"), required=False)
    voting_close_at = LocalDateTimeField(label=_("Voting closes"), required=False)

    def clean_extra_languages(self):
        return [code.strip().lower() for code in self.cleaned_data["extra_languages"].split(",") if code.strip()]

    def clean_currency(self):
        return self.cleaned_data["currency"].upper()

    def clean(self):
        data = super().clean()
        zone = data.get("time_zone")
        if zone:
            for field in SCHEDULE_FIELDS:
                if data.get(field) is not None and not self.fields[field].disabled:
                    try:
                        data[field] = in_cycle_zone(data[field], zone)
                    except forms.ValidationError as error:
                        self.add_error(field, error)
        return data

    @classmethod
    def initial_from(cls, cycle) -> dict:
        zone = ZoneInfo(cycle.time_zone)
        initial = {
            f: getattr(cycle, f) for f in ("name", "slug", "description", "time_zone", "currency", "ideas_per_resident")
        }
        for field in SCHEDULE_FIELDS:
            value = getattr(cycle, field)
            initial[field] = value.astimezone(zone).replace(tzinfo=None) if value else None
        initial["extra_languages"] = ", ".join(cycle.extra_languages)
        return initial


def _frozen(field: forms.Field, why) -> None:
    """Show the field, but not for input: the service would refuse a change, and says why."""
    field.disabled = True
    field.help_text = escape(str(why))  # help texts are not escaped when rendered


class CycleEditForm(CycleForm):
    """Editing a cycle: in draft everything; once it is under way, the fields the phase has frozen
    are shown disabled, each with the reason (``budgets.services``). A moved date needs a reason."""

    reason = forms.CharField(
        label=_("Reason for moving a date"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when a date moves once ideas are open; kept in the audit log with the old and new time."),
    )

    # What the page was loaded from: a save from a page older than the cycle's last change is refused.
    version = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, cycle, **kwargs):
        kwargs.setdefault("initial", CycleForm.initial_from(cycle) | {"version": cycle_edit_version(cycle)})
        super().__init__(*args, **kwargs)
        self.cycle = cycle
        self.frozen: list[str] = []
        for name in FIELD_CAPABILITY:
            if why := field_frozen_reason(cycle, name):
                _frozen(self.fields[name], why)
                self.frozen.append(name)
        if all(name in self.frozen for name in SCHEDULE_FIELDS) or cycle.allows(Capability.CONFIGURE):
            del self.fields["reason"]  # nothing to move, or a draft: nothing public yet

    def changes(self) -> dict:
        """The cleaned values of the fields that may change (the frozen ones keep the cycle's)."""
        data = self.cleaned_data
        changes = {name: data[name] for name in FIELD_CAPABILITY if name not in self.frozen and name in data}
        for name in SCHEDULE_FIELDS:
            current = getattr(self.cycle, name)
            # The page shows minutes: a date sent back as shown has not moved (its seconds stay).
            if name in changes and current and changes[name] == current.replace(second=0, microsecond=0):
                changes[name] = current
        return changes


class DistrictForm(forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    code = forms.CharField(label=_("Code"), max_length=16, required=False)
    name = forms.CharField(label=_("Name"), max_length=120, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=District.Kind.choices, initial=District.Kind.WARD)
    budget = forms.DecimalField(
        label=_("Budget"),
        max_digits=14,
        decimal_places=2,
        required=False,
        error_messages={"invalid": MSG_BAD_BUDGET},  # the service's wording, as the API gives it
    )

    def is_blank(self) -> bool:
        """Nothing typed in it — or a new row the page offered (a code and a name) left as it was."""
        data = getattr(self, "cleaned_data", {}) or {}
        if self.initial and not data.get("id") and not self.has_changed():
            return True
        return not any(data.get(k) not in (None, "") for k in ("code", "name", "budget"))


class BaseDistrictFormSet(forms.BaseFormSet):
    def district_inputs(self) -> list[DistrictInput]:
        """Filled rows (blank ones skipped; a row with anything in it must be complete)."""
        rows = []
        for form in self.forms:
            if not form.is_valid() or form.is_blank() or (self.can_delete and form.cleaned_data.get("DELETE")):
                continue
            data = form.cleaned_data
            rows.append(
                DistrictInput(
                    id=data.get("id"),
                    code=data.get("code") or "",
                    name=data.get("name") or "",
                    kind=data.get("kind") or District.Kind.WARD,
                    budget=data["budget"] if data.get("budget") is not None else "",
                )
            )
        return rows

    def filled_forms(self) -> list[forms.Form]:
        return [
            f
            for f in self.forms
            if f.is_valid() and not f.is_blank() and not (self.can_delete and f.cleaned_data.get("DELETE"))
        ]


DistrictFormSet = forms.formset_factory(
    DistrictForm, formset=BaseDistrictFormSet, extra=2, can_delete=True, max_num=60, validate_max=True
)


def district_formset_for(cycle, data=None):
    """The cycle's districts as a formset; once the cycle is under way, what the phase has frozen is
    disabled with the reason, and blank rows for new districts are offered only while districts
    may be added."""
    initial = [
        {"id": d.pk, "code": d.code, "name": d.name, "kind": d.kind, "budget": d.budget} for d in cycle.districts.all()
    ]
    extra = 2 if cycle.allows(Capability.ADD_DISTRICT) else 0
    formset_class = forms.formset_factory(
        DistrictForm, formset=BaseDistrictFormSet, extra=extra, can_delete=True, max_num=60, validate_max=True
    )
    formset = formset_class(data, prefix="districts", initial=initial)
    for index, form in enumerate(formset.forms):
        if index >= len(initial):
            continue
        for name in ("code", "kind", "name", "budget"):
            if why := district_frozen_reason(cycle, name):
                _frozen(form.fields[name], why)
        if not cycle.allows(Capability.CONFIGURE):
            _frozen(form.fields["DELETE"], MSG_DISTRICT_REMOVE_CLOSED)
    return formset


def audit_note_field(*, max_length: int = 2000, widget=None) -> forms.CharField:
    """The optional note an official may add to a decision (certifying, accepting a provisional
    ballot, settling duplicates…): it goes into the audit event's reason."""
    return forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=max_length,
        widget=widget or forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit log."),
    )


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept in the audit log."),
    )


class TransitionForm(ReasonForm):
    target = forms.CharField(widget=forms.HiddenInput)


class ExtendVotingForm(ReasonForm):
    """The new closing time is typed in the cycle's zone (``cycle``) and cleaned to a moment."""

    voting_close_at = LocalDateTimeField(label=_("New closing time"))

    def __init__(self, *args, cycle, **kwargs):
        super().__init__(*args, **kwargs)
        self.cycle = cycle
        # The zone in words next to the field (and read with it by screen readers). Help texts are
        # not escaped when rendered: the whole text is escaped here.
        self.fields["voting_close_at"].help_text = escape(
            gettext("In the cycle's time zone: %(zone)s.") % {"zone": zone_name(cycle.time_zone)}
        )

    def clean_voting_close_at(self):
        return in_cycle_zone(self.cleaned_data["voting_close_at"], self.cycle.time_zone)
