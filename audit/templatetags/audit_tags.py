from django import template

from audit.permissions import public_record_exists

register = template.Library()


@register.filter
def has_public_record(cycle) -> bool:
    """Whether the cycle's public record (the audit bundle for everyone) is published."""
    return public_record_exists(cycle)
