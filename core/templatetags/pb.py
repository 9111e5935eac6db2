import json

from django import template

from core import times
from core.money import format_money
from core.money import money_format as _money_format

register = template.Library()


@register.simple_tag
def money(amount, currency):
    """``{% money district.budget cycle.currency %}`` → "$50,000"."""
    if amount is None:
        return ""
    return format_money(amount, currency)


@register.filter
def when(value, where):
    """``{{ cycle.voting_close_at|when:cycle }}`` → "Jan. 31, 2027, 8 p.m. (Eastern Time)": the moment
    in the cycle's zone (``where``: a cycle or a zone name), in the active language, zone in words."""
    return times.format_datetime(value, where)


@register.filter
def when_day(value, where):
    """``{{ idea.created_at|when_day:cycle }}`` → "Jan. 31, 2027": the cycle's day of that moment."""
    return times.format_date(value, where)


@register.filter
def day(value):
    """``{{ voter.date_of_birth|day }}`` → "March 14, 1985" / "14 de marzo de 1985": a calendar date
    in the active language (keep ``|date:'Y-m-d'`` for a ``<time datetime>`` attribute)."""
    return times.format_day(value)


@register.filter
def zone_name(where):
    """``{{ cycle|zone_name }}`` → "Eastern Time"."""
    return times.zone_name(where)


@register.simple_tag
def money_format(currency):
    """``data-money="{% money_format cycle.currency %}"``: how ``money`` writes amounts in the
    active language, as JSON for a script (``core.money.money_format``)."""
    return json.dumps(_money_format(currency), ensure_ascii=False)


@register.simple_tag
def field_widget(field, form_errors_id=""):
    """``{% field_widget field "form-errors" %}``: the field's input, described by its help and its
    errors and marked invalid when it has any — and, when the form as a whole was refused (a failed
    log-in: "the email address and/or password are not correct"), by that message too."""
    described = [f"{field.auto_id}_helptext"] if field.help_text else []
    if field.errors:
        described.append(f"{field.auto_id}_error")
    # (Not a tick box such as "Remember me": it is not what was wrong.)
    whole_form = bool(form_errors_id and field.widget_type != "checkbox" and field.form.non_field_errors())
    if whole_form:
        described.append(form_errors_id)
    attrs = {}
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors or whole_form:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)


@register.filter(is_safe=True)
def single_stop(text):
    """``{% filter single_stop %}{% blocktranslate %}Closes {{ when }}.{% endblocktranslate %}{% endfilter %}``:
    one full stop after a time that ends with its own ("8 p.m.")."""
    return times.single_stop(str(text))


def _forms_in(value):
    """The forms in ``value``: a form, a formset (its forms), or a list or dict of either."""
    if value is None or value == "":
        return []
    if hasattr(value, "management_form"):  # a formset
        return [value, *value.forms]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [form for item in value for form in _forms_in(item)]
    return [value]


@register.simple_tag
def error_summary_entries(form, others=None):
    """``{% error_summary_entries form formset as entries %}``: every mistake on the page, each
    ``{"id": …, "text": …}`` linking to its own field's id — the form's, then those of ``others``
    (a formset's rows, a dict of sub-forms); a mistake about a whole form links to its first empty
    field, else its first.
    The same text for the same field is listed once."""
    entries, seen = [], set()

    def add(field_id, text):
        if (field_id, text) not in seen:
            seen.add((field_id, text))
            entries.append({"id": field_id, "text": text})

    for each in _forms_in(form) + _forms_in(others):
        if hasattr(each, "management_form"):  # the formset's own mistakes (too many rows, …)
            first = next((f for row in each.forms for f in row.visible_fields()), None)
            for error in each.non_form_errors():
                add(first.id_for_label if first else "", str(error))
            continue
        visible = each.visible_fields()
        # A mistake about the whole form ("the text in English is missing"): its first empty field.
        target = next((f for f in visible if f.value() in (None, "")), visible[0] if visible else None)
        for error in each.non_field_errors():
            add(target.id_for_label if target else "", str(error))
        for field in visible:
            for error in field.errors:
                add(field.id_for_label, f"{field.label}: {error}")
    return entries
