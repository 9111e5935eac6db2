"""Tally speed: our parser + rule against pabutools 1.2.3 on the same real files, whole process each time.

For each case, one run measures the wall time of a fresh `python -c` process that parses the `.pb` file and
runs the rule, for our code (pbverify.pabulib + pbverify.rules, in this project's venv) and for pabutools
(parse_pabulib + the rule call from pbverify/tests/data/pabulib/README.md, in a separate venv), checks that both
select the same projects (and match the file's expected.json), and prints the ratio ours ÷ pabutools
(target ≤ 0.05). Python start-up and imports are part of both times.

Setup (pabutools is bench-only, never a project dependency):
    python3.11 -m venv /work/bench-venv
    /work/bench-venv/bin/pip install -r requirements.txt -r bench/requirements.txt
Usage:
    .venv/bin/python bench/tally_rules.py [--data DIR] [--pabutools-python PATH] [--repeat 3]
pabutools needs ~35 s for Wesola's `mes` and ~27 s for Warszawa 2026's `greedy`; the whole run takes ~1.5 min.
Results also land in bench/results/tally_rules.json (not committed).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where a clone finds the files: the two large ones live with the benchmark, the rest with the tests.
FALLBACK_DIRS = [ROOT / "bench" / "data" / "pabulib", ROOT / "pbverify" / "tests" / "data" / "pabulib"]

CASES = [
    ("Poland_Warszawa_2019_Wesola", "mes"),
    ("Poland_Warszawa_2026", "greedy"),
    ("France_Toulouse_2019", "mes"),
    ("Poland_Swiecie_2023", "mes"),
]

OURS = """
import json, sys
from pbverify.pabulib import pb_parse
from pbverify.rules import Election, tally
with open(sys.argv[1], "rb") as handle:
    election = Election.from_pb(pb_parse(handle.read()))
print(json.dumps(tally(election, sys.argv[2]).selected))
"""

PABUTOOLS = """
import json, sys
from pabutools.election import Additive_Cardinal_Sat, Cost_Sat, parse_pabulib
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares
from pabutools.tiebreaking import lexico_tie_breaking
instance, profile = parse_pabulib(sys.argv[1])
if sys.argv[2] == "greedy":
    outcome = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat, tie_breaking=lexico_tie_breaking)
else:
    sat = Additive_Cardinal_Sat if sys.argv[3] == "cumulative" else Cost_Sat
    outcome = method_of_equal_shares(
        instance, profile, sat_class=sat, tie_breaking=lexico_tie_breaking, voter_budget_increment=1
    )
print(json.dumps(sorted(project.name for project in outcome)))
"""


def find(name: str, data: Path) -> Path:
    for directory in [data, *FALLBACK_DIRS]:
        path = directory / f"{name}.pb"
        if path.exists():
            return path
    raise SystemExit(f"{name}.pb not found in {data} or {', '.join(map(str, FALLBACK_DIRS))}")


def timed(command: list[str]) -> tuple[float, list[str]]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{command[0]} failed:\n{done.stderr}")
    return elapsed, json.loads(done.stdout.strip().splitlines()[-1])


def vote_type(path: Path) -> str:
    with path.open(encoding="utf-8-sig") as handle:
        for line in handle:
            key, _, value = line.strip().partition(";")
            if key == "vote_type":
                return value.strip()
    return "approval"


def main() -> None:
    default_data = FALLBACK_DIRS[0]
    default_python = os.environ.get("PABUTOOLS_PYTHON", "/work/bench-venv/bin/python")
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_data, help=f"directory of .pb files ({default_data})")
    parser.add_argument("--pabutools-python", default=default_python, help="python of the venv with pabutools")
    parser.add_argument("--repeat", type=int, default=3, help="runs of our process per case (median reported)")
    args = parser.parse_args()
    if not Path(args.pabutools_python).exists():
        raise SystemExit(f"no pabutools venv at {args.pabutools_python}: see the setup in this script's docstring")

    rows = []
    for name, rule in CASES:
        path = find(name, args.data)
        expected_file = path.with_suffix(".expected.json")
        expected = json.loads(expected_file.read_text()).get(rule) if expected_file.exists() else None
        ours_times = []
        for _ in range(args.repeat):
            elapsed, ours = timed([sys.executable, "-c", OURS, str(path), rule])
            ours_times.append(elapsed)
        theirs_time, theirs = timed([args.pabutools_python, "-c", PABUTOOLS, str(path), rule, vote_type(path)])
        ours_time = statistics.median(ours_times)
        row = {
            "file": name,
            "rule": rule,
            "ours_s": round(ours_time, 3),
            "ours_runs_s": [round(t, 3) for t in ours_times],
            "pabutools_s": round(theirs_time, 2),
            "ratio": round(ours_time / theirs_time, 4),
            "same_outcome": sorted(ours) == sorted(theirs),
            "matches_expected_json": None if expected is None else sorted(ours) == sorted(expected),
            "selected": len(ours),
        }
        rows.append(row)
        print(
            f"{name:30} {rule:6} ours {ours_time:6.3f} s  pabutools {theirs_time:6.2f} s  ratio {row['ratio']:.4f}  "
            f"same outcome: {row['same_outcome']}  expected.json: {row['matches_expected_json']}",
            flush=True,
        )

    print("\n| file | rule | ours (s, median of runs) | pabutools (s) | ratio | same outcome |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['file']} | {row['rule']} | {row['ours_s']:.3f} | {row['pabutools_s']:.2f} | "
            f"{row['ratio']:.4f} | {'yes' if row['same_outcome'] else '**no**'} |"
        )
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs")
    results = ROOT / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    (results / "tally_rules.json").write_text(json.dumps(rows, indent=1) + "\n")
    if not all(row["same_outcome"] and row["matches_expected_json"] is not False for row in rows):
        raise SystemExit("outcomes differ")


if __name__ == "__main__":
    main()
