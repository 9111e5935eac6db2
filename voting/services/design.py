"""Ballot designs and who may vote, set by officials until the ballot is frozen; the freeze when
voting opens: the canonical form of everything the vote depends on, and its fingerprint.
"""

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from budgets.models import Cycle, District
from core.errors import GuardFailed, ValidationFailed
from core.services import audit_record
from pbverify.canonical import canonical_bytes, sha256_hex
from proposals.models import Project

from .. import methods
from ..methods.messages import method_name
from ..models import AllocationRule, BallotDesign, BallotFreeze, Eligibility
from ..permissions import check_design_open, check_official

MSG_METHOD_NEEDS = _("The “%(method)s” method needs “%(field)s”.")  # method: its name (methods.messages.method_name)
MSG_PICKS_ORDER = _("The maximum number of picks cannot be below the minimum.")
MSG_MES_RANKED = _("The Method of Equal Shares is not defined for ranked ballots; choose greedy.")
MSG_GUARD_NO_DESIGN = _("District %(code)s has no ballot design yet.")
MSG_GUARD_NO_PROJECTS = _("No district has projects to vote on.")
MSG_GUARD_TOO_FEW = ngettext_lazy(  # min is above count, so at least 2: "picks" stays plural
    "District %(code)s asks for at least %(min)s picks but has only %(count)s project.",
    "District %(code)s asks for at least %(min)s picks but has only %(count)s projects.",
    "count",
)
MSG_GUARD_NO_CLOSE = _("Set the time voting closes (in the future) before voting opens.")


@transaction.atomic
def eligibility_set(
    *,
    actor,
    cycle: Cycle,
    minimum_age: int,
    age_on: date | None,
    allow_live_work_study: bool,
    allow_ballot_change: bool = False,
):
    """Who may vote, and whether a voter may change their ballot until voting closes (off by
    default). Officials, until the ballot is frozen."""
    check_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=cycle.pk)
    check_design_open(cycle)
    if not isinstance(minimum_age, int) or not 0 <= minimum_age <= 120:
        raise ValidationFailed(extra={"minimum_age": [_("Enter an age between 0 and 120.")]})
    eligibility, _created = Eligibility.objects.get_or_create(cycle=cycle)
    fields = ("minimum_age", "age_on", "allow_live_work_study", "allow_ballot_change")
    before = {name: getattr(eligibility, name) for name in fields}
    eligibility.minimum_age, eligibility.age_on = minimum_age, age_on
    eligibility.allow_live_work_study = allow_live_work_study
    eligibility.allow_ballot_change = allow_ballot_change
    eligibility.save()
    after = {name: getattr(eligibility, name) for name in fields}
    audit_record(
        actor=actor, action="eligibility.set", object_type="cycle", object_id=cycle.pk, before=before, after=after
    )
    return eligibility


DESIGN_FIELDS = (
    "method",
    "min_picks",
    "max_picks",
    "min_spend_percent",
    "points_total",
    "points_cap",
    "allocation_rule",
    "intro",
    "shuffle",
    "intro_translations",
)
MSG_INTRO_LANGUAGE = _("The introduction can be translated only into the cycle's other languages (%(languages)s).")


def intro_languages(cycle: Cycle) -> list[tuple[str, str]]:
    """The languages a ballot's introduction may be translated into: the cycle's content
    languages but the main one (which ``BallotDesign.intro`` is written in)."""
    main = (settings.LANGUAGE_CODE or "en").lower()
    return [(code, name) for code, name in cycle.content_languages() if code.lower() != main]


def _intro_translations_clean(cycle: Cycle, value) -> dict[str, str]:
    """Translations by language code, blank ones dropped. ValidationFailed for another language."""
    allowed = {code for code, _name in intro_languages(cycle)}
    if value in (None, ""):
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ValidationFailed(extra={"intro_translations": [ValidationFailed.default_message]})
    cleaned = {code.lower(): text.strip() for code, text in value.items() if text.strip()}
    if set(cleaned) - allowed:
        names = ", ".join(sorted(allowed)) or "—"
        raise ValidationFailed(extra={"intro_translations": [MSG_INTRO_LANGUAGE % {"languages": names}]})
    return dict(sorted(cleaned.items()))


def _design_errors(values: dict) -> dict:
    errors: dict[str, list] = {}
    method = values.get("method")
    if method not in [m.value for m in methods.Method]:
        errors.setdefault("method", []).append(_("Choose a ballot method."))
        return errors
    if values.get("allocation_rule") not in AllocationRule.values:
        errors.setdefault("allocation_rule", []).append(_("Choose an allocation rule."))
    if method == methods.Method.RANKED and values.get("allocation_rule") != AllocationRule.GREEDY:
        errors.setdefault("allocation_rule", []).append(MSG_MES_RANKED)
    if method == methods.Method.RANKED and not values.get("max_picks"):
        errors.setdefault("max_picks", []).append(
            MSG_METHOD_NEEDS % {"method": method_name(method), "field": _("how many to rank")}
        )
    if method == methods.Method.CUMULATIVE and not values.get("points_total"):
        errors.setdefault("points_total", []).append(
            MSG_METHOD_NEEDS % {"method": method_name(method), "field": _("points to spread")}
        )
    if values.get("max_picks") is not None and values["max_picks"] < (values.get("min_picks") or 0):
        errors.setdefault("max_picks", []).append(MSG_PICKS_ORDER)
    if not 0 <= (values.get("min_spend_percent") or 0) <= 100:
        errors.setdefault("min_spend_percent", []).append(_("Enter a percentage from 0 to 100."))
    return errors


@transaction.atomic
def ballot_design_set(*, actor, district: District, **values) -> BallotDesign:
    """Create or change a district's ballot design while the ballot is not frozen."""
    unknown = set(values) - set(DESIGN_FIELDS)
    if unknown:
        raise TypeError(f"unknown design fields: {sorted(unknown)}")
    check_official(actor)
    cycle = Cycle.objects.select_for_update().get(pk=district.cycle_id)
    check_design_open(cycle)
    if "intro_translations" in values:
        values["intro_translations"] = _intro_translations_clean(cycle, values["intro_translations"])
    design = BallotDesign.objects.filter(district=district).first() or BallotDesign(district=district)
    before = {f: getattr(design, f) for f in DESIGN_FIELDS} if design.pk else {}
    for name, value in values.items():
        setattr(design, name, value)
    errors = _design_errors({f: getattr(design, f) for f in DESIGN_FIELDS})
    if errors:
        raise ValidationFailed(extra=errors)
    design.save()
    after = {f: getattr(design, f) for f in DESIGN_FIELDS}
    if after != before:
        audit_record(
            actor=actor,
            action="ballot_design.set",
            object_type="district",
            object_id=district.pk,
            before=before,
            after=after,
        )
    return design


def ballot_rules(district: District, design: BallotDesign | None = None) -> methods.Rules:
    """The pure method's view of a district's ballot (projects by public code)."""
    design = design or district.ballot_design
    projects = {p.code: p.cost for p in district.projects.published()}
    return methods.Rules(
        method=methods.Method(design.method),
        projects=projects,
        budget=district.budget,
        min_picks=design.min_picks,
        max_picks=design.max_picks,
        min_spend=(district.budget * design.min_spend_percent / Decimal(100)).quantize(Decimal("0.01")),
        points_total=design.points_total,
        points_cap=design.points_cap,
    )


def district_design_document(district: District, design: BallotDesign | None) -> dict:
    """A district and its ballot design as the frozen canonical form and the auditors' design.json
    both write them."""
    return {
        "code": district.code,
        "name": district.name,
        "kind": district.kind,
        "budget": district.budget,
        "design": _design_document(design) if design else None,
    }


def _design_document(design: BallotDesign) -> dict:
    # The introduction's translations only when there are some: the canonical form (and the
    # fingerprint) of a design without them is what it was before they existed.
    return {f: getattr(design, f) for f in DESIGN_FIELDS if f != "intro_translations" or design.intro_translations}


def cycle_ballot_canonical(cycle: Cycle) -> dict:
    """Everything the vote depends on, in one canonical document: the fingerprint covers it."""
    eligibility = Eligibility.objects.filter(cycle=cycle).first()
    districts = []
    published = Prefetch("projects", queryset=Project.objects.published().prefetch_related("texts"))
    for district in cycle.districts.order_by("code").prefetch_related(published):
        design = BallotDesign.objects.filter(district=district).first()
        districts.append(
            {
                **district_design_document(district, design),
                "projects": [
                    {
                        "code": p.code,
                        "cost": p.cost,
                        "texts": {t.language: {"title": t.title, "summary": t.summary} for t in p.texts.all()},
                    }
                    for p in sorted(district.projects.all(), key=lambda p: p.code)
                ],
            }
        )
    return {
        "cycle": cycle.slug,
        "currency": cycle.currency,
        "voting_close_at": cycle.voting_close_at,
        "eligibility": {
            "minimum_age": eligibility.minimum_age,
            "age_on": eligibility.age_on,
            "allow_live_work_study": eligibility.allow_live_work_study,
            # Only when on: the canonical form (and fingerprint) of a cycle without it is unchanged.
            **({"allow_ballot_change": True} if eligibility.allow_ballot_change else {}),
        }
        if eligibility
        else None,
        "districts": districts,
    }


def guard_ballot_ready(*, cycle: Cycle) -> None:
    """vetting → voting: every district with projects has a complete, valid design (a district
    without projects has no ballot), at least one district has projects, and voting has a close
    time in the future."""
    problems = []
    if cycle.voting_close_at is None or cycle.voting_close_at <= timezone.now():
        problems.append(str(MSG_GUARD_NO_CLOSE))
    with_projects = 0
    for district in cycle.districts.order_by("code"):
        count = district.projects.published().count()  # drafts are not on the ballot
        if count == 0:
            continue  # no feasible projects here: this district has no ballot
        with_projects += 1
        design = BallotDesign.objects.filter(district=district).first()
        if design is None:
            problems.append(str(MSG_GUARD_NO_DESIGN % {"code": district.code}))
        elif design.min_picks > count:
            problems.append(str(MSG_GUARD_TOO_FEW % {"code": district.code, "min": design.min_picks, "count": count}))
    if not with_projects:
        problems.append(str(MSG_GUARD_NO_PROJECTS))
    if problems:
        raise GuardFailed(" ".join(problems), extra={"ballot": problems})


def hook_freeze(*, cycle: Cycle, actor) -> None:
    """vetting → voting: freeze the designs and publish their fingerprint."""
    freeze_store(cycle=cycle, actor=actor)


def freeze_store(*, cycle: Cycle, actor) -> BallotFreeze:
    """Store the canonical form of the cycle's ballots and its fingerprint (when voting opens; for
    an imported election, each time a district is added), audited."""
    Eligibility.objects.get_or_create(cycle=cycle)
    document = canonical_bytes(cycle_ballot_canonical(cycle))
    freeze, _created = BallotFreeze.objects.update_or_create(
        cycle=cycle, defaults={"canonical": document.decode("utf-8"), "fingerprint": sha256_hex(document)}
    )
    audit_record(
        actor=actor,
        action="ballot.frozen",
        object_type="cycle",
        object_id=cycle.pk,
        after={"fingerprint": freeze.fingerprint},
    )
    return freeze
