"""Plain-words messages for ballot problems (kept apart from the pure validation)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .base import Problem

MESSAGES = {
    "unknown_project": _("This ballot names a project that is not on this ballot: %(projects)s."),
    "duplicate_project": _("Each project can be chosen only once: %(projects)s appears more than once."),
    "empty": _("Choose at least one project."),
    "too_few": _("Choose at least %(min)s projects (you chose %(count)s)."),
    "over_budget": _("Your choices cost %(total)s, more than the budget of %(budget)s."),
    "under_min_spend": _("Your choices cost %(total)s; choose projects worth at least %(min_spend)s."),
    "unexpected_points": _("This ballot does not use points."),
    "points_mismatch": _("Give a number of points for each chosen project."),
    "points_not_positive": _("Points must be whole numbers above zero."),
    "points_over_total": _("You gave %(total)s points; you have %(max)s to spread."),
    "points_over_cap": _("No project can get more than %(cap)s points (%(projects)s)."),
    "rank_invalid": _("Ranks must be whole numbers starting at 1."),
    "rank_repeated": _("Each rank can be used only once."),
    "rank_gap": _("Ranks must follow each other with no gaps: 1, 2, 3 … (you used %(ranks)s)."),
}


def problem_message(problem: Problem, *, money=None) -> str:
    """``money(amount) -> str`` formats amounts (the cycle's currency)."""
    params = dict(problem.params)
    for key in ("total", "budget", "min_spend"):
        if key in params and money is not None and problem.code in ("over_budget", "under_min_spend"):
            params[key] = money(params[key])
    for key in ("projects", "ranks"):
        if key in params:
            params[key] = ", ".join(str(p) for p in params[key])
    if problem.code == "too_many":
        return (
            ngettext(
                "Choose at most %(max)s project (you chose %(count)s).",
                "Choose at most %(max)s projects (you chose %(count)s).",
                params["max"],
            )
            % params
        )
    return str(MESSAGES[problem.code]) % params
