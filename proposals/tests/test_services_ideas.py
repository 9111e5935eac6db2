"""Idea services: submit (online and on paper), edit and withdraw; endorsements, comments, follows,
reports and moderation."""

import threading
from datetime import timedelta
from decimal import Decimal

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
from proposals import permissions, services
from proposals.models import Comment, Endorsement, Follow, Idea, Report
from tests.factories import CycleFactory, UserFactory

from .builders import counts, events, field_messages, idea_input, make_project, move, new_resident, submit, ward

pytestmark = pytest.mark.django_db


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
