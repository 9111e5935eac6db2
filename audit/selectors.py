"""Reads for the audit pages and API."""

from django.db.models import QuerySet

from budgets.models import Cycle
from voting.models import BallotVoid, VoidReason

from .models import Bundle


def bundles_for(cycle: Cycle, *, variant: str | None = None) -> QuerySet[Bundle]:
    bundles = Bundle.objects.filter(cycle=cycle).select_related("cycle")
    if variant:
        bundles = bundles.filter(variant=variant)
    return bundles.order_by("-created_at", "-id")


def bundle_get(pk: int) -> Bundle | None:
    return Bundle.objects.select_related("cycle").filter(pk=pk).first()


def voids_for(cycle: Cycle) -> list:
    """The cycle's voided ballots, newest first: ballot id, district, reason, when. Rejected
    provisional ballots are left out: the officials' provisional page shows who was rejected and
    when, so a list of their ballots (ids, times) next to it would link a person to a ballot."""
    return list(
        BallotVoid.objects.filter(ballot__district__cycle=cycle)
        .exclude(kind=VoidReason.PROVISIONAL_REJECTED)
        .select_related("ballot__district")
        .order_by("-voided_at", "-id")
    )


def building(bundles) -> bool:
    return any(b.status in (Bundle.Status.QUEUED, Bundle.Status.BUILDING) for b in bundles)
