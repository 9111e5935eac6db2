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
