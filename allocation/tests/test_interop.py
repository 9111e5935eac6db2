"""Pabulib interoperability through the database: every real election in the test data imported,
tallied with every rule that has a reference outcome, and compared; export → import → export
byte-identical; faulty files refused with their line and reason, nothing imported."""

import hashlib
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import CommandError, call_command

from allocation.models import TallyRun
from allocation.services import interop, tally_district
from allocation.services.interop import district_pb_export
from budgets.demo import DEMO_SLUG, demo_load
from budgets.models import Cycle, District
from budgets.phases import Phase
from budgets.services import cycle_transition
from proposals.models import Project
from voting.methods import Method
from voting.models import Ballot, BallotVoid, VoterRollEntry
from voting.tests.builders import assert_roll_matches_ballots, design, vetting_world

pytestmark = pytest.mark.django_db(transaction=False)

DATA = Path(__file__).resolve().parents[2] / "pbverify" / "tests" / "data" / "pabulib"  # the rules' reference files
EXPECTED = sorted(DATA.glob("*.expected.json"))
CASES = [
    pytest.param(path, rule, id=f"{path.name.removesuffix('.expected.json')}-{rule}")
    for path in EXPECTED
    for rule in ("greedy", "mes", "mes-greedy")
    if rule in json.loads(path.read_text())
]


def _import(path: Path, *args) -> str:
    out = io.StringIO()
    call_command("pabulib_import", str(path), *args, stdout=out)
    return out.getvalue()


def _tally(slug: str, rule: str) -> dict:
    out = io.StringIO()
    call_command("tally", slug, "--rule", rule, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_test_data_holds_every_reference_election():
    # The suite must run from a clone: the elections are copied into the project.
    assert len(EXPECTED) >= 18
    for path in EXPECTED:
        assert (DATA / path.name.replace(".expected.json", ".pb")).exists()


@pytest.mark.parametrize(("expected_path", "rule"), CASES)
def test_every_real_election_matches_the_reference_outcome(expected_path, rule):
    stem = expected_path.name.removesuffix(".expected.json")
    printed = _import(DATA / f"{stem}.pb")
    assert f"cycle: {stem}" in printed and f"district: {stem}" in printed

    result = _tally(stem, rule)

    assert set(result) == {"cycle", "rule", "districts"}
    assert result["cycle"] == stem and result["rule"] == rule
    [district] = result["districts"]
    assert district["district"] == stem
    expected = json.loads(expected_path.read_text())[rule]
    assert district["selected"] == sorted(expected, key=str)  # ascending string order, as printed
    costs = dict(Project.objects.filter(district__code=stem).values_list("external_id", "cost"))
    assert Decimal(str(district["budget_used"])) == sum((costs[p] for p in expected), Decimal(0))
    assert_roll_matches_ballots()


def test_import_prints_and_stores_one_synthetic_roll_entry_per_ballot():
    printed = _import(DATA / "Worldwide_Mechanical_Turk_Utilities_3.pb", "--cycle", "mturk", "--district", "U3")
    assert "cycle: mturk" in printed and "district: U3" in printed
    # Real files break their own META limits: such ballots are kept, and counted in the output.
    assert "ballots breaking a META limit (kept): 11" in printed
    cycle = Cycle.objects.get(slug="mturk")
    assert cycle.phase == Phase.COUNTING
    district = District.objects.get(cycle=cycle, code="U3")
    ballots = Ballot.objects.filter(district=district)
    assert ballots.count() == 74 == VoterRollEntry.objects.filter(district=district, channel="import").count()
    assert set(ballots.values_list("channel", flat=True)) == {"import"}
    assert all(b.points and len(b.points) == len(b.choices) for b in ballots)


def test_import_extends_a_counting_cycle_and_refuses_a_second_district_of_the_same_code():
    _import(DATA / "US_Stanford_Dataset_2022_Jersey_City_Ward_B_vote_knapsacks.pb", "--cycle", "jc", "--district", "B")
    _import(DATA / "US_Stanford_Dataset_2022_Jersey_City_Ward_C_vote_knapsacks.pb", "--cycle", "jc", "--district", "C")
    assert list(District.objects.filter(cycle__slug="jc").values_list("code", flat=True)) == ["B", "C"]
    before = Ballot.objects.count()
    ward_d = DATA / "US_Stanford_Dataset_2022_Jersey_City_Ward_D_vote_knapsacks.pb"
    with pytest.raises(CommandError, match="already has a district"):
        _import(ward_d, "--cycle", "jc", "--district", "B")
    assert Ballot.objects.count() == before
    result = _tally("jc", "greedy")
    assert [d["district"] for d in result["districts"]] == ["B", "C"]


def test_import_refuses_a_cycle_that_is_not_counting(cycle_factory):
    cycle_factory(slug="live")
    with pytest.raises(CommandError, match="not in the counting phase"):
        _import(DATA / "Netherlands_Amsterdam_643.pb", "--cycle", "live")
    assert not District.objects.filter(cycle__slug="live", code="Netherlands_Amsterdam_643").exists()


GOOD = b"""META
key;value
description;test
num_projects;2
num_votes;2
budget;100
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;name
a;60;Park
b;50;"Library; phase II"
VOTES
voter_id;vote
v1;a,b
v2;b
"""

BAD = {
    "missing section": (GOOD.replace(b"PROJECTS\n", b""), None),
    "unknown project": (GOOD.replace(b"v2;b", b"v2;zz"), 16),
    "negative cost": (GOOD.replace(b"a;60;Park", b"a;-60;Park"), 11),
    "non-numeric cost": (GOOD.replace(b"a;60;Park", b"a;sixty;Park"), 11),
    "duplicate project id": (GOOD.replace(b'b;50;"Library; phase II"', b"a;50;Again"), 12),
    "num_votes mismatch": (GOOD.replace(b"num_votes;2", b"num_votes;3"), None),
    "non-UTF-8": (GOOD.replace(b"Park", "Parc \u00e9t\u00e9".encode("latin-1")), 11),
}


def test_a_good_file_imports(tmp_path):
    path = tmp_path / "good.pb"
    path.write_bytes(GOOD.replace(b"\n", b"\r\n"))  # CRLF line ends are fine
    _import(path)
    assert Project.objects.filter(district__code="good").count() == 2
    assert Project.objects.get(external_id="b").texts.get().title == "Library; phase II"


@pytest.mark.parametrize("case", list(BAD))
def test_a_faulty_file_is_refused_with_its_line_and_reason_and_nothing_is_imported(tmp_path, case):
    data, line = BAD[case]
    path = tmp_path / "bad.pb"
    path.write_bytes(data)
    counts = (Cycle.objects.count(), District.objects.count(), Project.objects.count(), Ballot.objects.count())
    with pytest.raises(CommandError) as error:
        _import(path)
    message = str(error.value)
    assert "line " in message and "nothing imported" in message
    if line is not None:
        assert f"line {line}:" in message
    assert counts == (Cycle.objects.count(), District.objects.count(), Project.objects.count(), Ballot.objects.count())


def test_export_import_tally_round_trip_keeps_outcome_and_input_hash(tmp_path):
    _import(DATA / "Poland_Warszawa_2019_Wesola.pb", "--cycle", "wesola", "--district", "W")
    district = District.objects.get(cycle__slug="wesola", code="W")
    first = tally_district(district=district, rule="mes")
    out = tmp_path / "W.pb"
    call_command("pabulib_export", "wesola", "--district", "W", "--out", str(out))
    data = out.read_bytes()
    assert hashlib.sha256(data).hexdigest() == first.input_hash

    _import(out, "--cycle", "again", "--district", "W2")
    copy = District.objects.get(cycle__slug="again", code="W2")
    second = tally_district(district=copy, rule="mes")
    assert second.input_hash == first.input_hash
    assert second.output == first.output  # byte-identical outcome
    assert district_pb_export(copy)[0] == data


def test_export_is_deterministic_and_leaves_out_voided_ballots_and_withdrawn_projects():
    _import(DATA / "Netherlands_Amsterdam_643.pb", "--cycle", "ams", "--district", "A")
    district = District.objects.get(cycle__slug="ams", code="A")
    data, digest = district_pb_export(district)
    assert district_pb_export(district) == (data, digest)
    assert b"\r" not in data and data.startswith(b"META\nkey;value\n")
    lines = data.decode().split("VOTES\n")[1].splitlines()[1:]
    voter_ids = [line.split(";")[0] for line in lines]
    assert voter_ids == sorted(voter_ids) and len(voter_ids) == 66

    ballot = Ballot.objects.filter(district=district).order_by("id").first()
    BallotVoid.objects.create(ballot=ballot, reason="keying error")
    voided, voided_digest = district_pb_export(district)
    assert voided_digest != digest
    assert b"num_votes;65\n" in voided and ballot.source.voter_id.encode() + b";" not in voided

    project = Project.objects.filter(district=district).order_by("code").first()
    Project.objects.filter(pk=project.pk).update(withdrawn_reason="impossible", withdrawn_at="2026-01-01T00:00Z")
    withdrawn, _ = district_pb_export(district)
    assert b"num_projects;2\n" in withdrawn
    assert f"\n{project.external_id};".encode() not in withdrawn.split(b"VOTES\n")[0]


def test_tally_refuses_a_rule_that_does_not_apply():
    _import(DATA / "Poland_Krakow_2020_Debniki.pb", "--cycle", "krk")
    with pytest.raises(CommandError, match="not defined for ordinal"):
        _tally("krk", "mes")
    assert not TallyRun.objects.filter(rule="mes").exists()


@pytest.mark.postgres
@pytest.mark.parametrize(
    "stem",
    [
        "Poland_Swiecie_2023",  # ids like c2, c10: sorted bytewise ("c10" < "c2"), as Python sorts
        "US_Stanford_Dataset_2022_Jersey_City_Ward_B_vote_knapsacks",  # numeric ids ("10" < "9")
        "Poland_Krakow_2020_Debniki",  # ranked: ballot order kept
        "Netherlands_Amsterdam_643",  # choose-1
        "Switzerland_Zurich_D10",  # cumulative: always the Python path
    ],
)
def test_postgres_writes_the_same_votes_as_the_python_path(stem, monkeypatch):
    _import(DATA / f"{stem}.pb", "--cycle", "same", "--district", "X")
    district = District.objects.get(cycle__slug="same", code="X")
    BallotVoid.objects.create(ballot=Ballot.objects.filter(district=district).order_by("id")[3], reason="keying error")
    fast = district_pb_export(district)
    monkeypatch.setattr(interop, "FAST_VOTES", False)
    assert district_pb_export(district) == fast  # byte for byte: same input hash either way
    monkeypatch.setattr(interop, "FAST_VOTES", True)
    design = district.ballot_design
    expected_fast = design.method != "cumulative"
    assert interop._fast_votes(district, Method(design.method), interop.district_projects(district)) is expected_fast


@pytest.mark.postgres
def test_postgres_and_python_agree_on_empty_ballots_and_native_ballots(tmp_path, monkeypatch):
    path = tmp_path / "empty.pb"
    path.write_bytes(GOOD.replace(b"num_votes;2", b"num_votes;3") + b"v3;\n")
    _import(path)
    district = District.objects.get(code="empty")
    fast = district_pb_export(district)[0]
    assert fast.endswith(b"\nv3;\n")
    monkeypatch.setattr(interop, "FAST_VOTES", False)
    assert district_pb_export(district)[0] == fast
    # The platform's own ballots (UUID ids, public codes), a withdrawn project sends them to Python.
    monkeypatch.setattr(interop, "FAST_VOTES", True)
    demo_load(phase=Phase.COUNTING)
    ward = District.objects.get(cycle__slug=DEMO_SLUG, code="B")
    assert interop._fast_votes(ward, Method(ward.ballot_design.method), interop.district_projects(ward))
    native = district_pb_export(ward)
    monkeypatch.setattr(interop, "FAST_VOTES", False)
    assert district_pb_export(ward) == native


def test_a_native_export_gives_the_days_voting_actually_opened_and_closed_in_the_cycles_zone(official):
    """Voting opened at 7 a.m. on March 1 and closed at 23:30 on March 9 in New York (04:30 UTC on
    March 10), on other days than scheduled: the file says 01.03.2099 and 09.03.2099."""
    new_york = ZoneInfo("America/New_York")
    world = vetting_world(official, wards="A", projects={"A": [("A-01", "10000")]})
    design(world, {})
    Cycle.objects.filter(pk=world.cycle.pk).update(
        time_zone="America/New_York",
        voting_open_at=datetime(2099, 2, 27, 9, 0, tzinfo=new_york),
        voting_close_at=datetime(2099, 3, 12, 20, 0, tzinfo=new_york),
    )
    cycle = Cycle.objects.get(pk=world.cycle.pk)
    with time_machine.travel(datetime(2099, 3, 1, 7, 0, tzinfo=new_york), tick=False):
        cycle = cycle_transition(actor=official, cycle=cycle, target=Phase.VOTING, reason="Opens early.")
    with time_machine.travel(datetime(2099, 3, 9, 23, 30, tzinfo=new_york), tick=False):
        cycle = cycle_transition(actor=official, cycle=cycle, target=Phase.COUNTING, reason="Closes early.")
    data, _digest = district_pb_export(District.objects.get(cycle=cycle, code="A"))
    meta = data.decode().split("PROJECTS\n")[0]
    assert "date_begin;01.03.2099\n" in meta
    assert "date_end;09.03.2099\n" in meta  # 23:30 in New York, already March 10 in UTC
