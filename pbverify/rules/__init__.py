"""Allocation rules: pure functions from an `Election` to an `Outcome`. No Django, no database.

Definitions (greedy by votes; equal shares with add1; equal shares then greedy) follow
pbverify/tests/data/pabulib/README.md, and reproduce pabutools 1.2.3 exactly on the files beside it.
"""

from collections.abc import Callable

from .base import Ballot, Election, Kind, Outcome, RuleNotApplicable, outcome_to_json
from .equal_shares import mes, mes_greedy
from .greedy_rule import greedy

__all__ = [
    "RULES",
    "Ballot",
    "Election",
    "Kind",
    "Outcome",
    "RuleNotApplicable",
    "greedy",
    "mes",
    "mes_greedy",
    "outcome_to_json",
    "tally",
]

RULES: dict[str, Callable[[Election], Outcome]] = {
    "greedy": greedy,
    "mes": mes,
    "mes-greedy": mes_greedy,
}


def tally(election: Election, rule: str) -> Outcome:
    """Run the rule named `rule` (a key of RULES); RuleNotApplicable if it is not defined for these ballots."""
    try:
        function = RULES[rule]
    except KeyError:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}") from None
    return function(election)
