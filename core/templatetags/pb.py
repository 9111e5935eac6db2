from django import template

from core import times
from core.money import format_money

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


@register.filter(is_safe=True)
def single_stop(text):
    """``{% filter single_stop %}{% blocktranslate %}Closes {{ when }}.{% endblocktranslate %}{% endfilter %}``:
    one full stop after a time that ends with its own ("8 p.m.")."""
    return times.single_stop(str(text))
