"""Bundles as a service: requested, built by the task (idempotent, with progress), downloaded with
an audit event; the public record of the current results; receipt look-ups."""

import json
import zipfile

import pytest

from audit import services
from audit.models import Bundle
from audit.tasks import bundle_build_task
from core.errors import NotAllowed, PhaseClosed, ValidationFailed
from core.models import AuditEvent
from pbverify.verify import bundle_verify
from voting import crypto
from voting.models import Ballot
from voting.tests.builders import voting_world

from .builders import cast, close_voting, public_id, results_world

pytestmark = pytest.mark.django_db


def test_a_requested_bundle_is_queued_audited_and_built_after_commit(
    official, auditor, django_capture_on_commit_callbacks
):
    world = results_world(official)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        bundle = services.bundle_request(actor=auditor, cycle=world.cycle)
    assert (bundle.status, bundle.variant, bundle.requested_by_id) == ("queued", "auditor", auditor.pk)
    event = AuditEvent.objects.get(action="bundle.request")
    assert (event.actor_id, event.after) == (auditor.pk, {"bundle": bundle.pk, "variant": "auditor"})
    assert len(callbacks) == 1

    # Asking again while it waits gives the same bundle (dispatched again), not a second one.
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert services.bundle_request(actor=auditor, cycle=world.cycle) == bundle
    assert len(again) == 1 and Bundle.objects.count() == 1

    callbacks[0]()  # the task runs (eagerly in tests)
    bundle.refresh_from_db()
    assert (bundle.status, bundle.progress, bundle.ballots) == ("ready", 100, 23)
    path = services.bundle_root() / bundle.path
    assert zipfile.is_zipfile(path) and bundle.sha256 and bundle.size == path.stat().st_size
    assert bundle_verify(path).ok


def test_the_build_task_is_idempotent(official, auditor, django_capture_on_commit_callbacks):
    world = results_world(official)
    with django_capture_on_commit_callbacks(execute=True):
        bundle = services.bundle_request(actor=auditor, cycle=world.cycle)
    bundle.refresh_from_db()
    first = (bundle.path, bundle.sha256)
    bundle_build_task(bundle.pk)  # redelivered
    bundle.refresh_from_db()
    assert (bundle.path, bundle.sha256) == first
    assert len(list(services.bundle_root().rglob("*.zip"))) == 1


def test_progress_is_recorded_while_building(official, auditor, monkeypatch):
    world = results_world(official)
    bundle = Bundle.objects.create(cycle=world.cycle, variant="auditor")
    seen = []
    original = services._progress_writer

    def spy(bundle_id):
        progress, close = original(bundle_id)

        def recording(stage, percent):
            progress(stage, percent)
            seen.append((stage, Bundle.objects.get(pk=bundle_id).progress))

        return recording, close

    monkeypatch.setattr(services, "_progress_writer", spy)
    services.bundle_build(bundle_id=bundle.pk)
    stages = [stage for stage, _p in seen]
    assert stages[0] == "ballots.csv" and "A.pb" in stages and stages[-1] == "manifest.json"
    percents = [p for _s, p in seen]
    assert percents == sorted(percents) and percents[-1] == 99


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_build_reads_one_snapshot_and_shows_progress_at_once(official, monkeypatch):
    from django.db import connections

    world = results_world(official)
    bundle = Bundle.objects.create(cycle=world.cycle, variant="auditor")
    reader = type(connections["default"])(dict(connections["default"].settings_dict), alias="test_reader")
    seen = []
    original = services._progress_writer

    def spy(bundle_id):
        progress, close = original(bundle_id)

        def recording(stage, percent):
            progress(stage, percent)
            with reader.cursor() as cursor:  # another session sees it while the build runs
                cursor.execute("SELECT progress FROM audit_bundle WHERE id = %s", [bundle_id])
                seen.append(cursor.fetchone()[0])

        return recording, close

    monkeypatch.setattr(services, "_progress_writer", spy)
    try:
        services.bundle_build(bundle_id=bundle.pk)
    finally:
        reader.close()
    assert seen[-1] == 99 and seen == sorted(seen)
    bundle.refresh_from_db()
    assert bundle.status == "ready"
    assert bundle_verify(services.bundle_root() / bundle.path).ok


def test_a_failed_build_is_marked_and_leaves_no_file(official, monkeypatch):
    world = results_world(official)
    bundle = Bundle.objects.create(cycle=world.cycle, variant="auditor")

    def broken(**kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(services.bundle_module, "bundle_write", broken)
    with pytest.raises(OSError):
        services.bundle_build(bundle_id=bundle.pk)
    bundle.refresh_from_db()
    assert bundle.status == "failed" and "disk full" in bundle.error
    assert not list(services.bundle_root().rglob("*"))


def test_every_auditor_download_is_an_audit_event(official, auditor, django_capture_on_commit_callbacks):
    world = results_world(official)
    with django_capture_on_commit_callbacks(execute=True):
        bundle = services.bundle_request(actor=auditor, cycle=world.cycle)
    bundle.refresh_from_db()
    for user in (auditor, official, auditor):
        services.bundle_download(actor=user, bundle=bundle)
    downloads = AuditEvent.objects.filter(action="bundle.download").order_by("id")
    assert [e.actor_id for e in downloads] == [auditor.pk, official.pk, auditor.pk]
    assert downloads[0].after == {"cycle": world.cycle.slug, "variant": "auditor", "sha256": bundle.sha256}


@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "official_without_mfa"])
def test_no_one_else_requests_or_downloads_the_auditor_bundle(
    official, auditor, role, request, django_capture_on_commit_callbacks
):
    world = results_world(official)
    with django_capture_on_commit_callbacks(execute=True):
        bundle = services.bundle_request(actor=auditor, cycle=world.cycle)
    bundle.refresh_from_db()
    user = request.getfixturevalue(role)
    with pytest.raises(NotAllowed):
        services.bundle_request(actor=user, cycle=world.cycle)
    with pytest.raises(NotAllowed):
        services.bundle_download(actor=user, bundle=bundle)
    assert Bundle.objects.count() == 1 and not AuditEvent.objects.filter(action="bundle.download").exists()


def test_no_bundle_before_voting_closes(official, auditor):
    world = voting_world(official)
    with pytest.raises(PhaseClosed):
        services.bundle_request(actor=auditor, cycle=world.cycle)
    assert not Bundle.objects.exists()


def test_the_public_record_exists_only_after_certification(official, django_capture_on_commit_callbacks):
    world = results_world(official, certified=False)
    with pytest.raises(PhaseClosed):
        services.public_record_get(cycle=world.cycle)
    from .builders import certify

    certify(world)
    with django_capture_on_commit_callbacks(execute=True):
        record = services.public_record_get(cycle=world.cycle)
    record.refresh_from_db()
    assert record.variant == "public" and record.status == "ready" and record.requested_by_id is None
    # The same results: the same record, not a new build.
    assert services.public_record_get(cycle=world.cycle) == record
    path = services.bundle_download(actor=None, bundle=record)
    assert not AuditEvent.objects.filter(action="bundle.download").exists()  # public: not audited
    assert bundle_verify(path).ok


def test_a_revised_result_makes_a_new_public_record(official, django_capture_on_commit_callbacks):
    from allocation.services import district_result, project_withdraw

    world = results_world(official)
    with django_capture_on_commit_callbacks(execute=True):
        first = services.public_record_get(cycle=world.cycle)
    funded = json.loads(district_result(world.district("A")).run.output)["selected"][0]
    project_withdraw(actor=official, project=world.cycle.projects.get(code=funded), reason="Site unavailable.")
    with django_capture_on_commit_callbacks(execute=True):
        second = services.public_record_get(cycle=world.cycle)
    assert second != first
    second.refresh_from_db()
    report = bundle_verify(services.bundle_root() / second.path)
    assert report.ok, report.first_failure


# --- receipts ------------------------------------------------------------------------------------------
def test_an_auditor_finds_the_row_of_a_receipt(official, auditor):
    world = voting_world(official)
    code = cast(world, "A", ["A-03"], key="complainant")
    cast(world, "A", ["A-01"], key="someone else")
    close_voting(world)
    ballot = Ballot.objects.get(receipt_hash=crypto.receipt_hash(code))

    found = services.receipt_lookup(actor=auditor, cycle=world.cycle, code=code.lower().replace("-", " "))

    assert (found.ballot_id, found.district, found.status) == (public_id(ballot), "A", "counted")
    event = AuditEvent.objects.get(action="receipt.lookup")
    assert event.after == {"found": True} and event.actor_id == auditor.pk
    text = str(AuditEvent.objects.values_list("after", "before", "reason", "object_id"))
    assert code not in text and str(ballot.pk) not in text and ballot.pk.hex not in text

    assert services.receipt_lookup(actor=auditor, cycle=world.cycle, code="0000-0000-0000-0000-0000") is None
    assert AuditEvent.objects.filter(action="receipt.lookup").last().after == {"found": False}
    with pytest.raises(ValidationFailed):
        services.receipt_lookup(actor=auditor, cycle=world.cycle, code=" - ")


@pytest.mark.parametrize("role", ["resident", "volunteer", "vetting_staff", "official_without_mfa"])
def test_only_auditors_and_officials_look_up_receipts(official, role, request):
    world = voting_world(official)
    code = cast(world, "A", ["A-03"], key="v")
    close_voting(world)
    with pytest.raises(NotAllowed):
        services.receipt_lookup(actor=request.getfixturevalue(role), cycle=world.cycle, code=code)
    assert not AuditEvent.objects.filter(action="receipt.lookup").exists()
