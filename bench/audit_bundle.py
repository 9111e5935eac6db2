"""The audit bundle's speed and memory.

One run, on one database:
  1. loads the Jersey City demo up to counting, then adds ballots (and as many voter-roll entries)
     with COPY until the cycle holds ``--small`` ballots;
  2. measures, each in a fresh process: PostgreSQL's own
     ``COPY (SELECT ballot id, district, channel, choices and points aggregated in ballot order, …
     ORDER BY ballot id) TO STDOUT WITH CSV`` (rows/s), and ``bundle_write`` of the whole auditor
     bundle (rows/s over all its files, the ballots.csv part on its own, and peak memory);
  3. adds ballots up to ``--large``, runs the tally (each ward's declared rule) and certifies it, as
     officials would, and measures again: the large bundle carries the certified runs;
  4. with ``--verify``, runs pb_verify on the large bundle, which re-counts every ward and compares the
     recount with the certified run (a ward without a run to compare is a failure here).
Figures of merit: bundle rows/s ÷ COPY rows/s (target ≥ 0.5), and the growth of the bundle's peak
memory from the small to the large cycle (target < 50 MB: the ballots are never all in memory).

With ``--standalone``, after step 2 the cycle is tallied (each ward's declared rule), its bundle written
again, and ``python -m pbverify`` (the verifier on its own: no Django, no database) times every check of
it as a whole process, re-count included. ``--large 0`` stops after the small cycle.

Needs PostgreSQL on loopback. Usage:
    .venv/bin/python bench/audit_bundle.py [--small 100000] [--large 1000000] [--standalone] [--verify] [--keep]
It creates (and, unless --keep, drops) the database ``pbplatform_bench_audit``; results land in
``bench/results/audit_bundle.json``.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
DB = "pbplatform_bench_audit"
DB_URL = f"postgres://postgres@127.0.0.1:5432/{DB}"
SLUG = "jersey-city-demo"
RESULTS = ROOT / "bench" / "results" / "audit_bundle.json"

# The COPY the bundle is compared with: the same rows as ballots.csv, formatted by PostgreSQL.
COPY_SQL = """
COPY (
  SELECT COALESCE(s.voter_id, b.id::text), d.code, b.channel,
         (SELECT string_agg(e.value, ',' ORDER BY e.n)
            FROM jsonb_array_elements_text(b.choices) WITH ORDINALITY AS e(value, n)),
         CASE WHEN jsonb_typeof(b.points) = 'array' THEN
              (SELECT string_agg(p.value, ',' ORDER BY p.n)
                 FROM jsonb_array_elements_text(b.points) WITH ORDINALITY AS p(value, n)) END,
         b.receipt_hash, v.id IS NOT NULL, v.reason
  FROM voting_ballot b
  JOIN budgets_district d ON d.id = b.district_id
  LEFT JOIN voting_ballotsource s ON s.ballot_id = b.id
  LEFT JOIN voting_ballotvoid v ON v.ballot_id = b.id
  WHERE d.cycle_id = %s
  ORDER BY b.id
) TO STDOUT WITH CSV
"""


def env() -> dict:
    return {
        **os.environ,
        "DATABASE_URL": DB_URL,
        "DJANGO_SETTINGS_MODULE": "pbplatform.settings.local",
        "REDIS_URL": "",
        "PB_CELERY_EAGER": "true",
        "DJANGO_LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",
    }


def sh(*args, check=True):
    return subprocess.run(args, cwd=ROOT, env=env(), check=check, capture_output=True, text=True)


def child(mode: str, *extra) -> dict:
    """Run one measurement in a fresh process (so its peak memory is its own)."""
    result = sh(PY, str(Path(__file__).resolve()), "--child", mode, *extra)
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- inside a child process ------------------------------------------------------------------------
def _setup():
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def child_fill(target: int) -> dict:
    """Add ballots (approval choices that fit the ward's budget) and one roll entry each, with
    COPY, until the demo cycle holds ``target`` ballots."""
    _setup()
    import io
    import random
    import secrets
    import uuid
    from datetime import date

    from django.db import connection

    from budgets.models import Cycle
    from voting.models import Ballot

    cycle = Cycle.objects.get(slug=SLUG)
    have = Ballot.objects.filter(district__cycle=cycle).count()
    wards = [
        (d.pk, list(d.projects.order_by("code").values_list("code", flat=True)))
        for d in cycle.districts.order_by("code")
        if d.projects.exists()
    ]
    rng = random.Random(target)
    batch = 100_000
    started = time.perf_counter()
    raw = connection.cursor().connection  # psycopg2
    while have < target:
        n = min(batch, target - have)
        ballots, roll = io.StringIO(), io.StringIO()
        for _ in range(n):
            district, codes = wards[rng.randrange(len(wards))]
            picks = sorted(rng.sample(codes, rng.randint(1, min(3, len(codes)))))
            choices = json.dumps(picks).replace("\t", " ")
            ballots.write(f"{uuid.uuid4()}\t{district}\tonline\t{choices}\t\\N\t{secrets.token_hex(32)}\n")
            roll.write(f"{cycle.pk}\t{district}\tward\t{secrets.token_hex(32)}\tonline\tbench\t\t\t{date.today()}\n")
        ballots.seek(0)
        roll.seek(0)
        with raw.cursor() as cursor:
            cursor.copy_expert(
                "COPY voting_ballot (id, district_id, channel, choices, points, receipt_hash) FROM STDIN", ballots
            )
            cursor.copy_expert(
                "COPY voting_voterrollentry (cycle_id, district_id, scope, identity_key, channel, verification, "
                "site, language, voted_on) FROM STDIN",
                roll,
            )
        raw.commit()
        have += n
    with raw.cursor() as cursor:
        cursor.execute("ANALYZE voting_ballot")
        cursor.execute("ANALYZE voting_voterrollentry")
    raw.commit()
    return {"ballots": have, "seconds": round(time.perf_counter() - started, 1)}


class _Sink:
    """Counts what PostgreSQL's COPY sends (and throws it away)."""

    def __init__(self):
        self.bytes = 0

    def write(self, data):
        self.bytes += len(data)


def child_copy() -> dict:
    _setup()
    from django.db import connection

    from budgets.models import Cycle
    from voting.models import Ballot

    cycle = Cycle.objects.get(slug=SLUG)
    rows = Ballot.objects.filter(district__cycle=cycle).count()
    sink = _Sink()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.connection.cursor().copy_expert(cursor.mogrify(COPY_SQL, [cycle.pk]).decode(), sink)
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds), "bytes": sink.bytes}


def child_bundle(out: str) -> dict:
    _setup()
    from audit.bundle import bundle_write
    from budgets.models import Cycle

    cycle = Cycle.objects.get(slug=SLUG)
    before = _peak_mb()
    stages: dict[str, float] = {}
    started = time.perf_counter()

    def progress(stage, percent):
        stages.setdefault(stage, time.perf_counter() - started)

    info = bundle_write(cycle=cycle, out=out, progress=progress)
    seconds = time.perf_counter() - started
    after_csv = min(t for name, t in stages.items() if name.endswith(".pb"))
    return {
        "rows": info.ballots,
        "seconds": round(seconds, 3),
        "rows_per_s": round(info.ballots / seconds),
        "ballots_csv_seconds": round(after_csv, 3),
        "ballots_csv_rows_per_s": round(info.ballots / after_csv),
        "zip_bytes": info.size,
        "peak_mb_before": round(before, 1),
        "peak_mb": round(_peak_mb(), 1),
    }


def child_certify() -> dict:
    """The tally with each ward's declared rule, then certification, by the demo's official."""
    _setup()
    from accounts.models import User
    from accounts.roles import Role
    from allocation.services import cycle_certify, tally_cycle
    from budgets.models import Cycle

    cycle = Cycle.objects.get(slug=SLUG)
    official = User.objects.filter(groups__name=Role.OFFICIAL.value).order_by("pk").first()
    started = time.perf_counter()
    runs = tally_cycle(cycle=cycle, actor=official)
    tallied = time.perf_counter() - started
    cycle_certify(actor=official, cycle=cycle, reason="bench: certified")
    return {
        "runs": {run.district.code: run.rule for run in runs},
        "tally_seconds": round(tallied, 1),
        "certify_seconds": round(time.perf_counter() - started - tallied, 1),
    }


def child_tally() -> dict:
    """Tally every ward with its declared rule (what closing the vote sets off)."""
    _setup()
    from allocation.services import tally_cycle
    from budgets.models import Cycle

    started = time.perf_counter()
    runs = tally_cycle(cycle=Cycle.objects.get(slug=SLUG))
    return {
        "runs": len(runs),
        "rules": sorted({run.rule for run in runs}),
        "seconds": round(time.perf_counter() - started, 1),
    }


def standalone_verify(path: Path) -> dict:
    """``python -m pbverify BUNDLE`` as a whole process: wall and CPU time, peak memory, exit status."""
    with open(path.with_suffix(".verify.txt"), "w") as out:
        started = time.perf_counter()
        process = subprocess.Popen([PY, "-m", "pbverify", str(path)], cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
    report = path.with_suffix(".verify.txt").read_text()
    return {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_mb": round(usage.ru_maxrss / 1024, 1),
        "recount": next((line for line in report.splitlines() if " tally:" in line), ""),
        "last_line": report.strip().splitlines()[-1],
    }


def child_verify(path: str) -> dict:
    _setup()
    from pbverify.verify import bundle_verify

    started = time.perf_counter()
    report = bundle_verify(path)
    failure = report.first_failure
    tally = next((check.detail for check in report.checks if check.name == "tally"), None)
    return {
        "ok": report.ok,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_mb": round(_peak_mb(), 1),
        "failure": f"{failure.name}: {failure.detail}" if failure else None,
        "tally": tally,
        "notes": report.notes,
    }


# --- the run -----------------------------------------------------------------------------------------------
def measure(label: str, out: Path) -> dict:
    copy = child("copy")
    bundle = child("bundle", str(out))
    ratio = bundle["rows_per_s"] / copy["rows_per_s"]
    print(f"{label}: {bundle['rows']:,} ballots")
    print(f"  COPY … TO STDOUT WITH CSV   {copy['rows_per_s']:>10,} rows/s ({copy['seconds']} s)")
    print(
        f"  bundle (all files)          {bundle['rows_per_s']:>10,} rows/s ({bundle['seconds']} s)  ratio {ratio:.2f}"
    )
    print(
        f"  bundle: ballots.csv alone   {bundle['ballots_csv_rows_per_s']:>10,} rows/s "
        f"({bundle['ballots_csv_seconds']} s)  ratio {bundle['ballots_csv_rows_per_s'] / copy['rows_per_s']:.2f}"
    )
    print(
        f"  peak memory {bundle['peak_mb']} MB (after start-up {bundle['peak_mb_before']} MB); "
        f"zip {bundle['zip_bytes'] / 1e6:.1f} MB"
    )
    return {
        "copy": copy,
        "bundle": bundle,
        "ratio": round(ratio, 3),
        "ratio_ballots_csv": round(bundle["ballots_csv_rows_per_s"] / copy["rows_per_s"], 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--verify", action="store_true", help="also run pb_verify on the large bundle")
    parser.add_argument("--standalone", action="store_true", help="tally the small cycle, time python -m pbverify")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, *rest = args.child
        result = {
            "fill": lambda: child_fill(int(rest[0])),
            "copy": child_copy,
            "bundle": lambda: child_bundle(rest[0]),
            "certify": child_certify,
            "verify": lambda: child_verify(rest[0]),
            "tally": child_tally,
        }[mode]()
        print(json.dumps(result))
        return

    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}")
    sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB}")
    out_dir = ROOT / "bench" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict = {"when": time.strftime("%Y-%m-%d %H:%M"), "small": args.small, "large": args.large}
    try:
        sh(PY, "manage.py", "migrate", "--noinput")
        sh(PY, "manage.py", "load_demo", "--phase", "counting", "--quiet-logins")
        for label, size in (("small", args.small), ("large", args.large)):
            if not size:
                break
            fill = child("fill", str(size))
            print(f"filled to {fill['ballots']:,} ballots in {fill['seconds']} s")
            if label == "large":
                results["certify"] = child("certify")
                print(f"tallied and certified: {results['certify']}")
            results[label] = measure(label, out_dir / f"audit_bundle_{label}.zip")
            if label == "small" and args.standalone:
                tally = child("tally")
                print(f"tallied: {tally['runs']} wards ({', '.join(tally['rules'])}) in {tally['seconds']} s")
                tallied = out_dir / "audit_bundle_small_tallied.zip"
                child("bundle", str(tallied))
                results["standalone_verify"] = {"ballots": fill["ballots"], **standalone_verify(tallied)}
                print(f"python -m pbverify on {fill['ballots']:,} ballots: {results['standalone_verify']}")
        if not args.large:
            return
        growth = results["large"]["bundle"]["peak_mb"] - results["small"]["bundle"]["peak_mb"]
        results["peak_growth_mb"] = round(growth, 1)
        print(f"peak memory growth {args.small:,} → {args.large:,} ballots: {growth:.1f} MB (target < 50 MB)")
        print(f"ratio at {args.large:,}: {results['large']['ratio']:.2f} (target ≥ 0.5)")
        if args.verify:
            results["verify"] = verify = child("verify", str(out_dir / "audit_bundle_large.zip"))
            print(f"pb_verify on the large bundle: {verify}")
            recounted = verify["tally"].count(" selected)")
            if not verify["ok"] or verify["notes"] or recounted != len(results["certify"]["runs"]):
                raise SystemExit("pb_verify did not re-count and match every ward's certified run")
    finally:
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        if not args.keep:
            sh("psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB}", check=False)


if __name__ == "__main__":
    main()
