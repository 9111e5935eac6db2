"""Template helpers for idea and project pages."""

from django import template

from budgets.phases import Capability

register = template.Library()


@register.filter
def allows(cycle, capability: str) -> bool:
    """``{% if cycle|allows:"submit_ideas" %}``: what the cycle's phase allows (never a phase string)."""
    return cycle.allows(Capability(capability))
