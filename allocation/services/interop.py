"""Pabulib interoperability: a district's deterministic ``.pb`` export (the tally's input) and the
import of a real election into a cycle in the counting phase.

The export is byte-for-byte deterministic: META keys in a fixed order, projects by id, ballots by
voter id (the ballot id; an imported ballot keeps its file's voter id), LF line ends, UTF-8. Its
SHA-256 is the tally's input hash. It streams: a million ballots are never held in memory.
"""

import csv
import hashlib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast, Coalesce, Collate
from django.utils import timezone
from django.utils.translation import gettext as _

from budgets.models import Cycle, District, district_code_validator
from budgets.phases import Capability, Phase
from budgets.selectors import cycle_voting_window
from core import times
from core.errors import ValidationFailed
from core.services import audit_record
from pbverify.pabulib import PbElection, pb_parse
from proposals.models import Project, ProjectText
from voting import crypto
from voting.methods import Method
from voting.models import Ballot, BallotDesign, BallotSource, BallotVoid, Channel
from voting.services import freeze_store, record

# Descriptive META keys an imported file keeps, written back by the export in this order.
DESCRIPTIVE_KEYS = ("description", "country", "unit", "instance", "subunit", "district", "date_begin", "date_end")
RULE_NAMES = {"greedy": "greedy", "mes": "equalshares/add1", "mes-greedy": "equalshares/add1+greedy"}
RULES_FROM_FILE = {
    "greedy": "greedy",
    "equalshares": "mes",
    "equalshares/add1": "mes",
    "equalshares/add1+greedy": "mes-greedy",
}
COUNTRY_CURRENCY = {
    "Poland": "PLN",
    "France": "EUR",
    "Netherlands": "EUR",
    "Switzerland": "CHF",
    "US": "USD",
    "USA": "USD",
    "United States": "USD",
}
IMPORT_BATCH = 5000


def amount_text(value: Decimal) -> str:
    """An amount as a .pb number: no exponent, no trailing zeros ("1234.5", "50000")."""
    return format(Decimal(value).normalize(), "f")


def _rows_bytes(rows: Iterable[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- export ------------------------------------------------------------------------------------------
def counted_districts(cycle: Cycle) -> list[District]:
    """The districts with a ballot (a design), in code order: the ones the tally counts."""
    return list(cycle.districts.filter(ballot_design__isnull=False).select_related("ballot_design").order_by("code"))


@dataclass(frozen=True)
class ExportProject:
    export_id: str
    code: str
    cost: Decimal
    name: str


def district_projects(district: District) -> list[ExportProject]:
    """The district's projects on the ballot (withdrawn ones left out), with the id the export and
    the tally use: the imported file's id, else the public code."""
    projects = []
    on_ballot = Project.objects.published().filter(district=district, withdrawn_at__isnull=True)
    for project in on_ballot.prefetch_related("texts"):
        text = project.text("en")
        name = " ".join((text.title if text else project.code).split())
        projects.append(ExportProject(project.external_id or project.code, project.code, project.cost, name))
    return sorted(projects, key=lambda p: p.export_id)


def _design_meta(district: District, design, projects: list[ExportProject]) -> list[tuple[str, str]]:
    method = Method(design.method) if design else Method.APPROVAL
    meta: list[tuple[str, str]] = []
    if method == Method.APPROVAL:
        if design and design.max_picks == 1 and design.min_picks == 1:
            return [("vote_type", "choose-1"), ("min_length", "1"), ("max_length", "1")]
        meta.append(("vote_type", "approval"))
        meta.append(("min_length", str(design.min_picks if design else 0)))
        meta.append(("max_length", str(design.max_picks if design and design.max_picks else len(projects))))
    elif method == Method.KNAPSACK:
        meta.append(("vote_type", "approval"))
        if design.min_spend_percent:
            minimum = (district.budget * design.min_spend_percent / 100).quantize(Decimal("0.01"))
            meta.append(("min_sum_cost", amount_text(minimum)))
        meta.append(("max_sum_cost", amount_text(district.budget)))
    elif method == Method.RANKED:
        meta.append(("vote_type", "ordinal"))
        meta.append(("min_length", str(design.min_picks)))
        meta.append(("max_length", str(design.max_picks or len(projects))))
    else:
        meta.append(("vote_type", "cumulative"))
        meta.append(("max_sum_points", str(design.points_total or 0)))
        if design.points_cap:
            meta.append(("max_points", str(design.points_cap)))
    return meta


def _native_description(district: District) -> list[tuple[str, str]]:
    cycle = district.cycle
    meta = [
        ("description", f"{cycle.name}: {district.name}"),
        ("country", ""),
        ("unit", cycle.name),
        ("instance", str((cycle.voting_open_at or cycle.created_at).year)),
        ("district", district.name),
    ]
    opened, closed = cycle_voting_window(cycle)
    if opened and closed:  # the days voting actually opened and closed, in the cycle's zone
        meta += [
            ("date_begin", f"{times.local_date(opened, cycle):%d.%m.%Y}"),
            ("date_end", f"{times.local_date(closed, cycle):%d.%m.%Y}"),
        ]
    return [(k, v) for k, v in meta if v]


def counted_ballots(district: District):
    """The district's counted ballots as (ballot id, source voter id or None, choices, points),
    sorted by the voter id the export writes (bytewise), streamed from the database: voided ones
    (including rejected provisional ballots) left out."""
    collation = "C" if connection.vendor == "postgresql" else "BINARY"
    # Sorting on the id's text is the same order on PostgreSQL (dashed) and SQLite (plain hex):
    # the dashes sit at fixed places.
    return (
        Ballot.objects.filter(district=district)
        .exclude(Exists(BallotVoid.objects.filter(ballot_id=OuterRef("pk"))))
        .annotate(
            sort_key=Collate(Coalesce("source__voter_id", Cast("id", CharField()), output_field=CharField()), collation)
        )
        .order_by("sort_key")
        .values_list("id", "source__voter_id", "choices", "points")
    )


def district_pb_write(district: District, out) -> None:
    """Write the district's ``.pb`` export to the binary stream ``out`` (see the module docstring)."""
    district = District.objects.select_related("cycle").get(pk=district.pk)
    design = BallotDesign.objects.filter(district=district).first()
    projects = district_projects(district)
    export_id = {p.code: p.export_id for p in projects}
    ballots = counted_ballots(district)
    num_votes = ballots.count()
    method = Method(design.method) if design else Method.APPROVAL

    meta: list[tuple[str, str]] = []
    source = district.source_meta or {}
    if source:
        meta += [(k, str(source[k])) for k in DESCRIPTIVE_KEYS if source.get(k) not in (None, "")]
    else:
        meta += _native_description(district)
    rule = design.allocation_rule if design else "greedy"
    meta += [
        ("num_projects", str(len(projects))),
        ("num_votes", str(num_votes)),
        ("budget", amount_text(district.budget)),
        ("rule", source.get("rule") or RULE_NAMES[rule]),
        ("currency", district.cycle.currency),
    ]
    meta += _design_meta(district, design, projects)
    out.write(b"META\n" + _rows_bytes([["key", "value"], *[[k, v] for k, v in meta]]))
    out.write(
        b"PROJECTS\n"
        + _rows_bytes([["project_id", "cost", "name"], *[[p.export_id, amount_text(p.cost), p.name] for p in projects]])
    )
    cumulative = method == Method.CUMULATIVE
    out.write(b"VOTES\n" + _rows_bytes([["voter_id", "vote", "points"] if cumulative else ["voter_id", "vote"]]))
    if _fast_votes(district, method, projects):
        _fast_vote_lines(district, out)
        return
    rows: list[list[str]] = []
    for ballot_id, source_id, choices, points in ballots.iterator(chunk_size=5000):
        voter_id = source_id if source_id is not None else str(ballot_id)  # a UUID in its dashed form
        kept = [
            (export_id[c], p) for c, p in zip(choices, points or [None] * len(choices), strict=True) if c in export_id
        ]
        if method in (Method.APPROVAL, Method.KNAPSACK):
            kept.sort(key=lambda item: item[0])
        elif cumulative:
            kept.sort(key=lambda item: (-item[1], item[0]))
        row = [str(voter_id), ",".join(k for k, _p in kept)]
        if cumulative:
            row.append(",".join(str(p) for _k, p in kept))
        rows.append(row)
        if len(rows) >= 5000:
            out.write(_rows_bytes(rows))
            rows = []
    if rows:
        out.write(_rows_bytes(rows))


# PostgreSQL writes the VOTES lines itself (COPY, straight into the output) where that gives the
# same bytes as the rows above: ids that need no CSV quoting (and no COPY escaping), every project
# exported under its own code, none withdrawn, and not cumulative. The choices are then the stored
# JSON list as text without brackets, quotes and spaces: every way in stores them in the export's
# order (``voting.services.record.canonical_order``: approval and knapsack sorted, ranked in ballot order;
# the import sorts approval files). A test compares both paths byte for byte.
_SAFE_ID = r"^[A-Za-z0-9_.-]+$"
_FAST_VOTES_SQL = """
SELECT COALESCE(s.voter_id, b.id::text) || ';' || translate(b.choices::text, '[]" ', '')
FROM voting_ballot b
LEFT JOIN voting_ballotsource s ON s.ballot_id = b.id
WHERE b.district_id = %s AND NOT EXISTS (SELECT 1 FROM voting_ballotvoid v WHERE v.ballot_id = b.id)
ORDER BY {order}
"""
# Without imported ids, the UUID's own order is its text's order (16 bytes compared as the 32 hex
# digits are): the (district, id) index gives it without a sort.
_ORDER_BY_KEY = 'COALESCE(s.voter_id, b.id::text) COLLATE "C"'
_ORDER_BY_ID = "b.id"


def _fast_votes(district: District, method, projects: list[ExportProject]) -> bool:
    if connection.vendor != "postgresql" or method == Method.CUMULATIVE or not FAST_VOTES:
        return False
    if any(p.export_id != p.code or not re.match(_SAFE_ID, p.code) for p in projects):
        return False
    if Project.objects.filter(district=district, withdrawn_at__isnull=False).exists():
        return False
    return not BallotSource.objects.filter(ballot__district=district).exclude(voter_id__regex=_SAFE_ID).exists()


def _fast_vote_lines(district: District, out) -> None:
    imported = BallotSource.objects.filter(ballot__district=district).exists()
    query = _FAST_VOTES_SQL.format(order=_ORDER_BY_KEY if imported else _ORDER_BY_ID)
    with connection.cursor() as cursor:
        sql = cursor.mogrify(query, [district.pk]).decode()
        cursor.copy_expert(f"COPY ({sql}) TO STDOUT", out)


FAST_VOTES = True  # tests turn it off to compare the two paths byte for byte


def district_pb_export(district: District) -> tuple[bytes, str]:
    """The whole export and its SHA-256 (the tally's input and input hash)."""
    buffer = io.BytesIO()
    district_pb_write(district, buffer)
    data = buffer.getvalue()
    return data, hashlib.sha256(data).hexdigest()


# --- import ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ImportResult:
    cycle: Cycle
    district: District
    projects: int
    ballots: int
    limit_violations: int


def _parse_date(text: str) -> date | None:
    for fmt in ("%d.%m.%Y", "%Y-%m-%d", "%Y"):
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except (ValueError, AttributeError):
            continue
    return None


def _currency(pb: PbElection) -> str:
    code = (pb.meta.get("currency") or "").strip().upper()
    if len(code) == 3 and code.isalpha():
        return code
    return COUNTRY_CURRENCY.get((pb.meta.get("country") or "").strip(), "XXX")


def _design_values(pb: PbElection, num_projects: int) -> dict:
    meta = pb.meta

    def number(key, default=None):
        try:
            return int(Decimal(meta[key]))
        except (KeyError, ArithmeticError, ValueError):
            return default

    kind = pb.vote_type
    rule = RULES_FROM_FILE.get((meta.get("rule") or "").strip(), "greedy")
    if kind == "choose-1":
        return {"method": "approval", "min_picks": 1, "max_picks": 1, "allocation_rule": rule}
    if kind == "approval":
        if "max_sum_cost" in meta or "min_sum_cost" in meta:
            budget = Decimal(pb.budget)
            minimum = Decimal(meta.get("min_sum_cost") or 0)
            percent = int(minimum * 100 / budget) if budget else 0
            return {
                "method": "knapsack",
                "min_picks": 0,
                "min_spend_percent": min(percent, 100),
                "allocation_rule": rule,
            }
        minimum = number("min_length", 0)
        maximum = number("max_length")
        return {
            "method": "approval",
            "min_picks": minimum,
            "max_picks": max(maximum, minimum) if maximum else None,
            "allocation_rule": rule,
        }
    if kind == "ordinal":
        minimum = number("min_length", 1)
        return {
            "method": "ranked",
            "min_picks": minimum,
            "max_picks": max(number("max_length", num_projects) or num_projects, minimum),
            "allocation_rule": rule if rule == "greedy" else "greedy",
        }
    if kind == "cumulative":
        return {
            "method": "cumulative",
            "min_picks": 0,
            "points_total": number("max_sum_points"),
            "points_cap": number("max_points"),
            "allocation_rule": rule,
        }
    raise ValidationFailed(_("Ballots of type “%(kind)s” are not supported.") % {"kind": kind})


def _project_code(project_id: str, taken: set[str], index: int) -> str:
    code = project_id
    if not code or len(code) > 32 or not all(ch.isalnum() or ch in "-_" for ch in code) or not code[0].isalnum():
        code = f"P{index:03d}"
    while code in taken:
        code = f"P{index:03d}-{len(taken)}"
    taken.add(code)
    return code


@transaction.atomic
def pabulib_import(*, data: bytes, name: str, cycle_slug: str | None = None, district_code: str | None = None):
    """Create (or extend) a cycle in the counting phase with one district for the file: its
    projects, its votes as anonymous ballots (channel ``import``) and one synthetic roll entry per
    ballot. A faulty file raises ``PbFormatError`` (line and reason) and nothing is imported."""
    pb = pb_parse(data)
    stem = Path(name).name.removesuffix(".pb")
    code = district_code or stem
    slug = cycle_slug or stem
    try:
        district_code_validator(code)
    except Exception as exc:  # django ValidationError
        raise ValidationFailed(_("“%(code)s” cannot be a district code: %(why)s") % {"code": code, "why": exc}) from exc

    cycle = Cycle.objects.select_for_update().filter(slug=slug).first()
    if cycle is None:
        title = " ".join(str(pb.meta.get(k) or "") for k in ("unit", "instance")).strip() or slug
        cycle = Cycle.objects.create(
            name=title[:200],
            slug=slug,
            currency=_currency(pb),
            phase=Phase.COUNTING,
            description=str(pb.meta.get("description") or "")[:2000],
        )
        audit_record(
            actor=None,
            action="cycle.import",
            object_type="cycle",
            object_id=cycle.pk,
            after={"slug": slug, "phase": Phase.COUNTING.value},
        )
    elif not cycle.allows(Capability.CERTIFY_RESULTS):
        raise ValidationFailed(
            _("Cycle “%(slug)s” is not in the counting phase; files can only be added then.") % {"slug": slug}
        )
    if District.objects.filter(cycle=cycle, code=code).exists():
        raise ValidationFailed(_("Cycle “%(slug)s” already has a district “%(code)s”.") % {"slug": slug, "code": code})

    source_meta = {k: str(v) for k, v in pb.meta.items() if k in (*DESCRIPTIVE_KEYS, "rule")}
    label = str(pb.meta.get("district") or pb.meta.get("subunit") or code)
    district = District.objects.create(
        cycle=cycle,
        code=code,
        name=label[:120],
        kind=District.Kind.WARD,
        budget=Decimal(pb.budget),
        source_meta=source_meta,
    )
    BallotDesign.objects.create(district=district, shuffle=False, **_design_values(pb, len(pb.projects)))

    taken = set(Project.objects.filter(cycle=cycle).values_list("code", flat=True))
    code_of: dict[str, str] = {}
    projects = []
    for index, project_id in enumerate(pb.projects, start=1):
        code_of[project_id] = _project_code(project_id, taken, index)
        projects.append(
            Project(
                cycle=cycle,
                district=district,
                code=code_of[project_id],
                external_id=project_id,
                cost=Decimal(pb.costs[project_id]),
            )
        )
    Project.objects.bulk_create(projects)
    ProjectText.objects.bulk_create(
        ProjectText(
            project=p,
            language="en",
            title=(" ".join((pb.projects[p.external_id].get("name") or "").split()) or p.external_id)[:150],
        )
        for p in projects
    )

    voted_on = _parse_date(str(pb.meta.get("date_end") or "")) or times.local_date(timezone.now(), cycle)
    cumulative = pb.vote_type == "cumulative"
    count = 0
    batch_ballots, batch_roll = [], []

    def flush() -> None:  # one synthetic roll entry per ballot
        record.ballots_insert(district=district, channel=Channel.IMPORT, rows=batch_ballots)
        record.roll_entries_insert(
            cycle=cycle,
            district=district,
            channel=Channel.IMPORT,
            verification="import",
            identity_keys=batch_roll,
            voted_on=voted_on,
        )
        batch_ballots.clear()
        batch_roll.clear()

    points_of = pb.ballot_points or [None] * len(pb.ballots)
    for vote, ids, raw_points in zip(pb.votes, pb.ballots, points_of, strict=True):
        points = [int(p) for p in raw_points] if cumulative and raw_points is not None else None
        choices = [code_of[i] for i in ids]
        if pb.vote_type in ("approval", "choose-1"):
            choices.sort()
        batch_ballots.append(record.BallotRow(choices=choices, points=points, source_voter_id=vote["voter_id"]))
        batch_roll.append(crypto.keyed_hash("import", f"{district.pk}:{vote['voter_id']}"))
        count += 1
        if len(batch_ballots) >= IMPORT_BATCH:
            flush()
    flush()

    freeze_store(cycle=cycle, actor=None)
    audit_record(
        actor=None,
        action="district.import",
        object_type="district",
        object_id=district.pk,
        after={
            "cycle": slug,
            "district": code,
            "projects": len(projects),
            "ballots": count,
            "file_sha256": hashlib.sha256(data).hexdigest(),
        },
    )
    return ImportResult(cycle, district, len(projects), count, pb.limit_violations)
