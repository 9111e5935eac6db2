"""Template helpers for idea and project pages."""

from django import template

from budgets.phases import Capability
from proposals import permissions

register = template.Library()


@register.filter
def allows(cycle, capability: str) -> bool:
    """``{% if cycle|allows:"submit_ideas" %}``: what the cycle's phase allows (never a phase string)."""
    return cycle.allows(Capability(capability))


@register.filter
def read_only(user) -> bool:
    """``{% if not user|read_only %}``: an auditor, offered no resident action."""
    return permissions.read_only(user)
