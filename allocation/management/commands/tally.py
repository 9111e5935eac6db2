"""``python manage.py tally SLUG --rule greedy|mes|mes-greedy --json``: run the tally now and print
the selected projects and the money used per district."""

import gc
import json
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from allocation.services import tally_cycle
from budgets.models import Cycle
from core.errors import ApplicationError
from pbverify.rules import RuleNotApplicable


def _number(text: str):
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() else float(text)


class Command(BaseCommand):
    help = "Run the tally of a cycle (counting phase or later) with one rule and print the outcome."
    # A one-shot process where start-up would be most of the time (bench/README.md): the system checks are for
    # the server and `manage.py check`, and what start-up loaded lives until exit, so the garbage collector need
    # not walk it again while the tally allocates.
    requires_system_checks: list = []

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--rule", required=True, choices=["greedy", "mes", "mes-greedy"])
        parser.add_argument("--json", action="store_true", dest="as_json", help="print only the JSON outcome")

    def run_from_argv(self, argv):
        gc.freeze()  # its own process (call_command does not come here)
        super().run_from_argv(argv)

    def handle(self, *args, slug, rule, as_json: bool = False, **options):
        cycle = Cycle.objects.filter(slug=slug).first()
        if cycle is None:
            raise CommandError(f"no cycle {slug!r}")
        try:
            runs = tally_cycle(cycle=cycle, rules=[rule], strict=True)
        except RuleNotApplicable as exc:
            raise CommandError(str(exc)) from exc
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        districts = []
        for run in sorted(runs, key=lambda r: r.district.code):
            output = json.loads(run.output)
            districts.append(
                {
                    "district": run.district.code,
                    "selected": sorted(output["selected"]),
                    "budget_used": _number(output["budget_used"]),
                }
            )
        document = {"cycle": slug, "rule": rule, "districts": districts}
        if as_json:
            self.stdout.write(json.dumps(document))
        else:
            for item in districts:
                self.stdout.write(f"{item['district']}: {', '.join(item['selected'])} — used {item['budget_used']}")
