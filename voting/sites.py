"""Voting sites: the named places where volunteers run kiosks and collect paper ballots."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from budgets.models import Cycle
from budgets.phases import Capability
from core.errors import PhaseClosed, ValidationFailed
from core.services import audit_record

from .models import VotingSite
from .permissions import check_official

MSG_SITE_NAME = _("Give the site a name.")
MSG_SITE_TAKEN = _("This cycle already has a voting site with this name.")
MSG_SITES_CLOSED = _("The votes of this cycle have been counted: its voting sites can no longer change.")


def voting_sites_can_change(cycle: Cycle) -> bool:
    return cycle.allows(Capability.MANAGE_VOTING_SITES)


def _check_sites_open(cycle: Cycle) -> None:
    if not voting_sites_can_change(cycle):
        raise PhaseClosed(MSG_SITES_CLOSED)


@transaction.atomic
def voting_site_create(*, actor, cycle: Cycle, name: str, address: str = "") -> VotingSite:
    """A new voting site for a cycle (officials; from the draft until the votes are counted)."""
    check_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)  # the phase cannot move under us
    _check_sites_open(cycle)
    name, address = (name or "").strip(), (address or "").strip()
    if not name:
        raise ValidationFailed(extra={"name": [MSG_SITE_NAME]})
    try:
        with transaction.atomic():
            site = VotingSite.objects.create(cycle=cycle, name=name[:120], address=address[:300])
    except IntegrityError as exc:
        raise ValidationFailed(extra={"name": [MSG_SITE_TAKEN]}) from exc
    audit_record(
        actor=actor,
        action="voting_site.create",
        object_type="voting_site",
        object_id=site.pk,
        after={"cycle": cycle.slug, "name": site.name, "address": site.address},
    )
    return site


@transaction.atomic
def voting_site_set_active(*, actor, site: VotingSite, active: bool) -> VotingSite:
    check_official(actor)
    site = VotingSite.objects.select_for_update().get(pk=site.pk)
    _check_sites_open(Cycle.objects.select_for_update().get(pk=site.cycle_id))
    if site.active != active:
        before = {"active": site.active}
        site.active = active
        site.save(update_fields=["active"])
        audit_record(
            actor=actor,
            action="voting_site.set_active",
            object_type="voting_site",
            object_id=site.pk,
            before=before,
            after={"active": active},
        )
    return site
