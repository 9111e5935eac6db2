"""Pabulib `.pb` files: a strict parser and a deterministic writer.

Pure functions: no Django, no database. The format is described in pbverify/tests/data/pabulib/FORMAT.md.

The parser refuses every structural fault with the line where it was found (`PbFormatError`), because
an imported election that was silently repaired would tally differently from the file it came from.
Ballots that merely break a META limit (min_length, max_sum_points, …) are real historical data:
they are kept and counted in `limit_violations`.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = ["PbElection", "PbFormatError", "VOTE_TYPES", "VoteRows", "pb_parse", "pb_write"]

VOTE_TYPES = ("approval", "choose-1", "cumulative", "ordinal", "scoring")
# Knapsack ballots are approval ballots with a cost cap; some tools name them apart.
_VOTE_TYPE_ALIASES = {"knapsack": "approval"}
_SECTIONS = ("meta", "projects", "votes")
_BOM = b"\xef\xbb\xbf"
# Plain decimal numbers; a comma as decimal point is legacy but accepted (pabutools does the same).
_NUMBER = re.compile(r"-?\d+(?:[.,]\d+)?")
_LENGTH_LIMITS = ("min_length", "max_length")
_COST_LIMITS = ("min_sum_cost", "max_sum_cost")
_POINT_LIMITS = ("min_points", "max_points", "min_sum_points", "max_sum_points")
# Whitespace other than a line end (what str.strip() would remove): in ASCII, and anywhere.
_ASCII_SPACE_BUT_NEWLINE = (" ", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f")
_SPACE_BUT_NEWLINE = re.compile(r"[^\S\n]")


class PbFormatError(ValueError):
    """A structural fault in a `.pb` file; `str()` reads like "line 12: duplicate project id '5'"."""

    def __init__(self, line: int, reason: str):
        self.line = line
        self.reason = reason
        super().__init__(f"line {line}: {reason}")


class VoteRows(Sequence):
    """The VOTES rows as {column: text} dicts, in file order, each made when it is read: a tally needs only the
    ballots, and a dict per row is a good part of the time it takes to parse a large file."""

    def __init__(self, columns: list[str], rows: list[list[str]]):
        self._columns = columns
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [dict(zip(self._columns, row, strict=True)) for row in self._rows[index]]
        return dict(zip(self._columns, self._rows[index], strict=True))

    def __iter__(self):
        columns = self._columns
        return (dict(zip(columns, row, strict=True)) for row in self._rows)

    def __eq__(self, other) -> bool:
        if isinstance(other, VoteRows | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"VoteRows({list(self)!r})"


@dataclass
class PbElection:
    """One parsed `.pb` file. Raw rows keep every column as text, in file order; the rest is derived."""

    meta: dict[str, str]
    projects: dict[str, dict[str, str]]
    project_columns: list[str]
    votes: VoteRows  # a sequence of {column: text}, one per VOTES row
    vote_columns: list[str]
    vote_type: str
    budget: Decimal
    costs: dict[str, Decimal]
    limit_violations: int
    # Each `vote` cell split into project ids, and (cumulative/scoring) its points, in file order.
    ballots: list[tuple[str, ...]] = field(default_factory=list, repr=False)
    ballot_points: list[tuple[Decimal, ...]] | None = field(default=None, repr=False)


@dataclass
class _Section:
    name: str
    line: int
    header: list[str] | None = None
    header_line: int = 0
    rows: list[tuple[int, list[str]]] = field(default_factory=list)
    plain: bool = False  # no quote, no whitespace in any row (see _plain_rows)


def _number(text: str) -> Decimal | None:
    if not _NUMBER.fullmatch(text):
        return None
    return Decimal(text.replace(",", "."))


def _split_cells(line: str, number: int) -> list[str]:
    if '"' not in line:
        return [cell.strip() for cell in line.split(";")]
    try:
        row = next(csv.reader([line], delimiter=";", skipinitialspace=True, strict=True))
    except csv.Error as exc:
        raise PbFormatError(number, f"badly quoted field ({exc})") from None
    return [cell.strip() for cell in row]


def _decode(data: bytes) -> str:
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PbFormatError(data.count(b"\n", 0, exc.start) + 1, "the file is not UTF-8 text") from None


def _sections(text: str) -> tuple[dict[str, _Section], int]:
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    found: dict[str, _Section] = {}
    current: _Section | None = None
    for number, raw in enumerate(lines, 1):
        # Only a short line, or one with space at an end, can be blank or a section name ("META", "VOTES").
        if len(raw) <= 8 or raw[0].isspace() or raw[-1].isspace():
            stripped = raw.strip()
            if not stripped:
                continue
            lowered = stripped.lower()
        else:
            lowered = ""
        if lowered in _SECTIONS:
            if current is not None and current.header is None:
                raise PbFormatError(current.line, f"missing header row in section {current.name.upper()}")
            if lowered in found:
                raise PbFormatError(number, f"section {lowered.upper()} appears twice")
            expected = _SECTIONS[len(found)]
            if lowered != expected:
                raise PbFormatError(number, f"missing section {expected.upper()} before section {lowered.upper()}")
            current = found[lowered] = _Section(lowered, number)
            continue
        if current is None:
            raise PbFormatError(number, f"expected section META, found {raw.strip()[:40]!r}")
        cells = _split_cells(raw, number)
        if current.header is None:
            current.header, current.header_line = cells, number
            if current.name == "votes" and (rows := _plain_rows(text, lines, number)) is not None:
                current.rows, current.plain = rows, True
                break
        else:
            current.rows.append((number, cells))
    end = len(lines)
    if current is not None and current.header is None:
        raise PbFormatError(current.line, f"missing header row in section {current.name.upper()}")
    for name in _SECTIONS:
        if name not in found:
            raise PbFormatError(end, f"missing section {name.upper()}")
    return found, end


def _plain_rows(text: str, lines: list[str], header: int) -> list[tuple[int, list[str]]] | None:
    """The rows after line ``header`` (the VOTES header: the last section), split in one sweep when none of them
    can be anything but a plain row — no quote, no whitespace but the line ends, no section name — which is
    what the loop in ``_sections`` would make of them; otherwise None, and the loop goes on line by line.
    Nearly every file is plain, and its VOTES section is nearly all of it."""
    start = sum(len(line) for line in lines[:header]) + header  # the offset of line header + 1
    rest = text[start:]
    if '"' in rest:
        return None
    if rest.isascii():
        if any(space in rest for space in _ASCII_SPACE_BUT_NEWLINE):
            return None
    elif _SPACE_BUT_NEWLINE.search(rest):
        return None
    block = lines[header:]
    if any(len(line) <= 8 and line.lower() in _SECTIONS for line in block):
        return None
    return [(number, line.split(";")) for number, line in enumerate(block, header + 1) if line]


def _columns(section: _Section, required: Iterable[str]) -> list[str]:
    header = section.header or []
    seen: set[str] = set()
    for column in header:
        if not column:
            raise PbFormatError(section.header_line, f"empty column name in the {section.name.upper()} header")
        if column in seen:
            raise PbFormatError(
                section.header_line, f"duplicate column {column!r} in the {section.name.upper()} header"
            )
        seen.add(column)
    for column in required:
        if column not in seen:
            raise PbFormatError(section.header_line, f"missing column {column!r} in the {section.name.upper()} header")
    return list(header)


def _check_width(number: int, cells: list[str], width: int) -> None:
    if len(cells) != width:
        raise PbFormatError(number, f"expected {width} fields, found {len(cells)}")


def _parse_meta(section: _Section) -> tuple[dict[str, str], dict[str, int]]:
    if [cell.lower() for cell in section.header or []] != ["key", "value"]:
        raise PbFormatError(section.header_line, "the META header must be 'key;value'")
    meta: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, cells in section.rows:
        _check_width(number, cells, 2)
        key, value = cells
        if not key:
            raise PbFormatError(number, "empty META key")
        if key in meta:
            raise PbFormatError(number, f"duplicate META key {key!r}")
        meta[key] = value
        lines[key] = number
    return meta, lines


def _meta_number(meta: dict[str, str], lines: dict[str, int], key: str, *, whole: bool = False) -> Decimal | None:
    if key not in meta:
        return None
    value = _number(meta[key])
    if value is None or (whole and value != value.to_integral_value()):
        kind = "a whole number" if whole else "a number"
        raise PbFormatError(lines[key], f"{key} is not {kind}: {meta[key]!r}")
    return value


def _parse_projects(section: _Section) -> tuple[list[str], dict[str, dict[str, str]], dict[str, Decimal]]:
    columns = _columns(section, ("project_id", "cost"))
    width = len(columns)
    projects: dict[str, dict[str, str]] = {}
    costs: dict[str, Decimal] = {}
    for number, cells in section.rows:
        _check_width(number, cells, width)
        row = dict(zip(columns, cells, strict=True))
        project_id = row["project_id"]
        if not project_id:
            raise PbFormatError(number, "missing project id")
        if project_id in projects:
            raise PbFormatError(number, f"duplicate project id {project_id!r}")
        text = row["cost"]
        if not text or text.lower() == "none":
            raise PbFormatError(number, f"missing cost for project {project_id!r}")
        cost = _number(text)
        if cost is None:
            raise PbFormatError(number, f"cost of project {project_id!r} is not a number: {text!r}")
        if cost < 0:
            raise PbFormatError(number, f"negative cost for project {project_id!r}: {text}")
        projects[project_id] = row
        costs[project_id] = cost
    return columns, projects, costs


def pb_parse(data: bytes) -> PbElection:
    """Parse a `.pb` file. Accepts a UTF-8 BOM and CRLF line ends; raises `PbFormatError` on a structural fault."""
    text = _decode(data)
    sections, _end = _sections(text)
    meta_section = sections["meta"]
    meta, meta_lines = _parse_meta(meta_section)

    if "vote_type" not in meta:
        raise PbFormatError(meta_section.line, "missing vote_type in META")
    vote_type = _VOTE_TYPE_ALIASES.get(meta["vote_type"].lower(), meta["vote_type"].lower())
    if vote_type not in VOTE_TYPES:
        raise PbFormatError(meta_lines["vote_type"], f"unknown vote_type {meta['vote_type']!r}")
    if "budget" not in meta:
        raise PbFormatError(meta_section.line, "missing budget in META")
    budget = _meta_number(meta, meta_lines, "budget")
    if budget is None or budget < 0:
        raise PbFormatError(meta_lines["budget"], f"invalid budget: {meta['budget']!r}")
    limits = {
        key: value
        for key in (*_LENGTH_LIMITS, *_COST_LIMITS, *_POINT_LIMITS)
        # An empty or "None" limit is no limit (pabutools reads "None" as missing).
        if meta.get(key, "").lower() not in ("", "none") and (value := _meta_number(meta, meta_lines, key)) is not None
    }

    project_columns, projects, costs = _parse_projects(sections["projects"])
    declared = _meta_number(meta, meta_lines, "num_projects", whole=True)
    if declared is not None and declared != len(projects):
        raise PbFormatError(
            meta_lines["num_projects"], f"num_projects is {meta['num_projects']} but PROJECTS has {len(projects)} rows"
        )

    has_points = vote_type in ("cumulative", "scoring")
    votes_section = sections["votes"]
    vote_columns = _columns(votes_section, ("voter_id", "vote", "points") if has_points else ("voter_id", "vote"))
    width = len(vote_columns)
    vote_index = vote_columns.index("vote")
    voter_index = vote_columns.index("voter_id")
    points_index = vote_columns.index("points") if has_points else -1
    # Most files limit only the ballot length: checked inline, the general check is slower.
    length_only = limits.keys() <= set(_LENGTH_LIMITS)
    shortest = float(limits.get("min_length", 0))
    longest = float(limits.get("max_length", math.inf))
    project_ids = frozenset(projects)
    rows: list[list[str]] = []
    ballots: list[tuple[str, ...]] = []
    ballot_points: list[tuple[Decimal, ...]] | None = [] if has_points else None
    voters: set[str] = set()
    violations = 0
    plain = votes_section.plain  # no whitespace anywhere: nothing to strip
    for number, cells in votes_section.rows:
        if len(cells) != width:
            _check_width(number, cells, width)
        voter_id = cells[voter_index]
        if not voter_id:
            raise PbFormatError(number, "missing voter id")
        known = len(voters)
        voters.add(voter_id)
        if len(voters) == known:
            raise PbFormatError(number, f"duplicate voter id {voter_id!r}")
        cell = cells[vote_index]
        if cell:
            items = cell.split(",")
            ballot = tuple(items if plain or (" " not in cell and "\t" not in cell) else (i.strip() for i in items))
            unique = set(ballot)
            if len(unique) != len(ballot) or not unique <= project_ids:
                _vote_error(number, ballot, project_ids)
        else:
            ballot = ()
        points: tuple[Decimal, ...] | None = None
        if ballot_points is not None:
            points = _parse_points(number, cells[points_index], len(ballot))
            ballot_points.append(points)
        if length_only:
            if not shortest <= len(ballot) <= longest:
                violations += 1
        elif _breaks_limits(ballot, points, limits, costs):
            violations += 1
        rows.append(cells)
        ballots.append(ballot)
    votes = VoteRows(vote_columns, rows)

    declared = _meta_number(meta, meta_lines, "num_votes", whole=True)
    if declared is not None and declared != len(votes):
        raise PbFormatError(
            meta_lines["num_votes"], f"num_votes is {meta['num_votes']} but VOTES has {len(votes)} rows"
        )

    return PbElection(
        meta=meta,
        projects=projects,
        project_columns=project_columns,
        votes=votes,
        vote_columns=vote_columns,
        vote_type=vote_type,
        budget=budget,
        costs=costs,
        limit_violations=violations,
        ballots=ballots,
        ballot_points=ballot_points,
    )


def _vote_error(number: int, ballot: tuple[str, ...], project_ids: frozenset[str]) -> None:
    seen: set[str] = set()
    for project_id in ballot:
        if project_id in seen:
            raise PbFormatError(number, f"project {project_id!r} appears twice in one vote")
        seen.add(project_id)
        if project_id not in project_ids:
            if not project_id:
                raise PbFormatError(number, "empty project id in vote")
            raise PbFormatError(number, f"vote names unknown project {project_id!r}")


def _parse_points(number: int, cell: str, length: int) -> tuple[Decimal, ...]:
    items = [item.strip() for item in cell.split(",")] if cell else []
    if len(items) != length:
        raise PbFormatError(number, f"{len(items)} points for {length} projects in the vote")
    points = []
    for item in items:
        value = _number(item)
        if value is None:
            raise PbFormatError(number, f"points value is not a number: {item!r}")
        points.append(value)
    return tuple(points)


def _breaks_limits(
    ballot: tuple[str, ...],
    points: tuple[Decimal, ...] | None,
    limits: dict[str, Decimal],
    costs: dict[str, Decimal],
) -> bool:
    def outside(value: Decimal, low: str, high: str) -> bool:
        return (low in limits and value < limits[low]) or (high in limits and value > limits[high])

    if outside(Decimal(len(ballot)), *_LENGTH_LIMITS):
        return True
    if ("min_sum_cost" in limits or "max_sum_cost" in limits) and outside(
        sum((costs[p] for p in ballot), Decimal(0)), *_COST_LIMITS
    ):
        return True
    if points is not None:
        if any(outside(value, "min_points", "max_points") for value in points):
            return True
        if outside(sum(points, Decimal(0)), "min_sum_points", "max_sum_points"):
            return True
    return False


def _cell(value: object, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        raise ValueError(f"{where}: {value!r} is not text or a number")
    if isinstance(value, list | tuple):
        return ",".join(_cell(item, where) for item in value)
    if isinstance(value, Decimal):
        text = format(value, "f")
    elif isinstance(value, str | int):
        text = str(value)
    else:
        raise ValueError(f"{where}: {value!r} is not text or a number")
    if ";" in text or "\n" in text or "\r" in text:
        raise ValueError(f"{where}: {text!r} contains ';' or a line break")
    if text != text.strip():
        raise ValueError(f"{where}: {text!r} starts or ends with whitespace")
    if '"' in text:
        # Standard CSV quoting, which the parser reads back.
        text = '"' + text.replace('"', '""') + '"'
    return text


def _row(values: Sequence[object], where: str) -> str:
    return ";".join(_cell(value, where) for value in values)


def _table(rows: Sequence[Mapping[str, object]], columns: Sequence[str], section: str) -> list[str]:
    out = [_row(columns, f"{section} header")]
    known = set(columns)
    for index, row in enumerate(rows, 1):
        unknown = set(row) - known
        if unknown:
            raise ValueError(f"{section} row {index}: columns not in the header: {sorted(unknown)}")
        out.append(_row([row.get(column) for column in columns], f"{section} row {index}"))
    return out


def pb_write(
    *,
    meta: list[tuple[str, str]],
    projects: list[dict],
    project_columns: list[str],
    votes: list[dict],
    vote_columns: list[str],
) -> bytes:
    """Write a `.pb` file: byte-for-byte deterministic (the caller orders rows), UTF-8 without BOM, LF ends.

    Values may be text, int, Decimal or a list (written comma-separated). A value containing ';' or a
    line break, or starting/ending with whitespace, raises ValueError; so does content `pb_parse`
    would refuse (the file is parsed back before it is returned), so every written file reads back
    to the same content.
    """
    lines = ["META", "key;value"]
    lines.extend(_row(pair, f"META row {index}") for index, pair in enumerate(meta, 1))
    lines.append("PROJECTS")
    lines.extend(_table(projects, project_columns, "PROJECTS"))
    lines.append("VOTES")
    lines.extend(_table(votes, vote_columns, "VOTES"))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    try:
        pb_parse(data)
    except PbFormatError as exc:
        raise ValueError(f"the written file would not be valid: {exc}") from exc
    return data
