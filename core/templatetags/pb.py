from zoneinfo import ZoneInfo

from django import template
from django.utils import timezone

from core.money import format_money

register = template.Library()


@register.simple_tag
def money(amount, currency):
    """``{% money district.budget cycle.currency %}`` → "$50,000"."""
    if amount is None:
        return ""
    return format_money(amount, currency)


@register.filter
def in_zone(value, zone_name):
    """Show an aware datetime in the cycle's time zone."""
    if value is None:
        return None
    return timezone.localtime(value, ZoneInfo(zone_name))
