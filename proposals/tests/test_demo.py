"""The demo content for the ideas and vetting phases (proposals/demo.py, run by budgets.demo)."""

import re

import pytest
from django.db.models import Count

from budgets.demo import DEMO_SLUG, WARD_BUDGET, demo_load
from budgets.phases import Phase
from core.selectors import audit_chain_verify_database
from proposals.demo import CATEGORIES
from proposals.models import Category, Idea, Project, Review

from .builders import counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_vetting():
    return demo_load(phase=Phase.VETTING).cycle


def test_demo_ideas_phase_has_36_submitted_ideas_in_6_wards():
    cycle = demo_load(phase=Phase.IDEAS).cycle
    ideas = Idea.objects.filter(cycle=cycle)
    assert ideas.count() == 36
    assert dict(ideas.values_list("district__code").annotate(n=Count("id"))) == {w: 6 for w in "ABCDEF"}
    assert set(ideas.values_list("status", flat=True)) == {"submitted"}
    assert all(idea.author is not None for idea in ideas)
    assert sorted(Category.objects.filter(cycle=cycle).values_list("name", "translations")) == sorted(
        (en, {"es": es}) for en, es in CATEGORIES
    )
    assert not Project.objects.exists()


def test_demo_vetting_phase_builds_costed_bilingual_projects_from_ideas(demo_vetting):
    cycle = demo_vetting
    assert cycle.slug == DEMO_SLUG and cycle.phase == Phase.VETTING
    ideas = Idea.objects.filter(cycle=cycle)
    assert ideas.count() == 36
    assert ideas.values("district").distinct().count() == 6
    projects = list(Project.objects.filter(cycle=cycle).select_related("district").prefetch_related("texts", "ideas"))
    assert projects
    assert {p.district.code for p in projects} == set("ABCDEF")
    for project in projects:
        assert re.fullmatch(r"[A-F]-\d\d", project.code), project.code
        assert project.code[0] == project.district.code
        assert 0 < project.cost <= project.district.budget == WARD_BUDGET
        texts = {t.language: t for t in project.texts.all()}
        assert set(texts) == {"en", "es"}
        assert all(t.title and t.summary and t.description for t in texts.values())
        sources = list(project.ideas.all())
        assert sources and all(i.cycle_id == cycle.pk and i.district_id == project.district_id for i in sources)
        assert all(i.status == Idea.Status.IN_PROJECT for i in sources)
    assert len({p.code for p in projects}) == len(projects)


def test_demo_has_a_not_feasible_idea_with_a_public_reason(demo_vetting):
    rejected = Idea.objects.filter(cycle=demo_vetting, status=Idea.Status.NOT_FEASIBLE)
    assert rejected.exists()
    for idea in rejected:
        review = Review.objects.get(idea=idea)
        assert review.public_reason.strip() and review.published_at is not None
        assert idea.status_changes.last().public_reason == review.public_reason


def test_loading_the_demo_again_changes_nothing(demo_vetting):
    before = counts()
    again = demo_load(phase=Phase.VETTING)
    assert again.created is False and again.moved == []
    assert counts() == before


def test_demo_audit_chain_is_intact(demo_vetting):
    report = audit_chain_verify_database()
    assert report.ok, report.problem
    assert report.checked > 36
