"""The archive step: after the retention period the cycle moves to archived and the personal data it
holds is erased (audit/archive.py and each app's erase module); the anonymous roll and ballots,
results, public content and the audit log stay, and a bundle made afterwards still verifies."""

import io
import json
import logging
import re
import zipfile
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, models
from django.utils import dateformat, timezone
from PIL import Image

from allocation.models import DistrictResult
from audit.archive import accounts_of_cycle_only
from audit.bundle import bundle_write
from audit.services import cycle_archive, retention_ends
from budgets.phases import Capability, Phase
from budgets.services import cycle_transition
from core.errors import GuardFailed, NotAllowed, TransitionNotAllowed, ValidationFailed
from core.models import AuditEvent, Notification
from core.selectors import audit_chain_verify_database
from core.services import notification_deliver
from pbverify.verify import bundle_verify
from proposals import services as p_services
from proposals.models import Idea
from proposals.tests.builders import idea_input, make_project, ward
from proposals.tests.builders import move as p_move
from proposals.tests.builders import submit as p_submit
from tests.factories import CycleFactory, user_with_role
from voting import crypto, methods, services, sites
from voting.models import (
    Ballot,
    DuplicateReview,
    Identity,
    PhoneChallenge,
    ProvisionalBallot,
    VerificationAttempt,
    VoterRollEntry,
)
from voting.services import paper, verification
from voting.services.review import duplicate_review_record, provisional_accept
from voting.tests.builders import (
    PROJECTS,
    World,
    assert_roll_matches_ballots,
    design,
    open_voting,
    voter,
    voting_world,
)

from .builders import bundle_files, bundle_reseal, cast, certify, close_voting, person_details

pytestmark = pytest.mark.django_db
PEOPLE = 6


def personal_strings(n: int) -> list[str]:
    details = person_details(n)
    return [details["name"], details["email"], details["phone"], details["address"], "Library check-in desk"]


def certified_with_people(official, *, extra_cycle=None):
    """A certified cycle whose voters gave names, emails, phones, addresses, dates of birth and
    check-in details (kiosk voters at a site), one with a provisional note; plus phone challenges,
    rate-limit rows and "you voted" notifications from its voting period."""
    from voting import methods, services

    world = voting_world(official)
    for n in range(PEOPLE):
        details = person_details(n)
        services.ballot_cast(
            voter=voter(
                f"person-{n}",
                channel="kiosk",
                born=details["born"],
                name=details["name"],
                email=details["email"],
                phone=details["phone"],
                address=details["address"],
                site="Library",
                checkin={"desk": "Library check-in desk", "id_seen": "license"},
                provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED if n == 0 else "",
                provisional_note=f"{details['name']} had no ID" if n == 0 else "",
            ),
            district=world.district("A" if n % 2 else "B"),
            ballot=methods.Ballot(choices=("A-01",) if n % 2 else ("B-03",)),
        )
    PhoneChallenge.objects.create(phone_hash="p" * 64, code_hash="c" * 64, expires_at=timezone.now())
    VerificationAttempt.objects.create(kind="sms_send", key_hash="k" * 64)
    Notification.objects.create(
        kind="vote.confirmation",
        address=person_details(1)["email"],
        subject="s",
        body=f"Thanks {person_details(1)['name']}",
    )
    if extra_cycle is not None:
        extra_cycle(world)
    close_voting(world)
    from voting.services.review import provisional_accept

    provisional_accept(actor=official, provisional=ProvisionalBallot.objects.get(), note="ID checked later")
    certify(world)
    return world


def text_of_every_row() -> str:
    """Every row of every table of the apps that hold voting data, as text."""
    chunks = []
    for label in ("voting", "core", "budgets", "allocation", "audit"):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField | models.JSONField | models.DateField)
            ]
            chunks.extend(str(row) for row in model.objects.values_list(*fields))
    return "\n".join(chunks)


def test_archiving_erases_personal_data_and_keeps_the_record(official, tmp_path):
    world = certified_with_people(official)
    for n in range(PEOPLE):
        assert all(s in text_of_every_row() for s in personal_strings(n)[:4])
    ballots, roll = Ballot.objects.count(), VoterRollEntry.objects.count()
    results = DistrictResult.objects.count()
    events_before = AuditEvent.objects.count()

    cycle = cycle_archive(actor=official, cycle=world.cycle, early=True, reason="Test: archive now.")

    assert cycle.phase == Phase.ARCHIVED and cycle.allows(Capability.VIEW_RESULTS)
    assert not Identity.objects.exists()
    everything = text_of_every_row()
    for n in range(PEOPLE):
        for text in personal_strings(n):
            assert text not in everything, text
        assert person_details(n)["born"].isoformat() not in everything
    assert ProvisionalBallot.objects.get().note == ""
    assert not PhoneChallenge.objects.exists() and not VerificationAttempt.objects.exists()
    assert not Notification.objects.filter(kind="vote.confirmation").exists()
    # Kept: the roll (keys and counts), the anonymous ballots, the results, the audit log.
    assert (Ballot.objects.count(), VoterRollEntry.objects.count()) == (ballots, roll)
    assert DistrictResult.objects.count() == results
    assert AuditEvent.objects.count() > events_before
    assert_roll_matches_ballots()
    erase = AuditEvent.objects.get(action="cycle.archive_erase")
    assert erase.actor_id == official.pk and erase.after["identities_erased"] == PEOPLE
    phases = list(
        AuditEvent.objects.filter(action="cycle.phase_changed", object_id=str(cycle.pk))
        .order_by("id")
        .values_list("after__phase", flat=True)
    )
    assert phases[-2:] == ["implementation", "archived"]

    # A bundle made after the archive still verifies, public record included.
    for public in (False, True):
        report = bundle_verify(bundle_write(cycle=cycle, out=tmp_path / f"after-{public}.zip", public=public).path)
        assert report.ok, report.first_failure


@pytest.mark.parametrize("public", [False, True])
def test_a_changed_event_in_a_bundle_made_after_the_archive_is_caught(official, tmp_path, public):
    """The archive erased the provisional decision's note (a withheld value): the auditors' bundle
    says so instead of giving it, and still catches a change to what the event publicly says."""
    world = certified_with_people(official)
    cycle = cycle_archive(actor=official, cycle=world.cycle, early=True, reason="Test: archive now.")
    built = bundle_write(cycle=cycle, out=tmp_path / "after.zip", public=public).path
    files = bundle_files(built)
    lines = [json.loads(line) for line in files["audit_log.jsonl"].splitlines()]
    at = next(i for i, line in enumerate(lines) if line.get("event", {}).get("action") == "provisional.accept")
    assert lines[at]["event"]["withheld"] == ["ip", "reason"] and lines[at]["event"]["reason"] == ""
    assert lines[at].get("private") == (None if public else {"erased": True})
    lines[at]["event"]["after"]["status"] = "rejected"
    files["audit_log.jsonl"] = b"".join(json.dumps(line, sort_keys=True).encode() + b"\n" for line in lines)
    report = bundle_verify(bundle_reseal(files, tmp_path / "changed.zip"))
    assert not report.ok and report.first_failure.name == "audit log"
    assert f"breaks at event {lines[at]['id']}: hash does not match" in report.first_failure.detail


def test_an_identity_still_on_another_open_cycles_roll_is_kept(official):
    other = {}

    def vote_elsewhere(world):
        second = voting_world(official)
        details = person_details(3)
        cast(
            second,
            "A",
            ["A-01"],
            key="person-3",
            channel="kiosk",
            born=details["born"],
            name=details["name"],
            address=details["address"],
        )
        other["world"] = second

    world = certified_with_people(official, extra_cycle=vote_elsewhere)
    cycle_archive(actor=official, cycle=world.cycle, early=True, reason="Test: archive now.")
    kept = Identity.objects.get()
    assert kept.name == person_details(3)["name"]  # the other cycle's duplicate review may still need it
    assert AuditEvent.objects.get(action="cycle.archive_erase").after["identities_kept_for_other_cycles"] == 1


def test_archiving_waits_for_the_retention_period(official, settings):
    settings.PB_RETENTION_DAYS = 365
    world = certified_with_people(official)
    before = Identity.objects.count()
    with pytest.raises(GuardFailed) as refused:
        cycle_archive(actor=official, cycle=world.cycle)
    # The cycle's day (not UTC's), as the reader's language writes it.
    ends = retention_ends(world.cycle).astimezone(ZoneInfo(world.cycle.time_zone))
    assert f"kept until {dateformat.format(ends.date(), 'N j, Y')} (365 days" in str(refused.value)
    world.cycle.refresh_from_db()
    assert world.cycle.allows(Capability.VIEW_RESULTS) and not world.cycle.allows(Capability.POST_UPDATES)
    assert Identity.objects.count() == before  # nothing erased, still in results

    # The generic "next phase" path is held by the same guard.
    cycle = cycle_transition(actor=official, cycle=world.cycle, target=Phase.IMPLEMENTATION, reason="Building.")
    with pytest.raises(GuardFailed):
        cycle_transition(actor=official, cycle=cycle, target=Phase.ARCHIVED, reason="Too early.")
    assert Identity.objects.count() == before


def test_once_the_retention_period_is_over_the_command_archives(official, settings):
    world = certified_with_people(official)
    settings.PB_RETENTION_DAYS = 0
    assert retention_ends(world.cycle) <= timezone.now()
    out = io.StringIO()
    call_command("archive_cycle", world.cycle.slug, stdout=out)
    assert "is archived" in out.getvalue()
    world.cycle.refresh_from_db()
    assert world.cycle.phase == Phase.ARCHIVED
    assert not Identity.objects.exists()
    erase = AuditEvent.objects.get(action="cycle.archive_erase")
    assert erase.actor_type == "system"


def test_the_command_archives_early_only_with_a_reason(official):
    world = certified_with_people(official)
    with pytest.raises(CommandError, match="--now needs --reason"):
        call_command("archive_cycle", world.cycle.slug, now=True)
    with pytest.raises(CommandError, match="kept until"):
        call_command("archive_cycle", world.cycle.slug)
    call_command("archive_cycle", world.cycle.slug, now=True, reason="Court order 12-B", stdout=io.StringIO())
    assert not Identity.objects.exists()
    assert AuditEvent.objects.filter(action="cycle.phase_changed", reason="Court order 12-B").count() == 2


def test_an_official_archiving_early_must_say_why(official):
    world = certified_with_people(official)
    with pytest.raises(ValidationFailed):
        cycle_archive(actor=official, cycle=world.cycle, early=True, reason=" ")
    assert Identity.objects.count() == PEOPLE


@pytest.mark.parametrize("role", ["auditor", "volunteer", "resident", "official_without_mfa"])
def test_only_officials_archive(official, role, request):
    world = certified_with_people(official)
    with pytest.raises(NotAllowed):
        cycle_archive(actor=request.getfixturevalue(role), cycle=world.cycle, early=True, reason="No.")
    assert Identity.objects.count() == PEOPLE


def test_a_cycle_still_counting_cannot_be_archived(official):
    world = voting_world(official)
    close_voting(world)
    with pytest.raises(TransitionNotAllowed):
        cycle_archive(actor=official, cycle=world.cycle, early=True, reason="Too soon.")


def test_retention_counts_from_the_results(official, settings):
    settings.PB_RETENTION_DAYS = 30
    world = certified_with_people(official)
    entered = AuditEvent.objects.filter(action="cycle.phase_changed", after__phase="results").get().occurred_at
    assert retention_ends(world.cycle) == entered + timedelta(days=30)
    assert not DuplicateReview.objects.exists()


# --- nothing personal left (audit/archive.py) -------------------------------------------------------------
# One marker in every personal field a cycle can hold, planted through the services wherever a person
# or a member of staff would type it; the whole database (every app, every table), the sessions, the
# media folder, the logs and both bundles are then scanned for it, whatever model or field holds it.
MARK = "Zqxmarkvoter"
MARK_PHONE = "+12015550187"
MARK_PHONE_DIGITS = "2015550187"
MARK_BORN = date(1931, 7, 19)
MARKERS = (MARK.lower(), MARK_PHONE_DIGITS, MARK_BORN.isoformat())


def marked_hits(text: str) -> list[str]:
    folded = re.sub(r"[\s().-]", "", text.lower())
    return [marker for marker in MARKERS if marker in folded or marker in text.lower()]


def _photo(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (16, 8), (10, 20, 30)).save(out, format="JPEG")
    return SimpleUploadedFile(name, out.getvalue(), content_type="image/jpeg")


def _account_voter(user, *, address: str) -> services.Voter:
    return services.Voter(
        identity_key=crypto.identity_key("account", str(user.pk)),
        channel="online",
        verification="account",
        name=user.full_name,
        email=user.email,
        date_of_birth=MARK_BORN,
        address=address,
        notify_user=user,
    )


def _cast(world, district: str, who: services.Voter, choice: str):
    return services.ballot_cast(voter=who, district=world.district(district), ballot=methods.Ballot(choices=(choice,)))


def marked_cycle(official, vetting_staff, client):
    """A cycle through every phase with the marker wherever a person's data goes: two residents
    active in it only (ideas, a photo, a hidden idea, a comment, an endorsement, a follow, a report,
    an online ballot), a paper proposer's name and phone, staff's internal notes, a phone voter (the
    real SMS flow: one SMS delivered, one not), a kiosk voter checked in with a provisional note, a
    printed-code voter (her twin: a duplicate group, with an official's note), notes on the
    provisional ballots, "you voted" emails, a voter's and a kiosk's sessions. The residents' texts
    and the staff's notes reach the audit log's withheld values through the services that take them.
    Plus Carol, a resident active in another cycle too, who must be kept."""
    alice = user_with_role("resident", email=f"alice.{MARK}@example.org", display_name=f"Alice {MARK}")
    bob = user_with_role("resident", email=f"bob.{MARK}@example.org", display_name=f"Bob {MARK}")
    carol = user_with_role("resident", email="carol.keep@example.org", display_name="Carol Keep")
    cycle = CycleFactory(ideas=True, wards="AB")
    other = CycleFactory(ideas=True, wards="A")
    p_submit(other, carol)

    photographed = p_submit(cycle, alice, photo=_photo(f"IMG_{MARK}.jpg"))
    # Why it was hidden: a resident's text naming someone (kept in the idea and in its audit event).
    hidden = p_submit(cycle, alice, title=f"Bench for {MARK}", description=f"Call {MARK} on {MARK_PHONE}")
    p_services.content_hide(actor=vetting_staff, reason="Test: off topic.", idea=hidden)
    p_services.comment_add(actor=bob, idea=photographed, body="Good idea.")
    doxxing = p_services.comment_add(actor=bob, idea=photographed, body=f"{MARK} is on {MARK_PHONE}")
    p_services.content_hide(actor=vetting_staff, reason="Test: personal data.", comment=doxxing)
    p_services.idea_endorse(actor=bob, idea=photographed)
    p_services.follow_set(actor=bob, idea=photographed)
    p_services.content_report(actor=bob, reason=f"{MARK} lives at that address", idea=photographed)

    world = World(cycle=p_move(cycle, official, Phase.VETTING), official=official)
    for code, items in PROJECTS.items():
        paper_idea = p_services.idea_submit_paper(
            actor=official,
            cycle=world.cycle,
            data=idea_input(world.cycle, district=ward(world.cycle, code)),
            proposer_name=f"Proposer {MARK}",
            proposer_contact=MARK_PHONE,
        )
        p_services.review_record(
            actor=vetting_staff,
            idea=paper_idea,
            feasibility="feasible",
            internal_notes=f"Spoke with {MARK} on {MARK_PHONE}",
        )
        for project_code, cost in items:
            world.projects[project_code] = make_project(
                world.cycle, official, [paper_idea], code=project_code, cost=cost, district=code
            )
    design(world, {})
    open_voting(world)

    _cast(world, "A", _account_voter(alice, address=f"1 {MARK} Street"), "A-01")
    _cast(world, "B", _account_voter(carol, address="9 Kept Road"), "B-01")
    # A phone voter, through the real SMS flow: the first code is delivered, the second is not.
    for _ in range(2):
        verification.phone_challenge_start(phone=MARK_PHONE, client_key="198.51.100.7")
    first, second = Notification.objects.filter(channel="sms").order_by("id")
    notification_deliver(notification_id=first.pk)
    code = re.search(r"\d{7}", second.body).group()
    verified = verification.phone_challenge_verify(phone=MARK_PHONE, code=code, client_key="198.51.100.7")
    phone_voter = services.Voter(
        identity_key=verified.identity_key,
        channel="phone",
        verification="sms",
        phone=MARK_PHONE,
        name=f"Phone {MARK}",
        date_of_birth=MARK_BORN,
        address=f"2 {MARK} Street",
    )
    _cast(world, "B", phone_voter, "B-03")
    kiosk_voter = voter(
        "kiosk-1",
        channel="kiosk",
        born=MARK_BORN,
        name=f"Kiosk {MARK}",
        address=f"3 {MARK} Street",
        site="Library",
        checkin={"desk": f"{MARK} desk", "id_seen": "license"},
        provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED,
        provisional_note=f"{MARK} had no ID",
    )
    _cast(world, "A", kiosk_voter, "A-02")
    # Her twin, same name, birthday and address, with a printed code: a possible duplicate.
    twin = voter("code-1", channel="code", born=MARK_BORN, name=f"Kiosk {MARK}", address=f"3 {MARK} Street")
    _cast(world, "B", twin, "B-02")
    # A paper box of one sheet, which the two keyers read differently (an official settles it below).
    site = sites.voting_site_create(actor=official, cycle=world.cycle, name="Town hall")
    today = timezone.localdate(timezone=ZoneInfo(world.cycle.time_zone))
    batch = paper.paper_batch_create(
        actor=official, district=world.district("A"), site=site, label="Box 1", voted_on=today, issued=1
    )
    for pass_no, choice in ((1, "A-01"), (2, "A-02")):
        paper.paper_sheet_key(
            actor=user_with_role("volunteer"),
            batch=batch,
            pass_no=pass_no,
            sheet=1,
            marks=paper.SheetMarks(picks=[choice]),
        )

    # Sessions: a logged-in resident, a verified phone voter, a kiosk's checked-in voter.
    client.force_login(alice)
    for data in (
        {"pb_voter": {**verified.as_session(), "cycle_id": world.cycle.pk, "at": 0}},
        {"pb_kiosk_voter": {"district_id": world.district("A").pk, "name": f"Kiosk {MARK}"}},
    ):
        store = SessionStore()
        store.update(data)
        store.create()
    unrelated = SessionStore()
    unrelated.update({"pb_voter": {"cycle_id": other.pk}})
    unrelated.create()

    close_voting(world)
    # Officials' notes on the duplicate group and on the provisional ballots (kept in the audit log).
    duplicate_review_record(
        actor=official,
        cycle=world.cycle,
        decision="distinct",
        note=f"{MARK} and her twin",
        match_key=crypto.match_key(name=f"Kiosk {MARK}", date_of_birth=MARK_BORN, address=f"3 {MARK} Street"),
    )
    for provisional in ProvisionalBallot.objects.filter(cycle=world.cycle):
        provisional_accept(actor=official, provisional=provisional, note=f"ID checked later with {MARK}")
    paper.paper_sheet_resolve(
        actor=official,
        batch=batch,
        sheet=1,
        marks=paper.SheetMarks(picks=["A-01"]),
        note=f"{MARK} wrote her name on the sheet",
    )
    paper.paper_batch_reconcile(actor=official, batch=batch)
    certify(world)
    return world, {"alice": alice, "bob": bob, "carol": carol, "unrelated_session": unrelated.session_key}


def database_text() -> str:
    """The whole database as text: ``dumpdata`` of every app, the sessions decoded, and on
    PostgreSQL every row of every table of the schema (tables no model describes included)."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    chunks = [out.getvalue()]
    chunks.extend(str(session.get_decoded()) for session in Session.objects.all())
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
            for (table,) in cursor.fetchall():
                cursor.execute(f'SELECT t::text FROM "{table}" AS t')  # noqa: S608 - names from the catalog
                chunks.extend(row[0] for row in cursor.fetchall())
    return "\n".join(chunks)


def media_text(root) -> str:
    return "\n".join(
        f"{path.relative_to(root)}\n{path.read_bytes().decode('latin-1')}" for path in root.rglob("*") if path.is_file()
    )


def zip_text(path) -> str:
    with zipfile.ZipFile(path) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_after_the_archive_no_personal_data_is_left_anywhere(
    official, vetting_staff, client, settings, tmp_path, caplog, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path / "media"
    caplog.set_level(logging.DEBUG)
    world, people = marked_cycle(official, vetting_staff, client)
    before = database_text()
    assert set(marked_hits(before)) == set(MARKERS)  # the markers really are in the database …
    in_the_log = {
        e.action
        for e in AuditEvent.objects.filter(cycle_id=world.cycle.pk)
        if marked_hits(str(e.after)) or marked_hits(e.reason)
    }
    assert in_the_log >= {
        "idea.submitted",
        "review.recorded",
        "content.reported",
        "duplicate_review.record",
        "provisional.accept",
        "paper_sheet.resolve",
    }, in_the_log  # … the audit log's withheld values included
    assert MARK.lower() in media_text(settings.MEDIA_ROOT).lower() or any((settings.MEDIA_ROOT / "ideas").iterdir())
    ballots, roll = Ballot.objects.count(), VoterRollEntry.objects.count()
    account_keys = {crypto.identity_key("account", str(u.pk)) for u in people.values() if hasattr(u, "pk")}
    assert len(account_keys & set(VoterRollEntry.objects.values_list("identity_key", flat=True))) == 2

    last_before = AuditEvent.objects.latest("id").pk
    with django_capture_on_commit_callbacks(execute=True):
        cycle = cycle_archive(actor=official, cycle=world.cycle, early=True, reason="Test: archive now.")

    # … and nowhere after: not in any table, session, uploaded file or log line.
    after = database_text()
    assert marked_hits(after) == [], [line for line in after.splitlines() if marked_hits(line)][:5]
    assert not list((settings.MEDIA_ROOT / "ideas").iterdir())  # residents' photos deleted
    assert marked_hits(media_text(settings.MEDIA_ROOT)) == []
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("factory"))  # the platform's
    assert marked_hits(logged) == []

    # The roll: as many rows as ballots, keys no secret can recompute (nor link a ward to a citywide row).
    assert (Ballot.objects.count(), VoterRollEntry.objects.count()) == (ballots, roll)
    assert_roll_matches_ballots()
    keys = list(VoterRollEntry.objects.filter(cycle=cycle).values_list("identity_key", flat=True))
    assert all(key.startswith("erased:") for key in keys) and len(set(keys)) == len(keys)
    assert not account_keys & set(keys)

    # Accounts: Alice and Bob (this cycle only) anonymised and locked out; Carol (another cycle too) kept.
    alice, bob, carol = (get_user_model().objects.get(pk=people[n].pk) for n in ("alice", "bob", "carol"))
    for user in (alice, bob):
        assert (
            not user.is_active and not user.has_usable_password() and user.display_name == "" and user.full_name == ""
        )
        assert user.email.endswith("@anonymised.invalid")
        assert not client.login(email=people["alice"].email, password="pw-for-tests-123")
    assert (carol.email, carol.display_name, carol.is_active) == ("carol.keep@example.org", "Carol Keep", True)
    assert Identity.objects.count() == 0 or not Identity.objects.exclude(name="").filter(name__icontains=MARK)
    # Sessions: the cycle's and the anonymised accounts' are gone; another cycle's voter keeps theirs.
    assert list(Session.objects.values_list("session_key", flat=True)) == [people["unrelated_session"]]
    # Public content and staff are kept.
    assert Idea.objects.filter(cycle=cycle, hidden_at__isnull=True).exclude(description="").exists()
    assert get_user_model().objects.get(pk=official.pk).is_active

    # The anonymous public record and the auditors' bundle, built now, verify and hold no marker.
    for public in (True, False):
        built = bundle_write(cycle=cycle, out=tmp_path / f"after-{public}.zip", public=public)
        report = bundle_verify(built.path)
        assert report.ok, report.first_failure
        assert marked_hits(zip_text(built.path)) == []
        audit_check = next(check for check in report.checks if check.name == "audit log")
        assert ("withheld values erased by the archive" in audit_check.detail) is not public, audit_check.detail
    erase = AuditEvent.objects.get(action="cycle.archive_erase").after
    assert erase["accounts_anonymised"] == 2 and erase["roll_keys_erased"] == roll
    assert erase["proposer_details_erased"] == 2 and erase["idea_photos_erased"] == 1
    # The audit log: every event of the cycle written before the archive lost its withheld values,
    # none its public body (the bundles above verify); the chain in the database verifies too.
    archived = AuditEvent.objects.filter(cycle_id=cycle.pk, id__lte=last_before)
    assert erase["audit_events_values_erased"] >= archived.count() > 0
    assert not archived.filter(withheld_erased_at__isnull=True).exists()
    report = audit_chain_verify_database()
    assert report.ok and report.erased == erase["audit_events_values_erased"], report.problem


@pytest.mark.postgres
def test_the_roll_trigger_lets_only_the_archives_key_erasure_through(official):
    """PostgreSQL: the roll stays insert-only — no UPDATE of anything else, no DELETE, no erasure
    outside the archive's transaction setting, no second erasure."""
    from django.db import DatabaseError, transaction

    world = certified_with_people(official)
    row = VoterRollEntry.objects.filter(cycle=world.cycle).first()
    attempts = [
        ("UPDATE voting_voterrollentry SET identity_key = 'erased:x' WHERE id = %s", False),
        ("UPDATE voting_voterrollentry SET channel = 'paper' WHERE id = %s", True),
        ("UPDATE voting_voterrollentry SET identity_key = 'other', voted_on = voted_on WHERE id = %s", True),
        ("UPDATE voting_voterrollentry SET identity_key = 'erased:y', site = 'x' WHERE id = %s", True),
        ("DELETE FROM voting_voterrollentry WHERE id = %s", True),
    ]
    for sql, with_setting in attempts:
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            if with_setting:
                cursor.execute("SELECT set_config('pb.roll_erase', 'on', true)")
            cursor.execute(sql, [row.pk])
    assert VoterRollEntry.objects.get(pk=row.pk).identity_key == row.identity_key
    from voting.services.record import roll_keys_erase

    assert roll_keys_erase(cycle=world.cycle) == PEOPLE
    assert roll_keys_erase(cycle=world.cycle) == 0  # erased once; the trigger refuses a second value
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('pb.roll_erase', 'on', true)")
        cursor.execute("UPDATE voting_voterrollentry SET identity_key = 'erased:again' WHERE id = %s", [row.pk])


def test_an_account_is_anonymised_only_if_this_cycle_is_all_it_took_part_in(official):
    """By the roll: an account that voted here only goes; one that also voted in another cycle
    stays, and so does a member of staff who voted here only."""
    world, other = voting_world(official), voting_world(official)
    here_only, also_elsewhere = user_with_role("resident"), user_with_role("resident")
    _cast(world, "A", _account_voter(here_only, address="1 Elm"), "A-01")
    _cast(world, "A", _account_voter(also_elsewhere, address="2 Elm"), "A-01")
    _cast(other, "A", _account_voter(also_elsewhere, address="2 Elm"), "A-01")
    _cast(world, "B", _account_voter(official, address="3 Elm"), "B-01")
    assert accounts_of_cycle_only(cycle=world.cycle) == {here_only.pk}
