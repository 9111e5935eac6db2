"""The greedy reference outcomes of the Pabulib test files, computed from the `.pb` files alone.

Independent of the platform: no import from it, only the standard library, so a mistake in our parser or
rules cannot hide here. Greedy is Pabulib's `greedy` rule:

1. A project's score is what Pabulib's PROJECTS `score` column holds (or `votes`, for approval files):
   approval and choose-1 — the ballots that list it; cumulative — the sum of its points; ordinal — the sum
   over ballots of L − r, for the project at 0-based position r of a ballot of L projects (the first of
   three gets 3, the last 1). That ordinal score is not pabutools' Borda satisfaction (L − r − 1).
2. Projects in order of score, highest first, ties by project id in ascending string order ("10" < "9", as
   pabutools' lexico_tie_breaking; Pabulib's own checker keeps file order instead).
3. Walk the whole list: take a project if its cost fits in what is left of the budget, else skip it.

Where the file has `votes` or `score` columns, the scores computed here must equal them: Pabulib's numbers
check this script's reading of the ballots.

For approval and choose-1 files this is pabutools 1.2.3's greedy_utilitarian_welfare with Cost_Sat; for
cumulative and ordinal files pabutools' greedy ranks by utility per unit of cost, a different rule.
`--pabutools` (in a venv with pabutools, see bench/requirements.txt) runs pabutools' greedy walk with a
satisfaction of score × cost, so that its utility per cost is the score above, and checks it selects the
same projects.

Usage:
    python bench/reference/greedy_reference.py [--write] [--pabutools] [FILE.pb ...]
With no files: every `.pb` beside an `.expected.json` in a `*/tests/data/pabulib/` folder. Without
`--write` it checks each reference's `greedy` list and exits non-zero if one differs; with `--write` it
writes the list into the reference (the file's other keys are kept).
"""

import argparse
import csv
import json
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def read_pb(path: Path) -> dict:
    """META (a dict), PROJECTS and VOTES (lists of dicts by header) of a `.pb` file."""
    text = path.read_text(encoding="utf-8-sig")
    sections: dict[str, list[list[str]]] = {}
    current = None
    for row in csv.reader(text.splitlines(), delimiter=";"):
        if len(row) == 1 and row[0].strip() in ("META", "PROJECTS", "VOTES"):
            current = sections.setdefault(row[0].strip(), [])
        elif current is not None and row:
            current.append([cell.strip() for cell in row])

    def table(name):
        header, *rows = sections[name]
        return [dict(zip(header, row, strict=False)) for row in rows]

    return {
        "meta": {row["key"]: row["value"] for row in table("META")},
        "projects": table("PROJECTS"),
        "votes": table("VOTES"),
    }


def scores(pb: dict) -> dict[str, Decimal]:
    vote_type = pb["meta"]["vote_type"]
    score = {project["project_id"]: Decimal(0) for project in pb["projects"]}
    for ballot in pb["votes"]:
        chosen = [p for p in ballot.get("vote", "").split(",") if p]
        if vote_type in ("approval", "choose-1"):
            points = [Decimal(1)] * len(chosen)
        elif vote_type == "cumulative":
            points = [Decimal(p) for p in ballot["points"].split(",")]
        elif vote_type == "ordinal":
            points = [Decimal(len(chosen) - position) for position in range(len(chosen))]
        else:
            raise SystemExit(f"{vote_type} files are not covered")
        for project_id, value in zip(chosen, points, strict=True):
            score[project_id] += value
    return score


def pabulib_columns_agree(pb: dict, score: dict[str, Decimal]) -> list[str]:
    """Differences between the computed scores and the file's own `votes` / `score` columns."""
    column = "votes" if pb["meta"]["vote_type"] in ("approval", "choose-1") else "score"
    listed: dict[str, int] = defaultdict(int)
    for ballot in pb["votes"]:
        for project_id in {p for p in ballot.get("vote", "").split(",") if p}:
            listed[project_id] += 1
    problems = []
    for project in pb["projects"]:
        pid = project["project_id"]
        if project.get("votes") and Decimal(project["votes"]) != listed[pid]:
            problems.append(f"project {pid}: votes column {project['votes']}, ballots listing it {listed[pid]}")
        if column == "score" and project.get("score") and Decimal(project["score"]) != score[pid]:
            problems.append(f"project {pid}: score column {project['score']}, computed {score[pid]}")
    return problems


def greedy(pb: dict) -> list[str]:
    """The selected project ids, sorted as strings (as the references list them)."""
    score = scores(pb)
    cost = {project["project_id"]: Decimal(project["cost"]) for project in pb["projects"]}
    left = Decimal(pb["meta"]["budget"])
    selected = []
    for project_id in sorted(cost, key=lambda pid: (-score[pid], pid)):
        if cost[project_id] <= left:
            selected.append(project_id)
            left -= cost[project_id]
    return sorted(selected)


def pabutools_greedy(path: Path) -> list[str]:
    """pabutools' greedy walk (its sorting, its lexicographic ties) with a satisfaction of score × cost."""
    from pabutools.election import AdditiveSatisfaction, parse_pabulib
    from pabutools.election.ballot import AbstractOrdinalBallot
    from pabutools.rules import greedy_utilitarian_welfare
    from pabutools.tiebreaking import lexico_tie_breaking

    def score_times_cost(instance, profile, ballot, project, precomputed):
        if isinstance(ballot, AbstractOrdinalBallot):
            value = len(ballot) - ballot.position(project) if project in ballot else 0
        elif isinstance(ballot, dict):  # cumulative: a cardinal ballot, project → points
            value = ballot.get(project, 0)
        else:  # approval and choose-1
            value = 1 if project in ballot else 0
        return value * project.cost

    class ScoreTimesCost(AdditiveSatisfaction):
        def __init__(self, instance, profile, ballot):
            super().__init__(instance, profile, ballot, score_times_cost)

    instance, profile = parse_pabulib(str(path))
    outcome = greedy_utilitarian_welfare(instance, profile, sat_class=ScoreTimesCost, tie_breaking=lexico_tie_breaking)
    return sorted(project.name for project in outcome)


def default_files() -> list[Path]:
    return sorted(
        path for path in ROOT.glob("*/tests/data/pabulib/*.pb") if path.with_suffix(".expected.json").exists()
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--write", action="store_true", help="write each greedy list into its .expected.json")
    parser.add_argument("--pabutools", action="store_true", help="also check against pabutools' greedy walk")
    args = parser.parse_args(argv)
    failures = 0
    for path in args.files or default_files():
        pb = read_pb(path)
        selected = greedy(pb)
        problems = pabulib_columns_agree(pb, scores(pb))
        if args.pabutools and pabutools_greedy(path) != selected:
            problems.append(f"pabutools selects {pabutools_greedy(path)}")
        reference_path = path.with_suffix(".expected.json")
        reference = json.loads(reference_path.read_text()) if reference_path.exists() else {}
        if args.write:
            reference["greedy"] = selected
            reference_path.write_text(json.dumps(reference, indent=1))
        elif reference.get("greedy") != selected:
            problems.append(f"reference {reference.get('greedy')}, computed {selected}")
        failures += bool(problems)
        status = "differs: " + "; ".join(problems) if problems else "ok"
        print(f"{path.name} ({pb['meta']['vote_type']}): greedy {len(selected)} projects, {status}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
