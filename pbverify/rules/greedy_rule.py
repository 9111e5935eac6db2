"""Greedy by votes: take projects from the most voted down, each one that still fits; skip the rest and go on."""

from __future__ import annotations

from decimal import Decimal

from .base import Election, Outcome, make_outcome


def greedy_walk(
    election: Election, votes: dict, *, already: list[str] = (), spent: Decimal = Decimal(0)
) -> tuple[list[str], dict[str, dict]]:
    """Walk the projects not in `already` by votes (ties: tie order); return those taken and why others were not."""
    remaining = election.budget - spent
    taken: list[str] = []
    reasons: dict[str, dict] = {}
    skip = set(already)
    rank = election.rank
    order = sorted((pid for pid in election.costs if pid not in skip), key=lambda pid: (-votes[pid], rank[pid]))
    for pid in order:
        cost = election.costs[pid]
        if cost <= remaining:
            taken.append(pid)
            remaining -= cost
        else:
            reasons[pid] = {"reason": "did_not_fit", "remaining": remaining}
    return taken, reasons


def greedy(election: Election) -> Outcome:
    """Greedy by votes: approvals, total points (cumulative) or L − r points per ranking of length L (ordinal)."""
    votes = election.vote_totals()
    taken, reasons = greedy_walk(election, votes)
    return make_outcome(election, "greedy", taken, reasons, votes=votes)
