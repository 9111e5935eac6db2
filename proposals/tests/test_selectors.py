"""Selectors: the public idea list (visibility, filters, search, sorting, constant queries), one idea's
public page, the published part of a review, and the vetting queue."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from budgets.phases import Phase
from proposals import selectors, services
from tests.factories import CycleFactory

from .builders import make_project, move, new_resident, submit, ward

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True)


def titles(qs) -> list[str]:
    return [idea.title for idea in qs]


def test_public_list_leaves_out_hidden_and_withdrawn_ideas(cycle, resident, vetting_staff):
    shown = submit(cycle, resident, title="Shown")
    hidden = submit(cycle, resident, title="Hidden")
    withdrawn = submit(cycle, resident, title="Withdrawn")
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Spam.")
    services.idea_withdraw(actor=resident, idea=withdrawn)
    other_cycle = CycleFactory(ideas=True, wards="A")
    submit(other_cycle, resident, title="Elsewhere")
    assert titles(selectors.idea_list_public(cycle=cycle)) == [shown.title]
    # Even for the author: the public list is the public list.
    assert titles(selectors.idea_list_public(cycle=cycle, user=resident)) == [shown.title]


def test_public_list_filters_by_district_category_and_status(cycle, resident, official, vetting_staff):
    parks = services.category_create(actor=official, cycle=cycle, name="Parks")
    streets = services.category_create(actor=official, cycle=cycle, name="Streets")
    submit(cycle, resident, title="Trees in A", category=parks)
    submit(cycle, resident, title="Crossing in A", category=streets)
    tree_b = submit(cycle, resident, title="Trees in B", district=ward(cycle, "B"), category=parks)
    move(cycle, official, Phase.VETTING)
    services.review_record(actor=vetting_staff, idea=tree_b, feasibility="feasible", public_reason="Fine.")
    services.review_publish(actor=vetting_staff, idea=tree_b)

    def listed(**filters):
        return sorted(titles(selectors.idea_list_public(cycle=cycle, **filters)))

    assert listed(district="A") == ["Crossing in A", "Trees in A"]
    assert listed(district="B") == ["Trees in B"]
    assert listed(district="F") == []
    assert listed(category="parks") == ["Trees in A", "Trees in B"]
    assert listed(district="A", category="parks") == ["Trees in A"]
    assert listed(status="feasible") == ["Trees in B"]
    assert listed(status="submitted") == ["Crossing in A", "Trees in A"]
    assert listed(status="bogus") == ["Crossing in A", "Trees in A", "Trees in B"]  # ignored, not an error


@pytest.mark.parametrize("q", ["fountain", "FOUNTAIN", "bottle fountain"])
def test_search_finds_a_word_in_the_description(cycle, resident, q):
    submit(
        cycle,
        resident,
        title="Something to drink",
        description="A year-round fountain with a bottle filler by the swings.",
    )
    submit(cycle, resident, title="Benches", description="Benches at the bus stops on Grand Street.")
    assert titles(selectors.idea_list_public(cycle=cycle, q=q)) == ["Something to drink"]


def test_search_finds_a_word_in_the_title_and_nothing_for_an_absent_word(cycle, resident):
    submit(cycle, resident, title="Chess tables", description="Concrete tables with benches.")
    assert titles(selectors.idea_list_public(cycle=cycle, q="chess")) == ["Chess tables"]
    assert titles(selectors.idea_list_public(cycle=cycle, q="skatepark")) == []
    assert titles(selectors.idea_list_public(cycle=cycle, q="   ")) == ["Chess tables"]


def test_sorting_by_endorsements_with_counts(cycle, resident):
    quiet = submit(cycle, resident, title="Quiet")
    popular = submit(cycle, resident, title="Popular")
    middle = submit(cycle, resident, title="Middle")
    fans = [new_resident() for _ in range(3)]
    for fan in fans:
        services.idea_endorse(actor=fan, idea=popular)
    services.idea_endorse(actor=fans[0], idea=middle)
    services.comment_add(actor=fans[1], idea=middle, body="Yes")
    ideas = list(selectors.idea_list_public(cycle=cycle, sort="endorsements", user=fans[0]))
    assert [(i.title, i.endorsement_count) for i in ideas] == [("Popular", 3), ("Middle", 1), ("Quiet", 0)]
    assert [i.comment_count for i in ideas] == [0, 1, 0]
    assert [i.endorsed for i in ideas] == [True, True, False]
    assert titles(selectors.idea_list_public(cycle=cycle, sort="oldest")) == ["Quiet", "Popular", "Middle"]
    assert titles(selectors.idea_list_public(cycle=cycle)) == ["Middle", "Popular", "Quiet"]
    assert quiet.pk  # made first, so "newest" puts it last


def _fill(cycle, n, official):
    """``n`` ideas from several residents (the hourly limit is per resident), with categories,
    endorsements and comments, so that a lazy load anywhere would show in the query count."""
    category = services.category_create(actor=official, cycle=cycle, name=f"Category {n}")
    fan = new_resident()
    authors = [new_resident() for _ in range((n + 3) // 4)]
    ideas = []
    for i in range(n):
        author = authors[i // 4]
        idea = submit(cycle, author, title=f"Idea {n}-{i}", category=category, district=ward(cycle, "ABC"[i % 3]))
        services.idea_endorse(actor=fan, idea=idea)
        services.comment_add(actor=fan, idea=idea, body="Good idea")
        ideas.append(idea)
    return ideas


def _walk_public(qs):
    return [
        (i.title, i.district.code, i.category.name, i.endorsement_count, i.comment_count, i.endorsed, i.status)
        for i in qs
    ]


def test_public_list_runs_a_constant_number_of_queries(resident, official, django_assert_num_queries):
    small, large = CycleFactory(ideas=True), CycleFactory(ideas=True)
    _fill(small, 2, official)
    _fill(large, 12, official)
    with CaptureQueriesContext(connection) as baseline:
        assert len(_walk_public(selectors.idea_list_public(cycle=small, user=resident, q="idea"))) == 2
    with django_assert_num_queries(len(baseline.captured_queries)):
        assert len(_walk_public(selectors.idea_list_public(cycle=large, user=resident, q="idea"))) == 12


def _walk_queue(qs):
    rows = []
    for idea in qs:
        review = getattr(idea, "review", None)
        reviewer = review.reviewer.email if review and review.reviewer else None
        rows.append(
            (
                idea.title,
                idea.district.code,
                idea.category.name,
                idea.author.email,
                idea.endorsement_count,
                reviewer,
                [p.code for p in idea.projects.all()],
            )
        )
    return rows


def test_vetting_queue_runs_a_constant_number_of_queries(official, vetting_staff, django_assert_num_queries):
    small, large = CycleFactory(ideas=True), CycleFactory(ideas=True)
    for cycle, n in ((small, 2), (large, 12)):
        ideas = _fill(cycle, n, official)
        move(cycle, official, Phase.VETTING)
        services.review_assign(actor=vetting_staff, idea=ideas[0], reviewer=vetting_staff)
        make_project(cycle, official, ideas[1:], code="A-01")
    with CaptureQueriesContext(connection) as baseline:
        assert len(_walk_queue(selectors.vetting_queue(cycle=small))) == 2
    with django_assert_num_queries(len(baseline.captured_queries)):
        rows = _walk_queue(selectors.vetting_queue(cycle=large))
    assert len(rows) == 12
    assert sum(1 for r in rows if r[5] == vetting_staff.email) == 1
    assert sum(1 for r in rows if r[6] == ["A-01"]) == 11


def test_vetting_queue_shows_hidden_ideas_and_filters(cycle, resident, official, vetting_staff):
    shown = submit(cycle, resident, title="Shown")
    hidden = submit(cycle, resident, title="Hidden", district=ward(cycle, "B"))
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Spam.")
    move(cycle, official, Phase.VETTING)
    services.review_assign(actor=vetting_staff, idea=shown, reviewer=vetting_staff)
    assert titles(selectors.vetting_queue(cycle=cycle)) == ["Shown", "Hidden"]  # by district, then age
    assert titles(selectors.vetting_queue(cycle=cycle, district="B")) == ["Hidden"]
    assert titles(selectors.vetting_queue(cycle=cycle, reviewer="none")) == ["Hidden"]
    assert titles(selectors.vetting_queue(cycle=cycle, reviewer=str(vetting_staff.pk))) == ["Shown"]
    assert titles(selectors.vetting_queue(cycle=cycle, status="under_review")) == ["Shown"]


def test_idea_get_public_hides_hidden_ideas_except_from_author_and_staff(cycle, resident, vetting_staff):
    idea = submit(cycle, resident)
    neighbour = new_resident()
    assert selectors.idea_get_public(pk=idea.pk, user=neighbour).pk == idea.pk
    services.content_hide(actor=vetting_staff, idea=idea, reason="Spam.")
    assert selectors.idea_get_public(pk=idea.pk, user=neighbour) is None
    assert selectors.idea_get_public(pk=idea.pk, user=AnonymousUser()) is None
    assert selectors.idea_get_public(pk=idea.pk) is None
    mine = selectors.idea_get_public(pk=idea.pk, user=resident)
    assert mine.pk == idea.pk and mine.hidden_reason == "Spam."
    assert selectors.idea_get_public(pk=idea.pk, user=vetting_staff).pk == idea.pk
    assert selectors.idea_get_public(pk=999999, user=vetting_staff) is None


def test_idea_get_public_hides_withdrawn_ideas_except_from_author(cycle, resident):
    idea = submit(cycle, resident)
    services.idea_withdraw(actor=resident, idea=idea)
    assert selectors.idea_get_public(pk=idea.pk, user=new_resident()) is None
    assert selectors.idea_get_public(pk=idea.pk, user=resident).status == "withdrawn"


def test_idea_get_public_shows_visible_comments_only(cycle, resident, vetting_staff):
    idea = submit(cycle, resident)
    neighbour = new_resident()
    services.comment_add(actor=neighbour, idea=idea, body="Kind words")
    rude = services.comment_add(actor=neighbour, idea=idea, body="Rude words")
    services.content_hide(actor=vetting_staff, comment=rude, reason="Rude.")
    page = selectors.idea_get_public(pk=idea.pk, user=neighbour)
    assert [c.body for c in page.visible_comments] == ["Kind words"]


def test_idea_public_review_is_published_part_only(cycle, resident, official, vetting_staff):
    idea = submit(cycle, resident)
    move(cycle, official, Phase.VETTING)
    assert selectors.idea_public_review(idea) is None  # no review yet
    services.review_record(
        actor=vetting_staff,
        idea=idea,
        feasibility="not_feasible",
        public_reason="The lot is private.",
        cost_estimate="1000",
        department="Engineering",
        internal_notes="SECRET owner phone 555-0199",
    )
    fresh = selectors.idea_get_public(pk=idea.pk, user=resident)
    assert selectors.idea_public_review(fresh) is None  # recorded, not published
    services.review_publish(actor=vetting_staff, idea=idea)
    fresh = selectors.idea_get_public(pk=idea.pk, user=resident)
    public = selectors.idea_public_review(fresh)
    assert public["public_reason"] == "The lot is private."
    assert str(public["feasibility"]) == "Not feasible"
    assert public["department"] == "Engineering"
    assert "internal_notes" not in public
    assert not any("SECRET" in str(value) for value in public.values())
