"""Plain-words messages for ballot problems (kept apart from the pure validation).

A message whose words depend on a number is an ``ngettext_lazy`` keyed on the parameter that holds
it (``min``, ``max``, ``total``, ``cap``, or ``project_count``: how many projects a list names)."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy, pgettext_lazy

from .base import Method, Problem

# The ballot methods' names in plain words, for messages (the design form's choices explain each one).
METHOD_NAMES = {
    Method.APPROVAL: pgettext_lazy("ballot method", "Approval"),
    Method.KNAPSACK: pgettext_lazy("ballot method", "Knapsack"),
    Method.RANKED: pgettext_lazy("ballot method", "Ranked"),
    Method.CUMULATIVE: pgettext_lazy("ballot method", "Cumulative"),
}

MESSAGES = {
    "unknown_project": ngettext_lazy(
        "This ballot names a project that is not on this ballot: %(projects)s.",
        "This ballot names projects that are not on this ballot: %(projects)s.",
        "project_count",
    ),
    "duplicate_project": ngettext_lazy(
        "Each project can be chosen only once: %(projects)s appears more than once.",
        "Each project can be chosen only once: %(projects)s appear more than once.",
        "project_count",
    ),
    "empty": _("Choose at least one project."),
    "too_few": ngettext_lazy(
        "Choose at least %(min)s project (you chose %(count)s).",
        "Choose at least %(min)s projects (you chose %(count)s).",
        "min",
    ),
    "too_many": ngettext_lazy(
        "Choose at most %(max)s project (you chose %(count)s).",
        "Choose at most %(max)s projects (you chose %(count)s).",
        "max",
    ),
    "over_budget": _("Your choices cost %(total)s, more than the budget of %(budget)s."),
    "under_min_spend": _("Your choices cost %(total)s; choose projects worth at least %(min_spend)s."),
    "unexpected_points": _("This ballot does not use points."),
    "unexpected_ranks": _("This ballot does not use ranks."),
    "points_mismatch": _("Give a number of points for each chosen project."),
    "points_not_positive": _("Points must be whole numbers above zero."),
    "points_over_total": ngettext_lazy(
        "You gave %(total)s point; you have %(max)s to spread.",
        "You gave %(total)s points; you have %(max)s to spread.",
        "total",
    ),
    "points_over_cap": ngettext_lazy(
        "No project can get more than %(cap)s point (%(projects)s).",
        "No project can get more than %(cap)s points (%(projects)s).",
        "cap",
    ),
    "rank_invalid": _("Ranks must be whole numbers starting at 1."),
    "rank_repeated": _("Each rank can be used only once."),
    "rank_gap": _("Ranks must follow each other with no gaps: 1, 2, 3 … (you used %(ranks)s)."),
}


def method_name(method) -> str:
    """A ballot method's name in the active language ("Ranked"), not its internal value."""
    name = METHOD_NAMES.get(method)
    return str(name) if name is not None else str(method)


def problem_message(problem: Problem, *, money=None) -> str:
    """``money(amount) -> str`` formats amounts (the cycle's currency)."""
    params = dict(problem.params)
    for key in ("total", "budget", "min_spend"):
        if key in params and money is not None and problem.code in ("over_budget", "under_min_spend"):
            params[key] = money(params[key])
    if "projects" in params:
        params["project_count"] = len(params["projects"])
    for key in ("projects", "ranks"):
        if key in params:
            params[key] = ", ".join(str(p) for p in params[key])
    return str(MESSAGES[problem.code] % params)
