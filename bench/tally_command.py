"""Whole-process speed of ``manage.py tally`` against pabutools 1.2.3 on the same real elections.

For each case the ``.pb`` file is imported into a cycle of its own once (``manage.py pabulib_import``,
then ``ANALYZE``, which autovacuum does soon after any bulk import), then:

- ours: ``--repeat`` fresh processes of ``python manage.py tally SLUG --rule RULE --json`` (median
  reported): Python and Django start-up, the export of the district's ballots from PostgreSQL, the
  hash, the parse, the rule and the stored run. Before each one the cycle's tally runs are deleted:
  a run is computed once per input, so without that the command would only read the stored result;
- pabutools: one fresh process of ``parse_pabulib`` + the rule call (as bench/tally_rules.py);

and both must select the same projects. The ratio ours ÷ pabutools is the target (≤ 0.05). CPU time
(user + system of each process) is reported too: on a shared machine it moves less than wall time.
Python's bytecode cache is written by one untimed run first, as on any installed server.

Setup (pabutools is bench-only, never a project dependency):
    python3.11 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install -r requirements.txt -r bench/requirements.txt
Usage (PostgreSQL on loopback; creates and drops the database ``pbplatform_bench_tally_command``):
    .venv/bin/python bench/tally_command.py [--data DIR] [--pabutools-python PATH] [--repeat 3] [--keep]
Results also land in bench/results/tally_command.json (not committed).
"""

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "pbplatform_bench_tally_command"
# Where a clone finds the files: Warszawa 2026 lives with the benchmark, Wesoła with the rules' tests.
FALLBACK_DIRS = [ROOT / "bench" / "data" / "pabulib", ROOT / "pbverify" / "tests" / "data" / "pabulib"]
CASES = [("Poland_Warszawa_2019_Wesola", "mes"), ("Poland_Warszawa_2026", "greedy")]

PABUTOOLS = """
import json, sys
from pabutools.election import Cost_Sat, parse_pabulib
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import lexico_tie_breaking
instance, profile = parse_pabulib(sys.argv[1])
if sys.argv[2] == "greedy":
    outcome = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=lexico_tie_breaking)
else:
    outcome = method_of_equal_shares(
        instance, profile, sat_class=Cost_Sat, tie_breaking=lexico_tie_breaking, voter_budget_increment=1
    )
print(json.dumps(sorted(project.name for project in outcome)))
"""


def psql(sql: str, database: str = "postgres") -> None:
    command = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-qc", sql]
    subprocess.run(command, check=True, capture_output=True)


def find(name: str, data: Path) -> Path:
    for directory in [data, *FALLBACK_DIRS]:
        path = directory / f"{name}.pb"
        if path.exists():
            return path
    raise SystemExit(f"{name}.pb not found in {data} or {', '.join(map(str, FALLBACK_DIRS))}")


def timed(command: list[str], env: dict) -> tuple[float, float, str]:
    """Wall time, CPU time (user + system) and the last line of stdout of one process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"{' '.join(command[:3])} … failed:\n{done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout.strip().splitlines()[-1]


def main() -> None:
    default_data = Path("/work/shared/pabulib") if Path("/work/shared/pabulib").is_dir() else FALLBACK_DIRS[0]
    default_python = os.environ.get("PABUTOOLS_PYTHON", "/work/bench-venv/bin/python")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data, help=f"directory of .pb files ({default_data})")
    parser.add_argument("--pabutools-python", default=default_python, help="python of the venv with pabutools")
    parser.add_argument("--repeat", type=int, default=3, help="processes of ours per case (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if not Path(args.pabutools_python).exists():
        raise SystemExit(f"no pabutools venv at {args.pabutools_python}: see the setup in this script's docstring")

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "PYTHONDONTWRITEBYTECODE")}
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}", DJANGO_SETTINGS_MODULE="pbplatform.settings.local"
    )
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], cwd=ROOT, env=env, check=True)

    rows = []
    for name, rule in CASES:
        path = find(name, args.data)
        slug = name.lower().replace("_", "-")
        subprocess.run(
            [*manage, "pabulib_import", str(path), "--cycle", slug], cwd=ROOT, env=env, check=True, capture_output=True
        )
        psql("ANALYZE", DB)
        command = [*manage, "tally", slug, "--rule", rule, "--json"]
        reset = f"DELETE FROM allocation_tallyrun WHERE cycle_id = (SELECT id FROM budgets_cycle WHERE slug = '{slug}')"
        psql(reset, DB)
        timed(command, env)  # writes the bytecode cache; not counted
        walls, cpus = [], []
        for _ in range(args.repeat):
            psql(reset, DB)
            wall, cpu, out = timed(command, env)
            walls.append(wall)
            cpus.append(cpu)
        ours = json.loads(out)["districts"][0]["selected"]
        theirs_wall, theirs_cpu, theirs_out = timed([args.pabutools_python, "-c", PABUTOOLS, str(path), rule], env)
        theirs = json.loads(theirs_out)
        row = {
            "file": name,
            "rule": rule,
            "ours_s": round(statistics.median(walls), 3),
            "ours_runs_s": [round(t, 3) for t in walls],
            "ours_cpu_s": round(statistics.median(cpus), 3),
            "pabutools_s": round(theirs_wall, 2),
            "pabutools_cpu_s": round(theirs_cpu, 2),
            "ratio": round(statistics.median(walls) / theirs_wall, 4),
            "cpu_ratio": round(statistics.median(cpus) / theirs_cpu, 4),
            "same_outcome": sorted(ours) == sorted(theirs),
            "selected": len(ours),
        }
        rows.append(row)
        print(
            f"{name:28} {rule:6} ours {row['ours_s']:.3f} s (cpu {row['ours_cpu_s']:.3f})  pabutools "
            f"{theirs_wall:6.2f} s (cpu {theirs_cpu:.2f})  ratio {row['ratio']:.4f} (cpu {row['cpu_ratio']:.4f})  "
            f"same outcome: {row['same_outcome']}",
            flush=True,
        )

    print("\n| file | rule | `manage.py tally` (s, median) | pabutools (s) | ratio | CPU ratio | same outcome |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['file']} | {row['rule']} | {row['ours_s']:.3f} | {row['pabutools_s']:.2f} | "
            f"{row['ratio']:.4f} | {row['cpu_ratio']:.4f} | {'yes' if row['same_outcome'] else '**no**'} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "tally_command.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not args.keep:
        psql(f"DROP DATABASE {DB}")
    if not all(row["same_outcome"] for row in rows):
        raise SystemExit("outcomes differ")


if __name__ == "__main__":
    main()
