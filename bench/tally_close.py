"""Close of voting → tally result → certified results, for a 100,000-ballot, 6-ward cycle on PostgreSQL.

The demo cycle (6 wards, knapsack ballots, each ward's declared rule) is loaded open for voting,
then ``--ballots`` ballots with their roll entries are inserted straight into the vote record in
bulk (the benchmark measures the count, not the casting: bench/vote_throughput.py measures that).
The timed part is what follows the close, through the same services the staff pages call, with
Celery eager (each task runs in this process when its transaction commits):

1. voting closes: the voting → counting transition (``cycle_transition``);
2. an official asks for the tally (``tally_request``): its task runs each ward's declared rule, each
   ward's ballots exported once to its deterministic ``.pb`` (PostgreSQL writes the VOTES lines),
   hashed, parsed, counted, and the run stored;
3. an official asks for the comparison of all three rules (``tally_request(compare=True)``);
4. an official certifies (``cycle_certify``): every ward's export is read again to find the current
   run, and the results are published.

Then, untimed by the steps above, each ward's export, parse and election are timed on their own.

Usage (PostgreSQL on loopback; creates and drops the database ``pbplatform_bench_tally``):
    .venv/bin/python bench/tally_close.py [--ballots 100000]
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DB = "pbplatform_bench_tally"


def psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=100_000)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()

    psql(f"DROP DATABASE IF EXISTS {DB}")
    psql(f"CREATE DATABASE {DB}")
    os.environ.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        DJANGO_SETTINGS_MODULE="pbplatform.settings.local",
        PB_CELERY_EAGER="true",
    )
    os.environ.pop("REDIS_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.db import connection, transaction

    from accounts.roles import Role
    from allocation.models import TallyRun
    from allocation.services import cycle_certify, tally_request
    from allocation.services.interop import district_pb_export
    from budgets.demo import demo_load
    from budgets.phases import Phase
    from budgets.services import cycle_transition
    from pbverify.pabulib import pb_parse
    from pbverify.rules import Election
    from voting import crypto
    from voting.models import Ballot, BallotDesign, VoterRollEntry

    report = demo_load(phase=Phase.VOTING)
    cycle, official = report.cycle, report.users[Role.OFFICIAL]
    rng = random.Random(2026)
    wards = list(cycle.districts.filter(ballot_design__isnull=False).order_by("code"))
    per_ward = args.ballots // len(wards)
    started = time.perf_counter()
    for ward in wards:
        projects = list(ward.projects.values_list("code", "cost"))
        design = BallotDesign.objects.get(district=ward)
        ballots, roll = [], []
        for n in range(per_ward):
            rng.shuffle(projects)
            picks, total = [], 0
            for code, cost in projects:  # a knapsack ballot: projects in a random order while they fit
                if total + cost <= ward.budget and rng.random() < 0.6:
                    picks.append(code)
                    total += cost
            ballots.append(Ballot(id=uuid.uuid4(), district=ward, channel="online", choices=sorted(picks)))
            roll.append(
                VoterRollEntry(
                    cycle=cycle,
                    district=ward,
                    scope=ward.kind,
                    channel="online",
                    verification="bench",
                    identity_key=crypto.keyed_hash("bench", f"{ward.pk}:{n}"),
                    voted_on="2026-11-21",
                )
            )
        with transaction.atomic():
            Ballot.objects.bulk_create(ballots, batch_size=5000)
            VoterRollEntry.objects.bulk_create(roll, batch_size=5000)
        print(f"ward {ward.code}: {per_ward} ballots ({design.method}, rule {design.allocation_rule})")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"inserted in {time.perf_counter() - started:.1f} s")

    def timed(step):
        started = time.perf_counter()
        step()
        return round(time.perf_counter() - started, 2)

    close = timed(lambda: cycle_transition(actor=official, cycle=cycle, target=Phase.COUNTING, reason="bench: close"))
    declared = timed(lambda: tally_request(actor=official, cycle=cycle))
    runs = TallyRun.objects.filter(cycle=cycle)
    assert runs.filter(status=TallyRun.Status.DONE).count() == runs.count() == len(wards), list(runs.values())
    comparison = timed(lambda: tally_request(actor=official, cycle=cycle, compare=True))
    compared = list(runs.filter(status=TallyRun.Status.DONE).select_related("district"))
    certify = timed(lambda: cycle_certify(actor=official, cycle=cycle, reason="bench: certified"))
    cycle.refresh_from_db()
    assert cycle.phase == Phase.RESULTS
    # Where the declared tally's time goes, ward by ward: the export, the parse, the election built.
    parts = {"export": 0.0, "parse": 0.0, "election": 0.0}
    for ward in wards:
        started = time.perf_counter()
        data, _hash = district_pb_export(ward)
        exported = time.perf_counter()
        pb = pb_parse(data)
        parsed = time.perf_counter()
        Election.from_pb(pb)
        parts["export"] += exported - started
        parts["parse"] += parsed - exported
        parts["election"] += time.perf_counter() - parsed
    result = {
        "ballots": per_ward * len(wards),
        "wards": len(wards),
        "close_seconds": close,
        "declared_tally_seconds": declared,
        "close_to_declared_tally_seconds": round(close + declared, 2),
        "all_three_rules_seconds": comparison,
        "certify_seconds": certify,
        "runs": len(compared),
        "rule_seconds": {f"{r.district.code}:{r.rule}": r.seconds for r in compared},
        "all_wards_seconds": {part: round(seconds, 2) for part, seconds in parts.items()},
        "load_average": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "tally_close.json").write_text(json.dumps(result, indent=2))
    connection.close()
    if not args.keep:
        psql(f"DROP DATABASE IF EXISTS {DB}")


if __name__ == "__main__":
    main()
