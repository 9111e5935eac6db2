"""Casting a ballot (voting/services/cast.py): the vote path, one ballot per voter, bad ballots,
when voting is open, eligibility on every channel, and one person across channels. State is built
through the real services (voting/tests/builders.py)."""

import itertools
import json
import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts import services as accounts_services
from budgets.models import Cycle
from budgets.phases import Phase
from budgets.services import cycle_transition, voting_extend, voting_pause, voting_resume
from core import times
from core.errors import ValidationFailed
from core.models import AuditEvent, Notification
from tests.factories import user_with_role
from voting import crypto, services, sites
from voting.methods import Ballot
from voting.models import (
    AccessCode,
    Channel,
    Eligibility,
    Identity,
    ProvisionalBallot,
    VoterRollEntry,
)
from voting.models import Ballot as StoredBallot
from voting.services import cast as cast_module
from voting.services import kiosk, review, verification

from .builders import (
    DESIGNS_BY_METHOD,
    PROJECTS_BY_METHOD,
    assert_roll_matches_ballots,
    counts,
    design,
    open_voting,
    vetting_world,
    voter,
    voting_world,
)

pytestmark = pytest.mark.django_db

NEW_YORK = ZoneInfo("America/New_York")
RECEIPT = re.compile(rf"[{crypto.ALPHABET}]{{4}}(-[{crypto.ALPHABET}]{{4}}){{4}}")


@pytest.fixture
def world(official):
    return voting_world(official, designs=DESIGNS_BY_METHOD, wards="ABCDE", projects=PROJECTS_BY_METHOD)


def cast(world, key="voter-1", district="A", choices=("A-01",), **kwargs):
    ballot_kwargs = {"ranks": kwargs.pop("ranks")} if "ranks" in kwargs else {}
    if not ballot_kwargs:
        ballot_kwargs["ballot"] = Ballot(choices=tuple(choices), points=kwargs.pop("points", None))
    attested = kwargs.pop("attested", True)
    return services.ballot_cast(
        voter=voter(key, **kwargs), district=world.district(district), attested=attested, **ballot_kwargs
    )


def messages(exc_info, field="ballot") -> list[str]:
    return [str(m) for m in exc_info.value.extra[field]]


def years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


# --- the happy path ------------------------------------------------------------------------------------
def test_cast_stores_one_roll_entry_and_one_anonymous_ballot_and_returns_a_receipt(
    world, resident, django_capture_on_commit_callbacks
):
    before = counts()
    with django_capture_on_commit_callbacks() as callbacks:
        result = cast(
            world,
            "rosa",
            choices=("A-02", "A-01"),
            language="es",
            site="",
            name="Rosa Resident",
            email="rosa@example.org",
            notify_user=resident,
        )
    assert RECEIPT.fullmatch(result.receipt_code)
    assert counts() == before | {
        "roll": before["roll"] + 1,
        "ballots": before["ballots"] + 1,
        "identities": before["identities"] + 1,
        "notifications": before["notifications"] + 1,
    }
    ballot = StoredBallot.objects.get()
    assert ballot.id.version == 4
    assert (ballot.district, ballot.channel, ballot.choices, ballot.points) == (
        world.district("A"),
        "online",
        ["A-01", "A-02"],  # stored in a canonical order, not the order the voter sent
        None,
    )
    assert ballot.receipt_hash == crypto.receipt_hash(result.receipt_code)
    entry = VoterRollEntry.objects.get()
    assert (entry.district, entry.identity_key, entry.channel, entry.verification, entry.language) == (
        world.district("A"),
        crypto.identity_key("test", "rosa"),
        "online",
        "test",
        "es",
    )
    assert entry.voted_on == timezone.localtime(timezone.now(), NEW_YORK).date()
    identity = Identity.objects.get()
    assert (identity.identity_key, identity.name, identity.email) == (
        entry.identity_key,
        "Rosa Resident",
        "rosa@example.org",
    )
    # The receipt says "in the count", for the code however it is typed, and nothing else.
    assert services.receipt_check(code=result.receipt_code) == "counted"
    assert services.receipt_check(code=result.receipt_code.lower().replace("-", " ")) == "counted"
    assert services.receipt_check(code=crypto.code_new()) == "unknown"
    # The confirmation is an outbox row for the account, sent after commit; it carries neither the
    # receipt code nor the choices.
    (note,) = Notification.objects.filter(kind="vote.confirmation")
    assert (note.recipient, note.address, note.sent_at) == (resident, resident.email, None)
    assert "Ward A" in note.body
    text = note.subject + note.body
    assert result.receipt_code not in text and result.receipt_code.replace("-", "") not in text
    assert not any(code in text for code in ("A-01", "A-02", "Drinking fountains", "Fuentes de agua"))
    assert callbacks == []  # no broker call from the vote request: the periodic task sends it
    # No audit event was written by the cast, and none anywhere names the ballot.
    assert AuditEvent.objects.count() == before["audit"]
    for event in AuditEvent.objects.all():
        dumped = json.dumps([event.object_id, event.before, event.after, event.reason], default=str)
        assert str(ballot.id) not in dumped and ballot.id.hex not in dumped
    assert_roll_matches_ballots()


def test_a_voter_with_a_printed_code_gives_name_address_and_birth_date_or_nothing_is_stored(world):
    before = counts()
    with pytest.raises(ValidationFailed) as missing:
        cast(world, "walk-in", channel="code", name=" ", address="")
    assert set(missing.value.extra) == {"name", "address"}
    with pytest.raises(services.NotEligible) as no_birth_date:
        cast(world, "walk-in", channel="code", born=None)
    assert str(no_birth_date.value.message) == str(services.MSG_BIRTH_NEEDED)
    assert counts() == before
    cast(world, "walk-in", channel="code")  # no account: an identity row, and no notification
    assert counts() == before | {
        "roll": before["roll"] + 1,
        "ballots": before["ballots"] + 1,
        "identities": before["identities"] + 1,
    }
    assert_roll_matches_ballots()


@pytest.mark.parametrize("where", ["after the roll entry", "after the notification"])
def test_roll_entry_ballot_and_notification_are_one_transaction(world, resident, monkeypatch, where):
    """A failure anywhere in the cast leaves nothing: no roll entry without its ballot."""

    def boom(*args, **kwargs):
        raise RuntimeError("fail inside the cast")

    if where == "after the roll entry":
        monkeypatch.setattr(crypto, "code_new", boom)
    else:
        real = cast_module.notification_queue

        def queue_then_fail(**kwargs):
            real(**kwargs)
            assert Notification.objects.filter(kind="vote.confirmation").count() == 1
            boom()

        monkeypatch.setattr(cast_module, "notification_queue", queue_then_fail)
    before = counts()
    with pytest.raises(RuntimeError):
        cast(world, "rosa", notify_user=resident, email="rosa@example.org")
    assert counts() == before
    assert_roll_matches_ballots()


# --- one ballot per voter per district -------------------------------------------------------------------
@pytest.mark.parametrize("channel", ["online", "phone"], ids=["same-channel", "other-channel"])
def test_the_same_voter_again_is_already_voted_and_nothing_changes(world, resident, channel):
    cast(world, "rosa", notify_user=resident, email="rosa@example.org")
    before = counts()
    with pytest.raises(services.AlreadyVoted) as exc:
        cast(world, "rosa", choices=("A-03",), channel=channel, notify_user=resident, email="other@example.org")
    assert exc.value.status == 409 and exc.value.code == "already_voted"
    assert str(exc.value.message) == str(services.AlreadyVoted.default_message)
    assert counts() == before
    assert StoredBallot.objects.get().choices == ["A-01"]
    assert Identity.objects.get().email == "rosa@example.org"
    assert_roll_matches_ballots()


def test_one_voter_casts_one_ward_ballot_per_cycle(world):
    cast(world, "rosa", district="A", choices=("A-01",))
    with pytest.raises(services.AlreadyVoted):  # the database's per-cycle constraint, not a check
        cast(world, "rosa", district="B", choices=("B-01",))
    assert VoterRollEntry.objects.filter(identity_key=crypto.identity_key("test", "rosa")).count() == 1
    assert StoredBallot.objects.count() == 1
    assert_roll_matches_ballots()


def test_one_voter_casts_a_ward_ballot_and_the_citywide_ballot(official):
    projects = {
        "A": PROJECTS_BY_METHOD["A"],
        "B": PROJECTS_BY_METHOD["B"],
        "CITY": [("CITY-01", "90000"), ("CITY-02", "120000")],
    }
    world = voting_world(official, wards="AB", projects=projects, citywide=True)
    cast(world, "rosa", district="A", choices=("A-01",))
    cast(world, "rosa", district="CITY", choices=("CITY-02",))  # two roll entries for one person: ward and citywide
    before = counts()
    with pytest.raises(services.AlreadyVoted):
        cast(world, "rosa", district="CITY", choices=("CITY-01",))
    with pytest.raises(services.AlreadyVoted):
        cast(world, "rosa", district="B", choices=("B-01",))
    assert counts() == before
    entries = VoterRollEntry.objects.filter(identity_key=crypto.identity_key("test", "rosa"))
    assert sorted(entries.values_list("district__code", flat=True)) == ["A", "CITY"]
    assert sorted(StoredBallot.objects.values_list("district__code", flat=True)) == ["A", "CITY"]
    assert_roll_matches_ballots()


# --- bad ballots ---------------------------------------------------------------------------------------
BAD_BALLOTS = [
    pytest.param(
        "A",
        {"choices": ("A-01", "Z-99")},
        ["This ballot names a project that is not on this ballot: Z-99."],
        id="unknown-project",
    ),
    pytest.param(
        "A",
        {"choices": ("A-01", "B-01")},
        ["This ballot names a project that is not on this ballot: B-01."],
        id="project-of-another-ward",
    ),
    pytest.param(
        "A",
        {"choices": ("A-01", "A-02", "A-01")},
        ["Each project can be chosen only once: A-01 appears more than once."],
        id="duplicate-project",
    ),
    pytest.param("A", {"choices": ()}, ["Choose at least one project."], id="empty"),
    pytest.param(
        "C",
        {"ranks": {"C-01": 1, "C-02": 3}},
        ["Ranks must follow each other with no gaps: 1, 2, 3 … (you used 1, 3)."],
        id="ranks-with-gaps",
    ),
    pytest.param("C", {"ranks": {"C-01": 1, "C-02": 1}}, ["Each rank can be used only once."], id="repeated-ranks"),
    pytest.param(
        "C",
        {"ranks": {"C-01": 1, "C-02": 2, "C-03": 3}},
        ["Choose at most 2 projects (you chose 3)."],
        id="ranked-more-than-k",
    ),
    pytest.param(
        "D",
        {"choices": ("D-01", "D-02"), "points": (6, 5)},
        ["You gave 11 points; you have 10 to spread."],
        id="points-over-total",
    ),
    pytest.param(
        "D",
        {"choices": ("D-01", "D-02"), "points": (7, 1)},
        ["No project can get more than 6 points (D-01)."],
        id="points-over-cap",
    ),
    pytest.param(
        "D",
        {"choices": ("D-01", "D-02"), "points": (5, 0)},
        ["Points must be whole numbers above zero."],
        id="points-zero",
    ),
    pytest.param(
        "B",
        {"choices": ("B-01", "B-02")},
        ["Your choices cost $55,000, more than the budget of $50,000."],
        id="knapsack-over-budget",
    ),
    pytest.param(
        "B",
        {"choices": ("B-03",)},
        ["Your choices cost $10,000; choose projects worth at least $25,000."],
        id="knapsack-under-minimum-spend",
    ),
    pytest.param(
        "A",
        {"choices": ("A-01", "Z-99", "Z-99")},
        [
            "This ballot names a project that is not on this ballot: Z-99.",
            "Each project can be chosen only once: Z-99 appears more than once.",
        ],
        id="every-problem-at-once",
    ),
]


@pytest.mark.parametrize(("district", "ballot", "expected"), BAD_BALLOTS)
def test_a_bad_ballot_is_refused_with_a_clear_error_and_nothing_is_stored(world, resident, district, ballot, expected):
    before = counts()
    with pytest.raises(services.BallotInvalid) as exc:
        cast(world, "rosa", district=district, notify_user=resident, email="rosa@example.org", **ballot)
    assert exc.value.status == 400 and exc.value.code == "ballot_invalid"
    assert str(exc.value.message) == "The ballot is not valid. Nothing was recorded."
    assert messages(exc) == expected
    assert counts() == before
    # Nothing was stored, so the same voter can still vote.
    valid = {"A": ("A-01",), "B": ("B-01", "B-03"), "C": ("C-02", "C-01"), "D": ("D-01",)}[district]
    cast(world, "rosa", district=district, choices=valid, points=(6,) if district == "D" else None)
    assert StoredBallot.objects.get().choices == list(valid)
    assert_roll_matches_ballots()


def test_a_district_without_a_ballot_is_a_clear_refusal(world):
    before = counts()
    with pytest.raises(services.NoBallot) as exc:
        cast(world, district="E", choices=("A-01",))  # ward E has no projects, so no ballot
    assert exc.value.status == 409 and str(exc.value.message) == "There is no ballot for this district."
    assert counts() == before
    assert_roll_matches_ballots()


def test_a_ranked_ballot_given_as_ranks_is_stored_in_rank_order(world):
    cast(world, "rosa", district="C", ranks={"C-03": 2, "C-01": 1})
    assert StoredBallot.objects.get().choices == ["C-01", "C-03"]
    assert_roll_matches_ballots()


def test_a_cumulative_ballot_keeps_its_points(world):
    cast(world, "rosa", district="D", choices=("D-02", "D-01"), points=(6, 4))
    ballot = StoredBallot.objects.get()
    assert (ballot.choices, ballot.points) == (["D-02", "D-01"], [6, 4])
    assert_roll_matches_ballots()


def test_a_ballot_is_given_as_choices_or_as_ranks_not_both(world):
    with pytest.raises(TypeError):
        services.ballot_cast(
            voter=voter("rosa"), district=world.district("C"), ballot=Ballot(choices=("C-01",)), ranks={"C-01": 1}
        )
    assert counts()["roll"] == 0
    assert_roll_matches_ballots()


# --- when voting is open --------------------------------------------------------------------------------
@pytest.mark.parametrize("after", [timedelta(0), timedelta(minutes=1), timedelta(days=30)])
def test_a_ballot_after_the_close_is_refused(world, after):
    before = counts()
    closed = world.cycle.voting_close_at + after
    with time_machine.travel(closed, tick=False), pytest.raises(services.VotingClosed) as exc:
        cast(world)
    assert exc.value.status == 409 and exc.value.code == "voting_closed"
    assert str(exc.value.message) == "Voting is closed. Your ballot was not recorded."
    assert counts() == before
    assert_roll_matches_ballots()


def test_a_ballot_just_before_the_close_is_counted(world):
    with time_machine.travel(world.cycle.voting_close_at - timedelta(seconds=1), tick=False):
        result = cast(world)
    assert services.receipt_check(code=result.receipt_code) == "counted"
    assert_roll_matches_ballots()


def test_a_ballot_after_voting_moved_on_to_counting_is_refused(world):
    cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: closed early.")
    before = counts()
    with pytest.raises(services.VotingClosed):
        cast(world)
    assert counts() == before
    assert_roll_matches_ballots()


def test_a_ballot_while_paused_is_refused_and_works_again_after_resume(world):
    voting_pause(actor=world.official, cycle=world.cycle, reason="Power cut at the library site.")
    before = counts()
    with pytest.raises(services.VotingPaused) as exc:
        cast(world)
    assert exc.value.status == 409 and exc.value.code == "voting_paused"
    assert str(exc.value.message) == (
        "Voting is paused for the moment. Your ballot was not recorded; please try again later."
    )
    assert counts() == before
    voting_resume(actor=world.official, cycle=world.cycle, reason="Power is back.")
    result = cast(world)
    assert services.receipt_check(code=result.receipt_code) == "counted"
    assert_roll_matches_ballots()


def test_an_extension_is_honoured(world):
    old_close = world.cycle.voting_close_at
    voting_extend(
        actor=world.official, cycle=world.cycle, close_at=old_close + timedelta(days=2), reason="Website outage."
    )
    with time_machine.travel(old_close + timedelta(days=1), tick=False):
        cast(world, "between-the-closes")
    after_new_close = old_close + timedelta(days=2, seconds=1)
    with time_machine.travel(after_new_close, tick=False), pytest.raises(services.VotingClosed):
        cast(world, "after-the-new-close")
    assert StoredBallot.objects.count() == 1
    assert_roll_matches_ballots()


# --- eligibility -----------------------------------------------------------------------------------------
@pytest.fixture
def late_close_world(official):
    """Voting closes at 23:30 in New York — already the next day in UTC — with voters 16 and up."""
    world = vetting_world(official, wards="AB")
    close_day = (timezone.now().astimezone(NEW_YORK) + timedelta(days=5)).date()
    close_at = datetime(close_day.year, close_day.month, close_day.day, 23, 30, tzinfo=NEW_YORK)
    Cycle.objects.filter(pk=world.cycle.pk).update(voting_close_at=close_at)  # schedule edits are for drafts
    world.cycle.refresh_from_db()
    services.eligibility_set(
        actor=official, cycle=world.cycle, minimum_age=16, age_on=None, allow_live_work_study=False
    )
    design(world, {})
    open_voting(world)
    world.close_day = close_day
    return world


def test_a_voter_below_the_minimum_age_on_the_closing_day_is_not_eligible(late_close_world):
    world, close_day = late_close_world, late_close_world.close_day
    before = counts()
    # Sixteen the day after voting closes (in New York), though it is that day in UTC already.
    with pytest.raises(services.NotEligible) as exc:
        cast(world, "almost-sixteen", born=years_before(close_day, 16) + timedelta(days=1))
    assert exc.value.status == 403 and exc.value.code == "not_eligible"
    assert str(exc.value.message) == f"Voters must be at least 16 years old on {times.format_day(close_day)}."
    with pytest.raises(services.NotEligible):
        cast(world, "no-birth-date", born=None)
    assert counts() == before
    cast(world, "sixteen-on-closing-day", born=years_before(close_day, 16))
    assert StoredBallot.objects.count() == 1
    assert_roll_matches_ballots()


def test_the_roll_records_the_day_in_the_cycles_time_zone(late_close_world):
    evening = datetime.combine(late_close_world.close_day - timedelta(days=1), datetime.min.time(), NEW_YORK)
    with time_machine.travel(evening + timedelta(hours=21), tick=False):  # 01:00 the next day in UTC
        cast(late_close_world, "evening-voter")
    assert VoterRollEntry.objects.get().voted_on == late_close_world.close_day - timedelta(days=1)
    assert_roll_matches_ballots()


def test_a_voter_who_did_not_attest_is_not_eligible(world):
    before = counts()
    with pytest.raises(services.NotEligible) as exc:
        cast(world, attested=False)
    assert str(exc.value.message) == "Please confirm that the information you gave is true."
    assert counts() == before
    assert_roll_matches_ballots()


def test_too_young_follows_the_age_in_the_plural():
    assert services.MSG_TOO_YOUNG % {"age": 1, "date": "2026-01-01"} == (
        "Voters must be at least 1 year old on 2026-01-01."
    )
    assert services.MSG_TOO_YOUNG % {"age": 16, "date": "2026-01-01"} == (
        "Voters must be at least 16 years old on 2026-01-01."
    )


def test_a_detail_one_channel_lacks_does_not_erase_another_channels(official):
    """The identity table is for the duplicate review (name, date of birth, address, contact): a
    later ballot (here the citywide one) from a page that does not send the email must not blank it."""
    projects = {"A": PROJECTS_BY_METHOD["A"], "CITY": [("CITY-01", "90000")]}
    world = voting_world(official, wards="A", projects=projects, citywide=True)
    key = crypto.identity_key("test", "rosa")
    full = services.Voter(
        identity_key=key,
        channel="online",
        verification="account",
        name="Rosa Díaz",
        address="1 Grand St",
        date_of_birth=date(1990, 1, 1),
        email="rosa@example.org",
    )
    services.ballot_cast(voter=full, district=world.district("A"), ballot=Ballot(choices=("A-01",)))
    partial = services.Voter(
        identity_key=key,
        channel="online",
        verification="account",
        name="Rosa Díaz",
        address="2 Grand St",
        date_of_birth=date(1990, 1, 1),
        email="",
    )
    services.ballot_cast(voter=partial, district=world.district("CITY"), ballot=Ballot(choices=("CITY-01",)))
    identity = Identity.objects.get(identity_key=key)
    assert (identity.name, identity.address, identity.email) == ("Rosa Díaz", "2 Grand St", "rosa@example.org")


# --- the confirmation tells when voting closes, in the cycle's zone and the voter's language -----------
@pytest.mark.parametrize(
    ("zone", "close", "language", "expected"),
    [
        ("America/New_York", datetime(2099, 1, 31, 20, 0), "en", "Voting closes Jan. 31, 2099, 8 p.m. (Eastern Time);"),
        (
            "America/New_York",
            datetime(2099, 1, 31, 20, 0),
            "es",
            "La votación cierra el 31 de enero de 2099 a las 20:00 (hora oriental);",
        ),
        (
            "Pacific/Auckland",
            datetime(2099, 3, 2, 9, 30),
            "en",
            "Voting closes March 2, 2099, 9:30 a.m. (New Zealand Time);",
        ),
        (
            "Pacific/Auckland",
            datetime(2099, 3, 2, 9, 30),
            "es",
            "La votación cierra el 2 de marzo de 2099 a las 09:30 (hora de Nueva Zelanda);",
        ),
    ],
)
def test_the_confirmation_email_gives_the_close_in_the_cycles_zone(world, resident, zone, close, language, expected):
    Cycle.objects.filter(pk=world.cycle.pk).update(time_zone=zone, voting_close_at=close.replace(tzinfo=ZoneInfo(zone)))
    cast(world, "rosa", language=language, name="Rosa Resident", email="rosa@example.org", notify_user=resident)
    (note,) = Notification.objects.filter(kind="vote.confirmation")
    assert expected in note.body
    # The UTC reading would have named another day.
    assert close.replace(tzinfo=ZoneInfo(zone)).astimezone(ZoneInfo("UTC")).date() != close.date()


# --- one person, one ballot across channels ---------------------------------------------------------------
# How each channel's pages build the voter (voting/views/ballot.py, voting/services/kiosk.py), with what the person
# typed there: the same person, written a little differently on each channel.
ALICE_BORN = date(1980, 5, 5)
ALICE_TYPED = {
    "account": ("Alice Example", "12 Elm St"),
    "phone": ("ALICE EXAMPLE", "12 Elm Street"),
    "code": ("  alice   example ", "12 elm st."),
    "kiosk": ("Alice  Example", "12 ELM STREET"),
}
CHANNELS = tuple(ALICE_TYPED)


def phone_voter(*, phone: str = "201-555-0123", **details) -> services.Voter:
    """A voter whose phone was verified by SMS, as the pages build them (voting/views/ballot.py)."""
    key = crypto.identity_key("phone", verification.phone_normalize(phone))
    return services.Voter(identity_key=key, channel="phone", verification="sms", **details)


class Channels:
    """One person voting through each channel, the way its pages do it."""

    def __init__(self, world, *, born=ALICE_BORN, typed=None):
        self.world, self.born, self.typed = world, born, typed or ALICE_TYPED
        self.account = user_with_role("resident", full_name="")
        self.volunteer = user_with_role("volunteer")
        site = sites.voting_site_create(actor=world.official, cycle=world.cycle, name="City Hall")
        self.kiosk = kiosk.kiosk_open(actor=self.volunteer, site=site)
        (self.code,) = verification.access_codes_generate(
            actor=world.official, district=world.district("A"), count=1, expires_at=world.cycle.voting_close_at
        )

    def voter(self, channel: str) -> services.Voter:
        name, address = self.typed[channel]
        details = {"name": name, "address": address, "date_of_birth": self.born}
        if channel == "account":
            # A sign-up account has no name: the ballot page asks for it first (accounts.services).
            self.account = accounts_services.user_set_name(actor=self.account, user=self.account, name=name)
            return services.Voter(
                identity_key=crypto.identity_key("account", str(self.account.pk)),
                channel="online",
                verification="account",
                email=self.account.email,
                notify_user=self.account,
                **{**details, "name": self.account.full_name},
            )
        if channel == "phone":
            return phone_voter(**details)
        if channel == "code":
            redeemed = verification.access_code_redeem(code=self.code, client_key="test-client")
            return services.Voter(
                identity_key=redeemed.identity_key,
                channel=redeemed.channel,
                verification=redeemed.verification,
                access_code_hash=redeemed.access_code_hash,
                **details,
            )
        checked_in = kiosk.kiosk_checkin(
            actor=self.volunteer,
            kiosk=self.kiosk,
            district=self.world.district("A"),
            language="en",
            eligibility_confirmed=True,
            **details,
        )
        return checked_in.voter()

    def vote(self, channel: str, ward: str = "A") -> services.CastResult:
        district = self.world.district(ward)
        code = district.projects.order_by("code").values_list("code", flat=True).first()
        return services.ballot_cast(voter=self.voter(channel), district=district, ballot=Ballot(choices=(code,)))


def receipts_by_status(results) -> dict[str, int]:
    found: dict[str, int] = {}
    for result in results:
        status = services.receipt_check(code=result.receipt_code)
        found[status] = found.get(status, 0) + 1
    return found


@pytest.mark.parametrize("order", list(itertools.permutations(CHANNELS)), ids="-".join)
def test_one_person_on_four_channels_in_any_order_has_one_counted_ballot_and_one_duplicate_group(world, order):
    channels = Channels(world)
    results = [channels.vote(channel) for channel in order]
    # Every ballot is stored (nothing acknowledged is lost); the first is counted, the others wait.
    assert [r.provisional for r in results] == [False, True, True, True]
    assert receipts_by_status(results) == {"counted": 1, "pending": 3}
    pending = ProvisionalBallot.objects.filter(cycle=world.cycle, status=ProvisionalBallot.Status.PENDING)
    assert sorted(p.roll_entry.channel for p in pending) == sorted({"account": "online"}.get(c, c) for c in order[1:])
    assert set(pending.values_list("reason", flat=True)) == {ProvisionalBallot.Reason.POSSIBLE_DUPLICATE}
    (group,) = review.duplicate_groups(world.cycle)
    assert len(group.members) == 4
    assert sorted(group.channels) == sorted(
        str(label) for value, label in Channel.choices if value in {"online", "phone", "code", "kiosk"}
    )
    assert review.duplicate_undecided_count(world.cycle) == 1  # certification waits for the officials
    assert_roll_matches_ballots()
    # Casting wrote no audit event: nothing names the person next to a ballot.
    assert not AuditEvent.objects.filter(action__startswith="ballot.cast").exists()
    assert not AuditEvent.objects.filter(action__startswith="vote").exists()


def test_two_email_accounts_of_one_person_are_one_duplicate_group(world):
    first = user_with_role("resident", full_name="")
    second = user_with_role("resident", full_name="")
    accounts_services.user_set_name(actor=first, user=first, name="José Núñez")
    accounts_services.user_set_name(actor=second, user=second, name="jose nunez")
    results = []
    for user, address in ((first, "12 ELM STREET Apt 3"), (second, "12 Elm St, apt. 3")):
        user.refresh_from_db()
        person = services.Voter(
            identity_key=crypto.identity_key("account", str(user.pk)),
            channel="online",
            verification="account",
            name=user.full_name,
            email=user.email,
            notify_user=user,
            address=address,
            date_of_birth=date(1975, 2, 3),
        )
        results.append(
            services.ballot_cast(voter=person, district=world.district("A"), ballot=Ballot(choices=("A-01",)))
        )
    assert [r.provisional for r in results] == [False, True]
    (group,) = review.duplicate_groups(world.cycle)
    assert {m.identity.email for m in group.members} == {first.email, second.email}


def test_another_person_at_the_same_address_is_not_flagged(world):
    channels = Channels(world)
    alice = channels.vote("account")
    # Same address, same day of birth (a twin, say), another name and phone.
    other = phone_voter(phone="201-555-0199", name="Bob Example", address="12 Elm Street", date_of_birth=ALICE_BORN)
    result = services.ballot_cast(voter=other, district=world.district("A"), ballot=Ballot(choices=("A-02",)))
    assert not alice.provisional and not result.provisional
    assert receipts_by_status([alice, result]) == {"counted": 2}
    assert review.duplicate_groups(world.cycle) == []


def test_the_same_person_born_on_another_day_is_not_flagged(world):
    channels = Channels(world)
    first = channels.vote("account")
    channels.born = date(1981, 5, 5)
    second = channels.vote("phone")
    assert (first.provisional, second.provisional) == (False, False)
    assert review.duplicate_groups(world.cycle) == []


def test_the_identity_keeps_the_match_key_of_the_normalised_details(world):
    channels = Channels(world)
    channels.vote("code")
    identity = Identity.objects.get()
    assert identity.match_key == crypto.match_key(name="Alice Example", date_of_birth=ALICE_BORN, address="12 Elm St")
    assert (identity.name, identity.address) == ("  alice   example ", "12 elm st.")  # as typed, for the officials


# --- eligibility: one rule on every channel ------------------------------------------------------------------
@pytest.mark.parametrize("channel", CHANNELS)
def test_a_voter_too_young_is_refused_on_every_channel_with_one_message_and_nothing_stored(world, channel):
    """Born 2016: refused online, by SMS, with a printed code (counted before) and at the kiosk."""
    channels = Channels(world, born=date(2016, 3, 1))
    if channel == "account":  # the name the account gives is an account change of its own
        accounts_services.user_set_name(actor=channels.account, user=channels.account, name="Alice Example")
    before = counts()
    with pytest.raises(services.NotEligible) as refused:
        channels.vote(channel)
    age_on = cast_module._age_on(world.cycle, Eligibility.objects.get(cycle=world.cycle))
    assert refused.value.status == 403 and refused.value.code == "not_eligible"
    assert str(refused.value.message) == f"Voters must be at least 14 years old on {times.format_day(age_on)}."
    assert counts() == before
    assert not ProvisionalBallot.objects.exists()
    assert AccessCode.objects.get().used_at is None  # the printed code can still be used by its holder


def test_the_eligibility_rule_is_one_function_of_the_cycles_rule(world):
    services.eligibility_check(cycle=world.cycle, date_of_birth=date(1980, 1, 1))
    for born, attested, message in (
        (date(2016, 1, 1), True, "Voters must be at least 14 years old"),
        (None, True, str(services.MSG_BIRTH_NEEDED)),
        (date(1980, 1, 1), False, str(services.MSG_ATTEST)),
    ):
        with pytest.raises(services.NotEligible) as refused:
            services.eligibility_check(cycle=world.cycle, date_of_birth=born, attested=attested)
        assert str(refused.value.message).startswith(message)


def test_the_officials_see_the_four_channels_as_one_group_and_certification_waits(client, world):
    channels = Channels(world)
    for channel in CHANNELS:
        channels.vote(channel)
    client.force_login(world.official)
    html = client.get(reverse("staff_duplicates", args=[world.cycle.slug])).content.decode()
    assert "<span data-undecided>1</span>" in html
    assert len(re.findall(r'id="group-[0-9a-f]{12}"', html)) == 1 and "12 Elm Street" in html and "12 elm st." in html
    for value, label in Channel.choices:
        assert (escape(str(label)) in html) == (value in {"online", "phone", "code", "kiosk"})
    counting = cycle_transition(actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: close.")
    assert review.counting_blockers(counting) == [  # what certification's guard refuses on
        "3 provisional ballots are still waiting for a decision.",
        "1 group of possible duplicate voters has not been reviewed yet.",
    ]
