"""Voting without an account through the ballot pages: a printed access code opens its ward's
ballot once; a phone verified by SMS opens the list of ballots (one ballot per district); the
session keeps only keyed hashes and the identity key, for 30 minutes; refusals store nothing."""

import re
from datetime import date, timedelta
from unittest import mock

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone, translation

from core import sms
from voting import crypto, services
from voting.models import AccessCode, Ballot, Identity, VoterRollEntry
from voting.services import verification
from voting.tests.test_views import RECEIPT, VOTER, _text, ballot_url, voting_cycle
from voting.views.ballot import MSG_CODE_CAST, MSG_CODE_OTHER_BALLOT, MSG_VERIFY_AGAIN, SESSION_VOTER

pytestmark = pytest.mark.django_db

PHONE = "201-555-0123"


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def stored() -> dict:
    return {"ballots": Ballot.objects.count(), "roll": VoterRollEntry.objects.count()}


NOTHING = {"ballots": 0, "roll": 0}


def make_codes(cycle, official, ward="A", count=1) -> list[str]:
    return verification.access_codes_generate(
        actor=official,
        district=cycle.districts.get(code=ward),
        count=count,
        expires_at=timezone.now() + timedelta(days=7),
    )


def enter_code(client, cycle, code):
    return client.post(reverse("vote_code", args=[cycle.slug]), {"code": code})


def cast(client, cycle, ward, choices):
    """Review, then cast; returns the cast response."""
    data = {**VOTER, "project": list(choices)}
    review = client.post(ballot_url(cycle, ward), {**data, "step": "review"})
    assert review.status_code == 200 and 'value="cast"' in review.content.decode()
    return client.post(ballot_url(cycle, ward), {**data, "step": "cast"})


def assert_receipt(response):
    html = response.content.decode()
    assert response.status_code == 200 and "Your ballot is recorded" in html
    code = RECEIPT.search(html).group(1)
    assert Ballot.objects.filter(receipt_hash=crypto.receipt_hash(code)).exists()
    return code


def verify_phone(client, cycle, phone=PHONE):
    url = reverse("vote_phone", args=[cycle.slug])
    sent = client.post(url, {"step": "send", "phone": phone})
    assert sent.status_code == 200 and 'name="code"' in sent.content.decode()
    assert "0123" in sent.content.decode()
    number, text = sms.outbox[-1]
    assert number == "+12015550123"
    sms_code = re.search(r"\b(\d{7})\b", text).group(1)
    return client.post(url, {"step": "verify", "phone": number, "code": sms_code})


# --- printed access codes ------------------------------------------------------------------------------
def test_an_access_code_opens_its_ballot_once(client, official):
    cycle = voting_cycle(official)
    (code,) = make_codes(cycle, official)

    index = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert "I have an access code" in index and "Verify my phone" in index

    response = enter_code(client, cycle, code.lower().replace("-", " "))
    assert response.status_code == 302 and response["Location"] == ballot_url(cycle, "A")
    assert code not in response["Location"]
    voter = client.session[SESSION_VOTER]
    assert voter["channel"] == "code" and voter["district_id"] == cycle.districts.get(code="A").pk
    assert voter["access_code_hash"] == crypto.keyed_hash("access-code", crypto.code_normalize(code))
    for session in Session.objects.all():
        assert code not in session.session_data and crypto.code_normalize(code) not in str(session.get_decoded())

    assert client.get(ballot_url(cycle, "A")).status_code == 200
    assert_receipt(cast(client, cycle, "A", ["A-01"]))
    entry = VoterRollEntry.objects.get()
    assert (entry.channel, entry.verification) == ("code", "access_code")
    assert SESSION_VOTER not in client.session  # one ballot per code

    # The ballot page is no longer open to this visitor, and the code is used up: the page says so
    # (not an account log-in page), to a reload and to a second tab's cast alike.
    again = client.get(ballot_url(cycle, "A"))
    assert again.status_code == 302 and again["Location"] == reverse("vote_index", args=[cycle.slug])
    assert _text(MSG_CODE_CAST) in client.get(again["Location"]).content.decode()
    second_tab = client.post(ballot_url(cycle, "A"), {**VOTER, "project": ["A-02"], "step": "cast"}, follow=True)
    assert second_tab.status_code == 200 and _text(MSG_CODE_CAST) in second_tab.content.decode()
    response = enter_code(client, cycle, code)
    assert _text(verification.MSG_CODE_USED) in response.content.decode()
    assert code not in response.content.decode()  # not shown back
    assert SESSION_VOTER not in client.session
    assert stored() == {"ballots": 1, "roll": 1}


def test_a_code_for_ward_a_cannot_open_ward_b(client, official):
    cycle = voting_cycle(official)
    (code,) = make_codes(cycle, official, "A")
    enter_code(client, cycle, code)
    response = client.get(ballot_url(cycle, "B"))
    assert response.status_code == 403
    assert _text(MSG_CODE_OTHER_BALLOT, district=cycle.districts.get(code="A").name) in response.content.decode()
    response = client.post(ballot_url(cycle, "B"), {**VOTER, "project": ["B-01"], "step": "cast"})
    assert response.status_code == 403
    assert stored() == NOTHING


def test_wrong_codes_are_refused_then_rate_limited(client, official):
    cycle = voting_cycle(official)
    (good,) = make_codes(cycle, official)
    for attempt in range(10):
        response = enter_code(client, cycle, f"AAAA-BBBB-{attempt:04d}")
        assert response.status_code == 200
        assert _text(verification.MSG_CODE_INVALID) in response.content.decode()
    response = enter_code(client, cycle, "AAAA-BBBB-CCCC")
    assert response.status_code == verification.TooManyAttempts.status == 429
    assert _text(verification.TooManyAttempts.default_message) in response.content.decode()
    response = enter_code(client, cycle, good)  # even a good code waits
    assert response.status_code == 429
    assert SESSION_VOTER not in client.session
    assert stored() == NOTHING


# --- phones verified by SMS ---------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_a_phone_votes_once_per_district(client, official):
    cycle = voting_cycle(official, citywide=True)
    response = verify_phone(client, cycle)
    assert response.status_code == 302 and response["Location"] == reverse("vote_index", args=[cycle.slug])
    voter = client.session[SESSION_VOTER]
    assert voter["channel"] == "phone" and voter["district_id"] is None and voter["access_code_hash"] == ""
    for session in Session.objects.all():
        assert "5550123" not in str(session.get_decoded())

    index = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert "I have an access code" not in index
    assert f'href="{ballot_url(cycle, "A")}"' in index

    assert_receipt(cast(client, cycle, "A", ["A-01"]))
    assert SESSION_VOTER in client.session  # the citywide ballot is still to cast
    assert_receipt(cast(client, cycle, "CITY", ["C-01"]))
    assert {(e.channel, e.verification) for e in VoterRollEntry.objects.all()} == {("phone", "sms")}
    assert stored() == {"ballots": 2, "roll": 2}

    # Same phone, verified again (new session): the ward ballot is refused, nothing stored.
    client.cookies.clear()
    verify_phone(client, cycle, phone="(201) 555 0123")
    page = client.get(ballot_url(cycle, "A")).content.decode()
    assert "You have already voted" in page
    response = client.post(ballot_url(cycle, "A"), {**VOTER, "project": ["A-02"], "step": "cast"})
    assert response.status_code == 409 and "You have already voted" in response.content.decode()
    response = client.post(ballot_url(cycle, "B"), {**VOTER, "project": ["B-01"], "step": "cast"})
    assert response.status_code == 409  # one ward ballot per identity per cycle
    assert stored() == {"ballots": 2, "roll": 2}


@pytest.mark.django_db(transaction=True)  # the SMS is dispatched after the challenge commits
def test_a_wrong_sms_code_is_refused(client, official):
    cycle = voting_cycle(official)
    url = reverse("vote_phone", args=[cycle.slug])
    client.post(url, {"step": "send", "phone": PHONE})
    sms_code = re.search(r"\b(\d{7})\b", sms.outbox[-1][1]).group(1)
    wrong = f"{(int(sms_code) + 1) % 10**7:07d}"
    response = client.post(url, {"step": "verify", "phone": "+12015550123", "code": wrong})
    assert response.status_code == 200
    assert _text(verification.MSG_SMS_WRONG) in response.content.decode()
    assert SESSION_VOTER not in client.session
    response = client.post(url, {"step": "send", "phone": "123"})
    assert _text(verification.MSG_PHONE_INVALID) in response.content.decode()
    assert stored() == NOTHING


def test_with_the_broker_down_the_phone_page_still_sends_the_code_later(
    client, official, django_capture_on_commit_callbacks
):
    """The SMS is an outbox row: a refused broker costs the request nothing, the periodic task sends it."""
    from core.models import Notification
    from core.tasks import notification_deliver_task, notifications_retry_unsent_task

    cycle = voting_cycle(official)
    url = reverse("vote_phone", args=[cycle.slug])
    down = mock.patch.object(notification_deliver_task, "apply_async", side_effect=OSError("broker down"))
    with down, django_capture_on_commit_callbacks(execute=True):
        sent = client.post(url, {"step": "send", "phone": PHONE})
    assert sent.status_code == 200 and 'name="code"' in sent.content.decode()
    assert sms.outbox == [] and Notification.objects.get(channel="sms").sent_at is None
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        notifications_retry_unsent_task()  # (and the cycle's own email notifications)
    assert Notification.objects.get(channel="sms").sent_at is not None
    sms_code = re.search(r"\b(\d{7})\b", sms.outbox[-1][1]).group(1)
    response = client.post(url, {"step": "verify", "phone": "+12015550123", "code": sms_code})
    assert response.status_code == 302 and client.session[SESSION_VOTER]["channel"] == "phone"


# --- the session voter --------------------------------------------------------------------------------
def test_a_session_voter_expires_after_30_minutes(client, official):
    cycle = voting_cycle(official)
    (code,) = make_codes(cycle, official)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        enter_code(client, cycle, code)
        traveller.shift(timedelta(minutes=29))
        assert client.get(ballot_url(cycle, "A")).status_code == 200
        traveller.shift(timedelta(minutes=2))  # 31 minutes after the check
        response = client.get(ballot_url(cycle, "A"))
        assert response.status_code == 302 and response["Location"] == reverse("vote_index", args=[cycle.slug])
        assert SESSION_VOTER not in client.session
        html = client.get(response["Location"]).content.decode()
        assert _text(MSG_VERIFY_AGAIN) in html and "I have an access code" in html
        response = client.post(ballot_url(cycle, "A"), {**VOTER, "project": ["A-01"], "step": "cast"})
        assert response.status_code == 302
        assert stored() == NOTHING
        # Verifying again works: the code was never used.
        assert enter_code(client, cycle, code)["Location"] == ballot_url(cycle, "A")
        assert_receipt(cast(client, cycle, "A", ["A-01"]))


def test_logged_in_residents_keep_using_their_account(client, official, resident):
    cycle = voting_cycle(official)
    client.force_login(resident)
    index = client.get(reverse("vote_index", args=[cycle.slug])).content.decode()
    assert "I have an access code" not in index
    response = client.get(reverse("vote_code", args=[cycle.slug]))
    assert response.status_code == 302 and response["Location"] == reverse("vote_index", args=[cycle.slug])


def test_officials_download_a_batch_of_printed_codes(client, official):
    import csv
    import io
    import zipfile

    from django.urls import reverse

    from voting.models import AccessCode
    from voting.tests.builders import PROJECTS, voting_world

    world = voting_world(official, wards="A", projects={"A": PROJECTS["A"]})
    client.force_login(official)
    url = reverse("staff_access_codes", args=[world.cycle.slug])
    assert client.get(url).status_code == 200
    district = world.district("A")
    response = client.post(url, {"district": str(district.pk), "count": "5", "valid_days": "10"})
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    codes = [row["code"] for row in csv.DictReader(io.StringIO(bundle.read("codes.csv").decode()))]
    assert len(codes) == 5 and AccessCode.objects.filter(district=district).count() == 5
    assert bundle.read("codes.pdf").startswith(b"%PDF")
    # Nothing but the download holds them: the stored rows are keyed hashes.
    assert not AccessCode.objects.filter(code_hash__in=codes).exists()
    # Bad input: a clear error, nothing made.
    response = client.post(url, {"district": str(district.pk), "count": "0", "valid_days": "10"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert AccessCode.objects.count() == 5


def test_residents_cannot_make_codes(client, resident, official):
    from django.urls import reverse

    from voting.models import AccessCode
    from voting.tests.builders import PROJECTS, voting_world

    world = voting_world(official, wards="A", projects={"A": PROJECTS["A"]})
    client.force_login(resident)
    url = reverse("staff_access_codes", args=[world.cycle.slug])
    response = client.post(url, {"district": str(world.district("A").pk), "count": "5", "valid_days": "10"})
    assert response.status_code == 403
    assert not AccessCode.objects.exists()


# --- who the voter is, on the pages ----------------------------------------------------------------------
def test_a_code_voter_gives_name_and_address_on_the_ballot_page_checked_on_the_server(client, official):
    cycle = voting_cycle(official)
    (code,) = make_codes(cycle, official)
    enter_code(client, cycle, code)
    page = client.get(ballot_url(cycle, "A")).content.decode()
    assert 'name="name"' in page and 'autocomplete="name"' in page and 'name="address"' in page
    response = client.post(
        ballot_url(cycle, "A"), {**VOTER, "name": " ", "address": "  ", "project": ["A-01"], "step": "review"}
    )
    html = response.content.decode()
    assert response.status_code == 200 and 'value="cast"' not in html
    assert _text(services.MSG_NAME_NEEDED) in html and _text(services.MSG_ADDRESS_NEEDED) in html
    assert stored() == NOTHING
    review = client.post(ballot_url(cycle, "A"), {**VOTER, "project": ["A-01"], "step": "review"}).content.decode()
    assert "Pat Voter" in review and 'type="hidden" name="name" value="Pat Voter"' in review
    assert_receipt(cast(client, cycle, "A", ["A-01"]))
    identity = Identity.objects.get()
    assert identity.name == "Pat Voter"
    assert identity.match_key == crypto.match_key(
        name="pat voter", date_of_birth=date(1990, 4, 30), address="1 Grove Street, Jersey City, NJ"
    )


def test_the_name_field_is_in_spanish(client, official):
    cycle = voting_cycle(official)
    (code,) = make_codes(cycle, official)
    enter_code(client, cycle, code)
    with translation.override("es"):
        page = client.get(ballot_url(cycle, "A"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
        response = client.post(
            ballot_url(cycle, "A"),
            {**VOTER, "name": "", "project": ["A-01"], "step": "review"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert "Nombre completo" in page
    assert _text("Escriba su nombre completo.") in response.content.decode()


@pytest.mark.parametrize(
    "way",
    ["code", pytest.param("phone", marks=pytest.mark.django_db(transaction=True))],  # the SMS: after commit
)
def test_a_voter_born_in_2016_is_refused_without_an_account_and_nothing_is_stored(client, official, way):
    cycle = voting_cycle(official)
    if way == "code":
        (code,) = make_codes(cycle, official)
        enter_code(client, cycle, code)
    else:
        verify_phone(client, cycle)
    data = {**VOTER, "date_of_birth": "2016-03-01", "project": ["A-01"]}
    for step in ("review", "cast"):
        html = client.post(ballot_url(cycle, "A"), {**data, "step": step}).content.decode()
        assert "Voters must be at least 14 years old on" in html and "Your ballot is recorded" not in html
    assert stored() == NOTHING and not Identity.objects.exists()
    assert not AccessCode.objects.filter(used_at__isnull=False).exists()
