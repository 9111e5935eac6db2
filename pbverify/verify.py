"""Checking an audit bundle using nothing but the bundle (``python -m pbverify BUNDLE.zip``, or
``python manage.py pb_verify BUNDLE.zip`` on a machine with the platform).

No database and no Django: an auditor runs this on their own machine with nothing but Python, so a
fault in the platform that wrote the bundle cannot hide in the tool that checks it — the recount
uses this package's Pabulib parser and rules (``pbverify.pabulib``, ``pbverify.rules``), the chain
check ``pbverify.chain``, and the bundle's names and constants are ``pbverify.bundle``'s.
docs/audit-bundle.md describes every check.

The checks, in order; each stops at its first mismatch and names it (the ballot, project, district
or event), and the report lists them all:

1. manifest — the bundle holds exactly the manifest's files, each with its SHA-256 and size;
2. design — the frozen ballot designs hash to their published fingerprint;
3. ballots — ``ballots.csv`` is well formed and sorted, and its counted (non-void) rows are, district
   by district and row by row, the ``.pb`` file's votes: same ids, same choices, same points;
4. turnout — the voter roll's count (``turnout.json``) equals the ballots per district and channel
   (less the ballots a voter replaced, in a cycle that lets voters change their ballot: one roll
   entry, the superseded ballots voided with ``VOID_REASON_SUPERSEDED``);
5. tally — each district's ``.pb`` re-counted with the manifest's rule gives, project by project,
   the vote totals and the selected set of the run in ``tally_runs.json`` (and its output hash);
6. audit log — the hash chain of ``audit_log.jsonl`` is intact (in a public record, over the
   published events and the links of the withheld ones, none of them of this cycle), and it
   records the certification of the published results;
7. paper — every reconciled paper batch balances (issued = valid + invalid + spoiled).
"""

import csv
import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .bundle import BALLOTS_HEADER, FIXED_FILES, FORMAT, MANIFEST, VOID_REASON_SUPERSEDED
from .chain import chain_verify, merged_event
from .pabulib import PbFormatError, pb_parse
from .rules import Election, RuleNotApplicable, outcome_to_json, tally


class Mismatch(Exception):
    """The first thing found wrong by one check (its message names it)."""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class VerifyReport:
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((check for check in self.checks if not check.ok), None)

    def lines(self) -> list[str]:
        """The report as both command lines print it: one line per check, then the notes."""
        checks = [f"{'ok  ' if check.ok else 'FAIL'} {check.name}: {check.detail}" for check in self.checks]
        return checks + [f"note {note}" for note in self.notes]

    def verdict(self, bundle: Path | str) -> str:
        """The closing line: the first failure, or that every check passed."""
        failure = self.first_failure
        if failure is not None:
            return f"Verification failed at {failure.name}: {failure.detail}"
        return f"The bundle {bundle} is consistent: every check passed."


class _Bundle:
    """The opened zip and what several checks share."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.names = set(archive.namelist())
        self.manifest: dict = {}
        self.design: dict = {}

    def read(self, name: str) -> bytes:
        if name not in self.names:
            raise Mismatch(f"the bundle has no {name}")
        return self.archive.read(name)

    def json(self, name: str):
        try:
            return json.loads(self.read(name).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Mismatch(f"{name} is not valid JSON: {exc}") from exc

    def text(self, name: str) -> io.TextIOWrapper:
        if name not in self.names:
            raise Mismatch(f"the bundle has no {name}")
        return io.TextIOWrapper(self.archive.open(name), encoding="utf-8-sig", newline="")

    @property
    def districts(self) -> list[dict]:
        return list(self.manifest.get("districts") or [])

    @property
    def public(self) -> bool:
        return self.manifest.get("variant") == "public"


# --- 1. manifest -------------------------------------------------------------------------------------
def _check_manifest(bundle: _Bundle) -> str:
    manifest = bundle.json(MANIFEST)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise Mismatch(f"manifest.json is not a {FORMAT} manifest")
    bundle.manifest = manifest
    files = manifest.get("files") or {}
    expected = set(FIXED_FILES) | {d.get("file") for d in bundle.districts}
    missing_in_manifest = sorted(expected - set(files))
    if missing_in_manifest:
        raise Mismatch(f"manifest.json does not list {missing_in_manifest[0]}")
    extra = sorted(bundle.names - set(files) - {MANIFEST})
    if extra:
        raise Mismatch(f"{extra[0]} is in the bundle but not in the manifest")
    for name in sorted(files):
        if name not in bundle.names:
            raise Mismatch(f"{name} is listed in the manifest but missing from the bundle")
        digest, size = hashlib.sha256(), 0
        with bundle.archive.open(name) as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                digest.update(block)
                size += len(block)
        if digest.hexdigest() != files[name].get("sha256"):
            raise Mismatch(
                f"{name}: SHA-256 {digest.hexdigest()} does not match the manifest's {files[name].get('sha256')}"
            )
        if size != files[name].get("bytes"):
            raise Mismatch(f"{name}: {size} bytes, the manifest says {files[name].get('bytes')}")
    for district in bundle.districts:
        if files[district["file"]]["sha256"] != district.get("input_hash"):
            raise Mismatch(
                f"district {district['code']}: the manifest's input hash is not the hash of {district['file']}"
            )
    return f"{len(files)} files, every SHA-256 matches"


# --- 2. design ---------------------------------------------------------------------------------------
def _check_design(bundle: _Bundle) -> str:
    design = bundle.json("design.json")
    bundle.design = design
    canonical, fingerprint = design.get("canonical"), design.get("fingerprint")
    if canonical is None:
        return "no frozen ballot design (voting never opened)"
    actual = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    if actual != fingerprint:
        raise Mismatch(f"the frozen ballot designs hash to {actual}, not to the published fingerprint {fingerprint}")
    return f"frozen designs match fingerprint {fingerprint}"


def _pb_ids(bundle: _Bundle) -> dict[str, dict[str, str | None]]:
    """district → project code → its id in the .pb (None for a withdrawn project: not on the .pb)."""
    ids: dict[str, dict[str, str | None]] = {}
    for district in bundle.design.get("districts") or []:
        ids[district["code"]] = {
            p["code"]: (None if p.get("withdrawn") else p.get("pb_id") or p["code"]) for p in district["projects"]
        }
    return ids


# --- 3. ballots.csv against the .pb files --------------------------------------------------------------
def _pb_votes(bundle: _Bundle, name: str) -> tuple[dict[str, str], Iterator[list[str]]]:
    """The META of a .pb (as a dict) and an iterator over its VOTES rows, streamed."""
    reader = csv.reader(bundle.text(name), delimiter=";")
    meta: dict[str, str] = {}
    section = None
    for row in reader:
        if len(row) == 1 and row[0] in ("META", "PROJECTS", "VOTES"):
            section = row[0]
            next(reader, None)  # the section's header row
            if section == "VOTES":
                break
            continue
        if section == "META" and len(row) >= 2:
            meta[row[0]] = row[1]
    else:
        raise Mismatch(f"{name} has no VOTES section")
    return meta, (row for row in reader if row)


def _split(text: str) -> list[str]:
    return [item for item in (text or "").split(",") if item != ""]


def _vote_key(vote_type: str, ids: list[str], points: list[str]):
    """What a ballot means, independent of the order a file writes it in."""
    if vote_type == "ordinal":
        return tuple(ids)
    if vote_type == "cumulative":
        try:
            return tuple(sorted(zip(ids, (Decimal(p) for p in points), strict=True)))
        except (ValueError, InvalidOperation):
            return ("unreadable points", tuple(ids), tuple(points))
    return tuple(sorted(ids))


def _check_ballots(bundle: _Bundle) -> str:
    pb_ids = _pb_ids(bundle)
    files = {d["code"]: d["file"] for d in bundle.districts}
    streams = {code: _pb_votes(bundle, name) for code, name in files.items()}
    rows = csv.reader(bundle.text("ballots.csv"))
    header = next(rows, None)
    if header != BALLOTS_HEADER:
        raise Mismatch(f"ballots.csv: the header is {header}, expected {BALLOTS_HEADER}")
    previous: tuple[bytes, bytes] | None = None
    total = 0
    for line, row in enumerate(rows, start=2):
        if len(row) != len(BALLOTS_HEADER):
            raise Mismatch(f"ballots.csv line {line}: {len(row)} fields, expected {len(BALLOTS_HEADER)}")
        ballot_id, code, channel, choices, points, receipt, voided, _reason = row
        key = (ballot_id.encode("utf-8"), code.encode("utf-8"))
        if previous is not None and key <= previous:
            raise Mismatch(f"ballots.csv line {line}: ballot {ballot_id} is out of order (or repeated)")
        previous = key
        if voided not in ("true", "false"):
            raise Mismatch(f"ballots.csv line {line}: voided must be true or false, not {voided!r}")
        if bundle.public and receipt:
            raise Mismatch(f"ballots.csv line {line}: the public record carries a receipt hash (ballot {ballot_id})")
        total += 1
        if voided == "true":
            continue
        if code not in streams:
            raise Mismatch(f"ballot {ballot_id}: district {code} has no .pb file in the bundle")
        meta, votes = streams[code]
        vote = next(votes, None)
        if vote is None:
            raise Mismatch(
                f"ballot {ballot_id} (district {code}) is counted in ballots.csv but missing from {files[code]}"
            )
        if vote[0] != ballot_id:
            raise Mismatch(
                f"ballot {ballot_id} (district {code}): ballots.csv and {files[code]} disagree on the next ballot "
                f"({files[code]} has {vote[0]})"
            )
        mapping = pb_ids.get(code, {})
        unknown = [c for c in _split(choices) if c not in mapping]
        if unknown:
            raise Mismatch(f"ballot {ballot_id} (district {code}): project {unknown[0]} is not on the ballot")
        kept = [
            (mapping[c], p)
            for c, p in zip(_split(choices), _split(points) or [None] * len(_split(choices)), strict=False)
            if mapping[c] is not None
        ]
        vote_type = meta.get("vote_type", "approval")
        ours = _vote_key(vote_type, [k for k, _p in kept], [p for _k, p in kept if p is not None])
        theirs = _vote_key(
            vote_type, _split(vote[1] if len(vote) > 1 else ""), _split(vote[2] if len(vote) > 2 else "")
        )
        if ours != theirs:
            raise Mismatch(
                f"ballot {ballot_id} (district {code}): ballots.csv says {choices or '(none)'}"
                f"{' / ' + points if points else ''}, {files[code]} says {vote[1] if len(vote) > 1 else '(none)'}"
                f"{' / ' + vote[2] if len(vote) > 2 and vote[2] else ''}"
            )
    for code, (_meta, votes) in streams.items():
        extra = next(votes, None)
        if extra is not None:
            raise Mismatch(f"ballot {extra[0]} is in {files[code]} but not counted in ballots.csv (district {code})")
    if total != bundle.manifest.get("ballots"):
        raise Mismatch(f"ballots.csv has {total} ballots, the manifest says {bundle.manifest.get('ballots')}")
    return f"{total} ballots; the counted ones match the .pb files row by row"


# --- 5. the recount ----------------------------------------------------------------------------------
def _totals(output) -> dict[str, str]:
    """Every project's vote total from a tally output (``pbverify.rules.outcome_to_json``: amounts are
    exact strings, so they are compared as written)."""
    votes = (output or {}).get("votes") or {}
    return {str(pid): str(value) for pid, value in votes.items()}


def _check_tally(bundle: _Bundle, report: VerifyReport) -> str:
    runs = bundle.json("tally_runs.json").get("runs") or []
    checked = []
    for district in bundle.districts:
        code, rule = district["code"], district["rule"]
        data = bundle.read(district["file"])
        input_hash = hashlib.sha256(data).hexdigest()
        try:
            output = outcome_to_json(tally(Election.from_pb(pb_parse(data)), rule))
        except (PbFormatError, RuleNotApplicable, ValueError) as exc:
            raise Mismatch(f"district {code}: {district['file']} cannot be re-counted with {rule}: {exc}") from exc
        recount = json.loads(output)
        candidates = [
            r
            for r in runs
            if r.get("district") == code
            and r.get("rule") == rule
            and r.get("input_hash") == input_hash
            and r.get("status") == "done"
        ]
        if district.get("certified"):
            candidates = [r for r in candidates if r.get("id") == district.get("run")]
            if not candidates:
                raise Mismatch(
                    f"district {code}: tally_runs.json has no certified run {district.get('run')} "
                    f"({rule} on {district['file']})"
                )
        if not candidates:
            report.notes.append(
                f"district {code}: no {rule} run on this input yet; the recount selects "
                f"{', '.join(recount.get('selected', [])) or 'nothing'}"
            )
            continue
        run = candidates[0]
        theirs, ours = _totals(run.get("output")), _totals(recount)
        for pid in sorted(set(theirs) | set(ours)):
            if theirs.get(pid) != ours.get(pid):
                raise Mismatch(
                    f"district {code}, project {pid}: the recount gives {ours.get(pid)} votes, "
                    f"tally_runs.json says {theirs.get(pid)}"
                )
        selected_theirs = set((run.get("output") or {}).get("selected", []))
        selected_ours = set(recount.get("selected", []))
        if selected_theirs != selected_ours:
            pid = sorted(selected_theirs ^ selected_ours)[0]
            raise Mismatch(
                f"district {code}, project {pid}: "
                f"{'selected' if pid in selected_ours else 'not selected'} by the recount, "
                f"{'selected' if pid in selected_theirs else 'not selected'} in tally_runs.json"
            )
        output_hash = hashlib.sha256(output).hexdigest()
        if output_hash != run.get("output_hash"):
            raise Mismatch(
                f"district {code}: the recount's output hash {output_hash} is not the run's {run.get('output_hash')}"
            )
        if district.get("certified") and district.get("output_hash") != output_hash:
            raise Mismatch(f"district {code}: the manifest's result hash is not the recount's")
        checked.append(f"{code} ({rule}: {len(selected_ours)} selected)")
    return "re-counted " + (", ".join(checked) if checked else "nothing")


# --- 6. the audit log ----------------------------------------------------------------------------------
def _events(bundle: _Bundle) -> Iterator[dict]:
    for number, line in enumerate(bundle.text("audit_log.jsonl"), start=1):
        if line.strip():
            try:
                yield json.loads(line)
            except json.JSONDecodeError as exc:
                raise Mismatch(f"audit_log.jsonl line {number} is not JSON") from exc


def _check_audit_log(bundle: _Bundle) -> str:
    events: list[dict] = []
    cycle_id = (bundle.manifest.get("cycle") or {}).get("id")
    published: list[tuple[str, str]] = []

    def remember(stream):
        for line in stream:
            event = merged_event(line) if isinstance(line, dict) else {}
            if event.get("object_type") in ("cycle", "district", "project") and event.get("action") in (
                "results.certify",
                "project.withdraw",
            ):
                events.append(event)
            yield line

    report = chain_verify(remember(_events(bundle)), public_cycle=cycle_id if bundle.public else None)
    if not report.ok:
        raise Mismatch(
            f"audit log: the chain breaks at event {report.broken_id}: {report.problem} "
            f"({report.checked} events before it are intact)"
        )
    for district in bundle.districts:
        if district.get("certified"):
            published.append((district["input_hash"], district["output_hash"]))
    recorded = set()
    for event in events:
        after = event.get("after") or {}
        if event.get("action") == "results.certify" and str(event.get("object_id")) == str(cycle_id):
            recorded |= {(v.get("input_hash"), v.get("output_hash")) for v in after.values() if isinstance(v, dict)}
        elif event.get("action") == "project.withdraw":
            recorded.add((after.get("input_hash"), after.get("output_hash")))
    for district in bundle.districts:
        if district.get("certified") and (district["input_hash"], district["output_hash"]) not in recorded:
            raise Mismatch(
                f"audit log: no certification or revision event records district {district['code']}'s result"
            )
    detail = f"{report.checked} events, chain intact"
    if report.erased:
        detail += f" ({report.erased} with their withheld values erased by the archive: body and link checked)"
    if bundle.public:
        detail += (
            f" ({report.withheld} of other cycles or not public: their links checked; "
            f"{report.link_only} older events with their content left out: links checked)"
        )
    return detail


# --- 4. turnout, 7. paper ------------------------------------------------------------------------------
def _ballot_counts(bundle: _Bundle) -> dict[str, dict]:
    counts: dict[str, dict] = {}
    rows = csv.reader(bundle.text("ballots.csv"))
    next(rows, None)
    for row in rows:
        if len(row) < 3:
            continue
        if len(row) >= 8 and row[6] == "true" and row[7] == VOID_REASON_SUPERSEDED:
            continue  # replaced by the same voter's later ballot: the roll counts that voter once
        group = counts.setdefault(row[1], {"rows": 0, "by_channel": {}})
        group["rows"] += 1
        group["by_channel"][row[2]] = group["by_channel"].get(row[2], 0) + 1
    return counts


def _check_turnout(bundle: _Bundle) -> str:
    counts = _ballot_counts(bundle)
    turnout = bundle.json("turnout.json")
    roll = {d["district"]: d for d in turnout.get("districts") or []}
    for code in sorted(set(roll) | set(counts)):
        voters = (roll.get(code) or {}).get("voters", 0)
        ballots = (counts.get(code) or {}).get("rows", 0)
        if voters != ballots:
            raise Mismatch(
                f"district {code}: the voter roll counts {voters} voters, ballots.csv has {ballots} ballots"
                " (not counting replaced ones)"
            )
        by_roll = {k: v for k, v in ((roll.get(code) or {}).get("by_channel") or {}).items() if v}
        by_ballots = (counts.get(code) or {}).get("by_channel", {})
        for channel in sorted(set(by_roll) | set(by_ballots)):
            if by_roll.get(channel, 0) != by_ballots.get(channel, 0):
                raise Mismatch(
                    f"district {code}, channel {channel}: the voter roll counts {by_roll.get(channel, 0)}, "
                    f"ballots.csv has {by_ballots.get(channel, 0)}"
                )
    return f"{turnout.get('total', 0)} voters on the roll = ballots, per district and channel"


def _check_paper(bundle: _Bundle) -> str:
    batches = bundle.json("paper.json").get("batches") or []
    for batch in batches:
        reconciled = batch.get("status") == "reconciled"
        if reconciled and batch["issued"] != batch["valid"] + batch["invalid"] + batch["spoiled"]:
            raise Mismatch(
                f"paper batch {batch.get('id')} ({batch.get('label')}): issued {batch['issued']} ≠ "
                f"valid {batch['valid']} + invalid {batch['invalid']} + spoiled {batch['spoiled']}"
            )
    return f"{len(batches)} paper batches"


# --- all of it --------------------------------------------------------------------------------------------
def bundle_verify(path: Path | str) -> VerifyReport:
    """Run every check on the bundle at ``path`` (see the module docstring). Never raises for a bad
    bundle: the report says what failed."""
    report = VerifyReport()
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        report.checks.append(Check("manifest", False, f"not a readable zip file: {exc}"))
        return report
    with archive:
        bundle = _Bundle(archive)

        def run(name, func, *args):
            try:
                report.checks.append(Check(name, True, func(*args)))
            except Mismatch as exc:
                report.checks.append(Check(name, False, str(exc)))
            except (KeyError, TypeError, ValueError, AttributeError, csv.Error) as exc:  # a malformed file
                report.checks.append(Check(name, False, f"malformed bundle ({type(exc).__name__}: {exc})"))

        run("manifest", _check_manifest, bundle)
        if not bundle.manifest:
            return report
        run("design", _check_design, bundle)
        run("ballots", _check_ballots, bundle)
        run("turnout", _check_turnout, bundle)
        run("tally", _check_tally, bundle, report)
        run("audit log", _check_audit_log, bundle)
        run("paper", _check_paper, bundle)
    return report
