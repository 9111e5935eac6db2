"""Template helpers for the staff pages that link into the vetting workspace."""

from django import template

from proposals import permissions
from proposals.permissions import Action

register = template.Library()


@register.simple_tag(takes_context=True)
def vetting_can(context, action: str, cycle=None) -> bool:
    """``{% vetting_can "paper_idea_enter" cycle as can_paper %}``: ``proposals.permissions.can``
    for the request's user (role, TOTP and the cycle's phase)."""
    request = context.get("request")
    return request is not None and permissions.can(request.user, Action(action), cycle)
