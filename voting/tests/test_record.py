"""The vote record: the ballot table can point at nothing but its district, ballot
ids are random UUIDv4, and the roll and the ballots are insert-only — in the database itself; the
writers of ``voting.services.record``, and that no other module writes the record."""

import re
import uuid
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.transaction import TransactionManagementError
from django.utils import translation

from voting import crypto, services
from voting.methods import Ballot
from voting.models import Ballot as StoredBallot
from voting.models import BallotVoid, VoidReason, VoterRollEntry
from voting.services import record

from . import record_writes
from .builders import assert_roll_matches_ballots, voter, voting_world

pytestmark = pytest.mark.django_db

BALLOT_COLUMNS = {"id", "district_id", "channel", "choices", "points", "receipt_hash"}
# Words a column name must not contain (split on "_"): nothing naming a person, a place or a time.
FORBIDDEN_WORDS = {
    "user",
    "account",
    "identity",
    "voter",
    "roll",
    "person",
    "name",
    "email",
    "phone",
    "address",
    "ip",
    "site",
    "location",
    "kiosk",
    "device",
    "session",
    "agent",
    "created",
    "updated",
    "at",
    "on",
    "date",
    "time",
    "timestamp",
    "day",
    "seq",
    "sequence",
    "number",
}
TIME_FIELD_TYPES = {"DateField", "DateTimeField", "TimeField", "DurationField"}


@pytest.fixture
def world(official):
    return voting_world(official)


def cast_many(world, n: int, district: str = "A") -> list[uuid.UUID]:
    """Cast ``n`` ballots; return their ids in casting order (found through the receipt codes)."""
    ids = []
    for i in range(n):
        result = services.ballot_cast(
            voter=voter(f"record-{district}-{i}"),
            district=world.district(district),
            ballot=Ballot(choices=(f"{district}-0{1 + i % 3}",)),
        )
        ids.append(StoredBallot.objects.get(receipt_hash=crypto.receipt_hash(result.receipt_code)).id)
    return ids


def kendall_tau(values: list) -> float:
    """Rank correlation between the position in ``values`` and the value (1: same order)."""
    pairs = list(combinations(range(len(values)), 2))
    concordant = sum(1 if values[i] < values[j] else -1 for i, j in pairs)
    return concordant / len(pairs)


# --- the schema, by database introspection --------------------------------------------------------------
@pytest.mark.postgres
def test_the_ballot_table_reaches_nothing_but_its_district():
    introspection = connection.introspection
    with connection.cursor() as cursor:
        description = introspection.get_table_description(cursor, "voting_ballot")
        relations = introspection.get_relations(cursor, "voting_ballot")
        constraints = introspection.get_constraints(cursor, "voting_ballot")
        cursor.execute(
            "SELECT column_name, data_type, column_default FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = 'voting_ballot'"
        )
        sql_columns = {name: (data_type, default) for name, data_type, default in cursor.fetchall()}
    columns = {c.name: introspection.get_field_type(c.type_code, c) for c in description}
    assert set(columns) == set(sql_columns) == BALLOT_COLUMNS
    assert columns["id"] == "UUIDField"
    for name, field_type in columns.items():
        assert not set(name.split("_")) & FORBIDDEN_WORDS, name
        assert field_type not in TIME_FIELD_TYPES, (name, field_type)
    for name, (data_type, default) in sql_columns.items():
        assert not re.search(r"date|time|interval", data_type), (name, data_type)
        assert default is None, (name, default)  # no sequence, no now(): the application draws the id
    # One foreign key, to the district: no user, roll entry, identity or site.
    assert relations == {"district_id": ("id", "budgets_district")}
    foreign_keys = [c["foreign_key"] for c in constraints.values() if c["foreign_key"]]
    assert foreign_keys == [("budgets_district", "id")]
    (primary,) = [c["columns"] for c in constraints.values() if c["primary_key"]]
    assert primary == ["id"]


@pytest.mark.postgres
def test_the_roll_and_the_identities_have_no_link_to_ballots():
    introspection = connection.introspection
    with connection.cursor() as cursor:
        assert introspection.get_relations(cursor, "voting_voterrollentry") == {
            "cycle_id": ("id", "budgets_cycle"),
            "district_id": ("id", "budgets_district"),
        }
        assert introspection.get_relations(cursor, "voting_identity") == {}
        roll_columns = {c.name for c in introspection.get_table_description(cursor, "voting_voterrollentry")}
        cursor.execute(
            "SELECT conrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'voting_ballot'::regclass"
        )
        referencing = {row[0] for row in cursor.fetchall()}
    assert not any("ballot" in column or "receipt" in column for column in roll_columns)
    # Only side tables about the ballot itself point at it (a void record; an imported ballot's
    # source id in its Pabulib file); nothing about voters.
    assert referencing == {"voting_ballotvoid", "voting_ballotsource"}
    with connection.cursor() as cursor:
        source_columns = {c.name for c in introspection.get_table_description(cursor, "voting_ballotsource")}
    assert source_columns == {"ballot_id", "voter_id"}


def test_the_ballot_model_has_only_anonymous_fields():
    assert {f.column for f in StoredBallot._meta.concrete_fields} == BALLOT_COLUMNS
    relations = {f.name: f.related_model._meta.label for f in StoredBallot._meta.concrete_fields if f.is_relation}
    assert relations == {"district": "budgets.District"}


# --- ballot ids --------------------------------------------------------------------------------------
@pytest.mark.postgres
def test_ballot_ids_are_random_uuid4_unrelated_to_the_casting_order(world):
    ids = cast_many(world, 50)
    assert len(set(ids)) == 50
    assert all(i.version == 4 and i.variant == uuid.RFC_4122 for i in ids)
    # The order in which PostgreSQL sorts the ids (the primary key's order) says nothing about the
    # order of casting. For 50 random ids Kendall's tau has a standard deviation of about 0.1, so
    # |tau| < 0.5 fails about once in three million runs; sequential or time-ordered ids give 1.
    in_cast_order = [str(i) for i in ids]
    assert abs(kendall_tau(in_cast_order)) < 0.5
    by_database = [str(i) for i in StoredBallot.objects.order_by("id").values_list("id", flat=True)]
    assert by_database == sorted(in_cast_order)
    assert by_database not in (in_cast_order, in_cast_order[::-1])
    assert_roll_matches_ballots()


# --- insert-only, in PostgreSQL -------------------------------------------------------------------------------
STATEMENTS = {
    "UPDATE": "UPDATE {table} SET channel = 'paper'",
    "DELETE": "DELETE FROM {table}",
    "TRUNCATE": "TRUNCATE {table} CASCADE",
}


def snapshot(table: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 - a constant table name
        return cursor.fetchall()


def refused(table: str, operation: str) -> None:
    expected = f"table {table} is append-only: {operation} refused"
    with pytest.raises(DatabaseError, match=expected), transaction.atomic(), connection.cursor() as cursor:
        # Fire the pending (deferred) foreign-key checks of this transaction's inserts first, so
        # that TRUNCATE meets the trigger rather than "pending trigger events".
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(STATEMENTS[operation].format(table=table))


def assert_superuser():
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        assert cursor.fetchone() == (True,)  # privileges would not stop this role: the trigger does


@pytest.mark.postgres
@pytest.mark.parametrize("operation", list(STATEMENTS))
@pytest.mark.parametrize("table", ["voting_ballot", "voting_voterrollentry"])
def test_postgres_refuses_changing_the_vote_record_even_for_a_superuser(world, table, operation):
    cast_many(world, 3)
    assert_superuser()
    before = snapshot(table)
    assert len(before) == 3
    refused(table, operation)
    assert snapshot(table) == before
    assert_roll_matches_ballots()


@pytest.mark.postgres
def test_postgres_refuses_changing_a_committed_vote_record(transactional_db, official):
    """The same on committed rows, outside any test transaction (as an operator's psql would)."""
    cast_many(voting_world(official), 2)
    assert_superuser()
    for table in ("voting_ballot", "voting_voterrollentry"):
        before = snapshot(table)
        for operation in STATEMENTS:
            refused(table, operation)
        assert snapshot(table) == before
    assert_roll_matches_ballots()


@pytest.mark.postgres
def test_postgres_refuses_changing_one_ballot_by_id(world):
    (ballot_id,) = cast_many(world, 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE voting_ballot SET choices = '[\"A-03\"]' WHERE id = %s", [ballot_id])
    assert StoredBallot.objects.get(pk=ballot_id).choices == ["A-01"]


# --- insert-only, in the models (every database) -------------------------------------------------------------
def test_the_orm_refuses_changing_ballots_and_roll_entries(world):
    cast_many(world, 2)
    ballot, entry = StoredBallot.objects.first(), VoterRollEntry.objects.first()
    ballot.choices = ["A-03"]
    for attempt in (
        ballot.save,
        ballot.delete,
        entry.save,
        entry.delete,
        lambda: StoredBallot.objects.update(channel="paper"),
        lambda: StoredBallot.objects.all().delete(),
        lambda: VoterRollEntry.objects.filter(pk=entry.pk).update(site="elsewhere"),
        lambda: VoterRollEntry.objects.all().delete(),
    ):
        with pytest.raises(TypeError):
            attempt()
    assert StoredBallot.objects.count() == VoterRollEntry.objects.count() == 2
    assert sorted(StoredBallot.objects.values_list("choices", flat=True)) == [["A-01"], ["A-02"]]
    assert_roll_matches_ballots()


# --- the record's writers (voting/services/record.py) -----------------------------------------------------
def a_ballot(world) -> StoredBallot:
    (ballot_id,) = cast_many(world, 1)
    return StoredBallot.objects.get(pk=ballot_id)


def roll_values(world, key: str, district: str = "A") -> dict:
    return {
        "cycle": world.cycle,
        "district": world.district(district),
        "identity_key": key,
        "channel": "online",
        "verification": "account",
        "site": "",
        "language": "en",
        "voted_on": date(2031, 5, 1),
    }


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        (VoidReason.SUPERSEDED, "superseded by the voter's later ballot"),
        (VoidReason.PROVISIONAL_REJECTED, "provisional ballot rejected"),
    ],
)
def test_a_void_of_a_fixed_kind_gets_its_fixed_words_and_one_void_per_ballot(world, kind, words):
    """The words are ballots.csv's format: written as they always were, whatever the language."""
    ballot = a_ballot(world)
    with translation.override("es"):
        void = record.ballot_void_insert(ballot_id=ballot.pk, kind=kind)
    stored = BallotVoid.objects.get()
    assert stored == void and (stored.ballot_id, stored.kind, stored.reason) == (ballot.pk, kind, words)
    # A second void of the same ballot inserts nothing (the transaction stays usable).
    assert record.ballot_void_insert(ballot_id=ballot.pk, kind=VoidReason.OFFICIAL, reason="again") is None
    assert list(BallotVoid.objects.values_list("kind", "reason")) == [(kind, words)]


def test_an_officials_void_keeps_the_officials_words_and_needs_them(world):
    ballot = a_ballot(world)
    with pytest.raises(ValueError, match="official's reason"):
        record.ballot_void_insert(ballot_id=ballot.pk, kind=VoidReason.OFFICIAL)
    with pytest.raises(ValueError, match="fixed words"):
        record.ballot_void_insert(ballot_id=ballot.pk, kind=VoidReason.SUPERSEDED, reason="my own words")
    assert not BallotVoid.objects.exists()
    record.ballot_void_insert(ballot_id=ballot.pk, kind=VoidReason.OFFICIAL, reason="keyed twice", actor_id=7)
    assert list(BallotVoid.objects.values_list("kind", "reason", "actor_id")) == [("official", "keyed twice", 7)]


@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "superseded", "reason": "keyed twice"},
        {"kind": "official", "reason": ""},
        {"kind": "other", "reason": "x"},
    ],
)
def test_the_database_refuses_a_void_whose_kind_and_words_disagree(world, fields):
    ballot = a_ballot(world)
    with pytest.raises(IntegrityError), transaction.atomic():
        BallotVoid.objects.create(ballot=ballot, **fields)
    assert not BallotVoid.objects.exists()


def test_a_roll_entry_is_refused_by_either_unique_constraint_and_nothing_is_inserted(world):
    first = record.roll_entry_insert(**roll_values(world, "person"))
    assert VoterRollEntry.objects.get().pk == first
    assert record.roll_entry_insert(**roll_values(world, "person")) is None  # same district
    assert record.roll_entry_insert(**roll_values(world, "person", district="B")) is None  # another ward
    assert VoterRollEntry.objects.count() == 1
    assert record.roll_entry_insert(**roll_values(world, "someone else")) is not None  # the transaction goes on


def test_ballots_without_a_voter_are_stored_in_the_order_given_with_their_sources(world):
    district = world.district("A")
    rows = [record.BallotRow(choices=["A-02"], source_voter_id="v-9"), record.BallotRow(choices=["A-01"], points=[3])]
    assert record.ballots_insert(district=district, channel="import", rows=rows) == 2
    stored = list(StoredBallot.objects.values_list("channel", "choices", "points", "receipt_hash", "source__voter_id"))
    assert sorted(stored, key=str) == sorted(
        [("import", ["A-02"], None, None, "v-9"), ("import", ["A-01"], [3], None, None)], key=str
    )
    keys = ["paper-1", "paper-2"]
    inserted = record.roll_entries_insert(
        cycle=world.cycle,
        district=district,
        channel="import",
        verification="import",
        identity_keys=keys,
        voted_on=date(2031, 5, 1),
    )
    assert inserted == 2
    assert sorted(VoterRollEntry.objects.values_list("identity_key", "scope", "site", "language")) == [
        ("paper-1", "ward", "", ""),
        ("paper-2", "ward", "", ""),
    ]


WRITERS = {
    "ballot_insert": lambda w: record.ballot_insert(
        district=w.district("A"), channel="online", choices=["A-01"], points=None, receipt_hash=None
    ),
    "ballots_insert": lambda w: record.ballots_insert(
        district=w.district("A"), channel="paper", rows=[record.BallotRow(choices=["A-01"])]
    ),
    "roll_entry_insert": lambda w: record.roll_entry_insert(**roll_values(w, "person")),
    "roll_entries_insert": lambda w: record.roll_entries_insert(
        cycle=w.cycle,
        district=w.district("A"),
        channel="paper",
        verification="paper",
        identity_keys=["k"],
        voted_on=date(2031, 5, 1),
    ),
    "ballot_void_insert": lambda w: record.ballot_void_insert(ballot_id=uuid.uuid4(), kind=VoidReason.SUPERSEDED),
    "roll_keys_erase": lambda w: record.roll_keys_erase(cycle=w.cycle),
}


@pytest.mark.parametrize("writer", list(WRITERS))
def test_every_writer_refuses_to_run_outside_a_transaction(transactional_db, official, writer):
    """A ballot and its roll entry are committed together or not at all: a writer called on its
    own (autocommit) would commit one without the other, so it refuses and writes nothing."""
    world = voting_world(official)
    with pytest.raises(TransactionManagementError):
        WRITERS[writer](world)
    assert (StoredBallot.objects.count(), VoterRollEntry.objects.count(), BallotVoid.objects.count()) == (0, 0, 0)


# --- nothing else writes the record: a static reading of the source ----------------------------------------
ROOT = Path(__file__).resolve().parents[2]


def test_nothing_but_voting_record_writes_the_vote_record():
    writes = record_writes.record_writes_in(ROOT)
    assert not writes, "only voting/services/record.py writes the vote record; found:\n" + "\n".join(map(str, writes))


def test_the_reading_covers_the_callers_and_sees_the_owners_own_writes():
    """The check reads the modules that store ballots, and reading the owner finds every kind of
    write it makes — so an empty result above means no writes, not nothing read."""
    read = {p.relative_to(ROOT).as_posix() for p in record_writes.production_modules(ROOT)}
    assert {
        "voting/services/cast.py",
        "voting/services/paper.py",
        "voting/services/review.py",
        "audit/services.py",
    } <= read
    assert not {p for p in read if "/tests/" in p or "/migrations/" in p or p == record_writes.OWNER}
    owner = record_writes.record_writes((ROOT / record_writes.OWNER).read_text(), record_writes.OWNER)
    whats = {w.what for w in owner}
    assert {"SQL writes voting_ballot", "SQL writes voting_voterrollentry", "SQL writes voting_ballotvoid"} <= whats
    assert {
        "constructs Ballot",
        "constructs BallotSource",
        "constructs VoterRollEntry",
        "constructs BallotVoid",
    } <= whats
    assert {"Ballot.objects.bulk_create()", "VoterRollEntry.objects.create()", "void.save()"} <= whats


VIOLATIONS = """
import voting.models
import voting.models as vm
from django.apps import apps
from django.db import connection

from pbverify.rules.base import Ballot as TallyBallot
from voting import methods, models
from voting.models import Ballot, BallotDesign
from voting.models import BallotVoid as Void
from voting.models import VoterRollEntry


def writes(district, cycle, ballot_id):
    Ballot.objects.create(district=district)  # write
    Ballot(district=district).save()  # write
    VoterRollEntry.objects.bulk_create([])  # write
    Void.objects.get_or_create(ballot_id=ballot_id)  # write
    models.BallotSource.objects.update_or_create(ballot_id=ballot_id)  # write
    voting.models.Ballot.objects.filter(district=district).delete()  # write
    vm.VoterRollEntry._base_manager.filter(cycle=cycle).update(site="")  # write
    district.ballots.create(channel="online")  # write
    cycle.roll_entries.all().delete()  # write
    void = Void.objects.get(ballot_id=ballot_id)
    void.reason = "changed"
    void.save(update_fields=["reason"])  # write
    queryset = Ballot.objects.filter(district=district)
    rows = queryset.exclude(channel="paper")
    rows.update(channel="online")  # write
    for entry in VoterRollEntry.objects.filter(cycle=cycle):
        entry.delete()  # write
    model = apps.get_model("voting", "BallotVoid")
    model.objects.create(ballot_id=ballot_id)  # write
    apps.get_model("voting.Ballot").objects.bulk_create([])  # write
    Ballot.objects.get(pk=ballot_id).void.delete()  # write
    make = lambda: VoterRollEntry(cycle=cycle)  # write
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO voting_ballot (id) VALUES (%s)", [ballot_id])  # write
        cursor.execute(f"UPDATE voting_voterrollentry SET site = '' WHERE cycle_id = {cycle.pk}")  # write
        cursor.execute("DELETE FROM " + "voting_ballotvoid")  # write
        cursor.execute("truncate voting_ballotsource")  # write
        cursor.execute("COPY voting_ballot (id) FROM STDIN")  # write


def enclosing(district):
    ballots = Ballot.objects.filter(district=district)

    def nested():
        ballots.delete()  # write

    return nested


def reads_and_look_alikes(district, cycle, design):
    Ballot.objects.filter(district=district).count()
    VoterRollEntry.objects.filter(cycle=cycle).exists()
    list(Void.objects.select_related("ballot").values_list("reason", flat=True))
    methods.Ballot(choices=("A-01",))
    TallyBallot(("A-01",))
    BallotDesign.objects.create(district=district)
    design.save()
    ballots = {}  # a name that is a queryset in another function
    ballots.update(a=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM voting_ballot WHERE district_id = %s", [district.pk])
        cursor.execute("UPDATE voting_ballotdesign SET shuffle = false")
        cursor.execute("COPY (SELECT id FROM voting_ballot) TO STDOUT")
"""

VIOLATIONS_INSIDE_VOTING = """
from .methods import Ballot
from .models import Ballot as Stored
from . import models as m


def cast(district):
    Ballot(choices=("A-01",))
    Stored.objects.create(district=district)  # write
    m.VoterRollEntry.objects.create(district=district)  # write
"""


# The same from a module of a package one level down, where ``..`` is the app.
VIOLATIONS_INSIDE_A_PACKAGE = (
    VIOLATIONS_INSIDE_VOTING.replace("from .methods", "from ..methods")
    .replace("from .models", "from ..models")
    .replace("from . import models", "from .. import models")
)


@pytest.mark.parametrize(
    ("source", "path"),
    [
        (VIOLATIONS, "budgets/elsewhere.py"),
        (VIOLATIONS_INSIDE_VOTING, "voting/elsewhere.py"),
        (VIOLATIONS_INSIDE_A_PACKAGE, "voting/services/elsewhere.py"),
    ],
)
def test_the_reading_reports_each_write_by_line_and_leaves_reads_and_look_alikes(source, path):
    marked = {n for n, line in enumerate(source.splitlines(), start=1) if line.endswith("# write")}
    writes = record_writes.record_writes(source, path)
    assert {w.line for w in writes} == marked
    assert all(w.path == path for w in writes)
    assert str(writes[0]).startswith(f"{path}:{writes[0].line}: ")
