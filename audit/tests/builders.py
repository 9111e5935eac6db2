"""Building audit state through the real services: ballots cast through ``ballot_cast``, voting
closed through the phase machine, tallied and certified through ``allocation.services``. Plus helpers to
open, change and re-seal a bundle the way someone tampering with it would."""

import hashlib
import io
import json
import zipfile
from datetime import date
from pathlib import Path

from django.db import connection, transaction

from budgets.phases import Phase
from budgets.services import cycle_transition
from core.db.append_only import _install_sql
from voting import methods, services
from voting.tests.builders import World, voter, voting_world


def cast(world: World, district: str, choices, *, key, channel: str = "online", **voter_kwargs) -> str:
    """Cast one ballot through the vote path; returns its receipt code."""
    result = services.ballot_cast(
        voter=voter(key, channel=channel, **voter_kwargs),
        district=world.district(district),
        ballot=methods.Ballot(choices=tuple(choices)),
    )
    return result.receipt_code


def close_voting(world: World) -> None:
    world.cycle = cycle_transition(
        actor=world.official, cycle=world.cycle, target=Phase.COUNTING, reason="Test: close."
    )


def certify(world: World) -> None:
    from allocation.services import cycle_certify, tally_cycle

    tally_cycle(cycle=world.cycle)
    world.cycle = cycle_certify(actor=world.official, cycle=world.cycle, reason="Test: certified.")


def results_world(official, *, ballots_a: int = 12, ballots_b: int = 11, kiosk_a: int = 0, certified=True) -> World:
    """Wards A and B with approval ballots (ward C has no projects): ``ballots_a`` online ballots in
    A (plus ``kiosk_a`` kiosk ones, with names and addresses), ``ballots_b`` in B; voting closed;
    tallied and certified with the declared rule (greedy) unless ``certified`` is False."""
    world = voting_world(official)
    codes = {"A": ["A-01", "A-02", "A-03"], "B": ["B-01", "B-02", "B-03"]}
    for n in range(ballots_a):
        cast(world, "A", codes["A"][: 1 + n % 3], key=f"a-{n}")
    for n in range(kiosk_a):
        checkin = {"site": "Library", "id_seen": "license"}
        cast(
            world,
            "A",
            [codes["A"][n % 3]],
            key=f"kiosk-{n}",
            channel="kiosk",
            name=f"Kiosk Voter {n}",
            address=f"{n} Kiosk Street",
            site="Library",
            checkin=checkin,
        )
    for n in range(ballots_b):
        cast(world, "B", codes["B"][n % 3 :][:2], key=f"b-{n}")
    close_voting(world)
    if certified:
        certify(world)
    return world


def public_id(ballot) -> str:
    """A native ballot's id as ballots.csv and the .pb write it: the UUID's dashed text, on
    PostgreSQL and SQLite alike."""
    return str(ballot.pk)


def person_details(n: int) -> dict:
    return {
        "name": f"Personal Name {n}",
        "email": f"personal{n}@example.org",
        "phone": f"+1201555{n:04d}",
        "address": f"{n} Secret Avenue",
        "born": date(1970, 1, 1 + n % 28),
    }


# --- tampering ------------------------------------------------------------------------------------------
def bundle_files(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def bundle_reseal(files: dict[str, bytes], out: Path) -> Path:
    """Write ``files`` as a bundle again, with a manifest rewritten to match their hashes (what a
    forger would do)."""
    manifest = json.loads(files["manifest.json"])
    for name, data in files.items():
        if name != "manifest.json":
            manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    for district in manifest["districts"]:
        district["input_hash"] = manifest["files"][district["file"]]["sha256"]
    files = {**files, "manifest.json": json.dumps(manifest, indent=2, sort_keys=True).encode()}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out


def csv_rows(data: bytes) -> list[list[str]]:
    import csv

    return list(csv.reader(io.StringIO(data.decode("utf-8"))))


def csv_bytes(rows: list[list[str]]) -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def behind_the_triggers(table: str, sql: str, params: list) -> None:
    """Change an append-only table as a superuser would: drop its trigger, change the row, put the
    trigger back (PostgreSQL; SQLite has no trigger to drop)."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER {table}_append_only_rows ON {table}")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute(_install_sql(table))
