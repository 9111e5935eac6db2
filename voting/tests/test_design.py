"""Ballot designs (voting/services/design.py): the vetting → voting guard, the freeze of the
designs and its fingerprint, and the introduction's translations. State is built through the real
services (voting/tests/builders.py)."""

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from budgets.models import Cycle
from budgets.phases import Phase
from budgets.services import cycle_transition
from core.errors import GuardFailed, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from pbverify.canonical import canonical_bytes
from proposals import permissions as proposals_permissions
from proposals import services as proposals_services
from proposals.models import Project
from proposals.tests.builders import texts
from tests.factories import CycleFactory
from voting import services
from voting.models import BallotDesign, BallotFreeze, Eligibility, IntroText
from voting.permissions import MSG_BALLOT_FROZEN

from .builders import (
    DESIGNS_BY_METHOD,
    PROJECTS_BY_METHOD,
    counts,
    design,
    open_voting,
    paper_idea,
    vetting_world,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")


# --- the vetting → voting guard ------------------------------------------------------------------------------
def assert_guard_refuses(world, *expected):
    before = counts()
    with pytest.raises(GuardFailed) as exc:
        cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.VOTING, reason="Test: open voting.")
    assert exc.value.status == 409
    assert [str(m) for m in exc.value.extra["ballot"]] == [str(m) for m in expected]
    assert str(exc.value.message) == " ".join(str(m) for m in expected)
    assert Cycle.objects.get(pk=world.cycle.pk).phase == Phase.VETTING
    assert not BallotFreeze.objects.exists()
    assert counts() == before


def test_guard_refuses_a_district_with_projects_but_no_design(official):
    world = vetting_world(official, wards="ABC")  # projects in A and B
    design(world, {})
    BallotDesign.objects.filter(district__code="B").delete()  # as if B's design had never been made
    assert_guard_refuses(world, services.MSG_GUARD_NO_DESIGN % {"code": "B"})


def test_guard_refuses_when_no_district_has_projects(official):
    world = vetting_world(official, wards="AB", projects={})
    design(world, {})
    assert_guard_refuses(world, services.MSG_GUARD_NO_PROJECTS)


def test_guard_refuses_without_a_close_time(official):
    world = vetting_world(official, wards="AB")
    for code in "AB":
        services.ballot_design_set(actor=official, district=world.district(code), method="approval")
    assert world.cycle.voting_close_at is None
    assert_guard_refuses(world, services.MSG_GUARD_NO_CLOSE)


def test_guard_refuses_a_close_time_in_the_past(official):
    world = vetting_world(official, wards="AB")
    design(world, {})
    Cycle.objects.filter(pk=world.cycle.pk).update(voting_close_at=timezone.now() - timedelta(minutes=1))
    world.cycle.refresh_from_db()
    assert_guard_refuses(world, services.MSG_GUARD_NO_CLOSE)


def test_guard_refuses_more_required_picks_than_projects(official):
    world = vetting_world(official, wards="AB")
    design(world, {"A": {"min_picks": 4}})
    assert_guard_refuses(world, services.MSG_GUARD_TOO_FEW % {"code": "A", "min": 4, "count": 3})


def test_guard_names_one_project_in_the_singular_and_several_in_the_plural(official):
    world = vetting_world(official, wards="AB", projects={"A": [("A-01", "20000")], "B": [("B-01", "30000")]})
    design(world, {"A": {"min_picks": 2}})
    assert_guard_refuses(world, "District A asks for at least 2 picks but has only 1 project.")
    assert str(services.MSG_GUARD_TOO_FEW % {"code": "A", "min": 4, "count": 3}) == (
        "District A asks for at least 4 picks but has only 3 projects."
    )


@pytest.mark.parametrize(
    ("values", "field", "english", "spanish"),
    [
        (
            {"method": "ranked", "max_picks": None},
            "max_picks",
            "The “Ranked” method needs “how many to rank”.",
            "“Por orden de preferencia”",
        ),
        (
            {"method": "cumulative", "points_total": None},
            "points_total",
            "The “Cumulative” method needs “points to spread”.",
            "“Acumulativo (puntos)”",
        ),
    ],
)
def test_a_method_missing_a_setting_is_named_by_its_label(official, values, field, english, spanish):
    world = vetting_world(official, wards="AB")
    with pytest.raises(ValidationFailed) as exc:
        services.ballot_design_set(actor=official, district=world.district("A"), **values)
    assert [str(m) for m in exc.value.extra[field]] == [english]
    with translation.override("es"), pytest.raises(ValidationFailed) as exc:
        services.ballot_design_set(actor=official, district=world.district("A"), **values)
    assert spanish in str(exc.value.extra[field][0]) and values["method"] not in str(exc.value.extra[field][0])


def test_guard_reports_every_problem_at_once(official):
    world = vetting_world(official, wards="AB")
    services.ballot_design_set(actor=official, district=world.district("A"), method="approval")
    assert_guard_refuses(world, services.MSG_GUARD_NO_CLOSE, services.MSG_GUARD_NO_DESIGN % {"code": "B"})


# --- the freeze ----------------------------------------------------------------------------------------------
# A June evening one to two years from now, whenever the tests run: daylight time in New York, so
# 01:00 UTC the next day in the frozen document.
CLOSE_AT = datetime(timezone.now().year + 2, 6, 3, 21, 0, tzinfo=NEW_YORK)


def frozen_world(official, designs=DESIGNS_BY_METHOD):
    """A cycle built like every other one with these designs and a fixed close time."""
    world = vetting_world(official, wards="ABCDE", projects=PROJECTS_BY_METHOD)
    Cycle.objects.filter(pk=world.cycle.pk).update(voting_close_at=CLOSE_AT)
    world.cycle.refresh_from_db()
    design(world, designs)
    open_voting(world)
    return world


def test_opening_voting_freezes_the_designs_with_a_fingerprint(official):
    world = frozen_world(official)
    freeze = BallotFreeze.objects.get(cycle=world.cycle)
    assert freeze.fingerprint == hashlib.sha256(freeze.canonical.encode("utf-8")).hexdigest()
    assert freeze.canonical == canonical_bytes(services.cycle_ballot_canonical(world.cycle)).decode("utf-8")
    document = json.loads(freeze.canonical)
    assert document["cycle"] == world.cycle.slug and document["currency"] == "USD"
    assert document["voting_close_at"] == f"{CLOSE_AT.year}-06-04T01:00:00.000000Z"
    assert document["eligibility"] == {"minimum_age": 14, "age_on": None, "allow_live_work_study": False}
    districts = {d["code"]: d for d in document["districts"]}
    assert list(districts) == list("ABCDE")
    assert districts["E"]["design"] is None and districts["E"]["projects"] == []
    assert districts["B"]["budget"] == "50000.00"
    assert (districts["B"]["design"]["method"], districts["B"]["design"]["min_spend_percent"]) == ("knapsack", 50)
    assert districts["D"]["design"]["points_total"] == 10 and districts["D"]["design"]["points_cap"] == 6
    assert districts["C"]["design"]["max_picks"] == 2
    assert districts["A"]["projects"][0] == {
        "code": "A-01",
        "cost": "20000.00",
        "texts": {
            "en": {"title": "Drinking fountains", "summary": "Drinking fountains for the ward."},
            "es": {"title": "Fuentes de agua", "summary": "Fuentes de agua para el distrito."},
        },
    }
    (event,) = AuditEvent.objects.filter(action="ballot.frozen", object_id=str(world.cycle.pk))
    assert event.after == {"fingerprint": freeze.fingerprint}


def test_the_fingerprint_is_deterministic_and_covers_the_design(official):
    first = BallotFreeze.objects.get(cycle=frozen_world(official).cycle)
    second_world = frozen_world(official)
    second = BallotFreeze.objects.get(cycle=second_world.cycle)
    # Same data → the same document but for the slug, and so the same fingerprint for the same slug.
    one, two = json.loads(first.canonical), json.loads(second.canonical)
    assert one.pop("cycle") != two.pop("cycle")
    assert one == two
    relabelled = canonical_bytes(json.loads(first.canonical) | {"cycle": second_world.cycle.slug})
    assert hashlib.sha256(relabelled).hexdigest() == second.fingerprint
    # A different design is a different fingerprint.
    third = BallotFreeze.objects.get(cycle=frozen_world(official, DESIGNS_BY_METHOD | {"A": {"max_picks": 2}}).cycle)
    three = json.loads(third.canonical)
    del three["cycle"]
    assert three["districts"][0]["design"]["max_picks"] == 2
    assert three != one
    relabelled = canonical_bytes(three | {"cycle": second_world.cycle.slug})
    assert hashlib.sha256(relabelled).hexdigest() != second.fingerprint


def test_a_design_change_after_the_freeze_is_refused_with_nothing_changed(official):
    world = frozen_world(official)
    freeze = BallotFreeze.objects.get(cycle=world.cycle)
    project = Project.objects.get(code="A-01")
    designs = list(BallotDesign.objects.order_by("pk").values())
    eligibility = list(Eligibility.objects.values())
    before = counts()
    with pytest.raises(PhaseClosed) as exc:
        services.ballot_design_set(actor=official, district=world.district("A"), method="knapsack")
    assert str(exc.value.message) == str(MSG_BALLOT_FROZEN)
    with pytest.raises(PhaseClosed) as exc:
        services.ballot_design_set(actor=official, district=world.district("E"), method="approval")  # a new one
    assert str(exc.value.message) == str(MSG_BALLOT_FROZEN)
    with pytest.raises(PhaseClosed) as exc:
        services.eligibility_set(
            actor=official, cycle=world.cycle, minimum_age=18, age_on=None, allow_live_work_study=False
        )
    assert str(exc.value.message) == str(MSG_BALLOT_FROZEN)
    with pytest.raises(PhaseClosed) as exc:
        proposals_services.project_update(
            actor=official, project=project, district=world.district("A"), code="A-01", cost="5000", texts=texts()
        )
    assert str(exc.value.message) == str(proposals_permissions.MSG_PROJECTS_FROZEN)
    with pytest.raises(PhaseClosed):
        proposals_services.project_create_from_ideas(
            actor=official,
            cycle=world.cycle,
            ideas=list(project.ideas.all()),
            district=world.district("A"),
            code="A-09",
            cost="100",
            texts=texts(),
        )
    assert counts() == before
    assert list(BallotDesign.objects.order_by("pk").values()) == designs
    assert list(Eligibility.objects.values()) == eligibility
    assert Project.objects.get(pk=project.pk).cost == Decimal("20000.00")
    assert not Project.objects.filter(code="A-09").exists()
    assert canonical_bytes(services.cycle_ballot_canonical(world.cycle)).decode("utf-8") == freeze.canonical
    assert BallotFreeze.objects.count() == 1


def test_designs_and_eligibility_can_change_until_voting_opens(official):
    world = vetting_world(official, wards="AB")
    paper_idea(world.cycle, official, "B")  # paper ideas are still being keyed in while vetting
    design(world, {"A": {"method": "knapsack"}})
    services.ballot_design_set(actor=official, district=world.district("A"), method="approval", max_picks=2)
    services.eligibility_set(actor=official, cycle=world.cycle, minimum_age=16, age_on=None, allow_live_work_study=True)
    assert BallotDesign.objects.get(district__code="A").method == "approval"
    assert Eligibility.objects.get(cycle=world.cycle).minimum_age == 16


# --- the ballot's introduction in other languages ---------------------------------------------------
def test_the_intro_translates_only_into_the_cycles_other_languages(official):
    cycle = CycleFactory(ideas=True, wards="A")
    district = cycle.districts.get(code="A")
    values = {"method": "approval", "min_picks": 1, "allocation_rule": "greedy", "intro": "Choose."}
    with pytest.raises(ValidationFailed) as refused:
        services.ballot_design_set(
            actor=official, district=district, **values, intro_translations={"fr": "Choisissez."}
        )
    assert refused.value.extra == {"intro_translations": [services.MSG_INTRO_LANGUAGE % {"languages": "es"}]}
    assert not BallotDesign.objects.filter(district=district).exists()
    design = services.ballot_design_set(
        actor=official, district=district, **values, intro_translations={"ES": " Elija. ", "zh-hans": "  "}
    )
    assert design.intro_translations == {"es": "Elija."}  # blank ones are no translation


@pytest.mark.parametrize(
    ("language", "text", "lang", "fallback"),
    [
        ("es", "Elija.", "es", False),
        ("es-mx", "Elija.", "es", False),
        ("zh-hans", "请选择。", "zh-hans", False),
        ("en", "Choose.", "en", False),
        ("fr", "Choose.", "en", True),
    ],
)
def test_the_intro_for_a_reader(language, text, lang, fallback):
    design = BallotDesign(intro="Choose.", intro_translations={"es": "Elija.", "zh-hans": "请选择。"})
    assert design.intro_for(language) == IntroText(text=text, language=lang, fallback=fallback)
