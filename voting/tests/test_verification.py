"""Printed access codes and SMS verification: random, single use, expiring, keyed hashes,
rate-limited in the database; a code is used up in the ballot's own transaction."""

import csv
import io
import re
import threading
import zipfile
from datetime import date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone, translation
from pypdf import PdfReader

from budgets.services import cycle_transition
from core import sms
from core.errors import NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent, Notification
from core.services import NOTIFICATION_MAX_ATTEMPTS, notification_deliver, notifications_retry_unsent
from proposals.tests.builders import make_project, move, submit
from tests.ballots import ballot_prepare
from tests.factories import CycleFactory, user_with_role
from voting import cards, crypto, methods, services
from voting.models import AccessCode, Ballot, PhoneChallenge, VerificationAttempt, VoterRollEntry
from voting.services import verification

pytestmark = pytest.mark.django_db


@pytest.fixture
def cycle(official):
    cycle = CycleFactory(ideas=True, wards="AB")
    a = submit(cycle, user_with_role("resident"))
    b = submit(cycle, user_with_role("resident"), district=cycle.districts.get(code="B"))
    move(cycle, official, "vetting")
    make_project(cycle, official, [a], code="A-01", cost="10000")
    make_project(cycle, official, [b], code="B-01", cost="10000", district="B")
    ballot_prepare(cycle, official)
    return cycle


def _open(cycle, official):
    cycle_transition(actor=official, cycle=cycle, target="voting", reason="Voting opens.")


def _cast(voter, district, choice):
    return services.ballot_cast(voter=voter, district=district, ballot=methods.Ballot(choices=(choice,)))


def _as_voter(verified: verification.VerifiedVoter) -> services.Voter:
    return services.Voter(
        identity_key=verified.identity_key,
        channel=verified.channel,
        verification=verified.verification,
        access_code_hash=verified.access_code_hash,
        date_of_birth=date(1990, 5, 1),
        name=f"Voter {verified.identity_key[:8]}",  # one person per code or phone
        address="5 Grove St",
    )


# --- access codes ----------------------------------------------------------------------------------
def test_codes_are_random_single_use_and_stored_only_as_hashes(cycle, official):
    district = cycle.districts.get(code="A")
    codes = verification.access_codes_generate(
        actor=official, district=district, count=25, expires_at=timezone.now() + timedelta(days=30)
    )
    assert len(set(codes)) == 25
    assert all(re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", c) for c in codes)  # 60 bits each
    stored = set(AccessCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 25
    assert not any(crypto.code_normalize(c) in h or c in h for c in codes for h in stored)
    event = AuditEvent.objects.get(action="access_codes.generated")
    assert event.after["count"] == 25
    assert not any(c in str(event.after) for c in codes)


def test_the_download_is_a_csv_and_a_printable_pdf(cycle, official):
    district = cycle.districts.get(code="A")
    expires = timezone.now() + timedelta(days=30)
    codes = verification.access_codes_generate(actor=official, district=district, count=3, expires_at=expires)
    bundle = zipfile.ZipFile(io.BytesIO(cards.access_codes_bundle(district=district, codes=codes, expires_at=expires)))
    assert sorted(bundle.namelist()) == ["codes.csv", "codes.pdf"]
    rows = list(csv.DictReader(io.StringIO(bundle.read("codes.csv").decode())))
    assert [r["code"] for r in rows] == codes and {r["district"] for r in rows} == {"A"}
    assert bundle.read("codes.pdf").startswith(b"%PDF")


@pytest.mark.parametrize(("count", "field"), [(0, "count"), (20001, "count"), ("ten", "count")])
def test_bad_batches_are_refused(cycle, official, count, field):
    with pytest.raises(ValidationFailed) as exc:
        verification.access_codes_generate(
            actor=official,
            district=cycle.districts.get(code="A"),
            count=count,
            expires_at=timezone.now() + timedelta(days=1),
        )
    assert field in exc.value.extra
    assert not AccessCode.objects.exists()


def test_only_officials_make_codes(cycle, resident):
    with pytest.raises(NotAllowed):
        verification.access_codes_generate(
            actor=resident,
            district=cycle.districts.get(code="A"),
            count=1,
            expires_at=timezone.now() + timedelta(days=1),
        )


def test_a_code_votes_once_in_its_own_district(cycle, official):
    district_a, district_b = cycle.districts.get(code="A"), cycle.districts.get(code="B")
    (code,) = verification.access_codes_generate(
        actor=official, district=district_a, count=1, expires_at=timezone.now() + timedelta(days=30)
    )
    _open(cycle, official)
    verified = verification.access_code_redeem(code=code.lower().replace("-", " "), client_key="10.0.0.1")
    assert verified.district_id == district_a.pk and verified.channel == "code"

    with pytest.raises(services.CodeNotUsable):  # not for another district's ballot
        _cast(_as_voter(verified), district_b, "B-01")
    assert Ballot.objects.count() == 0 and VoterRollEntry.objects.count() == 0

    _cast(_as_voter(verified), district_a, "A-01")
    assert AccessCode.objects.get().used_at is not None
    with pytest.raises(NotAllowed) as exc:  # a reused code is refused at the door
        verification.access_code_redeem(code=code, client_key="10.0.0.1")
    assert str(exc.value.message) == str(verification.MSG_CODE_USED)
    with pytest.raises(services.AlreadyVoted):  # and by the roll, were it presented anyway
        _cast(_as_voter(verified), district_a, "A-01")
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 1


def test_expired_and_unknown_codes_are_refused(cycle, official):
    (code,) = verification.access_codes_generate(
        actor=official, district=cycle.districts.get(code="A"), count=1, expires_at=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(NotAllowed) as exc:
        verification.access_code_redeem(code="AAAA-BBBB-CCCC", client_key="c")
    assert str(exc.value.message) == str(verification.MSG_CODE_INVALID)
    with time_machine.travel(timezone.now() + timedelta(hours=2)), pytest.raises(NotAllowed) as exc:
        verification.access_code_redeem(code=code, client_key="c")
    assert str(exc.value.message) == str(verification.MSG_CODE_EXPIRED)


def test_guessing_codes_is_rate_limited_in_the_database(cycle):
    for _ in range(verification.CODE_FAILURES_PER_CLIENT_PER_10_MIN):
        with pytest.raises(NotAllowed):
            verification.access_code_redeem(code="AAAA-BBBB-CCCC", client_key="203.0.113.9")
    with pytest.raises(verification.TooManyAttempts):
        verification.access_code_redeem(code="AAAA-BBBB-CCCC", client_key="203.0.113.9")
    assert VerificationAttempt.objects.filter(kind="access_code", success=False).count() == 10
    # Another client is not affected; the window passes.
    with pytest.raises(NotAllowed):
        verification.access_code_redeem(code="AAAA-BBBB-CCCC", client_key="198.51.100.7")
    with time_machine.travel(timezone.now() + timedelta(minutes=11)), pytest.raises(NotAllowed) as exc:
        verification.access_code_redeem(code="AAAA-BBBB-CCCC", client_key="203.0.113.9")
    assert not isinstance(exc.value, verification.TooManyAttempts)


def test_codes_cannot_be_made_after_voting(cycle, official):
    _open(cycle, official)
    cycle_transition(actor=official, cycle=cycle, target="counting", reason="Closed.")
    with pytest.raises(PhaseClosed):
        verification.access_codes_generate(
            actor=official,
            district=cycle.districts.get(code="A"),
            count=1,
            expires_at=timezone.now() + timedelta(days=1),
        )


# --- SMS ------------------------------------------------------------------------------------------------
@pytest.fixture
def outbox():
    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


def _sent_code(outbox) -> str:
    return re.search(r"\b(\d{7})\b", outbox[-1][1]).group(1)


@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_a_phone_is_verified_by_a_seven_digit_code(cycle, official, outbox):
    verification.phone_challenge_start(phone="(201) 555-0123", client_key="c")
    assert outbox[-1][0] == "+12015550123"
    code = _sent_code(outbox)
    challenge = PhoneChallenge.objects.get()
    assert code not in challenge.code_hash and "2015550123" not in challenge.phone_hash
    verified = verification.phone_challenge_verify(phone="201-555-0123", code=code, client_key="c")
    assert verified.identity_key == crypto.identity_key("phone", "+12015550123")
    _open(cycle, official)
    _cast(_as_voter(verified), cycle.districts.get(code="A"), "A-01")
    # The same phone verified again is the same voter: no second ballot.
    verification.phone_challenge_start(phone="2015550123", client_key="c")
    again = verification.phone_challenge_verify(phone="2015550123", code=_sent_code(outbox), client_key="c")
    with pytest.raises(services.AlreadyVoted):
        _cast(_as_voter(again), cycle.districts.get(code="A"), "A-01")
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 1


@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_sms_codes_expire_after_ten_minutes(outbox):
    verification.phone_challenge_start(phone="2015550123", client_key="c")
    code = _sent_code(outbox)
    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=5)), pytest.raises(NotAllowed):
        verification.phone_challenge_verify(phone="2015550123", code=code, client_key="c")


@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_five_wrong_guesses_burn_the_code(outbox):
    verification.phone_challenge_start(phone="2015550123", client_key="c")
    code = _sent_code(outbox)
    wrong = f"{(int(code) + 1) % 10**7:07d}"
    for _ in range(verification.SMS_MAX_GUESSES):
        with pytest.raises(NotAllowed):
            verification.phone_challenge_verify(phone="2015550123", code=wrong, client_key="c")
    with pytest.raises(NotAllowed):
        verification.phone_challenge_verify(phone="2015550123", code=code, client_key="c")
    assert PhoneChallenge.objects.get().verified_at is None


@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_sends_are_rate_limited_per_phone(outbox):
    for _ in range(verification.SMS_SENDS_PER_PHONE_PER_HOUR):
        verification.phone_challenge_start(phone="2015550123", client_key="c")
    with pytest.raises(verification.TooManyAttempts):
        verification.phone_challenge_start(phone="2015550123", client_key="other")
    assert len(outbox) == verification.SMS_SENDS_PER_PHONE_PER_HOUR
    assert Notification.objects.filter(channel="sms").count() == verification.SMS_SENDS_PER_PHONE_PER_HOUR


@pytest.mark.parametrize("phone", ["12345", "555-0123", "0015550123", "not a phone"])
def test_bad_phone_numbers_are_refused(phone, outbox):
    with pytest.raises(ValidationFailed) as exc:
        verification.phone_challenge_start(phone=phone, client_key="c")
    assert [str(m) for m in exc.value.extra["phone"]] == [str(verification.MSG_PHONE_INVALID)]
    assert outbox == [] and not PhoneChallenge.objects.exists()


def test_a_district_without_a_ballot_is_a_clear_refusal(official):
    cycle = CycleFactory(ideas=True, wards="AB")
    idea = submit(cycle, user_with_role("resident"))
    move(cycle, official, "vetting")
    make_project(cycle, official, [idea], code="A-01", cost="10000")
    ballot_prepare(cycle, official)  # ward B has no projects, so no ballot
    _open(cycle, official)
    voter = services.Voter(
        identity_key="k",
        channel="online",
        verification="account",
        date_of_birth=date(1990, 1, 1),
        name="Kim Voter",
        address="5 Grove St",
    )
    with pytest.raises(services.NoBallot):
        _cast(voter, cycle.districts.get(code="B"), "A-01")
    assert Ballot.objects.count() == VoterRollEntry.objects.count() == 0


def test_without_an_sms_provider_phone_verification_is_unavailable(settings, outbox):
    settings.PB_SMS_BACKEND = "core.sms.DisabledBackend"
    with pytest.raises(verification.SmsUnavailable):
        verification.phone_challenge_start(phone="2015550123", client_key="c")
    assert outbox == [] and not PhoneChallenge.objects.exists() and not Notification.objects.exists()


# --- the SMS goes through the outbox -----------------------------------------------------
def test_the_sms_is_one_outbox_row_written_with_the_challenge(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        verification.phone_challenge_start(phone="2015550123", client_key="c")
    assert outbox == []  # nothing sent from the request: one dispatch waits for the commit
    assert len(callbacks) == 1
    (row,) = Notification.objects.all()
    assert (row.channel, row.address, row.kind, row.recipient, row.sent_at) == (
        "sms",
        "+12015550123",
        "verification.sms_code",
        None,
        None,
    )
    code = re.search(r"\b(\d{7})\b", row.body).group(1)
    # Delivery sends it once, however many times it is called, and erases the code from the row.
    assert notification_deliver(notification_id=row.pk) is True
    assert notification_deliver(notification_id=row.pk) is False
    assert outbox == [("+12015550123", row.body)]
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1 and code not in row.body and row.last_error == ""
    verified = verification.phone_challenge_verify(phone="2015550123", code=code, client_key="c")
    assert verified.channel == "phone"


def test_the_sms_is_written_in_spanish_for_a_spanish_page(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        verification.phone_challenge_start(phone="2015550123", client_key="c", language="es")
    ((number, text),) = outbox
    assert number == "+12015550123" and "pbplatform" in text and "expires" not in text


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_challenge_sends_nothing(outbox):
    with pytest.raises(RuntimeError), transaction.atomic():
        verification.phone_challenge_start(phone="2015550123", client_key="c")
        assert Notification.objects.filter(channel="sms").count() == 1
        raise RuntimeError("the request failed")
    assert outbox == [] and not PhoneChallenge.objects.exists() and not Notification.objects.exists()
    # After a commit, the request's dispatch delivers it (in-process here) and erases the code.
    verification.phone_challenge_start(phone="2015550123", client_key="c")
    (row,) = Notification.objects.all()
    assert len(outbox) == 1 and row.sent_at is not None
    assert _sent_code(outbox) not in row.body


def test_an_expired_code_is_never_sent_late(outbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # never dispatched (the broker was down)
        verification.phone_challenge_start(phone="2015550123", client_key="c")
    row = Notification.objects.get()
    code = re.search(r"\b(\d{7})\b", row.body).group(1)
    with time_machine.travel(timezone.now() + verification.SMS_CODE_TTL + timedelta(seconds=5)):
        assert notifications_retry_unsent() == 0
        assert notifications_retry_unsent() == 0  # and not picked up again
        assert notification_deliver(notification_id=row.pk) is False
    assert outbox == []
    row.refresh_from_db()
    assert row.sent_at is None and row.last_error == "expired" and code not in row.body
    assert row.attempts == NOTIFICATION_MAX_ATTEMPTS  # out of the periodic task's reach


def test_a_failed_send_records_no_code(outbox, django_capture_on_commit_callbacks, caplog):
    with django_capture_on_commit_callbacks(execute=False):
        verification.phone_challenge_start(phone="2015550123", client_key="c")
    row = Notification.objects.get()
    code = re.search(r"\b(\d{7})\b", row.body).group(1)
    failing = mock.patch("core.sms.LocmemBackend.send", side_effect=RuntimeError(f"provider refused {code}"))
    with failing:
        assert notification_deliver(notification_id=row.pk) is False
    row.refresh_from_db()
    assert row.sent_at is None and row.attempts == 1 and row.last_error == "RuntimeError"
    assert code not in caplog.text
    # Still in time: the periodic task sends it.
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert notifications_retry_unsent() == 1
    assert len(outbox) == 1 and _sent_code(outbox) == code


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("eager", [True, False], ids=["in-process", "background-thread"])
def test_with_the_broker_down_the_request_succeeds_and_the_retry_sends_it(outbox, eager):
    from core.tasks import notification_deliver_task, notifications_retry_unsent_task

    conf, was_eager = notification_deliver_task.app.conf, notification_deliver_task.app.conf.task_always_eager
    conf.task_always_eager = eager  # False: the publish runs on a background thread, as in production
    down = mock.patch.object(notification_deliver_task, "apply_async", side_effect=OSError("broker down"))
    try:
        with down:
            verification.phone_challenge_start(phone="2015550123", client_key="c")
            for thread in threading.enumerate():
                if thread.name.startswith("dispatch-"):
                    thread.join(10)
    finally:
        conf.task_always_eager = was_eager
    assert outbox == []
    assert Notification.objects.get().sent_at is None  # kept for the periodic retry
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        assert notifications_retry_unsent_task() == 1
    code = _sent_code(outbox)
    assert verification.phone_challenge_verify(phone="2015550123", code=code, client_key="c").channel == "phone"
    assert code not in Notification.objects.get().body


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Valid until March 2, 2099, 9:30 a.m. (New Zealand Time)."),
        ("es", "Válido hasta el 2 de marzo de 2099 a las 09:30 (hora de Nueva Zelanda)."),
    ],
)
def test_the_printed_cards_give_the_expiry_in_the_cycles_zone(cycle, official, language, line):
    """9:30 a.m. on March 2 in Auckland is 20:30 UTC on March 1: the card and the CSV say March 2."""
    auckland = ZoneInfo("Pacific/Auckland")
    cycle.time_zone = "Pacific/Auckland"
    cycle.save(update_fields=["time_zone"])
    district = cycle.districts.get(code="A")
    expires = datetime(2099, 3, 2, 9, 30, tzinfo=auckland)
    codes = verification.access_codes_generate(actor=official, district=district, count=9, expires_at=expires)
    with translation.override(language):
        bundle = zipfile.ZipFile(
            io.BytesIO(cards.access_codes_bundle(district=district, codes=codes, expires_at=expires))
        )
    pages = PdfReader(io.BytesIO(bundle.read("codes.pdf"))).pages
    text = "\n".join(page.extract_text() for page in pages)
    assert len(pages) == 2 and text.count(line) == 9
    assert all(code in text for code in codes)
    rows = list(csv.DictReader(io.StringIO(bundle.read("codes.csv").decode())))
    assert {r["expires"] for r in rows} == {"2099-03-02T09:30:00+13:00"}
