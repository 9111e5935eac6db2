"""Services: ideas (submit, edit, withdraw), endorsements, comments, follows, reports and moderation,
reviews, projects made from ideas, and categories."""

import threading
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext

import core.services
from accounts.models import User
from budgets.phases import Phase
from core.errors import Conflict, NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent, Notification
from core.selectors import audit_chain_verify_database
from core.services import notification_deliver
from proposals import permissions, selectors, services
from proposals.models import (
    Category,
    Comment,
    Endorsement,
    Follow,
    Idea,
    IdeaStatusChange,
    Project,
    ProjectSource,
    Report,
    Review,
)
from tests.factories import CycleFactory, UserFactory

from .builders import counts, events, idea_input, make_project, move, new_resident, submit, texts, ward

pytestmark = pytest.mark.django_db


def field_messages(exc_info, field: str) -> list[str]:
    return [str(m) for m in exc_info.value.extra[field]]


def deliver_all() -> None:
    """What the Celery task does after commit, run here so the test needs no broker."""
    for pk in Notification.objects.filter(sent_at__isnull=True).values_list("pk", flat=True):
        notification_deliver(notification_id=pk)


@pytest.fixture
def cycle(db):
    return CycleFactory(ideas=True)


@pytest.fixture
def neighbour(db):
    return new_resident()


# --- idea_submit -------------------------------------------------------------------------------------
def test_idea_submit_stores_idea_history_audit_follow_and_notification(cycle, resident):
    idea = services.idea_submit(
        actor=resident,
        cycle=cycle,
        data=idea_input(
            cycle, cost_guess="$25,000", latitude="40.7178", longitude="-74.0431", district=ward(cycle, "B").pk
        ),
    )
    idea.refresh_from_db()
    assert (idea.cycle, idea.district.code, idea.author, idea.entered_by) == (cycle, "B", resident, resident)
    assert (idea.status, idea.source) == (Idea.Status.SUBMITTED, Idea.Source.ONLINE)
    assert idea.cost_guess == Decimal("25000.00")
    assert (idea.latitude, idea.longitude) == (Decimal("40.717800"), Decimal("-74.043100"))
    assert list(idea.status_changes.values_list("from_status", "to_status")) == [("", "submitted")]
    (event,) = events("idea.submitted")
    assert (event.actor_id, event.object_type, event.object_id) == (resident.pk, "idea", str(idea.pk))
    assert event.after["title"] == idea.title and event.after["district"] == "B"
    assert Follow.objects.filter(user=resident, idea=idea).count() == 1
    (note,) = Notification.objects.all()
    assert (note.recipient, note.kind, note.address) == (resident, "idea.received", resident.email)
    assert idea.title in note.subject and idea.title in note.body


def test_idea_received_email_goes_out_only_after_commit(cycle, resident, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        idea = submit(cycle, resident)
    assert mail.outbox == []  # nothing leaves inside the transaction
    assert len(callbacks) == 1  # the dispatch waits for the commit
    deliver_all()
    assert [(m.to, m.subject) for m in mail.outbox] == [([resident.email], f"We received your idea “{idea.title}”")]


def test_idea_received_notification_is_rendered_in_the_authors_language(cycle, resident):
    resident.language = "es"
    resident.save(update_fields=["language"])
    idea = submit(cycle, resident)
    note = Notification.objects.get(kind="idea.received", recipient=resident)
    subject_id = "We received your idea “%(title)s”"
    english = subject_id % {"title": idea.title}
    with translation.override("es"):
        spanish = gettext(subject_id)
    if spanish != subject_id:  # only once the Spanish catalogue has the message
        assert note.subject == spanish % {"title": idea.title}
        assert note.subject != english
    else:
        assert note.subject == english


def test_resident_without_verified_email_cannot_submit(cycle):
    user = UserFactory()
    EmailAddress.objects.filter(user=user).update(verified=False)
    user = User.objects.get(pk=user.pk)
    before = counts()
    with pytest.raises(NotAllowed) as exc:
        submit(cycle, user)
    assert str(exc.value.message) == str(permissions.MSG_VERIFY_EMAIL)
    assert counts() == before


def test_anonymous_cannot_submit(cycle):
    before = counts()
    with pytest.raises(NotAllowed) as exc:
        submit(cycle, AnonymousUser())
    assert str(exc.value.message) == str(permissions.MSG_LOGIN_REQUIRED)
    assert counts() == before


@pytest.mark.parametrize("phase", [p for p in Phase if p != Phase.IDEAS])
def test_no_ideas_outside_the_ideas_phase(resident, phase):
    cycle = CycleFactory(phase=phase, wards="A")
    before = counts()
    with pytest.raises(PhaseClosed) as exc:
        submit(cycle, resident)
    assert str(exc.value.message) == str(permissions.MSG_IDEAS_CLOSED)
    assert counts() == before


def _other_cycle_district(cycle, other):
    return {"district": ward(other)}


def _other_cycle_category(cycle, other, official):
    return {"category": services.category_create(actor=official, cycle=other, name="Parks")}


BAD_INPUT = [
    pytest.param(_other_cycle_district, "district", services.MSG_WRONG_DISTRICT, id="district-of-another-cycle"),
    pytest.param(lambda c, o: {"district": None}, "district", services.MSG_WRONG_DISTRICT, id="no-district"),
    pytest.param(lambda c, o: {"category": 999999}, "category", services.MSG_WRONG_CATEGORY, id="unknown-category"),
    pytest.param(
        lambda c, o: {"title": "x" * 151},
        "title",
        services.MSG_TOO_LONG % {"max": 150, "length": 151},
        id="title-151",
    ),
    pytest.param(lambda c, o: {"title": "   "}, "title", services.MSG_REQUIRED, id="title-blank"),
    pytest.param(
        lambda c, o: {"description": "d" * 5001},
        "description",
        services.MSG_TOO_LONG % {"max": 5000, "length": 5001},
        id="description-5001",
    ),
    pytest.param(lambda c, o: {"address": ""}, "address", services.MSG_REQUIRED, id="address-missing"),
    pytest.param(lambda c, o: {"cost_guess": "-5"}, "cost_guess", services.MSG_NEGATIVE, id="cost-negative"),
    pytest.param(lambda c, o: {"cost_guess": "lots"}, "cost_guess", services.MSG_BAD_AMOUNT, id="cost-not-a-number"),
    pytest.param(lambda c, o: {"cost_guess": "NaN"}, "cost_guess", services.MSG_BAD_AMOUNT, id="cost-nan"),
    pytest.param(lambda c, o: {"cost_guess": "1e13"}, "cost_guess", services.MSG_BAD_AMOUNT, id="cost-huge"),
    pytest.param(
        lambda c, o: {"latitude": "91", "longitude": "-74"}, "location", services.MSG_BAD_COORDINATES, id="lat-91"
    ),
    pytest.param(
        lambda c, o: {"latitude": "40.7", "longitude": "-181"}, "location", services.MSG_BAD_COORDINATES, id="lng-181"
    ),
    pytest.param(
        lambda c, o: {"latitude": "north", "longitude": "-74"}, "location", services.MSG_BAD_COORDINATES, id="lat-text"
    ),
    pytest.param(lambda c, o: {"latitude": "40.7"}, "location", services.MSG_BAD_COORDINATES, id="lat-without-lng"),
    pytest.param(lambda c, o: {"language": "fr"}, "language", services.MSG_BAD_LANGUAGE, id="language-fr"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_INPUT)
def test_invalid_idea_is_refused_field_by_field_and_saves_nothing(cycle, resident, overrides, field, message):
    other = CycleFactory(ideas=True, wards="A")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(cycle, resident, **overrides(cycle, other))
    assert field_messages(exc, field) == [str(message)]
    assert counts() == before


def test_category_of_another_cycle_is_refused(cycle, resident, official):
    other = CycleFactory(ideas=True, wards="A")
    parks_elsewhere = services.category_create(actor=official, cycle=other, name="Parks")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        submit(cycle, resident, category=parks_elsewhere)
    assert field_messages(exc, "category") == [str(services.MSG_WRONG_CATEGORY)]
    assert counts() == before


def test_every_bad_field_is_reported_at_once(cycle, resident):
    with pytest.raises(ValidationFailed) as exc:
        submit(cycle, resident, title="", cost_guess="-1", language="xx")
    assert set(exc.value.extra) == {"title", "cost_guess", "language"}


def test_category_of_the_cycle_is_accepted(cycle, resident, official):
    parks = services.category_create(actor=official, cycle=cycle, name="Parks")
    idea = submit(cycle, resident, category=parks.pk)
    assert Idea.objects.get(pk=idea.pk).category == parks


def test_script_tags_are_stored_verbatim_as_text(cycle, resident):
    title = "<script>alert('x')</script> Benches"
    description = "<img src=x onerror=alert(1)> & <b>bold</b>"
    idea = submit(cycle, resident, title=title, description=description)
    idea.refresh_from_db()
    assert (idea.title, idea.description) == (title, description)


def test_per_cycle_limit_and_a_withdrawn_idea_does_not_count(cycle, resident):
    cycle.ideas_per_resident = 2
    cycle.save(update_fields=["ideas_per_resident"])
    first = submit(cycle, resident, title="One")
    submit(cycle, resident, title="Two")
    before = counts()
    with pytest.raises(Conflict) as exc:
        submit(cycle, resident, title="Three")
    assert str(exc.value.message) == services.MSG_IDEA_LIMIT % {"limit": 2}
    assert exc.value.status == 409
    assert counts() == before
    services.idea_withdraw(actor=resident, idea=first)
    third = submit(cycle, resident, title="Three")
    assert set(Idea.objects.filter(author=resident).exclude(status="withdrawn").values_list("pk", flat=True)) == {
        third.pk,
        Idea.objects.get(title="Two").pk,
    }


def test_the_same_idea_sent_twice_is_refused_and_stores_nothing(cycle, resident):
    # Two tabs, or a double click: the second copy of the same form is not a second idea.
    submit(cycle, resident, title="Benches", description="Benches on Grand St.")
    before = counts()
    with pytest.raises(Conflict) as exc:
        submit(cycle, resident, title="Benches", description="Benches on Grand St.")
    assert str(exc.value.message) == str(services.MSG_IDEA_AGAIN)
    assert counts() == before
    # Another text, another author or another cycle is another idea.
    submit(cycle, resident, title="Benches", description="Benches on Elm St.")
    submit(cycle, new_resident(), title="Benches", description="Benches on Grand St.")
    submit(CycleFactory(ideas=True, wards="A"), resident, title="Benches", description="Benches on Grand St.")


def test_per_cycle_limit_counts_only_that_cycle(cycle, resident):
    cycle.ideas_per_resident = 1
    cycle.save(update_fields=["ideas_per_resident"])
    other = CycleFactory(ideas=True, wards="A")
    submit(other, resident)
    submit(cycle, resident)  # the idea in the other cycle does not use this cycle's allowance
    with pytest.raises(Conflict):
        submit(cycle, resident)


def test_hourly_rate_limit(cycle, resident):
    cycle.ideas_per_resident = 50
    cycle.save(update_fields=["ideas_per_resident"])
    for i in range(services.IDEAS_PER_HOUR):
        submit(cycle, resident, title=f"Idea {i}")
    before = counts()
    with pytest.raises(services.RateLimited) as exc:
        submit(cycle, resident, title="One too many")
    assert exc.value.status == 429
    assert str(exc.value.message) == str(services.RateLimited.default_message)
    assert counts() == before
    # Another resident is not affected; the author may submit again an hour later.
    submit(cycle, new_resident(), title="Someone else")
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        submit(cycle, resident, title="Next hour")
    assert Idea.objects.filter(author=resident).count() == services.IDEAS_PER_HOUR + 1


@pytest.mark.postgres
def test_parallel_submissions_cannot_pass_the_per_cycle_limit(transactional_db, resident, monkeypatch):
    cycle = CycleFactory(ideas=True, wards="A", ideas_per_resident=3)
    # No broker traffic from this test: the outbox rows are enough.
    monkeypatch.setattr(core.services, "notification_dispatch", lambda **kwargs: None)
    barrier = threading.Barrier(8, timeout=10)
    created, refused, unexpected = [], [], []
    lock = threading.Lock()

    def submit_one(n):
        try:
            actor = User.objects.get(pk=resident.pk)
            barrier.wait()
            idea = services.idea_submit(actor=actor, cycle=cycle.pk, data=idea_input(cycle, title=f"Parallel {n}"))
            with lock:
                created.append(idea.pk)
        except Conflict as exc:
            with lock:
                refused.append(str(exc.message))
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit_one, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert len(created) == 3
    assert refused == [services.MSG_IDEA_LIMIT % {"limit": 3}] * 5
    assert Idea.objects.filter(cycle=cycle, author=resident).count() == 3
    assert AuditEvent.objects.filter(action="idea.submitted").count() == 3
    assert audit_chain_verify_database().ok


# --- paper ideas -------------------------------------------------------------------------------------
def test_staff_enter_a_paper_idea_for_a_resident_without_account(cycle, vetting_staff, resident):
    idea = services.idea_submit_paper(
        actor=vetting_staff,
        cycle=cycle,
        data=idea_input(cycle),
        proposer_name="Ms. Rivera",
        proposer_contact="555-0101",
    )
    idea.refresh_from_db()
    assert (idea.source, idea.author, idea.entered_by) == ("paper", None, vetting_staff)
    assert (idea.proposer_name, idea.proposer_contact) == ("Ms. Rivera", "555-0101")
    assert events("idea.paper_entered", idea.pk).get().actor_id == vetting_staff.pk
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.idea_submit_paper(actor=vetting_staff, cycle=cycle, data=idea_input(cycle), proposer_name=" ")
    assert field_messages(exc, "proposer_name") == [str(services.MSG_REQUIRED)]
    with pytest.raises(NotAllowed) as exc:
        services.idea_submit_paper(actor=resident, cycle=cycle, data=idea_input(cycle), proposer_name="Me")
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert counts() == before


# --- idea_edit / idea_withdraw -----------------------------------------------------------------------
def test_author_edits_their_idea_and_the_audit_has_before_and_after(cycle, resident):
    idea = submit(cycle, resident, title="Old title")
    services.idea_edit(actor=resident, idea=idea.pk, data=idea_input(cycle, title="New title", cost_guess="9000"))
    idea.refresh_from_db()
    assert (idea.title, idea.cost_guess) == ("New title", Decimal("9000.00"))
    (event,) = events("idea.edited", idea.pk)
    assert event.actor_id == resident.pk
    assert (event.before["title"], event.after["title"]) == ("Old title", "New title")
    assert (event.before["cost_guess"], event.after["cost_guess"]) == (None, "9000.00")


def test_edit_without_a_change_writes_no_audit_event(cycle, resident):
    idea = submit(cycle, resident)
    services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle))
    assert not events("idea.edited").exists()


def test_invalid_edit_changes_nothing(cycle, resident):
    idea = submit(cycle, resident, title="Kept")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle, title="x" * 151))
    assert field_messages(exc, "title") == [services.MSG_TOO_LONG % {"max": 150, "length": 151}]
    assert Idea.objects.get(pk=idea.pk).title == "Kept"
    assert counts() == before


def test_only_the_author_edits_or_withdraws(cycle, resident, neighbour, vetting_staff):
    idea = submit(cycle, resident, title="Mine")
    before = counts()
    for actor in (neighbour, vetting_staff):
        with pytest.raises(NotAllowed) as exc:
            services.idea_edit(actor=actor, idea=idea, data=idea_input(cycle, title="Theirs"))
        assert str(exc.value.message) == str(permissions.MSG_NOT_YOURS)
        with pytest.raises(NotAllowed) as exc:
            services.idea_withdraw(actor=actor, idea=idea)
        assert str(exc.value.message) == str(permissions.MSG_NOT_YOURS)
    idea.refresh_from_db()
    assert (idea.title, idea.status) == ("Mine", "submitted")
    assert counts() == before


def test_no_edit_or_withdraw_once_ideas_close(cycle, resident, official):
    idea = submit(cycle, resident, title="Mine")
    move(cycle, official, Phase.VETTING)
    with pytest.raises(PhaseClosed) as exc:
        services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle, title="Later"))
    assert str(exc.value.message) == str(permissions.MSG_IDEAS_CLOSED)
    with pytest.raises(PhaseClosed):
        services.idea_withdraw(actor=resident, idea=idea)
    assert Idea.objects.get(pk=idea.pk).status == "submitted"


def test_no_edit_or_withdraw_once_review_started(cycle, resident, official, vetting_staff):
    idea = submit(cycle, resident, title="Mine")
    move(cycle, official, Phase.VETTING)
    services.review_assign(actor=vetting_staff, idea=idea, reviewer=vetting_staff)
    # Reviews happen in vetting and edits in ideas; the status check is the second line of defence,
    # so reach it by putting the cycle back (only a test does this).
    type(cycle).objects.filter(pk=cycle.pk).update(phase=Phase.IDEAS)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle, title="Changed"))
    assert str(exc.value.message) == str(services.MSG_NOT_EDITABLE)
    with pytest.raises(Conflict) as exc:
        services.idea_withdraw(actor=resident, idea=idea)
    assert str(exc.value.message) == str(services.MSG_NOT_EDITABLE)
    idea.refresh_from_db()
    assert (idea.title, idea.status) == ("Mine", "under_review")
    assert counts() == before


def test_withdraw_records_status_and_audit_and_twice_is_a_no_op(cycle, resident):
    idea = submit(cycle, resident)
    services.idea_withdraw(actor=resident, idea=idea, reason="  Duplicate of my neighbour's idea.  ")
    idea.refresh_from_db()
    assert idea.status == Idea.Status.WITHDRAWN
    change = idea.status_changes.last()
    assert (change.from_status, change.to_status, change.public_reason) == (
        "submitted",
        "withdrawn",
        "Duplicate of my neighbour's idea.",
    )
    (event,) = events("idea.withdrawn", idea.pk)
    assert (event.actor_id, event.before, event.after) == (
        resident.pk,
        {"status": "submitted"},
        {"status": "withdrawn"},
    )
    before = counts()
    assert services.idea_withdraw(actor=resident, idea=idea).status == "withdrawn"
    assert counts() == before


def test_a_withdrawn_idea_cannot_be_edited(cycle, resident):
    idea = submit(cycle, resident)
    services.idea_withdraw(actor=resident, idea=idea)
    with pytest.raises(Conflict) as exc:
        services.idea_edit(actor=resident, idea=idea, data=idea_input(cycle, title="Back"))
    assert str(exc.value.message) == str(services.MSG_ALREADY_WITHDRAWN)


# --- endorsements ------------------------------------------------------------------------------------
def test_one_endorsement_per_resident(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    assert services.idea_endorse(actor=neighbour, idea=idea) is True
    before = counts()
    assert services.idea_endorse(actor=neighbour, idea=idea.pk) is False
    assert counts() == before
    assert Endorsement.objects.filter(idea=idea).count() == 1
    assert events("idea.endorsed", idea.pk).get().actor_id == neighbour.pk


def test_the_database_refuses_a_duplicate_endorsement(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    Endorsement.objects.create(idea=idea, user=neighbour)
    with pytest.raises(IntegrityError), transaction.atomic():
        Endorsement.objects.create(idea=idea, user=neighbour)
    assert Endorsement.objects.filter(idea=idea).count() == 1


def test_no_endorsing_your_own_idea(cycle, resident):
    idea = submit(cycle, resident)
    with pytest.raises(Conflict) as exc:
        services.idea_endorse(actor=resident, idea=idea)
    assert str(exc.value.message) == str(services.MSG_OWN_IDEA)
    assert not Endorsement.objects.exists()


def test_no_endorsing_a_hidden_or_withdrawn_idea(cycle, resident, neighbour, vetting_staff):
    hidden = submit(cycle, resident, title="Hidden")
    services.content_hide(actor=vetting_staff, idea=hidden, reason="Advertising.")
    withdrawn = submit(cycle, resident, title="Withdrawn")
    services.idea_withdraw(actor=resident, idea=withdrawn)
    for idea in (hidden, withdrawn):
        with pytest.raises(Conflict) as exc:
            services.idea_endorse(actor=neighbour, idea=idea)
        assert str(exc.value.message) == str(services.MSG_HIDDEN)
    assert not Endorsement.objects.exists()


def test_unendorse(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    services.idea_endorse(actor=neighbour, idea=idea)
    assert services.idea_unendorse(actor=neighbour, idea=idea) is True
    assert not Endorsement.objects.filter(idea=idea).exists()
    assert events("idea.unendorsed", idea.pk).count() == 1
    assert services.idea_unendorse(actor=neighbour, idea=idea) is False
    assert events("idea.unendorsed", idea.pk).count() == 1


def test_endorsing_and_commenting_close_when_voting_opens(cycle, resident, neighbour, official):
    idea = submit(cycle, resident)
    move(cycle, official, Phase.VETTING)
    assert services.idea_endorse(actor=neighbour, idea=idea) is True  # still open while vetting
    make_project(cycle, official, [idea])  # voting needs something on the ballot
    move(cycle, official, Phase.VOTING)
    before = counts()
    for call in (
        lambda: services.idea_endorse(actor=new_resident(), idea=idea),
        lambda: services.idea_unendorse(actor=neighbour, idea=idea),
        lambda: services.comment_add(actor=neighbour, idea=idea, body="Late"),
    ):
        with pytest.raises(PhaseClosed) as exc:
            call()
        assert str(exc.value.message) == str(permissions.MSG_DISCUSSION_CLOSED)
    assert Endorsement.objects.filter(idea=idea).count() == 1
    assert counts()["Comment"] == before["Comment"]


# --- comments, follows, reports ------------------------------------------------------------------------
def test_comment_is_stored_and_audited(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    comment = services.comment_add(actor=neighbour, idea=idea, body="  Yes please, near the benches.  ")
    assert (comment.idea, comment.author, comment.body) == (idea, neighbour, "Yes please, near the benches.")
    assert events("comment.added", comment.pk).get().after == {"idea": idea.pk}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("c" * 2001, services.MSG_TOO_LONG % {"max": 2000, "length": 2001}),
        ("   ", services.MSG_REQUIRED),
    ],
    ids=["2001-chars", "blank"],
)
def test_invalid_comment_is_refused(cycle, resident, neighbour, body, message):
    idea = submit(cycle, resident)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.comment_add(actor=neighbour, idea=idea, body=body)
    assert field_messages(exc, "body") == [str(message)]
    assert counts() == before


def test_comment_of_2000_characters_is_accepted(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    assert len(services.comment_add(actor=neighbour, idea=idea, body="c" * 2000).body) == 2000


def test_follow_on_and_off_is_idempotent(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    assert services.follow_set(actor=neighbour, idea=idea, on=True) is True
    assert services.follow_set(actor=neighbour, idea=idea, on=True) is False
    assert Follow.objects.filter(user=neighbour, idea=idea).count() == 1
    assert services.follow_set(actor=neighbour, idea=idea, on=False) is True
    assert services.follow_set(actor=neighbour, idea=idea, on=False) is False
    assert not Follow.objects.filter(user=neighbour, idea=idea).exists()
    assert [e.action for e in AuditEvent.objects.filter(action__startswith="follow.")] == [
        "follow.added",
        "follow.removed",
    ]


def test_report_is_stored_with_its_reason(cycle, resident, neighbour):
    idea = submit(cycle, resident)
    comment = services.comment_add(actor=resident, idea=idea, body="Buy my product")
    on_idea = services.content_report(actor=neighbour, idea=idea, reason="Not in the city.")
    on_comment = services.content_report(actor=neighbour, comment=comment, reason="Spam.")
    assert (on_idea.idea, on_idea.comment, on_idea.reporter, on_idea.resolved_at) == (idea, None, neighbour, None)
    assert (on_comment.idea, on_comment.comment) == (None, comment)
    assert [(e.object_type, e.reason) for e in events("content.reported")] == [
        ("idea", "Not in the city."),
        ("comment", "Spam."),
    ]
    with pytest.raises(ValidationFailed) as exc:
        services.content_report(actor=neighbour, idea=idea, reason=" ")
    assert field_messages(exc, "reason") == [str(services.MSG_REQUIRED)]
    assert Report.objects.count() == 2


# --- moderation ---------------------------------------------------------------------------------------
def test_staff_hide_an_idea_the_author_is_told_and_reports_are_resolved(cycle, resident, neighbour, vetting_staff):
    idea = submit(cycle, resident)
    report = services.content_report(actor=neighbour, idea=idea, reason="Offensive.")
    hidden = services.content_hide(actor=vetting_staff, idea=idea, reason="Personal attack on a neighbour.")
    hidden.refresh_from_db()
    assert hidden.is_hidden and hidden.hidden_reason == "Personal attack on a neighbour."
    report.refresh_from_db()
    assert report.resolved_at is not None
    (event,) = events("idea.hidden", idea.pk)
    assert (event.actor_id, event.reason) == (vetting_staff.pk, "Personal attack on a neighbour.")
    note = Notification.objects.get(kind="idea.hidden")
    assert note.recipient == resident
    assert "Personal attack on a neighbour." in note.body


def test_staff_hide_a_comment_and_its_author_is_told(cycle, resident, neighbour, vetting_staff):
    idea = submit(cycle, resident)
    comment = services.comment_add(actor=neighbour, idea=idea, body="Rude words")
    services.content_hide(actor=vetting_staff, comment=comment, reason="Rude.")
    assert Comment.objects.get(pk=comment.pk).is_hidden
    assert Notification.objects.get(kind="comment.hidden").recipient == neighbour
    assert Idea.objects.get(pk=idea.pk).hidden_at is None  # the idea itself stays


def test_hiding_needs_a_reason_staff_and_happens_once(cycle, resident, neighbour, vetting_staff):
    idea = submit(cycle, resident)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.content_hide(actor=vetting_staff, idea=idea, reason="  ")
    assert field_messages(exc, "reason") == [str(services.MSG_REQUIRED)]
    with pytest.raises(NotAllowed) as exc:
        services.content_hide(actor=neighbour, idea=idea, reason="I dislike it.")
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert counts() == before
    assert Idea.objects.get(pk=idea.pk).hidden_at is None
    services.content_hide(actor=vetting_staff, idea=idea, reason="Spam.")
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.content_hide(actor=vetting_staff, idea=idea, reason="Spam again.")
    assert str(exc.value.message) == str(services.MSG_ALREADY_HIDDEN)
    assert counts() == before
    assert Idea.objects.get(pk=idea.pk).hidden_reason == "Spam."


# --- reviews -------------------------------------------------------------------------------------------
@pytest.fixture
def vetting(cycle, resident, official, neighbour):
    """Two ideas by two residents, then the cycle moved on to vetting through the service."""
    ns = SimpleNamespace(cycle=cycle)
    ns.idea = submit(cycle, resident, title="Water fountain")
    ns.other = submit(cycle, neighbour, title="Drinking fountain by the library", district=ward(cycle, "A"))
    ns.cycle = move(cycle, official, Phase.VETTING)
    return ns


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
        actor=vetting_staff, cycle=vetting.cycle, data=idea_input(vetting.cycle, title="Bike racks"),
        proposer_name="Ana",
    )  # fmt: skip
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
    barrier = threading.Barrier(4, timeout=10)
    published, refused, unexpected = [], [], []
    lock = threading.Lock()

    def publish():
        try:
            actor = User.objects.get(pk=vetting_staff.pk)
            barrier.wait()
            done = services.review_publish_many(actor=actor, cycle=cycle.pk, ideas=[i.pk for i in reversed(ideas)])
            with lock:
                published.append([i.pk for i in done])
        except Conflict as exc:
            with lock:
                refused.append(len(exc.extra["ideas"]))
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert published == [sorted(i.pk for i in ideas)]
    assert refused == [3, 3, 3]
    assert AuditEvent.objects.filter(action="review.published").count() == 3


# --- draft projects ----------------------------------------------------------------------------------
def test_a_draft_project_is_seen_by_staff_only_and_tells_no_one(vetting, official, resident):
    Notification.objects.all().delete()
    draft = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    assert draft.is_draft and draft.published_at is None
    assert list(selectors.project_list(cycle=vetting.cycle)) == []
    assert list(selectors.project_list(cycle=vetting.cycle, drafts=True)) == [draft]
    assert not selectors.project_visible_to(draft, None)
    assert not selectors.project_visible_to(draft, resident)
    assert selectors.project_visible_to(draft, official)
    assert list(selectors.idea_get_public(pk=vetting.idea.pk).projects.all()) == []
    assert not Notification.objects.filter(kind="idea.in_project").exists()
    # The public record says a draft was made, not what it says.
    (event,) = events("project.drafted", draft.pk)
    assert {"after.texts", "after.cost", "after.code"} <= set(event.withheld)
    assert not events("project.created", draft.pk).exists()
    # Changing a draft keeps its content out of the public record too.
    services.project_update(
        actor=official, project=draft, district=ward(vetting.cycle), code="A-01", cost="21000", texts=texts()
    )
    (change,) = events("project.draft_updated", draft.pk)
    assert "after.cost" in change.withheld and not events("project.updated", draft.pk).exists()


def test_publishing_draft_projects_makes_them_public_and_tells_the_ideas_followers(vetting, official, resident):
    first = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    second = make_project(vetting.cycle, official, [vetting.other], code="A-02", draft=True)
    Notification.objects.all().delete()
    published = services.project_publish(actor=official, cycle=vetting.cycle, projects=[second, first.pk])
    assert [p.code for p in published] == ["A-01", "A-02"]
    assert [p.code for p in selectors.project_list(cycle=vetting.cycle)] == ["A-01", "A-02"]
    assert selectors.project_visible_to(Project.objects.get(pk=first.pk), None)
    (event,) = events("project.published", first.pk)
    assert event.withheld == ["ip"]  # everything about it is public now
    assert event.after["published"] is True and event.after["code"] == "A-01"
    told = Notification.objects.filter(kind="idea.in_project", recipient=resident).get()
    assert "A-01" in told.subject
    # Sent twice: nothing is published twice, and the answer names each project.
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[first, second])
    assert str(exc.value.message) == str(services.MSG_PROJECTS_REFUSED)
    assert [str(m) for m in exc.value.extra["projects"]] == [
        services.MSG_PROJECT_ALREADY_PUBLISHED % {"project": "A-01"},
        services.MSG_PROJECT_ALREADY_PUBLISHED % {"project": "A-02"},
    ]
    assert counts() == before


def test_publishing_projects_is_all_or_nothing_and_only_during_vetting(vetting, official, resident):
    draft = make_project(vetting.cycle, official, [vetting.idea], code="A-01", draft=True)
    other_cycle = CycleFactory(vetting=True, wards="A")
    idea = services.idea_submit_paper(
        actor=official, cycle=other_cycle, data=idea_input(other_cycle), proposer_name="B"
    )
    foreign = make_project(other_cycle, official, [idea], code="A-09", draft=True)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[draft, foreign])
    assert [str(m) for m in exc.value.extra["projects"]] == [
        services.MSG_PROJECT_OTHER_CYCLE % {"project": f"#{foreign.pk}"}
    ]
    with pytest.raises(NotAllowed):
        services.project_publish(actor=resident, cycle=vetting.cycle, projects=[draft])
    with pytest.raises(ValidationFailed):
        services.project_publish(actor=official, cycle=vetting.cycle, projects=[])
    assert counts() == before
    assert Project.objects.get(pk=draft.pk).is_draft
    ideas_cycle = CycleFactory(ideas=True, wards="A")
    with pytest.raises(PhaseClosed) as exc:
        services.project_publish(actor=official, cycle=ideas_cycle, projects=[draft])
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)


@pytest.mark.postgres
def test_parallel_project_publishing_publishes_each_draft_once(transactional_db, resident, official, monkeypatch):
    monkeypatch.setattr(core.services, "notification_dispatch", lambda **kwargs: None)
    cycle = CycleFactory(vetting=True, wards="A")
    idea = services.idea_submit_paper(actor=official, cycle=cycle, data=idea_input(cycle), proposer_name="Ana")
    drafts = [make_project(cycle, official, [idea], code=f"A-0{n}", draft=True) for n in range(1, 4)]
    barrier = threading.Barrier(4, timeout=10)
    published, refused, unexpected = [], [], []
    lock = threading.Lock()

    def publish():
        try:
            actor = User.objects.get(pk=official.pk)
            barrier.wait()
            done = services.project_publish(actor=actor, cycle=cycle.pk, projects=[d.pk for d in reversed(drafts)])
            with lock:
                published.append([p.code for p in done])
        except Conflict as exc:
            with lock:
                refused.append(len(exc.extra["projects"]))
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            with lock:
                unexpected.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    assert unexpected == []
    assert published == [["A-01", "A-02", "A-03"]]
    assert refused == [3, 3, 3]
    assert AuditEvent.objects.filter(action="project.published").count() == 3


# --- projects ------------------------------------------------------------------------------------------
def test_merging_two_ideas_into_a_project(vetting, official, resident, neighbour):
    follower = new_resident(language="es")
    services.follow_set(actor=follower, idea=vetting.idea)
    Notification.objects.all().delete()
    project = make_project(
        vetting.cycle,
        official,
        [vetting.idea, vetting.other.pk],
        code="a-01",
        cost="25000",
        texts=texts("Drinking fountains", "Fuentes de agua"),
    )
    project.refresh_from_db()
    assert (project.code, project.cost, project.district.code) == ("A-01", Decimal("25000.00"), "A")
    assert set(project.ideas.all()) == {vetting.idea, vetting.other}
    for idea in (vetting.idea, vetting.other):
        idea.refresh_from_db()
        assert idea.status == Idea.Status.IN_PROJECT
        assert list(idea.projects.all()) == [project]
    assert {t.language: t.title for t in project.texts.all()} == {"en": "Drinking fountains", "es": "Fuentes de agua"}
    assert set(Follow.objects.filter(project=project).values_list("user", flat=True)) == {
        resident.pk,
        neighbour.pk,
        follower.pk,
    }
    notes = {n.recipient_id: n for n in Notification.objects.filter(kind="idea.in_project")}
    assert set(notes) == {resident.pk, neighbour.pk, follower.pk}
    assert "A-01" in notes[resident.pk].body and "Drinking fountains" in notes[resident.pk].body
    assert "Fuentes de agua" in notes[follower.pk].body  # the project's title in the follower's language
    (event,) = events("project.created", project.pk)
    assert event.actor_id == official.pk
    assert event.after["ideas"] == sorted([vetting.idea.pk, vetting.other.pk])


def test_splitting_one_idea_into_two_projects(vetting, official):
    first = make_project(vetting.cycle, official, [vetting.idea], code="A-01", cost="10000")
    second = make_project(vetting.cycle, official, [vetting.idea], code="A-02", cost="8000")
    idea = Idea.objects.get(pk=vetting.idea.pk)
    assert set(idea.projects.all()) == {first, second}
    assert list(first.ideas.all()) == [idea] and list(second.ideas.all()) == [idea]
    assert ProjectSource.objects.filter(idea=idea).count() == 2
    assert list(idea.status_changes.values_list("to_status", flat=True)) == ["submitted", "in_project"]


def test_cost_equal_to_the_district_budget_is_allowed(vetting, official):
    assert make_project(vetting.cycle, official, [vetting.idea], cost="50000").cost == Decimal("50000.00")


def _other_cycle_idea(ns, official):
    other = CycleFactory(ideas=True, wards="A")
    return {"ideas": [submit(other, new_resident())]}


PROJECT_REFUSALS = [
    pytest.param(
        lambda ns, o: {"cost": "50001"},
        "cost",
        services.MSG_COST_OVER_BUDGET % {"cost": "$50,001", "budget": "$50,000"},
        id="cost-over-budget",
    ),
    pytest.param(lambda ns, o: {"cost": "-1"}, "cost", services.MSG_NEGATIVE, id="cost-negative"),
    pytest.param(lambda ns, o: {"cost": ""}, "cost", services.MSG_REQUIRED, id="cost-missing"),
    pytest.param(
        lambda ns, o: {"texts": {"es": texts()["es"]}},
        "texts.en",
        services.MSG_TEXT_MISSING % {"language": "English"},
        id="main-language-missing",
    ),
    pytest.param(
        lambda ns, o: {
            "texts": {**texts(), "es": services.ProjectTextInput(title="Fuentes", summary="", description="x")}
        },
        "texts.es",
        services.MSG_TEXT_INCOMPLETE % {"language": "Spanish"},
        id="spanish-summary-blank",
    ),
    pytest.param(_other_cycle_idea, "ideas", services.MSG_IDEA_OTHER_CYCLE, id="idea-of-another-cycle"),
    pytest.param(lambda ns, o: {"ideas": [999999]}, "ideas", services.MSG_IDEA_OTHER_CYCLE, id="unknown-idea"),
    pytest.param(lambda ns, o: {"ideas": []}, "ideas", services.MSG_NO_IDEAS, id="no-ideas"),
    pytest.param(lambda ns, o: {"code": "B 01!"}, "code", services.MSG_CODE_FORMAT, id="code-with-space"),
    pytest.param(lambda ns, o: {"code": ""}, "code", services.MSG_CODE_FORMAT, id="code-empty"),
    pytest.param(lambda ns, o: {"code": "A" * 17}, "code", services.MSG_CODE_FORMAT, id="code-too-long"),
    pytest.param(lambda ns, o: {"district": None}, "district", services.MSG_WRONG_DISTRICT, id="no-district"),
]


@pytest.mark.parametrize(("overrides", "field", "message"), PROJECT_REFUSALS)
def test_invalid_project_is_refused_and_saves_nothing(vetting, official, overrides, field, message):
    kwargs = {
        "actor": official,
        "cycle": vetting.cycle,
        "ideas": [vetting.idea],
        "district": ward(vetting.cycle),
        "code": "A-01",
        "cost": "20000",
        "texts": texts(),
    }
    kwargs.update(overrides(vetting, official))
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.project_create_from_ideas(**kwargs)
    assert field_messages(exc, field) == [str(message)]
    assert counts() == before
    assert Idea.objects.get(pk=vetting.idea.pk).status == "submitted"


def test_cost_over_budget_message_shows_the_budget_in_dollars(vetting, official):
    with pytest.raises(ValidationFailed) as exc:
        make_project(vetting.cycle, official, [vetting.idea], cost="75000")
    (message,) = field_messages(exc, "cost")
    assert "$50,000" in message and "$75,000" in message


def test_a_withdrawn_idea_cannot_become_a_project(cycle, resident, official):
    kept = submit(cycle, resident, title="Kept")
    gone = submit(cycle, resident, title="Gone")
    services.idea_withdraw(actor=resident, idea=gone)
    move(cycle, official, Phase.VETTING)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        make_project(cycle, official, [kept, gone])
    assert field_messages(exc, "ideas") == [str(services.MSG_ALREADY_WITHDRAWN)]
    assert counts() == before
    assert Idea.objects.get(pk=kept.pk).status == "submitted"


def test_project_codes_are_unique_in_a_cycle(vetting, official):
    make_project(vetting.cycle, official, [vetting.idea], code="A-01")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        make_project(vetting.cycle, official, [vetting.other], code=" a-01 ")
    assert field_messages(exc, "code") == [services.MSG_CODE_TAKEN % {"code": "A-01"}]
    assert counts() == before
    assert Idea.objects.get(pk=vetting.other.pk).status == "submitted"


def test_residents_cannot_make_projects(vetting, resident):
    with pytest.raises(NotAllowed) as exc:
        make_project(vetting.cycle, resident, [vetting.idea])
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    assert not Project.objects.exists()


def test_project_update_in_vetting_then_frozen_when_voting_opens(vetting, official, vetting_staff):
    project = make_project(vetting.cycle, official, [vetting.idea], code="A-01", cost="20000")
    services.project_update(
        actor=vetting_staff,
        project=project,
        district=ward(vetting.cycle),
        code="A-01",
        cost="22000",
        texts=texts("Two drinking fountains", "Dos fuentes"),
    )
    project.refresh_from_db()
    assert project.cost == Decimal("22000.00")
    assert project.text("es").title == "Dos fuentes"
    (event,) = events("project.updated", project.pk)
    assert (event.before["cost"], event.after["cost"]) == ("20000.00", "22000.00")
    assert event.after["texts"]["en"][0] == "Two drinking fountains"

    move(vetting.cycle, official, Phase.VOTING)
    before = counts()
    with pytest.raises(PhaseClosed) as exc:
        services.project_update(
            actor=official,
            project=project.pk,
            district=ward(vetting.cycle),
            code="A-01",
            cost="1000",
            texts=texts("Changed after the freeze", "Cambiado"),
        )
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)
    with pytest.raises(PhaseClosed) as exc:
        make_project(vetting.cycle, official, [vetting.other], code="A-02")
    assert str(exc.value.message) == str(permissions.MSG_PROJECTS_FROZEN)
    assert counts() == before
    project.refresh_from_db()
    assert project.cost == Decimal("22000.00")
    assert {t.language: t.title for t in project.texts.all()} == {"en": "Two drinking fountains", "es": "Dos fuentes"}


def test_project_update_refuses_another_projects_code(vetting, official):
    make_project(vetting.cycle, official, [vetting.idea], code="A-01")
    second = make_project(vetting.cycle, official, [vetting.other], code="A-02")
    with pytest.raises(ValidationFailed) as exc:
        services.project_update(
            actor=official, project=second, district=ward(vetting.cycle), code="A-01", cost="1000", texts=texts()
        )
    assert field_messages(exc, "code") == [services.MSG_CODE_TAKEN % {"code": "A-01"}]
    assert Project.objects.get(pk=second.pk).code == "A-02"


# --- categories ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.IDEAS])
def test_official_creates_a_category_before_vetting(official, phase):
    cycle = CycleFactory(phase=phase, wards="A")
    category = services.category_create(
        actor=official, cycle=cycle, name=" Parks and green space ", translations={"es": "Parques", "fr": " "}
    )
    category.refresh_from_db()
    assert (category.cycle, category.name, category.slug) == (cycle, "Parks and green space", "parks-and-green-space")
    assert category.translations == {"es": "Parques"}
    with translation.override("es"):
        assert category.localized_name == "Parques"
    (event,) = events("category.created", category.pk)
    assert event.actor_id == official.pk


def test_category_rules(official, vetting_staff, official_without_mfa):
    cycle = CycleFactory(ideas=True, wards="A")
    services.category_create(actor=official, cycle=cycle, name="Parks")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.category_create(actor=official, cycle=cycle, name="parks")  # same slug
    assert "name" in exc.value.extra
    with pytest.raises(NotAllowed) as exc:
        services.category_create(actor=vetting_staff, cycle=cycle, name="Streets")
    assert str(exc.value.message) == str(permissions.MSG_ROLE_REQUIRED)
    with pytest.raises(NotAllowed) as exc:
        services.category_create(actor=official_without_mfa, cycle=cycle, name="Streets")
    assert str(exc.value.message) == str(permissions.MSG_MFA_REQUIRED)
    with pytest.raises(ValidationFailed) as exc:
        services.category_create(actor=official, cycle=cycle, name=" ")
    assert field_messages(exc, "name") == [str(services.MSG_REQUIRED)]
    assert counts() == before
    # The same name in another cycle is fine.
    assert services.category_create(actor=official, cycle=CycleFactory(wards="A"), name="Parks").slug == "parks"


def test_no_new_categories_once_vetting_starts(official):
    cycle = CycleFactory(vetting=True, wards="A")
    with pytest.raises(PhaseClosed) as exc:
        services.category_create(actor=official, cycle=cycle, name="Parks")
    assert str(exc.value.message) == str(permissions.MSG_CATEGORIES_CLOSED)
    assert not Category.objects.exists()


def test_status_history_is_public_and_ordered(vetting, vetting_staff, official):
    services.review_record(actor=vetting_staff, idea=vetting.idea, feasibility="feasible", public_reason="OK.")
    services.review_publish(actor=vetting_staff, idea=vetting.idea)
    make_project(vetting.cycle, official, [vetting.idea])
    assert list(IdeaStatusChange.objects.filter(idea=vetting.idea).values_list("from_status", "to_status")) == [
        ("", "submitted"),
        ("submitted", "under_review"),
        ("under_review", "feasible"),
        ("feasible", "in_project"),
    ]


def test_texts_beyond_the_main_language_are_optional_but_whole(official):
    from proposals.services import MSG_TEXT_INCOMPLETE, ProjectTextInput, project_create_from_ideas

    cycle = CycleFactory(ideas=True, wards="A", extra_languages=["zh-hans"])
    idea = submit(cycle, new_resident())
    move(cycle, official, "vetting")
    kwargs = dict(actor=official, cycle=cycle, ideas=[idea], district=ward(cycle), code="A-01", cost="1000")
    half = ProjectTextInput(title="饮水机", summary="", description="")
    with pytest.raises(ValidationFailed) as exc:
        project_create_from_ideas(texts={**texts(), "zh-hans": half}, **kwargs)
    assert [str(m) for m in exc.value.extra["texts.zh-hans"]] == [
        str(MSG_TEXT_INCOMPLETE % {"language": "Simplified Chinese"})
    ]
    assert not Project.objects.exists()
    # English alone is enough; the other languages fall back to it.
    empty = ProjectTextInput(title=" ", summary="", description="")
    project = project_create_from_ideas(texts={"en": texts()["en"], "es": empty}, **kwargs)
    assert list(project.texts.values_list("language", flat=True)) == ["en"]
    assert project.text("es").language == "en" and project.text("zh-hans").title == "Drinking fountains"
    # A translation added later is used; cleared again, it is removed.
    zh = ProjectTextInput(title="饮水机", summary="两台饮水机。", description="全年使用的饮水机。")
    edit = dict(actor=official, project=project, district=ward(cycle), code="A-01", cost="1000")
    services.project_update(texts={"en": texts()["en"], "zh-hans": zh}, **edit)
    assert project.text("zh-hans").title == "饮水机"
    services.project_update(texts={"en": texts()["en"], "zh-hans": empty}, **edit)
    assert list(project.texts.values_list("language", flat=True)) == ["en"]
