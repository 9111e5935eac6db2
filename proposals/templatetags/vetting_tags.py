"""Template helpers for the staff pages that link into the vetting workspace."""

from django import template

from proposals import permissions, selectors
from proposals.permissions import Action

register = template.Library()


@register.simple_tag(takes_context=True)
def vetting_can(context, action: str, cycle=None) -> bool:
    """``{% vetting_can "paper_idea_enter" cycle as can_paper %}``: ``proposals.permissions.can``
    for the request's user (role, TOTP and the cycle's phase)."""
    request = context.get("request")
    return request is not None and permissions.can(request.user, Action(action), cycle)


@register.simple_tag(takes_context=True)
def updatable_projects(context, cycle) -> list:
    """``{% updatable_projects cycle as projects %}``: the funded projects the request's user may
    post implementation updates on now (none outside implementation or for other roles)."""
    request = context.get("request")
    if request is None or not permissions.can(request.user, Action.POST_UPDATE, cycle):
        return []
    return selectors.funded_projects(cycle)
