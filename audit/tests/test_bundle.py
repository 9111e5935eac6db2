"""The audit bundle and pb_verify: the demo's round trip, tampering that
pb_verify must name, small-cell protection in the public record, and the verifier's independence
from the database."""

import csv
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from audit.bundle import BALLOTS_HEADER, OTHER, bundle_write, merge_small
from budgets.demo import DEMO_SLUG
from budgets.models import Cycle
from core.models import AuditEvent
from pbverify.verify import bundle_verify
from voting import crypto
from voting.models import Ballot, BallotVoid
from voting.tests.builders import assert_roll_matches_ballots, voting_world

from .builders import (
    behind_the_triggers,
    bundle_files,
    bundle_reseal,
    csv_bytes,
    csv_rows,
    public_id,
    results_world,
)

pytestmark = pytest.mark.django_db


def verify_command(path) -> str:
    out = io.StringIO()
    call_command("pb_verify", str(path), stdout=out)
    return out.getvalue()


def verify_fails(path) -> str:
    with pytest.raises(CommandError) as failure:
        verify_command(path)
    return str(failure.value)


@pytest.fixture
def demo_bundle(tmp_path):
    """`load_demo --phase results`, then `audit_bundle jersey-city-demo --out …`."""
    call_command("load_demo", phase="results", quiet_logins=True, stdout=io.StringIO())
    path = tmp_path / "demo.zip"
    call_command("audit_bundle", DEMO_SLUG, out=str(path), stdout=io.StringIO())
    return path


# --- the round trip ----------------------------------------------------------------------------------
def test_the_demo_bundle_holds_exactly_the_documented_files_and_verifies(demo_bundle, django_db_blocker):
    files = bundle_files(demo_bundle)
    cycle = Cycle.objects.get(slug=DEMO_SLUG)
    wards = sorted(cycle.districts.filter(ballot_design__isnull=False).values_list("code", flat=True))
    expected = {
        "manifest.json",
        "ballots.csv",
        "design.json",
        "tally_runs.json",
        "turnout.json",
        "paper.json",
        "audit_log.jsonl",
        *(f"{code}.pb" for code in wards),
    }
    assert set(files) == expected
    rows = csv_rows(files["ballots.csv"])
    assert rows[0] == BALLOTS_HEADER
    assert len(rows) - 1 == Ballot.objects.filter(district__cycle=cycle).count() == 300
    ids = [row[0] for row in rows[1:]]
    assert ids == sorted(ids)  # sorted by ballot id
    assert all(row[5] for row in rows[1:])  # the auditor bundle carries receipt hashes
    manifest = json.loads(files["manifest.json"])
    declared = dict(
        cycle.districts.filter(ballot_design__isnull=False).values_list("code", "ballot_design__allocation_rule")
    )
    assert {d["code"]: d["rule"] for d in manifest["districts"]} == declared
    assert set(declared.values()) == {"greedy", "mes"}  # the demo certifies both rules, and pb_verify recounts both
    assert all(d["certified"] for d in manifest["districts"]) and manifest["results_hash"]
    assert len(AuditEvent.objects.all()) == len(files["audit_log.jsonl"].splitlines())

    with django_db_blocker.block():  # pb_verify reads only the bundle: any database access would raise
        output = verify_command(demo_bundle)
    assert "every check passed" in output
    for check in ("manifest", "design", "ballots", "turnout", "tally", "audit log", "paper"):
        assert f"ok   {check}:" in output


def test_moving_one_vote_to_another_project_fails_naming_that_ballot(demo_bundle, tmp_path):
    files = bundle_files(demo_bundle)
    rows = csv_rows(files["ballots.csv"])
    row = next(r for r in rows[1:] if r[1] == "A" and r[3] and "," not in r[3])
    others = Cycle.objects.get(slug=DEMO_SLUG).projects.filter(district__code="A").exclude(code=row[3])
    row[3] = others.order_by("code").values_list("code", flat=True).first()
    forged = bundle_reseal({**files, "ballots.csv": csv_bytes(rows)}, tmp_path / "forged.zip")

    message = verify_fails(forged)

    assert "ballots" in message and f"ballot {row[0]} (district A)" in message
    report = bundle_verify(forged)
    assert [c.name for c in report.checks if not c.ok] == ["ballots"]  # the manifest was rewritten to match


def test_a_changed_file_without_a_new_manifest_fails_the_manifest_check(demo_bundle, tmp_path):
    files = bundle_files(demo_bundle)
    out = tmp_path / "changed.zip"
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data.replace(b'"online"', b'"kiosk"') if name == "turnout.json" else data)
    assert "manifest" in verify_fails(out) and "turnout.json" in verify_fails(out)


@pytest.mark.postgres
def test_an_audit_event_changed_behind_the_trigger_breaks_the_chain_at_that_event(demo_bundle, tmp_path):
    event = AuditEvent.objects.filter(action="cycle.phase_changed").order_by("id")[1]
    behind_the_triggers(
        "core_auditevent", "UPDATE core_auditevent SET reason = %s WHERE id = %s", ["rewritten", event.pk]
    )
    path = tmp_path / "after.zip"
    call_command("audit_bundle", DEMO_SLUG, out=str(path), stdout=io.StringIO())

    message = verify_fails(path)

    assert f"audit log: the chain breaks at event {event.pk}" in message
    # The trigger is back: the table refuses changes again, even in plain SQL.
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE core_auditevent SET reason = 'again' WHERE id = %s", [event.pk])


def test_a_ballot_removed_from_the_database_fails_the_count_check(demo_bundle, tmp_path):
    ballot = Ballot.objects.filter(district__code="B").order_by("id").first()
    behind_the_triggers("voting_ballot", "DELETE FROM voting_ballot WHERE id = %s", [ballot.pk.hex])
    path = tmp_path / "short.zip"
    call_command("audit_bundle", DEMO_SLUG, out=str(path), stdout=io.StringIO())

    message = verify_fails(path)

    assert message.startswith("Verification failed at turnout: district B: the voter roll counts 50 voters")
    assert "ballots.csv has 49 ballots" in message


def test_a_ballot_removed_from_the_bundle_fails_too(demo_bundle, tmp_path):
    files = bundle_files(demo_bundle)
    rows = csv_rows(files["ballots.csv"])
    removed = next(r for r in rows[1:] if r[1] == "C")
    rows.remove(removed)
    pb = b"\n".join(line for line in files["C.pb"].split(b"\n") if not line.startswith(removed[0].encode()))
    manifest = json.loads(files["manifest.json"])
    manifest["ballots"] -= 1
    forged = bundle_reseal(
        {**files, "ballots.csv": csv_bytes(rows), "C.pb": pb, "manifest.json": json.dumps(manifest).encode()},
        tmp_path / "forged.zip",
    )
    report = bundle_verify(forged)
    assert not report.ok
    assert report.first_failure.name == "turnout" and "district C" in report.first_failure.detail


def test_pb_verify_refuses_a_file_that_is_not_a_bundle(tmp_path):
    path = tmp_path / "nothing.zip"
    path.write_bytes(b"not a zip")
    assert "not a readable zip file" in verify_fails(path)


# --- contents ---------------------------------------------------------------------------------------------
def test_a_voided_ballot_stays_in_ballots_csv_marked_void_and_out_of_the_pb(official, tmp_path):
    from audit.services import ballot_void

    world = results_world(official, certified=False)
    ballot = Ballot.objects.filter(district__code="A").order_by("id").first()
    ballot_void(actor=official, ballot_id=ballot.pk, reason="Keying error found at reconciliation")
    info = bundle_write(cycle=world.cycle, out=tmp_path / "b.zip")
    files = bundle_files(info.path)

    row = next(r for r in csv_rows(files["ballots.csv"]) if r[0] == public_id(ballot))
    assert row[6:] == ["true", "Keying error found at reconciliation"]
    assert public_id(ballot).encode() not in files["A.pb"]
    assert json.loads(files["turnout.json"])["districts"][0]["voters"] == 12  # the roll is unchanged
    report = bundle_verify(info.path)
    assert report.ok, report.first_failure
    assert any("district A: no greedy run on this input yet" in note for note in report.notes)
    assert_roll_matches_ballots()


ORDINAL_PB = """META
key;value
description;Ranked test
num_projects;3
num_votes;11
budget;100
vote_type;ordinal
rule;greedy
PROJECTS
project_id;cost;name
p1;60;One
p2;40;Two
p3;30;Three
VOTES
voter_id;vote
{votes}
"""
CUMULATIVE_PB = """META
key;value
description;Points test
num_projects;3
num_votes;4
budget;100
vote_type;cumulative
max_sum_points;10
rule;greedy
PROJECTS
project_id;cost;name
p1;60;One
p2;40;Two
p3;30;Three
VOTES
voter_id;vote;points
a;p1,p2;7,3
b;p3;10
c;p2,p3,p1;5,3,2
d;p1;4
"""


@pytest.mark.parametrize("kind", ["ordinal", "cumulative"])
def test_imported_ballots_keep_their_source_voter_id_in_ballots_csv(official, tmp_path, kind):
    from allocation.services import tally_cycle
    from allocation.services.interop import pabulib_import

    votes = "\n".join(f"{n};{['p1,p2', 'p3,p1', 'p2'][n % 3]}" for n in range(1, 12))
    data = (ORDINAL_PB.format(votes=votes) if kind == "ordinal" else CUMULATIVE_PB).encode()
    result = pabulib_import(data=data, name=f"{kind}.pb", cycle_slug="imported")
    tally_cycle(cycle=result.cycle)
    info = bundle_write(cycle=result.cycle, out=tmp_path / "imported.zip")
    files = bundle_files(info.path)
    rows = csv_rows(files["ballots.csv"])[1:]
    pb_ids = [line.split(";")[0] for line in files[f"{kind}.pb"].decode().split("VOTES\n")[1].splitlines()[1:]]
    assert [r[0] for r in rows] == pb_ids  # the same ids, in the same (bytewise) order
    if kind == "ordinal":
        assert pb_ids[:4] == ["1", "10", "11", "2"]
        assert next(r for r in rows if r[0] == "1")[3] == "p3,p1"  # a ranking keeps its order
    else:
        assert next(r for r in rows if r[0] == "c")[3:5] == ["p2,p3,p1", "5,3,2"]
    assert {r[2] for r in rows} == {"import"}
    report = bundle_verify(info.path)
    assert report.ok, report.first_failure


def test_the_receipt_hash_in_the_auditor_bundle_is_the_voters_receipt(official, tmp_path):
    from .builders import cast, close_voting

    world = voting_world(official)
    cast(world, "A", ["A-01"], key="someone")
    code = cast(world, "A", ["A-02"], key="complainant")
    close_voting(world)
    rows = csv_rows(bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "r.zip").path)["ballots.csv"])
    row = next(r for r in rows if r[5] == crypto.receipt_hash(code))
    assert row[3] == "A-02"


# --- the public record: no receipts, small cells merged ----------------------------------------------------------
def test_merge_small_leaves_no_published_group_below_the_threshold():
    assert merge_small({"online": 50, "kiosk": 3}, 10) == {"online": OTHER, "kiosk": OTHER}
    assert merge_small({"online": 50, "kiosk": 3, "paper": 12}, 10) == {
        "online": "online",
        "kiosk": OTHER,
        "paper": OTHER,
    }
    assert merge_small({"online": 50, "kiosk": 3, "phone": 8}, 10) == {
        "online": "online",
        "kiosk": OTHER,
        "phone": OTHER,
    }
    assert merge_small({"online": 50, "paper": 10}, 10) == {"online": "online", "paper": "paper"}
    assert merge_small({"online": 4}, 10) == {"online": OTHER}  # a district this small is published whole


def test_the_public_record_merges_a_district_with_3_ballots_on_one_channel(official, tmp_path, settings):
    settings.PB_SMALL_CELL = 10
    world = results_world(official, ballots_a=12, kiosk_a=3, ballots_b=11)
    info = bundle_write(cycle=world.cycle, out=tmp_path / "public.zip", public=True)
    files = bundle_files(info.path)
    rows = csv_rows(files["ballots.csv"])
    assert rows[0] == BALLOTS_HEADER  # same columns: receipt_hash is there, and empty
    body = rows[1:]
    assert not any(r[5] for r in body)
    channels = {}
    for r in body:
        channels.setdefault(r[1], set()).add(r[2])
    # A: 12 online + 3 kiosk → the 3 cannot stand alone, and "other" of 3 would single them out:
    # the whole district is published as "other". B: 11 online, no small group.
    assert channels == {"A": {OTHER}, "B": {"online"}}
    assert "kiosk" not in files["ballots.csv"].decode()
    turnout = {d["district"]: d for d in json.loads(files["turnout.json"])["districts"]}
    assert turnout["A"]["by_channel"] == {OTHER: 15}
    assert turnout["A"]["by_site"] == {OTHER: 15}  # 12 without a site, 3 at the library: merged
    assert json.loads(files["manifest.json"])["small_cell"] == 10
    for line in files["audit_log.jsonl"].splitlines():
        assert "private" not in json.loads(line)  # no client IP, nothing withheld
    report = bundle_verify(info.path)
    assert report.ok, report.first_failure

    auditor = bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "auditor.zip").path)
    auditor_channels = {(r[1], r[2]) for r in csv_rows(auditor["ballots.csv"])[1:]}
    assert ("A", "kiosk") in auditor_channels and ("A", "online") in auditor_channels


def test_the_public_record_keeps_groups_at_the_threshold(official, tmp_path, settings):
    settings.PB_SMALL_CELL = 3
    world = results_world(official, ballots_a=12, kiosk_a=3, ballots_b=11)
    files = bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "p.zip", public=True).path)
    channels = {(r[1], r[2]) for r in csv_rows(files["ballots.csv"])[1:]}
    assert channels == {("A", "online"), ("A", "kiosk"), ("B", "online")}


def test_a_public_record_with_a_receipt_hash_fails_verification(official, tmp_path):
    world = results_world(official)
    path = bundle_write(cycle=world.cycle, out=tmp_path / "p.zip", public=True).path
    files = bundle_files(path)
    rows = csv_rows(files["ballots.csv"])
    rows[1][5] = "ab" * 32
    message = verify_fails(bundle_reseal({**files, "ballots.csv": csv_bytes(rows)}, tmp_path / "f.zip"))
    assert "the public record carries a receipt hash" in message


def test_the_public_record_command_is_refused_before_certification(official, tmp_path):
    world = results_world(official, certified=False)
    with pytest.raises(CommandError, match="once the results are certified"):
        call_command("audit_bundle", world.cycle.slug, out=str(tmp_path / "x.zip"), public=True)
    call_command("audit_bundle", world.cycle.slug, out=str(tmp_path / "y.zip"), stdout=io.StringIO())
    assert zipfile.is_zipfile(tmp_path / "y.zip")


def test_no_bundle_while_voting_is_open(official, tmp_path):
    world = voting_world(official)
    with pytest.raises(CommandError, match="once voting has closed"):
        call_command("audit_bundle", world.cycle.slug, out=str(tmp_path / "x.zip"))
    assert not (tmp_path / "x.zip").exists()


def test_ballots_csv_is_csv_with_lists_in_ballot_order(official, tmp_path):
    world = results_world(official, ballots_a=3, ballots_b=0, certified=False)
    files = bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "b.zip").path)
    rows = list(csv.DictReader(io.StringIO(files["ballots.csv"].decode())))
    stored = {public_id(b): b for b in Ballot.objects.all()}
    for row in rows:
        assert row["choices"].split(",") == stored[row["ballot_id"]].choices
        assert row["points"] == "" and row["voided"] == "false"
    assert not BallotVoid.objects.exists()


def test_paper_batches_are_in_the_bundle_and_small_ones_only_as_counts_in_public(official, tmp_path, settings):
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from tests.factories import user_with_role
    from voting import sites
    from voting.services import paper

    from .builders import cast, certify, close_voting

    settings.PB_SMALL_CELL = 10
    world = voting_world(official)
    for n in range(12):
        cast(world, "A", ["A-01"], key=f"online-{n}")
    site = sites.voting_site_create(actor=official, cycle=world.cycle, name="Library")
    today = timezone.localdate(timezone=ZoneInfo(world.cycle.time_zone))
    batch = paper.paper_batch_create(
        actor=official, district=world.district("A"), site=site, label="Box 1", voted_on=today, issued=3
    )
    keyers = (user_with_role("volunteer"), user_with_role("volunteer"))
    for pass_no, keyer in zip((1, 2), keyers, strict=True):
        for sheet, picks in enumerate((["A-02"], ["A-03"], ["A-02", "A-03"]), start=1):
            paper.paper_sheet_key(
                actor=keyer, batch=batch, pass_no=pass_no, sheet=sheet, marks=paper.SheetMarks(picks=picks)
            )
    close_voting(world)
    paper.paper_batch_reconcile(actor=official, batch=batch)
    certify(world)

    auditor = bundle_files(bundle_write(cycle=world.cycle, out=tmp_path / "a.zip").path)
    record = json.loads(auditor["paper.json"])["batches"][0]
    assert (record["issued"], record["valid"], record["status"]) == (3, 3, "reconciled")
    assert [s["pass_1"]["choices"] for s in record["sheets"]] == [["A-02"], ["A-03"], ["A-02", "A-03"]]
    assert {(r[1], r[2]) for r in csv_rows(auditor["ballots.csv"])[1:]} >= {("A", "paper"), ("A", "online")}

    info = bundle_write(cycle=world.cycle, out=tmp_path / "p.zip", public=True)
    public = bundle_files(info.path)
    record = json.loads(public["paper.json"])["batches"][0]
    assert record["sheets"] is None and record["sheets_withheld"] is True and record["valid"] == 3
    assert {r[2] for r in csv_rows(public["ballots.csv"])[1:] if r[1] == "A"} == {OTHER}
    for path in (tmp_path / "a.zip", info.path):
        report = bundle_verify(path)
        assert report.ok, report.first_failure
    assert_roll_matches_ballots()
