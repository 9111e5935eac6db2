"""The audit bundle: one zip per cycle with everything needed to re-count and check the election
without trusting the platform (the format is documented in docs/audit-bundle.md).

Files, written in this order: ``ballots.csv``, one ``<district>.pb`` per district with a ballot,
``design.json``, ``tally_runs.json``, ``turnout.json``, ``paper.json``, ``audit_log.jsonl`` and last
``manifest.json`` (the SHA-256 of every other file).

Memory stays flat: each file is streamed into its zip entry and the ballots are never all held at
once — on PostgreSQL ``ballots.csv`` is PostgreSQL's own ``COPY … TO STDOUT WITH CSV`` streamed into
the zip (elsewhere a cursor read ``FETCH`` rows at a time), and each ``.pb`` is the streamed export of
``allocation.services.interop``. On PostgreSQL, when called outside a transaction, the whole
bundle is read in one REPEATABLE READ READ ONLY transaction, so every file describes the same moment
(a void committed half-way cannot make ``ballots.csv`` and the ``.pb`` files disagree).

Two variants. The **auditor** bundle carries the receipt hashes (an auditor settles a voter's
complaint with them). The **public** record keeps the ``receipt_hash`` column but leaves it empty (a
code pointing at a public row of choices would let a voter prove their vote to a buyer), merges every
district × channel group with fewer ballots than ``settings.PB_SMALL_CELL`` into the channel
``other`` (in ``ballots.csv`` and ``turnout.json`` alike), withholds the sheet-by-sheet keying of small
paper batches, and publishes of the audit log only this cycle's events without the parts the public
may not see (staff's internal notes, residents' account ids, client IPs: ``core.audit_policy``),
every other event (other cycles', refusals recorded before they left the log) as its link only —
the chain still checks over all of it (``pbverify.chain``).
"""

import csv
import hashlib
import io
import json
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from allocation.models import DistrictResult, TallyRun
from allocation.services import district_result, interop
from allocation.services.interop import counted_districts
from budgets.models import Cycle
from core.models import AuditEvent
from core.selectors import audit_event_export, audit_event_public
from core.small_cells import OTHER, merge_small
from pbverify.bundle import BALLOTS_HEADER, FORMAT, MANIFEST
from pbverify.canonical import canonical_bytes, format_time, sha256_hex, to_jsonable
from proposals.models import Project
from voting.models import Ballot, BallotFreeze, BallotSource
from voting.selectors import roll_groups
from voting.services import district_design_document, paper

FETCH = 10_000  # rows per round trip of the server-side cursor
COMPRESSION = zipfile.ZIP_DEFLATED
COMPRESS_LEVEL = 1  # fast: the bundle is written once per request, and level 6 gains little on CSV

Progress = Callable[[str, int], None]  # progress(stage, percent)


def _no_progress(stage: str, percent: int) -> None:
    return None


# --- small-cell protection (core.small_cells) ---------------------------------------------------------
def _merged_counts(counts: dict[str, int], mapping: dict[str, str]) -> dict[str, int]:
    result: dict[str, int] = {}
    for label, n in counts.items():
        key = mapping.get(label, label)
        result[key] = result.get(key, 0) + n
    return dict(sorted(result.items()))


# --- streaming into the zip ------------------------------------------------------------------------
class _HashingWriter(io.RawIOBase):
    """A zip entry's write stream that also counts its bytes and hashes them (and tells
    ``on_write``, for progress)."""

    def __init__(self, raw, on_write=None):
        self._raw = raw
        self._on_write = on_write
        self.digest = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        data = bytes(data)
        self._raw.write(data)
        self.digest.update(data)
        self.size += len(data)
        if self._on_write is not None:
            self._on_write(data)
        return len(data)


@dataclass
class _Writer:
    archive: zipfile.ZipFile
    files: dict[str, dict] = field(default_factory=dict)

    @contextmanager
    def open(self, name: str, on_write=None) -> Iterator[io.BufferedWriter]:
        """A buffered binary stream into the zip entry ``name``; its SHA-256 and size are recorded
        when the block ends."""
        info = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
        info.compress_type = COMPRESSION
        info.external_attr = 0o644 << 16  # readable files once unpacked (the default is owner-only)
        if hasattr(info, "compress_level"):  # Python ≥ 3.13
            info.compress_level = COMPRESS_LEVEL
        else:
            info._compresslevel = COMPRESS_LEVEL
        with self.archive.open(info, "w", force_zip64=True) as raw:
            hashing = _HashingWriter(raw, on_write)
            buffered = io.BufferedWriter(hashing, buffer_size=1 << 16)
            yield buffered
            buffered.flush()
        self.files[name] = {"sha256": hashing.digest.hexdigest(), "bytes": hashing.size}

    def entry(self, name: str, chunks: Iterable[bytes]) -> None:
        with self.open(name) as out:
            for chunk in chunks:
                out.write(chunk)


def _json_bytes(document) -> bytes:
    """Readable JSON (indented, sorted keys, UTF-8): what an auditor opens in an editor."""
    return (json.dumps(to_jsonable(document), indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


# --- the ballots -------------------------------------------------------------------------------------
# PostgreSQL writes ballots.csv itself: COPY … TO STDOUT WITH CSV, streamed into the zip entry (no row
# passes through Python objects). Empty fields are NULL (written as nothing), never '' (which COPY
# would write as ""), so the file reads the same as one Python's csv module writes.
_BALLOTS_COPY_PG = """
COPY (
SELECT COALESCE(s.voter_id, b.id::text), d.code, {channel},
       (SELECT string_agg(e.value, ',' ORDER BY e.n)
          FROM jsonb_array_elements_text(b.choices) WITH ORDINALITY AS e(value, n)),
       CASE WHEN jsonb_typeof(b.points) = 'array' THEN
            (SELECT string_agg(p.value, ',' ORDER BY p.n)
               FROM jsonb_array_elements_text(b.points) WITH ORDINALITY AS p(value, n)) END,
       {receipt}, CASE WHEN v.id IS NULL THEN 'false' ELSE 'true' END, NULLIF(v.reason, '')
FROM voting_ballot b
JOIN budgets_district d ON d.id = b.district_id
LEFT JOIN voting_ballotsource s ON s.ballot_id = b.id
LEFT JOIN voting_ballotvoid v ON v.ballot_id = b.id
WHERE d.cycle_id = %s
ORDER BY {order}
) TO STDOUT WITH (FORMAT csv)
"""
# Native ballot ids are UUIDs, whose text order is their byte order: the primary key's own order.
_ORDER_BY_ID_PG = 'b.id, d.code COLLATE "C"'
_ORDER_BY_KEY_PG = 'COALESCE(s.voter_id, b.id::text) COLLATE "C", d.code COLLATE "C"'

_BALLOTS_SQL_SQLITE = """
SELECT s.voter_id, b.id AS ballot_id, d.code, b.channel, b.choices, b.points,
       b.receipt_hash, v.id IS NOT NULL AS voided, v.reason
FROM voting_ballot b
JOIN budgets_district d ON d.id = b.district_id
LEFT JOIN voting_ballotsource s ON s.ballot_id = b.id
LEFT JOIN voting_ballotvoid v ON v.ballot_id = b.id
WHERE d.cycle_id = %s
ORDER BY COALESCE(s.voter_id, b.id) COLLATE BINARY, d.code COLLATE BINARY
"""


def _list_text(value) -> str | None:
    if value is None:
        return None
    items = json.loads(value) if isinstance(value, str) else value
    if items is None:
        return None
    return ",".join(str(item) for item in items)


def ballot_batches(cycle: Cycle) -> Iterator[list[tuple]]:
    """SQLite: every ballot of the cycle as ballots.csv rows (ballot_id, district, channel, choices,
    points, receipt_hash, voided, void_reason; None for an empty field), sorted by ballot id
    (bytewise), then district code, ``FETCH`` rows at a time. (PostgreSQL: ``_ballots_copy``.)"""
    with connection.chunked_cursor() as cursor:
        cursor.execute(_BALLOTS_SQL_SQLITE, [cycle.pk])
        while rows := cursor.fetchmany(FETCH):
            # SQLite keeps a UUID as plain hex: written dashed, as PostgreSQL and the .pb write it.
            yield [
                (
                    source if source is not None else str(uuid.UUID(ballot_id)),
                    code,
                    channel,
                    _list_text(choices),
                    _list_text(points),
                    receipt or None,
                    "true" if voided else "false",
                    reason or None,
                )
                for source, ballot_id, code, channel, choices, points, receipt, voided, reason in rows
            ]


def _ballots_rows(cycle: Cycle, out, *, public: bool, channel_map: dict, total: int, progress: Progress) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    done = 0
    for rows in ballot_batches(cycle):
        if public:
            rows = [
                (row[0], row[1], channel_map.get(row[1], {}).get(row[2], OTHER), row[3], row[4], None, *row[6:])
                for row in rows
            ]
        writer.writerows(rows)
        out.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        done += len(rows)
        progress("ballots.csv", _percent(done, total, 0, 45))


def _ballots_copy(cycle: Cycle, out, *, public: bool, channel_map: dict) -> None:
    """PostgreSQL: ballots.csv's rows by COPY, in the order ``.pb`` files use (see ``_ORDER_BY_*``).
    Public record: receipt hashes left out, and a (district, channel) not kept by the small-cell
    map published as ``other``."""
    imported = BallotSource.objects.filter(ballot__district__cycle=cycle).exists()
    params: list = []
    if public:
        kept = [
            (code, channel)
            for code, group in channel_map.items()
            for channel, label in group.items()
            if label == channel
        ]
        if kept:
            pairs = ", ".join(["(%s, %s)"] * len(kept))
            channel = f"CASE WHEN (d.code, b.channel) IN ({pairs}) THEN b.channel ELSE '{OTHER}' END"
            params += [value for pair in kept for value in pair]
        else:
            channel = f"'{OTHER}'"
        receipt = "NULL"
    else:
        channel, receipt = "b.channel", "NULLIF(b.receipt_hash, '')"
    sql = _BALLOTS_COPY_PG.format(
        channel=channel, receipt=receipt, order=_ORDER_BY_KEY_PG if imported else _ORDER_BY_ID_PG
    )
    with connection.cursor() as cursor:
        cursor.copy_expert(cursor.mogrify(sql, [*params, cycle.pk]).decode(), out)


def _write_ballots(
    writer: "_Writer", cycle: Cycle, *, public: bool, channel_map: dict, total: int, progress: Progress
) -> None:
    lines = [0]

    def on_write(data: bytes) -> None:  # progress from the bytes going by (64 KiB at a time)
        lines[0] += data.count(b"\n")
        progress("ballots.csv", _percent(lines[0], total, 0, 45))

    postgres = connection.vendor == "postgresql"
    with writer.open("ballots.csv", on_write=on_write if postgres else None) as out:
        out.write((",".join(BALLOTS_HEADER) + "\n").encode("utf-8"))
        if postgres:
            _ballots_copy(cycle, out, public=public, channel_map=channel_map)
        else:
            _ballots_rows(cycle, out, public=public, channel_map=channel_map, total=total, progress=progress)


def _percent(done: int, total: int, start: int, end: int) -> int:
    if total <= 0:
        return end
    return start + int((end - start) * min(done, total) / total)


# --- the other files -----------------------------------------------------------------------------------
def _design_document(cycle: Cycle) -> dict:
    freeze = BallotFreeze.objects.filter(cycle=cycle).first()
    districts = []
    for district in cycle.districts.select_related("ballot_design").order_by("code"):
        design = getattr(district, "ballot_design", None)
        projects = Project.objects.published().filter(district=district).prefetch_related("texts").order_by("code")
        districts.append(
            {
                **district_design_document(district, design),
                "projects": [
                    {
                        "code": p.code,
                        "pb_id": p.external_id or p.code,
                        "cost": p.cost,
                        "title": p.title,
                        "withdrawn": p.withdrawn_at is not None,
                        "withdrawn_reason": p.withdrawn_reason,
                    }
                    for p in projects
                ],
            }
        )
    return {
        "cycle": cycle.slug,
        "currency": cycle.currency,
        "fingerprint": freeze.fingerprint if freeze else None,
        "frozen_at": freeze.frozen_at if freeze else None,
        # The exact text the fingerprint is the SHA-256 of (UTF-8).
        "canonical": freeze.canonical if freeze else None,
        "districts": districts,
    }


def _run_output(run: TallyRun):
    if not run.output:
        return None
    return json.loads(run.output)


def _tally_document(cycle: Cycle) -> dict:
    runs = TallyRun.objects.filter(cycle=cycle).select_related("district").order_by("district__code", "id")
    results = DistrictResult.objects.filter(district__cycle=cycle).select_related("district").order_by("id")
    return {
        "cycle": cycle.slug,
        "runs": [
            {
                "id": run.pk,
                "district": run.district.code,
                "rule": run.rule,
                "params": json.loads(run.params or "{}"),
                "input_hash": run.input_hash,
                "status": run.status,
                "ballots": run.ballots,
                "output": _run_output(run),
                "output_hash": run.output_hash,
                "started_at": run.started_at,
                "finished_at": run.finished_at,
            }
            for run in runs
        ],
        "results": [
            {
                "district": r.district.code,
                "run": r.run_id,
                "kind": r.kind,
                "reason": r.reason,
                "created_at": r.created_at,
            }
            for r in results
        ],
    }


def _roll_counts(cycle: Cycle) -> dict[str, dict]:
    codes = dict(cycle.districts.values_list("pk", "code"))
    per: dict[str, dict] = {}
    for district_id, voted_on, channel, site, _language, n in roll_groups(cycle):
        group = per.setdefault(codes[district_id], {"voters": 0, "by_channel": {}, "by_site": {}, "by_day": {}})
        for key, value in (("by_channel", channel), ("by_site", site), ("by_day", voted_on)):
            label = value.isoformat() if hasattr(value, "isoformat") else (value or "")
            group[key][label] = group[key].get(label, 0) + n
    for group in per.values():
        group["voters"] = sum(group["by_channel"].values())
    return per


def _turnout_document(cycle: Cycle, *, public: bool, channel_map: dict) -> dict:
    per = _roll_counts(cycle)
    threshold = settings.PB_SMALL_CELL
    districts = []
    for code in sorted(set(per) | {d.code for d in cycle.districts.all()}):
        group = per.get(code, {"voters": 0, "by_channel": {}, "by_site": {}, "by_day": {}})
        if public:
            group = {
                "voters": group["voters"],
                "by_channel": _merged_counts(group["by_channel"], channel_map.get(code, {})),
                "by_site": _merged_counts(group["by_site"], merge_small(group["by_site"], threshold)),
                "by_day": _merged_counts(group["by_day"], merge_small(group["by_day"], threshold)),
            }
        else:
            group = {k: (dict(sorted(v.items())) if isinstance(v, dict) else v) for k, v in group.items()}
        districts.append({"district": code, **group})
    return {
        "cycle": cycle.slug,
        "total": sum(d["voters"] for d in districts),
        "small_cell": threshold if public else None,
        "districts": districts,
    }


def _paper_document(cycle: Cycle, *, public: bool) -> dict:
    record = paper.paper_record(cycle)
    if public:
        threshold = settings.PB_SMALL_CELL
        for batch in record["batches"]:
            if (batch.get("valid") or 0) + (batch.get("invalid") or 0) < threshold:
                batch["sheets"] = None
                batch["sheets_withheld"] = True
                continue
            for sheet in batch["sheets"]:
                if sheet.get("resolution"):
                    # An official's free-text note stays with the auditors (as in the audit log).
                    sheet["resolution"].pop("note", None)
    return record


def _audit_lines(*, public: bool, cycle_id: int) -> Iterator[bytes]:
    """audit_log.jsonl: every event of the chain, in order. The auditors' copy carries each event
    whole (with its withheld values); the public record only this cycle's events, without what
    ``core.audit_policy`` withholds, and every other event as its link only (``pbverify.chain``)."""
    lines: list[bytes] = []
    for event in AuditEvent.objects.order_by("id").iterator(chunk_size=2000):
        exported = audit_event_public(event, cycle_id=cycle_id) if public else audit_event_export(event)
        lines.append(canonical_bytes(exported) + b"\n")
        if len(lines) >= 2000:
            yield b"".join(lines)
            lines = []
    yield b"".join(lines)


# --- the whole bundle --------------------------------------------------------------------------------
@dataclass(frozen=True)
class BundleInfo:
    path: Path
    sha256: str
    size: int
    ballots: int
    manifest: dict


def results_key(cycle: Cycle) -> str:
    """What a public record describes: the published run of each district (a revised result after a
    project is withdrawn makes a new key, so a new record)."""
    published = {d.code: (r.run_id if (r := district_result(d)) else None) for d in counted_districts(cycle)}
    return sha256_hex(canonical_bytes(published))


def _channel_maps(cycle: Cycle, *, public: bool) -> tuple[dict[str, dict[str, str]], dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for code, channel, n in (
        Ballot.objects.filter(district__cycle=cycle)
        .values_list("district__code", "channel")
        .annotate(n=Count("id"))
        .order_by()
    ):
        counts.setdefault(code, {})[channel] = n
    totals = {code: sum(group.values()) for code, group in counts.items()}
    if not public:
        return {code: {c: c for c in group} for code, group in counts.items()}, totals
    return {code: merge_small(group, settings.PB_SMALL_CELL) for code, group in counts.items()}, totals


def bundle_write(
    *, cycle: Cycle, out: Path | str, public: bool = False, progress: Progress | None = None
) -> BundleInfo:
    """Write the cycle's bundle to ``out`` (a path; the file is replaced). See the module docstring.
    On PostgreSQL outside a transaction, reads everything in one read-only snapshot."""
    progress = progress or _no_progress
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            return _bundle_write(cycle=cycle, out=Path(out), public=public, progress=progress)
    return _bundle_write(cycle=cycle, out=Path(out), public=public, progress=progress)


def _bundle_write(*, cycle: Cycle, out: Path, public: bool, progress: Progress) -> BundleInfo:
    cycle = Cycle.objects.get(pk=cycle.pk)
    districts = counted_districts(cycle)
    channel_map, totals = _channel_maps(cycle, public=public)
    total = sum(totals.values())
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", compression=COMPRESSION, compresslevel=COMPRESS_LEVEL) as archive:
        writer = _Writer(archive)
        progress("ballots.csv", 0)
        _write_ballots(writer, cycle, public=public, channel_map=channel_map, total=total, progress=progress)
        district_entries = []
        done = 0
        for district in districts:
            name = f"{district.code}.pb"
            progress(name, _percent(done, total, 45, 90))
            with writer.open(name) as stream:
                interop.district_pb_write(district, stream)
            done += totals.get(district.code, 0)
            published = district_result(district)
            district_entries.append(
                {
                    "code": district.code,
                    "name": district.name,
                    "file": name,
                    "input_hash": writer.files[name]["sha256"],
                    "rule": published.run.rule if published else district.ballot_design.allocation_rule,
                    "certified": published is not None,
                    "result": published.kind if published else None,
                    "run": published.run_id if published else None,
                    "output_hash": published.run.output_hash if published else None,
                }
            )
        progress("design.json", 90)
        writer.entry("design.json", [_json_bytes(_design_document(cycle))])
        writer.entry("tally_runs.json", [_json_bytes(_tally_document(cycle))])
        writer.entry("turnout.json", [_json_bytes(_turnout_document(cycle, public=public, channel_map=channel_map))])
        writer.entry("paper.json", [_json_bytes(_paper_document(cycle, public=public))])
        progress("audit_log.jsonl", 93)
        writer.entry("audit_log.jsonl", _audit_lines(public=public, cycle_id=cycle.pk))
        certified = all(d["certified"] for d in district_entries) and bool(district_entries)
        manifest = {
            "format": FORMAT,
            "variant": "public" if public else "auditor",
            "created_at": format_time(timezone.now()),
            "cycle": {
                "id": cycle.pk,
                "slug": cycle.slug,
                "name": cycle.name,
                "phase": cycle.phase,
                "currency": cycle.currency,
            },
            "small_cell": settings.PB_SMALL_CELL if public else None,
            "ballots": total,
            "districts": district_entries,
            "results_hash": sha256_hex(canonical_bytes({d["code"]: d["output_hash"] for d in district_entries}))
            if certified
            else None,
            "files": dict(writer.files),
        }
        progress(MANIFEST, 99)
        writer.entry(MANIFEST, [_json_bytes(manifest)])
    digest = hashlib.sha256()
    with open(out, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return BundleInfo(path=out, sha256=digest.hexdigest(), size=out.stat().st_size, ballots=total, manifest=manifest)
