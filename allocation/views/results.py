"""Public results pages: the cycle's summary with participation, and one page per
district. Shown only once the cycle allows ``Capability.VIEW_RESULTS`` (after certification);
before that they are a plain 404 for everyone, staff included, so nothing says which phase the
cycle is in or that a tally exists. Thin: read through ``allocation.selectors.results``, draw the charts
(``allocation.charts``), render."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET

from budgets.models import Cycle
from core.money import format_money

from .. import charts
from ..selectors import results


def _money(amount, cycle) -> str:
    return format_money(amount, cycle.currency)


def votes_chart(result: results.DistrictResults, *, chart_id: str):
    funded = [p.title for p in result.funded]
    desc = ngettext(
        "Bar chart of %(count)s project. Funded: %(funded)s.",
        "Bar chart of %(count)s projects, highest first. Funded: %(funded)s.",
        len(result.projects),
    ) % {
        "count": len(result.projects),
        "funded": "; ".join(funded) if funded else _("none"),
    }
    bars = [
        charts.Bar(
            label=f"{p.code} {p.title}", value=p.votes, value_text=p.votes_text, highlight=p.funded, note=_("funded")
        )
        for p in result.projects
    ]
    title = _("%(what)s per project in %(district)s") % {"what": result.count_label, "district": result.district.name}
    return charts.bar_chart(bars, chart_id=chart_id, title=title, desc=desc, css_class="votes")


def budget_chart(result: results.DistrictResults, cycle: Cycle, *, chart_id: str):
    used = _("Used: %(used)s of %(budget)s") % {
        "used": _money(result.used, cycle),
        "budget": _money(result.budget, cycle),
    }
    left = _("Left: %(left)s") % {"left": _money(result.left, cycle)}
    return charts.budget_bar(
        budget=result.budget,
        segments=[charts.Segment(f"{p.title}: {_money(p.cost, cycle)}", p.cost) for p in result.funded],
        used_text=used,
        left_text=left,
        chart_id=chart_id,
        title=_("Budget of %(district)s") % {"district": result.district.name},
        desc=f"{used}. {left}.",
    )


def participation_charts(data: results.Participation) -> list[dict]:
    """One bar chart with its table per breakdown (district, day, channel, site, language)."""
    sections = [
        ("district", _("By district"), _("District"), _("Voters by district"), data.by_district),
        ("day", _("By day"), _("Day"), _("Voters by day"), data.by_day),
        ("channel", _("By channel"), _("Channel"), _("Voters by channel"), data.by_channel),
        ("site", _("By voting site"), _("Voting site"), _("Voters by voting site"), data.by_site),
        ("language", _("By language"), _("Language"), _("Voters by language"), data.by_language),
    ]
    out = []
    for key, caption, heading, title, groups in sections:
        bars = [charts.Bar(label=g.label, value=g.count, value_text=str(g.count)) for g in groups]
        desc = "; ".join(f"{g.label}: {g.count}" for g in groups) or _("No voters.")
        chart = charts.bar_chart(
            bars, chart_id=f"participation-{key}", title=title, desc=desc, css_class="participation"
        )
        out.append({"key": key, "caption": caption, "heading": heading, "groups": groups, "chart": chart})
    return out


@require_GET
def cycle_results(request, slug):
    """Every district's published result, and participation from the voter roll."""
    cycle = results.published_cycle_or_404(slug)
    data = results.participation(cycle)
    return render(
        request,
        "allocation/results/cycle_results.html",
        {
            "cycle": cycle,
            "districts": results.cycle_results(cycle),
            "participation": data,
            "participation_charts": participation_charts(data),
        },
    )


@require_GET
def district_results(request, slug, code):
    """One district: funded projects, every project's votes (chart and table), the budget, why each
    project not funded was not, and the result's history (certified, then any revision)."""
    cycle = results.published_cycle_or_404(slug)
    result = results.district_results(cycle, code)
    if result is None:
        raise Http404
    return render(
        request,
        "allocation/results/district_results.html",
        {
            "cycle": cycle,
            "result": result,
            "district": result.district,
            "votes_chart": votes_chart(result, chart_id="votes-chart"),
            "budget_chart": budget_chart(result, cycle, chart_id="budget-chart"),
        },
    )
