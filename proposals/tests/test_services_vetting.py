"""Vetting services: reviews, and publishing decisions one at a time and in batches."""

from decimal import Decimal

import pytest

import core.services
from accounts.models import User
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent, Notification
from proposals import permissions, selectors, services
from proposals.models import Idea, Review
from tests.concurrency import run_at_once
from tests.factories import CycleFactory

from .builders import counts, events, field_messages, idea_input, ideas_in_vetting, new_resident, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True)


@pytest.fixture
def neighbour(db):
    return new_resident()


@pytest.fixture
def vetting(cycle, resident, official, neighbour):
    """Two ideas by two residents, then the cycle moved on to vetting through the service."""
    return ideas_in_vetting(cycle, resident, neighbour, official)


def test_review_record_stores_assessment_and_internal_notes(vetting, vetting_staff):
    review = services.review_record(
        actor=vetting_staff,
        idea=vetting.idea,
        feasibility="feasible",
        public_reason="Parks can install it this autumn.",
        cost_estimate="18,500",
        department="Parks",
        internal_notes="Water main is 20 m away; check with the utility.",
    )
    review = Review.objects.get(pk=review.pk)
    assert (review.feasibility, review.cost_estimate, review.department) == ("feasible", Decimal("18500.00"), "Parks")
    assert review.internal_notes == "Water main is 20 m away; check with the utility."
    assert review.reviewer == vetting_staff and review.published_at is None
    idea = Idea.objects.get(pk=vetting.idea.pk)
    assert idea.status == "under_review"  # not yet the decision: that waits for publishing
    (event,) = events("review.recorded", idea.pk)
    assert event.actor_id == vetting_staff.pk and event.after["internal_notes"].startswith("Water main")


def test_not_feasible_needs_a_public_reason(vetting, vetting_staff):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.review_record(
            actor=vetting_staff, idea=vetting.idea, feasibility="not_feasible", internal_notes="Private land."
        )
    assert field_messages(exc, "public_reason") == [str(services.MSG_NOT_FEASIBLE_REASON)]
    assert counts() == before
    assert Idea.objects.get(pk=vetting.idea.pk).status == "submitted"


def test_review_needs_a_known_feasibility(vetting, vetting_staff):
    with pytest.raises(ValidationFailed) as exc:
        services.review_record(actor=vetting_staff, idea=vetting.idea, feasibility="maybe")
    assert field_messages(exc, "feasibility") == [str(services.MSG_REQUIRED)]


def test_reviews_only_in_vetting_and_only_by_staff(cycle, resident, vetting_staff):
    idea = submit(cycle, resident)
    before = counts()
    with pytest.raises(PhaseClosed) as exc:
        services.review_record(actor=vetting_staff, idea=idea, feasibility="feasible")
    assert str(exc.value.message) == str(permissions.MSG_VETTING_CLOSED)
    with pytest.raises(NotAllowed) as exc:
        services.review_record(actor=resident, idea=idea, feasibility="feasible")
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert counts() == before


def test_review_assign_needs_a_vetting_staff_reviewer(vetting, vetting_staff, neighbour):
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.review_assign(actor=vetting_staff, idea=vetting.idea, reviewer=neighbour)
    assert field_messages(exc, "reviewer") == [str(services.MSG_REVIEWER_NOT_STAFF)]
    assert counts() == before
    review = services.review_assign(actor=vetting_staff, idea=vetting.idea, reviewer=vetting_staff)
    assert Review.objects.get(pk=review.pk).reviewer == vetting_staff
    idea = Idea.objects.get(pk=vetting.idea.pk)
    assert idea.status == "under_review"
    assert list(idea.status_changes.values_list("to_status", flat=True)) == ["submitted", "under_review"]
    (event,) = events("review.assigned", idea.pk)
    assert (event.before, event.after) == ({"reviewer": None}, {"reviewer": vetting_staff.pk})


def test_review_publish_changes_status_and_tells_author_and_followers(
    vetting, vetting_staff, resident, django_capture_on_commit_callbacks
):
    follower = new_resident()
    services.follow_set(actor=follower, idea=vetting.idea)
    services.review_record(
        actor=vetting_staff,
        idea=vetting.idea,
        feasibility="not_feasible",
        public_reason="The site is private property.",
        internal_notes="Owner refused.",
    )
    Notification.objects.all().delete()
    with django_capture_on_commit_callbacks() as callbacks:
        idea = services.review_publish(actor=vetting_staff, idea=vetting.idea)
    idea.refresh_from_db()
    assert idea.status == "not_feasible"
    change = idea.status_changes.last()
    assert (change.from_status, change.to_status, change.public_reason) == (
        "under_review",
        "not_feasible",
        "The site is private property.",
    )
    assert Review.objects.get(idea=idea).published_at is not None
    (event,) = events("review.published", idea.pk)
    assert event.after == {"status": "not_feasible", "public_reason": "The site is private property."}
    notes = Notification.objects.filter(kind="idea.decision").order_by("recipient_id")
    assert {n.recipient for n in notes} == {resident, follower}
    assert all("The site is private property." in n.body and "Owner refused." not in n.body for n in notes)
    assert len(callbacks) == 2


def test_publishing_without_a_decision_is_refused(vetting, vetting_staff):
    with pytest.raises(Conflict) as exc:
        services.review_publish(actor=vetting_staff, idea=vetting.idea)  # no review at all
    assert str(exc.value.message) == str(services.MSG_NOTHING_TO_PUBLISH)
    services.review_assign(actor=vetting_staff, idea=vetting.idea, reviewer=vetting_staff)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.review_publish(actor=vetting_staff, idea=vetting.idea)  # assigned, not decided
    assert str(exc.value.message) == str(services.MSG_NOTHING_TO_PUBLISH)
    assert counts() == before
    assert Idea.objects.get(pk=vetting.idea.pk).status == "under_review"


def _decide(idea, actor, feasibility="feasible", reason=""):
    return services.review_record(actor=actor, idea=idea, feasibility=feasibility, public_reason=reason)


def test_publishing_one_decision_twice_tells_residents_once(vetting, vetting_staff):
    _decide(vetting.idea, vetting_staff, "feasible", "Doable.")
    services.review_publish(actor=vetting_staff, idea=vetting.idea)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.review_publish(actor=vetting_staff, idea=vetting.idea)
    assert str(exc.value.message) == str(services.MSG_ALREADY_PUBLISHED)
    assert counts() == before
    # A changed decision is published again.
    _decide(vetting.idea, vetting_staff, "needs_info", "Which corner?")
    assert services.review_publish(actor=vetting_staff, idea=vetting.idea).status == "needs_info"


def test_publishing_several_decisions_together(vetting, vetting_staff, resident, neighbour):
    _decide(vetting.idea, vetting_staff, "not_feasible", "The site is private property.")
    _decide(vetting.other, vetting_staff, "feasible", "Parks can do it.")
    Notification.objects.all().delete()
    published = services.review_publish_many(
        actor=vetting_staff, cycle=vetting.cycle, ideas=[vetting.other.pk, vetting.idea]
    )
    assert [i.pk for i in published] == sorted([vetting.idea.pk, vetting.other.pk])
    assert Idea.objects.get(pk=vetting.idea.pk).status == "not_feasible"
    assert Idea.objects.get(pk=vetting.other.pk).status == "feasible"
    # Each decision audited and told as when published one by one.
    (first,) = events("review.published", vetting.idea.pk)
    assert first.after == {"status": "not_feasible", "public_reason": "The site is private property."}
    assert first.actor_id == vetting_staff.pk
    (second,) = events("review.published", vetting.other.pk)
    assert second.after == {"status": "feasible", "public_reason": "Parks can do it."}
    decisions = Notification.objects.filter(kind="idea.decision")
    assert {n.recipient for n in decisions} == {resident, neighbour}


def test_publishing_several_decisions_is_all_or_nothing_and_names_each_problem(
    vetting, vetting_staff, official, resident
):
    third = services.idea_submit_paper(
        actor=vetting_staff,
        cycle=vetting.cycle,
        data=idea_input(vetting.cycle, title="Bike racks"),
        proposer_name="Ana",
    )
    _decide(vetting.idea, vetting_staff)
    _decide(vetting.other, vetting_staff)
    services.review_publish(actor=vetting_staff, idea=vetting.other)  # already public
    other_cycle = CycleFactory(vetting=True, wards="A")
    stranger = services.idea_submit_paper(
        actor=official, cycle=other_cycle, data=idea_input(other_cycle), proposer_name="Bo"
    )
    _decide(stranger, vetting_staff)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.review_publish_many(
            actor=vetting_staff, cycle=vetting.cycle, ideas=[vetting.idea, vetting.other, third, stranger]
        )
    assert str(exc.value.message) == str(services.MSG_BATCH_REFUSED)
    assert [str(m) for m in exc.value.extra["ideas"]] == [
        services.MSG_BATCH_ALREADY_PUBLISHED % {"idea": f"#{vetting.other.pk} “Drinking fountain by the library”"},
        services.MSG_BATCH_NO_DECISION % {"idea": f"#{third.pk} “Bike racks”"},
        services.MSG_BATCH_OTHER_CYCLE % {"idea": f"#{stranger.pk}"},
    ]
    # The publishable one was not published either.
    assert counts() == before
    assert Idea.objects.get(pk=vetting.idea.pk).status == "under_review"
    assert Review.objects.get(idea=vetting.idea).published_at is None


def test_publishing_the_same_decisions_twice_publishes_nothing_twice(vetting, vetting_staff):
    _decide(vetting.idea, vetting_staff)
    _decide(vetting.other, vetting_staff, "needs_info", "Where exactly?")
    services.review_publish_many(actor=vetting_staff, cycle=vetting.cycle, ideas=[vetting.idea, vetting.other])
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.review_publish_many(actor=vetting_staff, cycle=vetting.cycle, ideas=[vetting.idea, vetting.other])
    assert len(exc.value.extra["ideas"]) == 2
    assert counts() == before
    assert events("review.published").count() == 2
    # A decision changed after publication is waiting again, and is published again.
    _decide(vetting.other, vetting_staff, "feasible")
    assert list(selectors.decisions_to_publish(cycle=vetting.cycle)) == [vetting.other]
    services.review_publish_many(actor=vetting_staff, cycle=vetting.cycle, ideas=[vetting.other])
    assert Idea.objects.get(pk=vetting.other.pk).status == "feasible"
    assert list(selectors.decisions_to_publish(cycle=vetting.cycle)) == []


def test_publishing_several_decisions_is_refused_outside_vetting_and_for_others(
    vetting, vetting_staff, official, resident
):
    _decide(vetting.idea, vetting_staff)
    before = counts()
    with pytest.raises(NotAllowed):
        services.review_publish_many(actor=resident, cycle=vetting.cycle, ideas=[vetting.idea])
    with pytest.raises(ValidationFailed) as exc:
        services.review_publish_many(actor=vetting_staff, cycle=vetting.cycle, ideas=[])
    assert exc.value.extra == {"ideas": [services.MSG_NO_IDEAS]}
    assert counts() == before
    ideas_cycle = CycleFactory(ideas=True, wards="A")
    with pytest.raises(PhaseClosed) as exc:
        services.review_publish_many(actor=vetting_staff, cycle=ideas_cycle, ideas=[vetting.idea])
    assert str(exc.value.message) == str(permissions.MSG_VETTING_CLOSED)
    assert counts() == before


@pytest.mark.postgres
def test_parallel_batches_publish_each_decision_once(transactional_db, resident, official, vetting_staff, monkeypatch):
    monkeypatch.setattr(core.services, "notification_dispatch", lambda **kwargs: None)
    cycle = CycleFactory(vetting=True, wards="A")
    ideas = [
        services.idea_submit_paper(
            actor=official, cycle=cycle, data=idea_input(cycle, title=f"Idea {n}"), proposer_name="Ana"
        )
        for n in range(3)
    ]
    for idea in ideas:
        _decide(idea, vetting_staff)

    def publish():
        return services.review_publish_many(
            actor=User.objects.get(pk=vetting_staff.pk), cycle=cycle.pk, ideas=[i.pk for i in reversed(ideas)]
        )

    results = run_at_once([publish] * 4)
    assert all(outcome == "ok" or isinstance(value, Conflict) for outcome, value in results)
    published = [[i.pk for i in value] for outcome, value in results if outcome == "ok"]
    refused = [len(value.extra["ideas"]) for outcome, value in results if outcome != "ok"]
    assert published == [sorted(i.pk for i in ideas)]
    assert refused == [3, 3, 3]
    assert AuditEvent.objects.filter(action="review.published").count() == 3
