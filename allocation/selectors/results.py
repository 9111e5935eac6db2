"""Reads for the public results: each district's published result and the cycle's
participation. Public only once the cycle allows ``Capability.VIEW_RESULTS`` (after certification);
the pages and the API check that before calling anything here.

What is shown comes from the published ``DistrictResult`` (the newest row: certified, or revised
after a funded project was withdrawn) and its run's canonical output; participation comes only from
the voter roll (counts, never choices). Every function here runs a fixed number of queries,
whatever the number of districts, projects, revisions or voters.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.conf.locale import LANG_INFO
from django.db.models import Prefetch
from django.http import Http404
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from budgets import selectors
from budgets.models import Cycle, District
from budgets.phases import Capability
from core.money import format_money
from core.small_cells import OTHER, merge_small
from proposals.models import Project, ProjectText
from voting.models import Channel
from voting.selectors import roll_groups

from ..models import DistrictResult

# The same words as the ballot design's choices (voting.models.AllocationRule); the tally page's too.
RULE_LABELS = {
    "greedy": gettext_lazy("Greedy (most votes first)"),
    "mes": gettext_lazy("Method of Equal Shares"),
    "mes-greedy": gettext_lazy("Method of Equal Shares, then greedy"),
}
MSG_DID_NOT_FIT = gettext_lazy("Did not fit the remaining %(amount)s")
MSG_NO_VOTES = gettext_lazy("No votes")
MSG_COULD_NOT_AFFORD = gettext_lazy("Its supporters' equal shares could not cover its cost")
MSG_WITHDRAWN = gettext_lazy("Withdrawn after certification: %(reason)s")
MSG_NOT_FUNDED = gettext_lazy("Not funded")
MSG_NO_SITE = gettext_lazy("No voting site (online, phone or access code)")
MSG_NO_LANGUAGE = gettext_lazy("Not recorded")
MSG_SMALL_GROUPS = gettext_lazy("Others (small groups combined, so no one can be picked out)")
# Equal shares measures what a project gives its supporters by its cost: a project that costs
# nothing gives them nothing to pay for, so the rule passes it over (as the reference library does).
MSG_ZERO_COST = gettext_lazy("Costs nothing, so equal shares passed over it")


# --- what a project's number is ----------------------------------------------------------------------
# The tally's number per project (pbverify.rules.base.Election.vote_totals) depends on the ballot:
# approvals (approval, knapsack), points (cumulative), or for ranked ballots L − r per ballot that
# ranks L projects (first choice L, last 1): ranking points, not voters. Every results page and the
# tally page name it from here.
COUNT_LABELS = {
    "approval": gettext_lazy("Votes"),
    "knapsack": gettext_lazy("Votes"),
    "cumulative": gettext_lazy("Points"),
    "ranked": gettext_lazy("Ranking points"),
}
COUNT_HEADINGS = {
    "approval": gettext_lazy("Votes for every project"),
    "knapsack": gettext_lazy("Votes for every project"),
    "cumulative": gettext_lazy("Points for every project"),
    "ranked": gettext_lazy("Ranking points for every project"),
}
COUNT_NOTES = {
    "ranked": gettext_lazy(
        "Ranking points: on each ballot, the last project ranked gets 1 point, the one ranked just above it "
        "2 points, and so on up to the first choice."
    ),
}


def ballot_method(district: District) -> str | None:
    """The district's ballot method (``voting.methods.Method`` value), or None without a design."""
    design = getattr(district, "ballot_design", None)  # a missing reverse one-to-one is an AttributeError
    return getattr(design, "method", None)


def count_label(method: str | None):
    """What a project's number is called (lazily translated): "Votes", "Points" or "Ranking points"."""
    return COUNT_LABELS.get(method, COUNT_LABELS["approval"])


def count_heading(method: str | None):
    return COUNT_HEADINGS.get(method, COUNT_HEADINGS["approval"])


def count_note(method: str | None) -> str:
    """How the number is made, where its name does not say it (ranked ballots), else ""."""
    return str(COUNT_NOTES.get(method, ""))


def count_text(method: str | None, votes: Fraction, text: str) -> str:
    """``text`` (the number as shown) with its noun in the right plural form: "1 vote", "12 points"."""
    n = int(votes) if votes.denominator == 1 else 2  # a fraction takes the plural
    if method == "cumulative":
        words = ngettext("%(count)s point", "%(count)s points", n)
    elif method == "ranked":
        words = ngettext("%(count)s ranking point", "%(count)s ranking points", n)
    else:
        words = ngettext("%(count)s vote", "%(count)s votes", n)
    return words % {"count": text}


def published_cycle_or_404(slug: str) -> Cycle:
    """The public cycle with ``slug`` if its results are published (it allows VIEW_RESULTS), else
    Http404: the one gate of the results pages and API (before certification they are a 404)."""
    cycle = selectors.cycle_get_public(slug)
    if cycle is None or not cycle.allows(Capability.VIEW_RESULTS):
        raise Http404
    return cycle


# --- district results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProjectResult:
    pk: int
    code: str
    pb_id: str  # the id the tally uses: the imported file's id, else the public code
    title: str
    cost: Decimal
    votes: Fraction  # approvals, points, or L − r for ranked ballots (exact, as the rule counted them)
    funded: bool
    withdrawn: bool
    why: str  # plain words, for every project not funded ("" when funded)
    method: str | None = None  # the district's ballot method: what ``votes`` counts
    title_language: str = ""  # the language ``title`` is written in (marked when not the page's)

    @property
    def votes_text(self) -> str:
        return votes_text(self.votes)

    @property
    def count_text(self) -> str:
        """The number with its noun: "1 vote", "12 points", "7 ranking points"."""
        return count_text(self.method, self.votes, self.votes_text)


@dataclass(frozen=True)
class Revision:
    """One published result of a district, oldest first: the certified one, then each revision."""

    kind: str  # DistrictResult.Kind
    label: str
    at: datetime
    rule: str
    reason: str
    withdrawn: list[str]  # public codes of the projects this revision took out


@dataclass(frozen=True)
class DistrictResults:
    district: District
    currency: str
    rule: str
    rule_label: str
    budget: Decimal
    used: Decimal
    left: Decimal
    ballots: int  # counted ballots (voided ones left out), from the run
    projects: list[ProjectResult]  # by votes (most first), then code
    history: list[Revision]
    input_hash: str
    output_hash: str
    method: str | None = None  # the ballot method: what each project's number counts

    @property
    def count_label(self):
        return count_label(self.method)

    @property
    def count_heading(self):
        return count_heading(self.method)

    @property
    def count_note(self) -> str:
        return count_note(self.method)

    @property
    def funded(self) -> list[ProjectResult]:
        return [p for p in self.projects if p.funded]

    @property
    def not_funded(self) -> list[ProjectResult]:
        return [p for p in self.projects if not p.funded]

    @property
    def revised(self) -> bool:
        return any(r.kind == DistrictResult.Kind.REVISED for r in self.history)


def votes_text(votes: Fraction) -> str:
    """A vote total in the active language: "1,234"; fractional points with two decimals."""
    if votes.denominator == 1:
        return formats.number_format(int(votes), use_l10n=True, force_grouping=True)
    return formats.number_format(float(votes), 2, use_l10n=True, force_grouping=True)


def why_not_funded(reason: dict | None, currency: str) -> str:
    """The run's machine-readable reason (pbverify.rules.base.Outcome) in plain words."""
    kind = (reason or {}).get("reason")
    if kind == "did_not_fit":
        amount = format_money(Decimal(reason.get("remaining", "0")), currency)
        return str(MSG_DID_NOT_FIT % {"amount": amount})
    if kind == "no_support":
        return str(MSG_NO_VOTES)
    if kind == "supporters_could_not_afford":
        return str(MSG_COULD_NOT_AFFORD)
    if kind == "zero_cost":
        return str(MSG_ZERO_COST)
    return str(MSG_NOT_FUNDED)


def _project_rows(
    project, *, outputs: list[dict], current: dict, currency: str, method: str | None = None
) -> ProjectResult | None:
    """One project's row; ``outputs`` are the district's published outputs, newest first."""
    pb_id = project.external_id or project.code
    seen = next((o for o in outputs if pb_id in o.get("votes", {})), None)
    withdrawn = project.withdrawn_at is not None
    if seen is None and not withdrawn:
        return None  # never on a counted ballot (no vote total to show)
    votes = Fraction(seen["votes"][pb_id]) if seen else Fraction(0)
    funded = not withdrawn and pb_id in current.get("selected", ())
    if funded:
        why = ""
    elif withdrawn:
        why = str(MSG_WITHDRAWN % {"reason": project.withdrawn_reason})
    else:
        why = why_not_funded(current.get("reasons", {}).get(pb_id), currency)
    text = project.text()
    return ProjectResult(
        pk=project.pk,
        code=project.code,
        pb_id=pb_id,
        title=text.title if text else project.code,
        cost=project.cost,
        votes=votes,
        funded=funded,
        withdrawn=withdrawn,
        why=why,
        method=method,
        title_language=text.language if text else "",
    )


def _history(results: list[DistrictResult], outputs: list[dict], codes: dict[str, str]) -> list[Revision]:
    """``results`` and ``outputs`` newest first; the history oldest first."""
    history = []
    pairs = list(zip(results, outputs, strict=True))[::-1]
    previous: dict | None = None
    for result, output in pairs:
        gone = sorted(set(previous.get("votes", {})) - set(output.get("votes", {}))) if previous else []
        history.append(
            Revision(
                kind=result.kind,
                label=str(result.get_kind_display()),
                at=result.created_at,
                rule=result.run.rule,
                reason=result.reason,
                withdrawn=[codes.get(pid, pid) for pid in gone],
            )
        )
        previous = output
    return history


def _district_results(district: District, results: list[DistrictResult], projects, currency: str) -> DistrictResults:
    outputs = [json.loads(r.run.output or "{}") for r in results]
    current, run = outputs[0], results[0].run
    method = ballot_method(district)
    rows = [_project_rows(p, outputs=outputs, current=current, currency=currency, method=method) for p in projects]
    rows = sorted((r for r in rows if r is not None), key=lambda r: (-r.votes, r.code))
    codes = {p.external_id or p.code: p.code for p in projects}
    used = Decimal(current.get("budget_used", "0"))
    return DistrictResults(
        district=district,
        currency=currency,
        rule=run.rule,
        rule_label=str(RULE_LABELS.get(run.rule, run.rule)),
        budget=district.budget,
        used=used,
        left=Decimal(current.get("budget_left", district.budget - used)),
        ballots=run.ballots,
        projects=rows,
        history=_history(results, outputs, codes),
        input_hash=run.input_hash,
        output_hash=run.output_hash,
        method=method,
    )


def cycle_results(cycle: Cycle, *, district_code: str | None = None) -> list[DistrictResults]:
    """Every district with a published result (by kind, then code), or only ``district_code``'s.
    Four queries: districts, published results with their runs, projects, project texts."""
    districts = District.objects.filter(cycle=cycle).select_related("ballot_design").order_by("kind", "code")
    if district_code is not None:
        districts = districts.filter(code=district_code)
    districts = list(districts)
    by_district: dict[int, list[DistrictResult]] = {}
    published = (
        DistrictResult.objects.filter(district__in=districts).select_related("run").order_by("-created_at", "-id")
    )
    for result in published:
        by_district.setdefault(result.district_id, []).append(result)
    projects: dict[int, list] = {}
    texts = Prefetch("texts", queryset=ProjectText.objects.order_by("language"))
    for project in (
        Project.objects.published()
        .filter(district__in=[d for d in districts if d.pk in by_district])
        .prefetch_related(texts)
        .order_by("code")
    ):
        projects.setdefault(project.district_id, []).append(project)
    return [
        _district_results(d, by_district[d.pk], projects.get(d.pk, []), cycle.currency)
        for d in districts
        if d.pk in by_district
    ]


def district_results(cycle: Cycle, code: str) -> DistrictResults | None:
    """One district's published result, or None (no such district, or nothing published for it)."""
    found = cycle_results(cycle, district_code=code)
    return found[0] if found else None


# --- participation -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Group:
    key: str  # the raw value (district code, ISO date, channel, site, language code)
    label: str
    count: int


@dataclass(frozen=True)
class Participation:
    """Counts of voter-roll entries (one per ballot cast, per district). Never anything about choices."""

    total: int
    by_district: list[Group] = field(default_factory=list)
    by_day: list[Group] = field(default_factory=list)
    by_channel: list[Group] = field(default_factory=list)
    by_site: list[Group] = field(default_factory=list)
    by_language: list[Group] = field(default_factory=list)


def _language_name(code: str) -> str:
    if not code:
        return str(MSG_NO_LANGUAGE)
    names = {c: str(name) for c, name in settings.LANGUAGES}
    if code in names:
        return names[code]
    info = LANG_INFO.get(code) or LANG_INFO.get(code.split("-")[0])
    return _(info["name"]) if info and "name" in info else code


def participation(cycle: Cycle) -> Participation:
    """Turnout by district, day, channel, voting site and language, from the voter roll. Two
    queries: the cycle's districts, and one grouped count over the roll.

    Published, so protected as the public audit record is: within each breakdown, groups smaller
    than ``settings.PB_SMALL_CELL`` are combined into one "other" group (``core.small_cells``)
    that is itself at least that big. District totals are published whole."""
    districts = list(District.objects.filter(cycle=cycle).order_by("kind", "code"))
    rows = roll_groups(cycle)
    per: dict[str, Counter] = {k: Counter() for k in ("district", "day", "channel", "site", "language")}
    for district_id, voted_on, channel, site, language, n in rows:
        per["district"][district_id] += n
        per["day"][voted_on] += n
        per["channel"][channel] += n
        per["site"][site] += n
        per["language"][language] += n
    channels = dict(Channel.choices)

    def groups(counter: Counter, label, key=lambda k: k) -> list[Group]:
        counts = {key(k): n for k, n in counter.items()}
        published: Counter = Counter()
        for k, group in merge_small(counts, settings.PB_SMALL_CELL).items():
            published[group] += counts[k]
        # In order, the empty value ("no site", "not recorded") after the others, the small groups last.
        order = sorted(published.items(), key=lambda kv: (kv[0] == OTHER, kv[0] == "", kv[0]))
        return [Group(k, str(MSG_SMALL_GROUPS if k == OTHER else label(k)), n) for k, n in order]

    return Participation(
        total=sum(per["channel"].values()),
        by_district=[Group(d.code, d.name, per["district"].get(d.pk, 0)) for d in districts],
        by_day=groups(
            per["day"],
            lambda day: formats.date_format(date.fromisoformat(day), "SHORT_DATE_FORMAT"),
            key=lambda day: day.isoformat(),
        ),
        by_channel=groups(per["channel"], lambda c: channels.get(c, c)),
        by_site=groups(per["site"], lambda s: s or MSG_NO_SITE),
        by_language=groups(per["language"], _language_name),
    )
