"""Reads for ballot pages, the API and officials' turnout (counts from the roll, never ballots)."""

import random

from django.db.models import Count, Q

from budgets.models import Cycle, District
from proposals.models import Project

from .models import BallotDesign, BallotFreeze, Eligibility, VoterRollEntry


def ballot_districts(cycle: Cycle) -> list[District]:
    """Districts that have a ballot (a design and projects), wards first, by code."""
    return list(
        District.objects.filter(cycle=cycle, ballot_design__isnull=False, projects__published_at__isnull=False)
        .select_related("ballot_design")
        .distinct()
        .order_by("kind", "code")
    )


def ballot_district(cycle: Cycle, code: str) -> District | None:
    """The district of ``cycle`` with this code, if it has a ballot (a design and projects)."""
    return next((d for d in ballot_districts(cycle) if d.code == code), None)


def ballot_district_for_cast(slug: str, code: str) -> District | None:
    """The vote path's one read before its transaction: the district with a ballot design and its
    cycle (``ballot_cast(district_read_now=True)`` checks that cycle instead of reading it again)."""
    try:  # get(), not first(): no ORDER BY to build or run for a (cycle, code) that is unique
        return District.objects.select_related("cycle").get(cycle__slug=slug, code=code, ballot_design__isnull=False)
    except District.DoesNotExist:
        return None


def ballot_for(district: District, *, seed: str | None = None) -> tuple[BallotDesign, list[Project]]:
    """A district's design and its projects (texts prefetched); shuffled per voter when the design
    asks for it (``seed``: stable for one voter, so a page reload keeps the order)."""
    design = BallotDesign.objects.get(district=district)
    projects = list(
        Project.objects.published()
        .filter(district=district)
        .select_related("category")
        .prefetch_related("texts")
        .order_by("code")
    )
    if design.shuffle and seed is not None:
        random.Random(seed).shuffle(projects)
    return design, projects


def ballot_fingerprint(cycle: Cycle) -> str | None:
    return BallotFreeze.objects.filter(cycle=cycle).values_list("fingerprint", flat=True).first()


def eligibility_for(cycle: Cycle) -> Eligibility:
    return Eligibility.objects.filter(cycle=cycle).first() or Eligibility(cycle=cycle)


def roll_groups(cycle: Cycle) -> list[tuple]:
    """The cycle's voter roll in groups: (district id, day, channel, site, language, count) — one
    grouped query, counts only (the public participation and the audit bundle's turnout)."""
    return list(
        VoterRollEntry.objects.filter(cycle_id=cycle.pk)
        .values_list("district_id", "voted_on", "channel", "site", "language")
        .annotate(n=Count("id"))
        .order_by()
    )


def turnout(cycle: Cycle) -> dict:
    """Participation counts from the voter roll: by district, channel, site, language and day."""
    roll = VoterRollEntry.objects.filter(district__cycle=cycle)

    def by(*fields):
        return list(roll.values(*fields).annotate(count=Count("id")).order_by(*fields))

    return {
        "total": roll.count(),
        "by_district": by("district__code", "district__name"),
        "by_channel": by("channel"),
        "by_site": by("site"),
        "by_language": by("language"),
        "by_day": by("voted_on"),
    }


def designs_for(cycle: Cycle) -> list[District]:
    return list(
        District.objects.filter(cycle=cycle)
        .select_related("ballot_design")
        .annotate(project_count=Count("projects", filter=Q(projects__published_at__isnull=False)))
        .order_by("kind", "code")
    )
