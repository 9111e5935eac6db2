"""The archive step (issue #6, 6): after the retention period the cycle moves to archived and its
voters' personal details are erased; roll keys and counts, anonymous ballots, results and the audit
log stay, and a bundle made afterwards still verifies."""

import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from django.utils import dateformat, timezone

from audit.bundle import bundle_write
from audit.services import cycle_archive, retention_ends
from audit.verify import bundle_verify
from budgets.models import DistrictResult
from budgets.phases import Capability, Phase
from budgets.services import cycle_transition
from core.errors import GuardFailed, NotAllowed, TransitionNotAllowed, ValidationFailed
from core.models import AuditEvent, Notification
from voting.models import (
    Ballot,
    DuplicateReview,
    Identity,
    PhoneChallenge,
    ProvisionalBallot,
    VerificationAttempt,
    VoterRollEntry,
)
from voting.tests.builders import assert_roll_matches_ballots, voter, voting_world

from .builders import cast, certify, close_voting, person_details

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
            voter=voter(f"person-{n}", channel="kiosk", born=details["born"], name=details["name"],
                        email=details["email"], phone=details["phone"], address=details["address"], site="Library",
                        checkin={"desk": "Library check-in desk", "id_seen": "license"},
                        provisional_reason=ProvisionalBallot.Reason.NOT_CONFIRMED if n == 0 else "",
                        provisional_note=f"{details['name']} had no ID" if n == 0 else ""),
            district=world.district("A" if n % 2 else "B"),
            ballot=methods.Ballot(choices=("A-01",) if n % 2 else ("B-03",)),
        )  # fmt: skip
    PhoneChallenge.objects.create(phone_hash="p" * 64, code_hash="c" * 64, expires_at=timezone.now())
    VerificationAttempt.objects.create(kind="sms_send", key_hash="k" * 64)
    Notification.objects.create(kind="vote.confirmation", address=person_details(1)["email"], subject="s",
                                body=f"Thanks {person_details(1)['name']}")  # fmt: skip
    if extra_cycle is not None:
        extra_cycle(world)
    close_voting(world)
    from voting.review import provisional_accept

    provisional_accept(actor=official, provisional=ProvisionalBallot.objects.get(), note="ID checked later")
    certify(world)
    return world


def text_of_every_row() -> str:
    """Every row of every table of the apps that hold voting data, as text."""
    chunks = []
    for label in ("voting", "core", "budgets", "audit"):
        for model in apps.get_app_config(label).get_models():
            fields = [
                f.attname
                for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField | models.JSONField | models.DateField)
            ]
            chunks.extend(str(row) for row in model.objects.values_list(*fields))  # fmt: skip
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


def test_an_identity_still_on_another_open_cycles_roll_is_kept(official):
    other = {}

    def vote_elsewhere(world):
        second = voting_world(official)
        details = person_details(3)
        cast(second, "A", ["A-01"], key="person-3", channel="kiosk", born=details["born"], name=details["name"],
             address=details["address"])  # fmt: skip
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
