"""Kiosks at voting sites (voting/services/kiosk.py, voting/views/kiosk.py): officials manage the sites, a
volunteer opens a kiosk, checks voters in, each voter casts one ballot on the device; the site goes
on the roll, never on the ballot; one check-in, one ballot; idle voters are forgotten; an
unconfirmed eligibility makes the ballot provisional; the same person checked in at two sites
votes once."""

import re
from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from budgets import services as cycle_services
from budgets.demo import DEMO_SLUG
from budgets.models import Cycle
from budgets.phases import Phase
from core.errors import NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from proposals import services as proposals_services
from proposals.tests.builders import make_project, texts
from tests.factories import user_with_role
from voting import crypto, methods, services, sites
from voting.models import Ballot, Identity, ProvisionalBallot, VoterRollEntry, VotingSite
from voting.services import kiosk, verification
from voting.views.kiosk import MSG_NO_VOTER, MSG_VOTER_EXPIRED, SESSION_KIOSK, SESSION_KIOSK_VOTER

from .builders import (
    assert_roll_matches_ballots,
    counts,
    design,
    open_voting,
    paper_idea,
    vetting_world,
    voting_world,
)

pytestmark = pytest.mark.django_db

PROJECTS = {
    "A": [("A-01", "20000"), ("A-02", "15000"), ("A-03", "30000")],
    "B": [("B-01", "30000")],
    "CITY": [("C-01", "40000")],
}
PERSON = {"name": "María José López", "date_of_birth": date(1990, 4, 30), "address": "1 Grove St, Jersey City"}
RECEIPT = re.compile(r'id="receipt-code"[^>]*>([0-9A-Z-]+)<')
NAV_LINKS = ("Log out", "My ideas", "Preferences", "Staff area", "Security")


def _text(message, **params) -> str:
    return escape(str(message) % params if params else str(message))


@pytest.fixture
def world(official):
    return voting_world(official, projects=PROJECTS, citywide=True)


@pytest.fixture
def city_hall(world):
    return sites.voting_site_create(actor=world.official, cycle=world.cycle, name="City Hall", address="280 Grove St")


@pytest.fixture
def library(world):
    return sites.voting_site_create(actor=world.official, cycle=world.cycle, name="Public Library")


def checkin(volunteer, opened, world, *, district="A", confirmed=True, note="", language="en", **person):
    values = {**PERSON, **person}
    return kiosk.kiosk_checkin(
        actor=volunteer,
        kiosk=opened,
        district=world.district(district),
        language=language,
        eligibility_confirmed=confirmed,
        note=note,
        **values,
    )


def cast(checked_in, world, choices=("A-01",)):
    return services.ballot_cast(
        voter=checked_in.voter(),
        district=checked_in.district_id,
        ballot=methods.Ballot(choices=tuple(choices)),
    )


def audits(action):
    return list(AuditEvent.objects.filter(action=action).order_by("pk"))


# --- services: opening and closing a kiosk ----------------------------------------------------------
def test_a_volunteer_opens_a_kiosk_at_an_active_site_and_it_is_audited(world, city_hall, volunteer):
    opened = kiosk.kiosk_open(actor=volunteer, site=city_hall)
    assert (opened.cycle_id, opened.site_id, opened.site_name, opened.volunteer_id) == (
        world.cycle.pk,
        city_hall.pk,
        "City Hall",
        volunteer.pk,
    )
    (event,) = audits("kiosk.open")
    assert (event.actor_id, event.object_type, event.object_id) == (volunteer.pk, "voting_site", str(city_hall.pk))
    assert event.after == {"cycle": world.cycle.slug, "site": "City Hall"}
    kiosk.kiosk_close(actor=volunteer, site=city_hall)
    (closed,) = audits("kiosk.close")
    assert (closed.actor_id, closed.object_id) == (volunteer.pk, str(city_hall.pk))


@pytest.mark.parametrize("role", ["resident", "vetting_staff", "auditor"])
def test_only_site_workers_open_kiosks(world, city_hall, role):
    with pytest.raises(NotAllowed):
        kiosk.kiosk_open(actor=user_with_role(role), site=city_hall)
    assert audits("kiosk.open") == []


def test_an_official_needs_mfa_to_open_a_kiosk(world, city_hall, official_without_mfa, official):
    with pytest.raises(NotAllowed) as refused:
        kiosk.kiosk_open(actor=official_without_mfa, site=city_hall)
    assert "mfa" in refused.value.extra
    assert kiosk.kiosk_open(actor=official, site=city_hall).volunteer_id == official.pk


def test_no_kiosk_at_an_inactive_site(world, city_hall, volunteer):
    sites.voting_site_set_active(actor=world.official, site=city_hall, active=False)
    with pytest.raises(kiosk.SiteInactive) as refused:
        kiosk.kiosk_open(actor=volunteer, site=city_hall)
    assert refused.value.message == kiosk.MSG_SITE_INACTIVE
    assert audits("kiosk.open") == []


def test_no_kiosk_before_or_after_voting(official, volunteer):
    before = vetting_world(official, projects={"A": PROJECTS["A"]})
    site = sites.voting_site_create(actor=official, cycle=before.cycle, name="City Hall")
    with pytest.raises(PhaseClosed) as refused:
        kiosk.kiosk_open(actor=volunteer, site=site)
    assert refused.value.message == kiosk.MSG_KIOSK_NOT_VOTING

    after = voting_world(official, projects={"A": PROJECTS["A"]})
    late = sites.voting_site_create(actor=official, cycle=after.cycle, name="City Hall")
    # The close time has passed, the phase has not moved yet.
    with time_machine.travel(after.cycle.voting_close_at + timedelta(minutes=1)), pytest.raises(PhaseClosed):
        kiosk.kiosk_open(actor=volunteer, site=late)
    cycle_services.cycle_transition(actor=official, cycle=after.cycle, target=Phase.COUNTING, reason="Test: close.")
    with pytest.raises(PhaseClosed):
        kiosk.kiosk_open(actor=volunteer, site=late)
    assert audits("kiosk.open") == []


def test_a_kiosk_can_be_opened_while_voting_is_paused_but_checks_no_one_in(world, city_hall, volunteer):
    cycle_services.voting_pause(actor=world.official, cycle=world.cycle, reason="Power cut at City Hall")
    opened = kiosk.kiosk_open(actor=volunteer, site=city_hall)
    with pytest.raises(services.VotingPaused) as refused:
        checkin(volunteer, opened, world)
    assert refused.value.message == kiosk.MSG_CHECKIN_PAUSED


# --- services: check-in -----------------------------------------------------------------------------
@pytest.fixture
def opened(world, city_hall, volunteer):
    return kiosk.kiosk_open(actor=volunteer, site=city_hall)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": "  "}, "name", kiosk.MSG_NAME),
        ({"date_of_birth": None}, "date_of_birth", kiosk.MSG_DATE_OF_BIRTH),
        ({"address": ""}, "address", kiosk.MSG_ADDRESS),
        ({"language": "xx"}, "language", kiosk.MSG_LANGUAGE),
        ({"district": None}, "district", kiosk.MSG_DISTRICT),
    ],
)
def test_check_in_needs_every_detail(world, opened, volunteer, change, field, message):
    values = {
        **PERSON,
        "district": world.district("A"),
        "language": "en",
        "eligibility_confirmed": True,
        **change,
    }
    with pytest.raises(ValidationFailed) as refused:
        kiosk.kiosk_checkin(actor=volunteer, kiosk=opened, **values)
    assert refused.value.extra == {field: [message]}


def test_check_in_refuses_a_ballot_of_another_cycle(world, opened, volunteer, official):
    other = voting_world(official, projects={"A": PROJECTS["A"]})
    with pytest.raises(ValidationFailed) as refused:
        kiosk.kiosk_checkin(
            actor=volunteer,
            kiosk=opened,
            district=other.district("A"),
            language="en",
            eligibility_confirmed=True,
            **PERSON,
        )
    assert refused.value.extra == {"district": [kiosk.MSG_DISTRICT]}


def test_check_in_refuses_the_too_young_with_the_vote_paths_rule(world, opened, volunteer):
    born = world.cycle.voting_close_at.date().replace(year=world.cycle.voting_close_at.year - 13)
    with pytest.raises(services.NotEligible) as refused:
        checkin(volunteer, opened, world, date_of_birth=born)
    assert "Voters must be at least 14 years old on" in str(refused.value.message)


def test_check_in_refuses_at_a_site_closed_meanwhile(world, opened, volunteer, city_hall):
    sites.voting_site_set_active(actor=world.official, site=city_hall, active=False)
    with pytest.raises(kiosk.SiteInactive):
        checkin(volunteer, opened, world)


def test_check_in_refuses_when_voting_has_closed(world, opened, volunteer):
    closed = world.cycle.voting_close_at + timedelta(seconds=1)
    with time_machine.travel(closed), pytest.raises(services.VotingClosed) as refused:
        checkin(volunteer, opened, world)
    assert refused.value.message == kiosk.MSG_CHECKIN_CLOSED


def test_only_the_volunteer_who_opened_the_kiosk_checks_in_on_it(world, opened):
    with pytest.raises(NotAllowed) as refused:
        checkin(user_with_role("volunteer"), opened, world)
    assert refused.value.message == kiosk.MSG_NOT_YOUR_KIOSK


def test_the_check_in_key_ignores_case_accents_and_spacing():
    one = kiosk.checkin_identity_key(name="María José López", date_of_birth=date(1990, 4, 30), address="1 Grove St.")
    same = kiosk.checkin_identity_key(name=" maria  jose LOPEZ ", date_of_birth=date(1990, 4, 30), address="1 grove st")
    other = kiosk.checkin_identity_key(name="Maria Jose Lopez", date_of_birth=date(1990, 4, 29), address="1 Grove St")
    assert one == same != other
    assert len(one) == 64 and "lopez" not in one


def test_a_kiosk_ballot_records_the_site_on_the_roll_and_nothing_on_the_ballot(world, opened, volunteer):
    checked_in = checkin(volunteer, opened, world, language="es")
    assert Identity.objects.count() == 0  # a check-in writes nothing
    result = cast(checked_in, world)
    assert not result.provisional
    entry = VoterRollEntry.objects.get()
    assert (entry.channel, entry.verification, entry.site, entry.language) == ("kiosk", "checkin", "City Hall", "es")
    assert entry.identity_key == checked_in.identity_key
    identity = Identity.objects.get(identity_key=entry.identity_key)
    assert (identity.name, identity.date_of_birth, identity.address) == (
        "María José López",
        date(1990, 4, 30),
        "1 Grove St, Jersey City",
    )
    checked_at = identity.checkin.pop("at")  # when the volunteer checked the voter in (in the identity only)
    assert identity.checkin == {"site": "City Hall", "volunteer_id": volunteer.pk, "id_seen": True}
    assert checked_at == datetime.fromtimestamp(checked_in.checked_in_at, UTC).isoformat()
    assert identity.match_key == crypto.match_key(**PERSON)
    ballot = Ballot.objects.get()
    assert "site" not in {f.name for f in Ballot._meta.get_fields()}
    assert "City Hall" not in str(Ballot.objects.values().get())
    assert (ballot.channel, ballot.choices) == ("kiosk", ["A-01"])
    assert not ProvisionalBallot.objects.exists()
    assert services.receipt_check(code=result.receipt_code) == "counted"
    assert_roll_matches_ballots()


def test_an_unconfirmed_eligibility_makes_a_provisional_ballot(world, opened, volunteer):
    checked_in = checkin(volunteer, opened, world, confirmed=False, note="No ID; says she moved in last month.")
    result = cast(checked_in, world)
    assert result.provisional
    provisional = ProvisionalBallot.objects.get()
    assert (provisional.status, provisional.reason, provisional.note) == (
        "pending",
        "not_confirmed",
        "No ID; says she moved in last month.",
    )
    entry = VoterRollEntry.objects.get()
    assert provisional.roll_entry_id == entry.pk and entry.site == "City Hall"
    assert Identity.objects.get().checkin["id_seen"] is False
    assert services.receipt_check(code=result.receipt_code) == "pending"
    assert_roll_matches_ballots()


def test_the_note_is_only_for_provisional_ballots(world, opened, volunteer):
    cast(checkin(volunteer, opened, world, confirmed=True, note="ID seen"), world)
    assert not ProvisionalBallot.objects.exists()


def test_the_same_person_at_two_sites_votes_once(world, opened, volunteer, library):
    cast(checkin(volunteer, opened, world), world)
    other_volunteer = user_with_role("volunteer")
    at_library = kiosk.kiosk_open(actor=other_volunteer, site=library)
    before = counts()
    with pytest.raises(services.AlreadyVoted) as refused:
        checkin(other_volunteer, at_library, world, name="maria jose lopez", address="1 GROVE ST  JERSEY CITY")
    assert refused.value.message == kiosk.MSG_CHECKIN_ALREADY_VOTED
    # Another ward is refused too (one ward ballot per cycle); the citywide ballot is a ballot of its own.
    with pytest.raises(services.AlreadyVoted):
        checkin(other_volunteer, at_library, world, district="B")
    assert counts() == before
    cast(checkin(other_volunteer, at_library, world, district="CITY"), world, choices=("C-01",))
    assert sorted(VoterRollEntry.objects.values_list("district__code", "site")) == [
        ("A", "City Hall"),
        ("CITY", "Public Library"),
    ]
    assert_roll_matches_ballots()


def test_checked_in_at_two_sites_at_once_the_roll_refuses_the_second_ballot(world, opened, volunteer, library):
    other_volunteer = user_with_role("volunteer")
    at_library = kiosk.kiosk_open(actor=other_volunteer, site=library)
    first = checkin(volunteer, opened, world)
    second = checkin(other_volunteer, at_library, world)  # advisory: nobody has voted yet
    cast(first, world)
    before = counts()
    with pytest.raises(services.AlreadyVoted):
        cast(second, world, choices=("A-02",))
    assert counts() == before
    assert Ballot.objects.get().choices == ["A-01"]
    assert_roll_matches_ballots()


# --- views: helpers ---------------------------------------------------------------------------------
PIN = "2468"  # the volunteer's kiosk PIN


def start_url(cycle):
    return reverse("kiosk_start", args=[cycle.slug])


def ballot_url(cycle):
    return reverse("kiosk_ballot", args=[cycle.slug])


def form_for(world, *, district="A", confirmed=True, **person) -> dict:
    values = {**PERSON, **person}
    data = {
        "action": "checkin",
        "pin": PIN,
        "name": values["name"],
        "date_of_birth": values["date_of_birth"].isoformat() if values["date_of_birth"] else "",
        "address": values["address"],
        "district": str(world.district(district).pk) if district else "",
        "language": values.get("language", "en"),
        "note": values.get("note", ""),
    }
    if confirmed:
        data["eligibility_confirmed"] = "on"
    return data


def open_kiosk(client, world, site):
    response = client.post(start_url(world.cycle), {"action": "open", "site": str(site.pk), "pin": PIN})
    assert response.status_code == 302 and response["Location"] == start_url(world.cycle)
    return response


def check_in(client, world, **kwargs):
    return client.post(start_url(world.cycle), form_for(world, **kwargs))


def vote(client, world, step, choices=("A-01",), *, follow=False, **extra):
    data = {"project": list(choices), "attest": "on", "step": step, **extra}
    return client.post(ballot_url(world.cycle), data, follow=follow)


def session_of(client) -> dict:
    return client.session.load()


@pytest.fixture
def kiosk_client(client, world, city_hall, volunteer):
    client.force_login(volunteer)
    open_kiosk(client, world, city_hall)
    return client


def assert_kiosk_layout(html: str) -> None:
    assert 'class="kiosk"' in html
    for text in NAV_LINKS:
        assert f">{text}<" not in html, text
    assert 'class="breadcrumb"' not in html


# --- views: officials' voting sites -----------------------------------------------------------------
def test_officials_add_open_and_close_sites(client, world, official):
    client.force_login(official)
    url = reverse("staff_sites", args=[world.cycle.slug])
    response = client.post(url, {"action": "create", "name": "City Hall", "address": "280 Grove St"}, follow=True)
    assert "Voting site “City Hall” added." in response.content.decode()
    site = VotingSite.objects.get(cycle=world.cycle)
    assert (site.name, site.address, site.active) == ("City Hall", "280 Grove St", True)
    assert len(audits("voting_site.create")) == 1

    response = client.post(url, {"action": "create", "name": "City Hall"})
    assert response.status_code == 200
    assert _text(sites.MSG_SITE_TAKEN) in response.content.decode()
    response = client.post(url, {"action": "create", "name": ""})
    assert "This field is required." in response.content.decode()
    assert VotingSite.objects.count() == 1

    response = client.post(url, {"action": "close", "site": str(site.pk)}, follow=True)
    assert "“City Hall” is closed: its kiosks check no one in." in response.content.decode()
    site.refresh_from_db()
    assert not site.active
    client.post(url, {"action": "open", "site": str(site.pk), "pin": PIN})
    site.refresh_from_db()
    assert site.active
    assert [e.after for e in audits("voting_site.set_active")] == [{"active": False}, {"active": True}]
    assert client.post(url, {"action": "close", "site": "nope"}).status_code == 404

    page = client.get(url).content.decode()
    assert "City Hall" in page and start_url(world.cycle) in page
    detail = client.get(reverse("staff_cycle_detail", args=[world.cycle.slug])).content.decode()
    assert url in detail


@pytest.mark.parametrize("phase", [Phase.RESULTS, Phase.IMPLEMENTATION, Phase.ARCHIVED])
def test_sites_do_not_change_once_the_votes_are_counted(client, world, city_hall, official, phase):
    Cycle.objects.filter(pk=world.cycle.pk).update(phase=phase)
    world.cycle.refresh_from_db()
    before = (list(VotingSite.objects.values_list("name", "active")), AuditEvent.objects.count())
    with pytest.raises(PhaseClosed) as refused:
        sites.voting_site_create(actor=official, cycle=world.cycle, name="Late Library")
    assert refused.value.message == sites.MSG_SITES_CLOSED
    with pytest.raises(PhaseClosed):
        sites.voting_site_set_active(actor=official, site=city_hall, active=False)

    client.force_login(official)
    url = reverse("staff_sites", args=[world.cycle.slug])
    page = client.get(url).content.decode()
    assert "City Hall" in page and _text(sites.MSG_SITES_CLOSED) in page
    assert 'value="create"' not in page and 'value="close"' not in page  # nothing offered
    for data in ({"action": "create", "name": "Late Library"}, {"action": "close", "site": str(city_hall.pk)}):
        response = client.post(url, data)
        assert response.status_code == 200 and _text(sites.MSG_SITES_CLOSED) in response.content.decode()
    assert (list(VotingSite.objects.values_list("name", "active")), AuditEvent.objects.count()) == before


def test_sites_still_change_while_paper_ballots_are_keyed_in_counting(world, city_hall, official):
    cycle_services.cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Test.")
    sites.voting_site_set_active(actor=official, site=city_hall, active=False)
    assert sites.voting_site_create(actor=official, cycle=world.cycle, name="Count Centre").active


ROLES = ("anonymous", "resident", "volunteer", "vetting_staff", "official", "official_without_mfa", "auditor")


def _client_as(role) -> Client:
    client = Client()
    if role != "anonymous":
        mfa_missing = role == "official_without_mfa"
        client.force_login(user_with_role("official", mfa=False) if mfa_missing else user_with_role(role))
    return client


STAFF_SITES_EXPECTED = {
    "anonymous": "login",
    "resident": 403,
    "volunteer": 403,
    "vetting_staff": 403,
    "official": 200,
    "official_without_mfa": "mfa",
    "auditor": 403,
}
KIOSK_EXPECTED = {**STAFF_SITES_EXPECTED, "volunteer": 200}


def _assert_answer(response, expected):
    if expected == "login":
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    elif expected == "mfa":
        assert response.status_code == 302 and "totp" in response["Location"]
    else:
        assert response.status_code == expected


@pytest.mark.parametrize("role", ROLES)
def test_permissions_of_the_sites_page(world, city_hall, role, denials):
    client = _client_as(role)
    denied_before = len(denials())
    url = reverse("staff_sites", args=[world.cycle.slug])
    _assert_answer(client.get(url), STAFF_SITES_EXPECTED[role])
    response = client.post(url, {"action": "close", "site": str(city_hall.pk)})
    city_hall.refresh_from_db()
    denied = len(denials()) - denied_before
    if STAFF_SITES_EXPECTED[role] == 200:
        assert response.status_code == 302 and not city_hall.active and denied == 0
    else:
        _assert_answer(response, STAFF_SITES_EXPECTED[role])
        assert city_hall.active and denied == 2


@pytest.mark.parametrize("role", ROLES)
def test_permissions_of_the_kiosk(world, city_hall, role, denials):
    client = _client_as(role)
    denied_before = len(denials())
    _assert_answer(client.get(start_url(world.cycle)), KIOSK_EXPECTED[role])
    response = client.post(start_url(world.cycle), {"action": "open", "site": str(city_hall.pk), "pin": PIN})
    denied = len(denials()) - denied_before
    if KIOSK_EXPECTED[role] == 200:
        assert response.status_code == 302 and denied == 0
        assert session_of(client)[SESSION_KIOSK]["site_id"] == city_hall.pk
        assert len(audits("kiosk.open")) == 1
    else:
        _assert_answer(response, KIOSK_EXPECTED[role])
        assert denied == 2 and audits("kiosk.open") == []
        assert SESSION_KIOSK not in session_of(client)
    # The voter's pages are the kiosk's too: nobody else reaches them.
    ballot = client.get(ballot_url(world.cycle))
    if KIOSK_EXPECTED[role] == 200:
        assert ballot.status_code == 302 and ballot["Location"] == start_url(world.cycle)  # nobody checked in
    else:
        _assert_answer(ballot, KIOSK_EXPECTED[role])


@pytest.mark.parametrize("phase", ["vetting", "voting", "counting"])
def test_the_kiosk_page_by_phase(client, official, volunteer, phase):
    world = (vetting_world if phase == "vetting" else voting_world)(official, projects={"A": PROJECTS["A"]})
    site = sites.voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    if phase == "counting":
        cycle_services.cycle_transition(actor=official, cycle=world.cycle, target=Phase.COUNTING, reason="Test.")
    client.force_login(volunteer)
    page = client.get(start_url(world.cycle)).content.decode()
    response = client.post(start_url(world.cycle), {"action": "open", "site": str(site.pk), "pin": PIN})
    if phase == "voting":
        assert "Open the kiosk" in page
        assert response.status_code == 302 and SESSION_KIOSK in session_of(client)
    else:
        assert _text(kiosk.MSG_KIOSK_NOT_VOTING) in page and "Open the kiosk" not in page
        assert response.status_code == 200 and _text(kiosk.MSG_KIOSK_NOT_VOTING) in response.content.decode()
        assert SESSION_KIOSK not in session_of(client) and audits("kiosk.open") == []


def test_a_kiosk_is_not_opened_at_a_closed_site(client, world, city_hall, library, volunteer):
    sites.voting_site_set_active(actor=world.official, site=city_hall, active=False)
    client.force_login(volunteer)
    page = client.get(start_url(world.cycle)).content.decode()
    assert "City Hall" in page and "Public Library" in page
    response = client.post(start_url(world.cycle), {"action": "open", "site": str(city_hall.pk), "pin": PIN})
    assert response.status_code == 200 and _text(kiosk.MSG_SITE_INACTIVE) in response.content.decode()
    assert SESSION_KIOSK not in session_of(client) and audits("kiosk.open") == []


# --- views: check-in and the voter's ballot ---------------------------------------------------------
def test_a_voter_checks_in_votes_and_the_kiosk_is_ready_for_the_next(kiosk_client, world, volunteer):
    client = kiosk_client
    page = client.get(start_url(world.cycle)).content.decode()
    assert "Check in a voter" in page and "Close the kiosk" in page
    assert_kiosk_layout(page)
    assert 'http-equiv="refresh"' not in page  # the volunteer's check-in page has no idle timer

    response = check_in(client, world)
    assert response.status_code == 302 and response["Location"] == ballot_url(world.cycle)
    stored = session_of(client)[SESSION_KIOSK_VOTER]
    assert stored["site_name"] == "City Hall" and stored["volunteer_id"] == volunteer.pk

    html = client.get(ballot_url(world.cycle)).content.decode()
    assert "Your ballot for Ward A" in html
    assert_kiosk_layout(html)
    assert 'http-equiv="refresh"' not in html  # a ballot being filled in is never reset by a timer alone
    assert 'data-kiosk-idle="180" data-kiosk-warning="30"' in html and "js/kiosk.js" in html
    assert f'action="{ballot_url(world.cycle)}"' in html
    assert re.search(r'name="date_of_birth"[^>]*value="1990-04-30"[^>]*disabled|disabled[^>]*value="1990-04-30"', html)
    assert re.search(r'name="name"[^>]*value="María José López"[^>]*disabled', html)  # as checked in

    review = vote(client, world, "review", date_of_birth="2020-01-01", address="elsewhere", name="Someone Else")
    assert "María José López" in review.content.decode() and "Someone Else" not in review.content.decode()
    assert "Review your ballot for Ward A" in review.content.decode()
    assert_kiosk_layout(review.content.decode())
    assert VoterRollEntry.objects.count() == 0

    done = vote(client, world, "cast", date_of_birth="2020-01-01", address="elsewhere")
    html = done.content.decode()
    assert done.status_code == 200 and "Your ballot is recorded" in html
    assert_kiosk_layout(html)
    code = RECEIPT.search(html).group(1)
    assert html.count(code) == 1
    assert "Done — next voter" in html and "Back to your ballots" not in html
    assert "no-store" in done["Cache-Control"]
    assert SESSION_KIOSK_VOTER not in session_of(client)  # forgotten at once
    assert SESSION_KIOSK in session_of(client)  # the kiosk stays open
    for session in Session.objects.all():
        assert code not in str(session.get_decoded())

    entry = VoterRollEntry.objects.get()
    assert (entry.channel, entry.verification, entry.site) == ("kiosk", "checkin", "City Hall")
    # The date of birth and address are the ones checked in: a posted value is ignored.
    identity = Identity.objects.get()
    assert (identity.date_of_birth, identity.address) == (date(1990, 4, 30), "1 Grove St, Jersey City")
    assert services.receipt_check(code=code) == "counted"

    # The same session cannot cast again without a new check-in.
    before = counts()
    again = vote(client, world, "cast", choices=("A-02",), follow=True)
    assert _text(MSG_NO_VOTER) in again.content.decode()
    assert counts() == before
    # "Next voter" returns to the check-in.
    nxt = client.post(reverse("kiosk_reset", args=[world.cycle.slug]))
    assert nxt["Location"] == start_url(world.cycle)
    assert_roll_matches_ballots()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": ""}, "Full name: This field is required."),
        ({"date_of_birth": None}, "Date of birth: This field is required."),
        ({"address": ""}, "Home address: This field is required."),
        ({"district": ""}, "Ballot: This field is required."),
        ({"language": "xx"}, "Language of the ballot: Select a valid choice."),
    ],
)
def test_check_in_form_errors_store_nothing(kiosk_client, world, change, message):
    before = counts()
    response = kiosk_client.post(start_url(world.cycle), form_for(world, **change))
    html = response.content.decode()
    assert response.status_code == 200 and 'role="alert"' in html
    assert escape(message) in html
    assert SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    assert counts() == before


def test_check_in_refusals_show_why_and_store_nothing(kiosk_client, world, city_hall):
    client = kiosk_client
    before = counts()
    born = world.cycle.voting_close_at.date().replace(year=world.cycle.voting_close_at.year - 10)
    response = check_in(client, world, date_of_birth=born)
    assert "Voters must be at least 14 years old on" in response.content.decode()
    assert SESSION_KIOSK_VOTER not in session_of(client)

    cycle_services.voting_pause(actor=world.official, cycle=world.cycle, reason="Storm")
    response = check_in(client, world)
    assert _text(kiosk.MSG_CHECKIN_PAUSED) in response.content.decode()
    assert "Voting is paused" in response.content.decode()
    cycle_services.voting_resume(actor=world.official, cycle=world.cycle, reason="Storm over")

    sites.voting_site_set_active(actor=world.official, site=city_hall, active=False)
    response = check_in(client, world)
    assert response.content.decode().count(_text(kiosk.MSG_SITE_INACTIVE)) == 2  # the notice and the error
    assert SESSION_KIOSK_VOTER not in session_of(client)
    after = counts()
    assert {**after, "audit": 0} == {**before, "audit": 0}  # the audit log has the pause, resume, close
    assert VoterRollEntry.objects.count() == 0


def _too_young(world) -> date:
    close = world.cycle.voting_close_at.date()
    return close.replace(year=close.year - 10)


@pytest.mark.parametrize(
    ("language", "summary", "refusal"),
    [
        ("en", "Please correct the following:", "Date of birth: Voters must be at least 14 years old on"),
        ("es", "Corrija lo siguiente:", "Fecha de nacimiento: Los votantes deben tener al menos 14 años de edad el"),
    ],
)
def test_an_ineligible_check_in_is_an_error_on_the_form_with_the_values_kept(
    kiosk_client, world, settings, language, summary, refusal
):
    """Under age (or a mistyped date of birth): the check-in form again, the reason in its error
    summary (announced: role=alert) linked to the date of birth, every value kept, nothing stored —
    not a dead-end refusal page."""
    kiosk_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    born = _too_young(world)
    before = counts()
    response = check_in(kiosk_client, world, date_of_birth=born, district="B", confirmed=False, note="No ID")
    html = response.content.decode()
    assert response.status_code == 200
    assert_kiosk_layout(html)
    summary_block = html[html.index('id="error-summary"') : html.index("</div>", html.index('id="error-summary"'))]
    assert 'role="alert"' in html[html.index('<div class="errorsummary"') : html.index('id="error-summary"')]
    assert escape(summary) in summary_block
    assert f'<a href="#id_date_of_birth">{escape(refusal)}' in summary_block
    assert re.search(rf'<input type="date" name="date_of_birth" value="{born}"[^>]*aria-invalid="true"', html)
    assert f'value="{escape(PERSON["name"])}"' in html and f'value="{escape(PERSON["address"])}"' in html
    assert f'<option value="{world.district("B").pk}" selected>' in html
    assert re.search(r">\s*No ID</textarea>", html)
    assert 'name="action" value="checkin"' in html  # the check-in form, ready to correct and send again
    assert "Not allowed" not in html and "No permitido" not in html
    assert SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    assert counts() == before


def test_a_failed_check_in_forgets_the_previous_voter(kiosk_client, world):
    check_in(kiosk_client, world)
    assert SESSION_KIOSK_VOTER in session_of(kiosk_client)
    check_in(kiosk_client, world, name="")
    assert SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    assert vote(kiosk_client, world, "cast").status_code == 302
    assert Ballot.objects.count() == 0


def test_unconfirmed_eligibility_casts_a_provisional_ballot(kiosk_client, world):
    check_in(kiosk_client, world, confirmed=False, note="Forgot ID")
    html = vote(kiosk_client, world, "cast").content.decode()
    assert "Your ballot is recorded as provisional." in html
    provisional = ProvisionalBallot.objects.get()
    assert (provisional.status, provisional.note) == ("pending", "Forgot ID")
    assert VoterRollEntry.objects.get().site == "City Hall"
    assert services.receipt_check(code=RECEIPT.search(html).group(1)) == "pending"
    assert_roll_matches_ballots()


def test_the_same_person_at_two_sites_is_told_they_voted(kiosk_client, world, library):
    check_in(kiosk_client, world)
    vote(kiosk_client, world, "cast")
    other = Client()
    other.force_login(user_with_role("volunteer"))
    open_kiosk(other, world, library)
    before = counts()
    response = check_in(other, world, name="MARIA JOSE LOPEZ")
    assert _text(kiosk.MSG_CHECKIN_ALREADY_VOTED) in response.content.decode()
    assert SESSION_KIOSK_VOTER not in session_of(other)
    assert counts() == before
    assert list(VoterRollEntry.objects.values_list("site", flat=True)) == ["City Hall"]
    assert_roll_matches_ballots()


def test_without_the_idle_timer_a_slow_voter_is_never_reset(kiosk_client, world):
    """A page without JavaScript sends nothing while the voter reads and chooses: however long
    they take, their check-in holds, and their ballot is stored."""
    client = kiosk_client
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        check_in(client, world)
        traveller.shift(3600)
        assert client.get(ballot_url(world.cycle)).status_code == 200
        traveller.shift(1800)
        assert vote(client, world, "review").status_code == 200
        traveller.shift(1800)
        html = vote(client, world, "cast").content.decode()
    assert "Your ballot is recorded" in html
    assert Ballot.objects.count() == 1
    assert_roll_matches_ballots()


def test_a_watched_voter_who_stays_idle_is_forgotten(kiosk_client, world):
    """Once the page's idle timer has reported in, the server forgets a voter it has not heard of
    for longer than the page would wait (idle time, then the warning) — never sooner."""
    client = kiosk_client
    alive = reverse("kiosk_alive", args=[world.cycle.slug])
    wait = kiosk.expiry_seconds()
    assert wait > kiosk.idle_seconds() + kiosk.warning_seconds() + kiosk.ping_seconds()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        check_in(client, world)
        assert client.get(ballot_url(world.cycle)).status_code == 200
        assert client.post(alive).status_code == 204  # the page's script, on load: it watches
        traveller.shift(wait - 1)
        assert client.post(alive).status_code == 204  # the voter did something
        traveller.shift(wait - 1)
        assert vote(client, world, "review").status_code == 200
        traveller.shift(wait + 1)
        before = counts()
        response = vote(client, world, "cast", follow=True)
        assert _text(MSG_VOTER_EXPIRED) in response.content.decode()
        assert "Check in a voter" in response.content.decode()
        assert counts() == before and Ballot.objects.count() == 0
        assert SESSION_KIOSK_VOTER not in session_of(client)
        assert vote(client, world, "cast").status_code == 302  # and it stays forgotten
        check_in(client, world)
        assert client.post(alive).status_code == 204
        traveller.shift(wait + 1)
        assert client.post(alive).status_code == 410
    assert Ballot.objects.count() == 0
    assert_roll_matches_ballots()


def _idle_dialog(html: str) -> str:
    return html[html.index('<dialog id="kiosk-idle"') : html.index("</dialog>")]


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "en",
            [
                "Are you still here?",
                "Time left: <span data-kiosk-countdown>25</span> seconds.",
                "Yes, I am here: continue",
                "Leave without voting",
            ],
        ),
        (
            "es",
            [
                "¿Sigue ahí?",
                "Tiempo restante: <span data-kiosk-countdown>25</span> segundos.",
                "Sí, aquí estoy: continuar",
                "Salir sin votar",
            ],
        ),
    ],
)
def test_the_ballot_page_warns_before_the_idle_reset_and_has_no_timed_reset(
    kiosk_client, world, settings, language, texts
):
    """The idle and warning times are settings; the ballot and review pages carry the warning
    dialog (an alert dialog, in the voter's language) for the script, and no timed reset for a
    browser without JavaScript; the receipt page, where nothing is being filled in, has one."""
    settings.PB_KIOSK_IDLE_SECONDS, settings.PB_KIOSK_WARNING_SECONDS = 30, 25
    check_in(kiosk_client, world, language=language)
    for html in (
        kiosk_client.get(ballot_url(world.cycle)).content.decode(),
        vote(kiosk_client, world, "review").content.decode(),
    ):
        assert 'data-kiosk-idle="30" data-kiosk-warning="25" data-kiosk-ping="10"' in html
        dialog = _idle_dialog(html)
        assert 'role="alertdialog" aria-modal="true"' in dialog
        assert 'aria-labelledby="kiosk-idle-title" aria-describedby="kiosk-idle-text"' in dialog
        assert '<p role="timer" id="kiosk-idle-countdown">' in dialog
        assert all(escape(text).replace("&lt;", "<").replace("&gt;", ">") in html for text in texts), texts
        assert "http-equiv" not in html
        assert 'src="/static/js/kiosk.js"' in html
    html = vote(kiosk_client, world, "cast").content.decode()
    assert 'http-equiv="refresh" content="30;url=' in html
    assert "Leave without voting" not in html and "Salir sin votar" not in html


def test_a_voter_leaves_without_voting(kiosk_client, world):
    check_in(kiosk_client, world)
    html = kiosk_client.get(ballot_url(world.cycle)).content.decode()
    leave = html[html.index('<details class="kiosk-leave">') :]
    assert f'action="{reverse("kiosk_reset", args=[world.cycle.slug])}"' in leave
    before = counts()
    response = kiosk_client.post(reverse("kiosk_reset", args=[world.cycle.slug]), follow=True)
    assert "Check in a voter" in response.content.decode()
    assert SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    assert vote(kiosk_client, world, "cast").status_code == 302
    assert counts() == before


def test_the_warning_leaves_at_least_20_seconds_to_answer(kiosk_client, world, settings):
    assert kiosk.WARNING_SECONDS >= 20 and settings.PB_KIOSK_WARNING_SECONDS >= 20
    settings.PB_KIOSK_WARNING_SECONDS = 5  # too short to hear, understand and answer: 20 holds
    check_in(kiosk_client, world)
    html = kiosk_client.get(ballot_url(world.cycle)).content.decode()
    assert 'data-kiosk-warning="20"' in html and "<span data-kiosk-countdown>20</span>" in html


def test_the_ballot_is_shown_in_the_language_chosen_at_check_in(kiosk_client, world):
    check_in(kiosk_client, world, language="es")
    html = kiosk_client.get(ballot_url(world.cycle)).content.decode()
    assert '<html lang="es">' in html
    vote(kiosk_client, world, "cast")
    assert VoterRollEntry.objects.get().language == "es"


INTRO = {
    "intro": "Choose up to $50,000 of projects.",
    "intro_translations": {"es": "Elija proyectos por hasta $50,000."},
}


def kiosk_world(official, volunteer, client, *, languages=(), zh_text=None):
    """Ward A (A-01, with English and Spanish texts, and ``zh_text`` in Chinese), its design with
    ``INTRO``, voting open, and ``client`` the volunteer's open kiosk."""
    world = vetting_world(official, wards="A", projects={"A": []})
    world.cycle.extra_languages = list(languages)
    world.cycle.save()
    idea = paper_idea(world.cycle, official, "A")
    project_texts = texts()
    if zh_text:
        project_texts["zh-hans"] = proposals_services.ProjectTextInput(
            title=zh_text, summary=zh_text + "。", description=zh_text + "。"
        )
    make_project(world.cycle, official, [idea], code="A-01", cost="20000", texts=project_texts)
    design(world, {"A": INTRO})
    open_voting(world)
    site = sites.voting_site_create(actor=official, cycle=world.cycle, name="City Hall")
    client.force_login(volunteer)
    open_kiosk(client, world, site)
    return world


def test_the_kiosk_ballot_is_in_the_voters_language_not_the_volunteers(client, official, volunteer, settings):
    world = kiosk_world(official, volunteer, client)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the volunteer reads English
    assert "Check in a voter" in client.get(start_url(world.cycle)).content.decode()
    check_in(client, world, language="es")
    html = client.get(ballot_url(world.cycle)).content.decode()
    assert '<html lang="es">' in html
    assert '<div class="ballot-intro" lang="es"><p>Elija proyectos por hasta $50,000.</p></div>' in html
    assert "Fuentes de agua" in html and "Drinking fountains" not in html
    for spanish in (
        "Quiosco de votación",
        "Revisar mi boleta",
        "¿Sigue ahí?",
        "Sí, aquí estoy: continuar",
        "Salir sin votar",
    ):
        assert escape(spanish) in html, spanish
    for english in ("Voting kiosk", "Review my ballot", "Are you still here?", "Leave without voting", "Choose up to"):
        assert english not in html, english
    review = vote(client, world, "review").content.decode()
    assert "Emitir mi boleta" in review and "Fuentes de agua" in review and "Cast my ballot" not in review
    assert "Check in a voter" in client.get(start_url(world.cycle)).content.decode()  # the volunteer's again

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"  # and the other way round
    check_in(client, world, language="en", name="Sam Okafor")
    html = client.get(ballot_url(world.cycle)).content.decode()
    assert '<html lang="en">' in html and "Review my ballot" in html and "Revisar mi boleta" not in html
    assert '<div class="ballot-intro" lang="en"><p>Choose up to $50,000 of projects.</p></div>' in html


def test_a_kiosk_voter_may_choose_any_of_the_cycles_languages(client, official, volunteer):
    """A language of the cycle the site's pages are not translated into: the ballot's texts in it
    where they exist (each marked with its language), the buttons and instructions in English."""
    world = kiosk_world(official, volunteer, client, languages=["zh-hans"], zh_text="饮水机")
    page = client.get(start_url(world.cycle)).content.decode()
    assert re.search(r'<option value="zh-hans">简体中文 \(Simplified Chinese\)</option>', page)
    assert re.search(r'<option value="es">Español \(Spanish\)</option>', page)
    check_in(client, world, language="zh-hans")
    html = client.get(ballot_url(world.cycle)).content.decode()
    assert '<html lang="en">' in html and "Review my ballot" in html
    assert re.search(r'<span lang="zh-hans"( dir="ltr")?>饮水机</span>', html)  # the title, marked
    assert '<div class="ballot-intro" lang="en"><p>Choose up to $50,000 of projects.</p></div>' in html
    vote(client, world, "cast")
    assert VoterRollEntry.objects.get().language == "zh-hans"
    response = check_in(client, world, language="fr", name="Sam Okafor")  # not a language of this cycle
    assert escape("Language of the ballot: Select a valid choice.") in response.content.decode()


@pytest.mark.parametrize(("page", "selected"), [("en", "en"), ("es", "es")])
def test_the_ballot_language_defaults_to_the_volunteers_page_language(
    client, official, volunteer, settings, page, selected
):
    """The check-in's "Language of the ballot" starts on the language the volunteer's page is in
    when the cycle has it (a Spanish page: Spanish), else on the site's."""
    world = kiosk_world(official, volunteer, client, languages=["zh-hans"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = page
    html = client.get(start_url(world.cycle)).content.decode()
    options = re.findall(r'<option value="([^"]+)"( selected)?>', html[html.index('name="language"') :])
    assert [code for code, chosen in options if chosen] == [selected]


def test_a_kiosk_voter_votes_on_the_citywide_ballot_only_when_checked_in_for_it(kiosk_client, world):
    check_in(kiosk_client, world, district="CITY")
    assert "Your ballot for Citywide" in kiosk_client.get(ballot_url(world.cycle)).content.decode()
    assert vote(kiosk_client, world, "cast", choices=("C-01",)).status_code == 200
    assert VoterRollEntry.objects.get().district.code == "CITY"
    assert_roll_matches_ballots()


def test_closing_the_kiosk(kiosk_client, world, city_hall, volunteer):
    check_in(kiosk_client, world)
    close_url = reverse("kiosk_close", args=[world.cycle.slug])
    refused = kiosk_client.post(close_url, {"close-pin": "9999"}, follow=True)
    assert "That is not the kiosk&#x27;s PIN." in refused.content.decode()
    assert SESSION_KIOSK in session_of(kiosk_client) and not audits("kiosk.close")
    response = kiosk_client.post(close_url, {"close-pin": PIN}, follow=True)
    assert "The kiosk is closed." in response.content.decode()
    assert "_auth_user_id" not in session_of(kiosk_client)  # closing logs the device out
    assert SESSION_KIOSK not in session_of(kiosk_client) and SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    (event,) = audits("kiosk.close")
    assert (event.actor_id, event.object_id) == (volunteer.pk, str(city_hall.pk))
    assert vote(kiosk_client, world, "cast").status_code == 302
    assert Ballot.objects.count() == 0


@pytest.mark.parametrize(
    "url",
    ["/accounts/preferences/", "/staff/cycles/", "/api/v1/me/", "/accounts/logout/", "/receipt/", "/"],
)
def test_an_open_kiosk_keeps_the_device_on_the_kiosk_pages(kiosk_client, world, url):
    # The kiosk runs in the volunteer's session: a voter must reach nothing else with it.
    check_in(kiosk_client, world)
    response = kiosk_client.get(url)
    assert response.status_code == 302 and response["Location"] == start_url(world.cycle)
    assert kiosk_client.post(url).status_code == 302
    assert SESSION_KIOSK in session_of(kiosk_client)  # still logged in, still a kiosk


def test_a_wrong_pin_checks_no_one_in_and_too_many_close_the_kiosk(kiosk_client, world, volunteer):
    response = kiosk_client.post(start_url(world.cycle), {**form_for(world), "pin": "0000"})
    assert response.status_code == 200
    assert "That is not the kiosk&#x27;s PIN." in response.content.decode()
    assert SESSION_KIOSK_VOTER not in session_of(kiosk_client)
    for _ in range(kiosk.PIN_TRIES - 1):
        kiosk_client.post(start_url(world.cycle), {**form_for(world), "pin": "0000"})
    assert "_auth_user_id" not in session_of(kiosk_client)  # locked out: closed and logged out
    assert len(audits("kiosk.close")) == 1
    assert kiosk_client.get("/accounts/preferences/").status_code == 302
    assert Ballot.objects.count() == 0


def test_a_site_closed_while_a_voter_is_checked_in_takes_no_ballot(kiosk_client, world, city_hall):
    check_in(kiosk_client, world)
    sites.voting_site_set_active(actor=world.official, site=city_hall, active=False)
    response = vote(kiosk_client, world, "cast", follow=True)
    assert _text(kiosk.MSG_SITE_INACTIVE) in response.content.decode()
    assert Ballot.objects.count() == 0


def test_a_kiosk_voter_refused_at_cast_sees_the_kiosk_page(kiosk_client, world):
    check_in(kiosk_client, world)
    cycle_services.voting_pause(actor=world.official, cycle=world.cycle, reason="Storm")
    html = vote(kiosk_client, world, "cast").content.decode()
    assert "Voting is paused" in html and "Done — next voter" in html
    assert_kiosk_layout(html)
    assert Ballot.objects.count() == 0


def test_the_public_cycle_page_links_site_workers_to_the_kiosk(client, world, volunteer, resident):
    client.force_login(volunteer)
    assert start_url(world.cycle) in client.get(reverse("cycle_detail", args=[world.cycle.slug])).content.decode()
    client.force_login(resident)
    assert start_url(world.cycle) not in client.get(reverse("cycle_detail", args=[world.cycle.slug])).content.decode()


# --- the demo -----------------------------------------------------------------------------------------
def test_the_voting_demo_has_sites_and_prints_usable_access_codes():
    out = StringIO()
    call_command("load_demo", "--phase", "voting", stdout=out)
    output = out.getvalue()
    assert f"/cycles/{DEMO_SLUG}/kiosk/" in output
    assert set(VotingSite.objects.values_list("name", "active")) == {("City Hall", True), ("Public Library", True)}
    codes = re.findall(r"^  ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$", output, re.M)
    assert len(codes) == 5
    for code in codes:
        verified = verification.access_code_redeem(code=code, client_key="demo-test")
        assert verified.district_id == VotingSite.objects.first().cycle.districts.get(code="A").pk
    again = StringIO()
    call_command("load_demo", "--phase", "voting", stdout=again)
    assert not re.findall(r"^  ([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})$", again.getvalue(), re.M)
    assert VotingSite.objects.count() == 2
    assert_roll_matches_ballots()
