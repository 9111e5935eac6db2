"""Test helper: make a cycle's ballot ready so it can move from vetting to voting for real."""

from datetime import timedelta

from django.utils import timezone

from budgets.models import Cycle
from voting import services as voting_services


def ballot_prepare(cycle: Cycle, official, *, method: str = "approval", max_picks: int | None = None) -> None:
    """A design for every district that has projects, and a close of voting a week ahead."""
    if cycle.voting_close_at is None or cycle.voting_close_at <= timezone.now():
        # Schedule edits are for drafts; a test may set the date directly.
        Cycle.objects.filter(pk=cycle.pk).update(voting_close_at=timezone.now() + timedelta(days=7))
        cycle.refresh_from_db()
    for district in cycle.districts.all():
        if district.projects.exists():
            voting_services.ballot_design_set(
                actor=official, district=district, method=method, min_picks=1, max_picks=max_picks
            )
