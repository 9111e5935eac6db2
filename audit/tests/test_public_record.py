"""The public record's audit log keeps staff secrets and residents' privacy and still verifies.

A whole cycle through the real services — a resident's idea, another resident's endorsement and
comment, a vetting review with an internal note, ballots, certification — after a log that already
held events in the old format (a refusal by a resident's account, a staff note, a public change with
a client IP), and next to another cycle. The auditors' bundle keeps everything; the public record
keeps only this cycle's public parts, and pb_verify still proves that no event was removed,
reordered or altered.
"""

import io
import json
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit.bundle import bundle_write
from core.models import AuditEvent
from pbverify import chain
from pbverify.canonical import GENESIS_HASH, to_jsonable
from pbverify.verify import bundle_verify
from proposals import services as proposals_services
from proposals.tests.builders import move, submit
from tests.factories import CycleFactory, UserFactory, role_add, user_with_role
from voting import sites
from voting.services import paper
from voting.tests.builders import PROJECTS, World, design, make_project, open_voting, paper_idea

from .builders import bundle_files, bundle_reseal, cast, certify, close_voting

pytestmark = pytest.mark.django_db

INTERNAL_NOTE = "STAFF-ONLY-NOTE-7731: the councillor's cousin owns the lot"
LEGACY_NOTE = "LEGACY-STAFF-NOTE-5512"
OTHER_CYCLE_TITLE = "OTHER-CYCLE-IDEA-9920"
LEGACY_IP = "198.51.100.77"
PAPER_NOTE = "OFFICIAL-PAPER-NOTE-3307: the voter wrote their name on the sheet"
MARKERS = (INTERNAL_NOTE, LEGACY_NOTE, OTHER_CYCLE_TITLE, LEGACY_IP, PAPER_NOTE)  # all in the auditors' bundle


def _legacy(**fields) -> AuditEvent:
    """An event in the old format (version 1), as the log held before the public record was split."""
    last = AuditEvent.objects.order_by("-id").first()
    event = AuditEvent(
        occurred_at=timezone.now(),
        actor_type=fields.pop("actor_type", "user"),
        object_id=str(fields.pop("object_id", "")),
        before=fields.pop("before", {}),
        after=fields.pop("after", {}),
        reason=fields.pop("reason", ""),
        prev_hash=last.hash if last else GENESIS_HASH,
        version=1,
        **fields,
    )
    event.hash = chain.legacy_hash(to_jsonable(event.chain_payload()))
    event.save(force_insert=True)
    return event


@pytest.fixture
def record(tmp_path):
    """The cycle, its people, and both bundles written. The old-format events come first in the
    chain, as in a log that began before the split: the people exist, their roles come after."""
    author, neighbour, official, vetting_staff = (UserFactory() for _ in range(4))
    cycle = CycleFactory(ideas=True, wards="AB")
    legacy = [
        _legacy(
            actor_id=neighbour.pk,
            action="access.denied",
            object_type="page",
            object_id="/staff/",
            after={"method": "POST", "path": "/staff/"},
            reason="You need a staff role.",
        ),
        _legacy(
            actor_id=vetting_staff.pk,
            action="review.recorded",
            object_type="cycle",
            object_id=cycle.pk,
            after={"feasibility": "feasible", "internal_notes": LEGACY_NOTE},
        ),
        _legacy(
            actor_id=official.pk,
            action="cycle.updated",
            object_type="cycle",
            object_id=cycle.pk,
            after={"name": "Renamed"},
            ip=LEGACY_IP,
        ),
    ]
    for user, role in (
        (author, "resident"),
        (neighbour, "resident"),
        (official, "official"),
        (vetting_staff, "vetting_staff"),
    ):
        role_add(user, role)
    idea = submit(cycle, author)
    proposals_services.idea_endorse(actor=neighbour, idea=idea)
    proposals_services.comment_add(actor=neighbour, idea=idea, body="Benches here, please.")
    other = CycleFactory(ideas=True, wards="A")
    submit(other, neighbour, title=OTHER_CYCLE_TITLE)
    cycle = move(cycle, official, "vetting")
    proposals_services.review_record(
        actor=vetting_staff,
        idea=idea,
        feasibility="feasible",
        public_reason="A good place for benches.",
        internal_notes=INTERNAL_NOTE,
    )
    world = World(cycle=cycle, official=official)
    for code in "AB":
        source = paper_idea(cycle, official, code)
        for project_code, cost in PROJECTS[code]:
            world.projects[project_code] = make_project(
                cycle, official, [source], code=project_code, cost=cost, district=code
            )
    design(world, {})
    open_voting(world)
    for n in range(12):
        cast(world, "A", ["A-01", "A-02"][: 1 + n % 2], key=f"a-{n}")
        cast(world, "B", ["B-01"], key=f"b-{n}")
    # A paper box big enough to be published sheet by sheet; the keyers disagree on sheet 1 and an
    # official settles it with a note.
    site = sites.voting_site_create(actor=official, cycle=world.cycle, name="Library")
    voted_on = timezone.localdate(timezone=ZoneInfo(cycle.time_zone))
    batch = paper.paper_batch_create(
        actor=official, district=world.district("A"), site=site, label="Box 1", voted_on=voted_on, issued=10
    )
    keyers = (user_with_role("volunteer"), user_with_role("volunteer"))
    for pass_no, keyer in zip((1, 2), keyers, strict=True):
        for sheet in range(1, 11):
            choice = "A-03" if (sheet, pass_no) == (1, 2) else "A-02"
            paper.paper_sheet_key(
                actor=keyer, batch=batch, pass_no=pass_no, sheet=sheet, marks=paper.SheetMarks(picks=[choice])
            )
    close_voting(world)
    paper.paper_sheet_resolve(
        actor=official, batch=batch, sheet=1, marks=paper.SheetMarks(picks=["A-02"]), note=PAPER_NOTE
    )
    paper.paper_batch_reconcile(actor=official, batch=batch)
    certify(world)
    auditor = bundle_write(cycle=world.cycle, out=tmp_path / "auditor.zip").path
    public = bundle_write(cycle=world.cycle, out=tmp_path / "public.zip", public=True).path
    return {
        "cycle": world.cycle,
        "other": other,
        "residents": (author, neighbour),
        "legacy": legacy,
        "auditor": auditor,
        "public": public,
        "tmp": tmp_path,
    }


def _lines(path) -> list[dict]:
    return [json.loads(line) for line in bundle_files(path)["audit_log.jsonl"].splitlines()]


def _reseal_log(record, lines: list[dict], name: str):
    files = bundle_files(record["public"])
    files["audit_log.jsonl"] = b"".join(json.dumps(line, sort_keys=True).encode() + b"\n" for line in lines)
    return bundle_reseal(files, record["tmp"] / name)


def _audit_failure(path) -> str:
    report = bundle_verify(path)
    assert not report.ok
    failure = report.first_failure
    assert failure.name == "audit log", failure
    return failure.detail


def test_the_auditors_bundle_keeps_everything_and_verifies(record):
    files = bundle_files(record["auditor"])
    text = files["audit_log.jsonl"].decode()
    for marker in MARKERS:
        assert marker in text
    assert PAPER_NOTE in files["paper.json"].decode()
    assert len(_lines(record["auditor"])) == AuditEvent.objects.count()
    report = bundle_verify(record["auditor"])
    assert report.ok, report.first_failure


def test_the_public_record_holds_no_staff_secret_and_verifies(record):
    with zipfile.ZipFile(record["public"]) as archive:
        for name in archive.namelist():
            data = archive.read(name).decode("utf-8")
            for marker in MARKERS:
                assert marker not in data, (marker, name)
            assert "access.denied" not in data, name
    sheets = json.loads(bundle_files(record["public"])["paper.json"])["batches"][0]["sheets"]
    assert sheets[0]["resolution"]["choices"] == ["A-02"]  # the sheet-by-sheet record stays, without the note
    report = bundle_verify(record["public"])
    assert report.ok, report.first_failure
    detail = next(c.detail for c in report.checks if c.name == "audit log")
    assert f"{AuditEvent.objects.count()} events, chain intact" in detail


def test_the_public_record_publishes_only_this_cycles_events_without_residents_ids(record):
    cycle, residents = record["cycle"], {u.pk for u in record["residents"]}
    lines = _lines(record["public"])
    assert len(lines) == AuditEvent.objects.count()  # every link is there
    shown = [line for line in lines if "event" in line]
    other_cycle = AuditEvent.objects.filter(cycle_id=record["other"].pk)
    assert other_cycle.exists()
    assert {line["id"] for line in shown}.isdisjoint(other_cycle.values_list("pk", flat=True))
    assert {line["cycle"] for line in shown} == {cycle.pk, None}  # None: the format upgrade, nothing else
    assert [line["event"]["action"] for line in shown if line["cycle"] is None] == [chain.UPGRADE_ACTION]
    assert all("private" not in line for line in lines)
    for line in shown:
        assert line["event"]["actor_id"] not in residents, line
    actions = {line["event"]["action"]: line["event"] for line in shown}
    for action in ("idea.submitted", "idea.endorsed", "comment.added"):
        assert "actor_id" in actions[action]["withheld"]  # who endorsed or commented what: withheld
    assert actions["review.recorded"]["after"]["public_reason"] == "A good place for benches."
    assert "after.internal_notes" in actions["review.recorded"]["withheld"]
    assert "results.certify" in actions and "cycle.phase_changed" in actions
    # The old-format events: the refusal and the staff note withheld, the public change shown
    # without its client IP (its content cannot be re-hashed then; its links still are).
    legacy = {line["id"]: line for line in lines[:3]}
    refusal, note, change = record["legacy"]
    assert legacy[refusal.pk] == {
        "id": refusal.pk,
        "prev_hash": refusal.prev_hash,
        "hash": refusal.hash,
        "withheld": True,
    }
    assert legacy[note.pk]["withheld"] is True
    assert (legacy[change.pk]["after"], legacy[change.pk]["ip"], legacy[change.pk]["redacted"]) == (
        {"name": "Renamed"},
        None,
        ["ip"],
    )


def _first_shown(lines, action):
    return next(i for i, line in enumerate(lines) if "event" in line and line["event"]["action"] == action)


def test_a_changed_public_event_is_caught(record):
    lines = _lines(record["public"])
    at = _first_shown(lines, "results.certify")
    lines[at]["event"]["reason"] = "Certified after a recount."
    detail = _audit_failure(_reseal_log(record, lines, "changed.zip"))
    assert f"breaks at event {lines[at]['id']}: hash does not match" in detail


def test_a_changed_withheld_part_is_caught_in_the_auditors_bundle(record):
    files = bundle_files(record["auditor"])
    lines = [json.loads(line) for line in files["audit_log.jsonl"].splitlines()]
    at = _first_shown(lines, "review.recorded")
    lines[at]["private"]["values"]["after.internal_notes"] = "Nothing to note."
    files["audit_log.jsonl"] = b"".join(json.dumps(line, sort_keys=True).encode() + b"\n" for line in lines)
    detail = _audit_failure(bundle_reseal(files, record["tmp"] / "auditor-changed.zip"))
    assert f"breaks at event {lines[at]['id']}: the withheld values do not match their digest" in detail


@pytest.mark.parametrize(
    "tamper", ["removed", "reordered", "withheld_as_this_cycle", "moved_to_another_cycle", "passed_off_as_old"]
)
def test_a_removed_reordered_or_hidden_event_is_caught(record, tamper):
    lines = _lines(record["public"])
    at = _first_shown(lines, "cycle.phase_changed")
    target = lines[at]
    if tamper == "removed":
        del lines[at]
        expected = f"breaks at event {lines[at]['id']}: prev_hash does not match"
    elif tamper == "reordered":
        lines[at], lines[at + 1] = lines[at + 1], lines[at]
        expected = f"breaks at event {lines[at]['id']}: prev_hash does not match"
    else:
        digest = chain.body_digest(target.pop("event"))
        target["body_digest"] = digest
        if tamper == "withheld_as_this_cycle":
            expected = f"breaks at event {target['id']}: an event of this cycle is withheld"
        elif tamper == "moved_to_another_cycle":
            target["cycle"] = record["other"].pk
            expected = f"breaks at event {target['id']}: hash does not match"
        else:
            lines[at] = {"id": target["id"], "prev_hash": target["prev_hash"], "hash": target["hash"], "withheld": True}
            expected = f"breaks at event {target['id']}: an event in the old format after the current format began"
    assert expected in _audit_failure(_reseal_log(record, lines, f"{tamper}.zip"))


def test_the_upgrade_cannot_be_hidden_to_pass_events_off_as_old(record):
    lines = _lines(record["public"])
    at = _first_shown(lines, chain.UPGRADE_ACTION)
    assert at == 3  # right after the three old-format events, counting them
    assert lines[at]["event"]["after"] == {"format": 2, "legacy_events": 3}
    upgrade = lines[at]
    lines[at] = {"id": upgrade["id"], "prev_hash": upgrade["prev_hash"], "hash": upgrade["hash"], "withheld": True}
    detail = _audit_failure(_reseal_log(record, lines, "upgrade-hidden.zip"))
    assert f"breaks at event {lines[at + 1]['id']}: the first event in the current format is not the upgrade" in detail


def test_the_public_log_alone_checks_with_audit_verify(record):
    path = record["tmp"] / "audit_log.jsonl"
    path.write_bytes(bundle_files(record["public"])["audit_log.jsonl"])
    out = io.StringIO()
    call_command("audit_verify", file=str(path), public_cycle=record["cycle"].pk, stdout=out)
    assert f"Audit chain intact: {AuditEvent.objects.count()} events." in out.getvalue()
    # As a complete export it is not: events are withheld from it.
    with pytest.raises(CommandError, match="withheld from a complete export"):
        call_command("audit_verify", file=str(path), stdout=io.StringIO())
