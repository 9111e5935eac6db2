"""``python manage.py load_demo [--phase PHASE]``: the demo of ``budgets.demo``, here because the
demo's way into results (the tally, certified) belongs to this app, and the command says which rule
each ward was certified with."""

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from accounts.roles import MFA_REQUIRED_ROLES
from allocation.models import DistrictResult
from budgets.demo import (
    DEMO_PASSWORD,
    DEMO_PHASE_CHOICES,
    DEMO_SLUG,
    DEMO_USERS,
    DemoRefused,
    demo_load,
    totp_uri,
)
from budgets.models import Cycle
from budgets.phases import Phase
from core.errors import ApplicationError


class Command(BaseCommand):
    help = "Load the Jersey City demo cycle, built through the real services up to --phase."

    def add_arguments(self, parser):
        parser.add_argument("--phase", default="ideas", choices=DEMO_PHASE_CHOICES)
        parser.add_argument("--quiet-logins", action="store_true", help="do not print the demo logins")
        parser.add_argument(
            "--force",
            action="store_true",
            help="load the demo even though the database has accounts the demo did not create (real people's)",
        )

    def handle(self, *args, phase, quiet_logins=False, force=False, **options):
        try:
            report = demo_load(phase=phase, force=force)
        except DemoRefused as exc:
            raise CommandError(str(exc)) from exc
        except ApplicationError as exc:
            # A step of the real services refused (e.g. the tally, while provisional ballots people
            # cast are waiting for a decision). The whole load is one transaction: nothing changed.
            raise CommandError(self._refusal(exc, phase)) from exc
        cycle = report.cycle
        if report.created:
            self.stdout.write(f"Created the demo cycle “{cycle.slug}”.")
        if report.moved:
            self.stdout.write(f"Moved the demo cycle through: {', '.join(report.moved)}.")
        if Phase.RESULTS in report.moved:
            certified = DistrictResult.objects.filter(district__cycle=cycle, kind=DistrictResult.Kind.CERTIFIED)
            certified = certified.select_related("district", "run").order_by("district__code")
            rules = ", ".join(f"{r.district.code}: {r.run.rule}" for r in certified)
            self.stdout.write(f"Tallied and certified with each ward's declared rule ({rules}).")
        if not report.created and not report.moved:
            self.stdout.write(f"The demo cycle is already at “{cycle.phase}” (asked: “{phase}”); nothing changed.")
        self.stdout.write(f"Demo cycle “{cycle.slug}” is in the “{cycle.phase}” phase.")
        if quiet_logins:
            return
        for line in report.notes:  # e.g. usable access codes: secrets, like the logins
            self.stdout.write(line)
        self.stdout.write("")
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for role, (email, _name, secret) in DEMO_USERS.items():
            line = f"  {role.label:<14} {email}"
            if role in MFA_REQUIRED_ROLES and secret:
                line += f"\n  {'':<14} TOTP: {totp_uri(email, secret)}"
            self.stdout.write(line)

    @staticmethod
    def _refusal(exc: ApplicationError, phase: str) -> str:
        cycle = Cycle.objects.filter(slug=DEMO_SLUG).first()
        where = f" (it is in the “{cycle.phase}” phase)" if cycle else ""
        url = reverse("staff_cycle_detail", args=[DEMO_SLUG])
        return (
            f"The demo cycle could not be taken to “{phase}”{where}: {exc.message}\n"
            f"Nothing was changed. Settle this as an official in the staff area ({url}: "
            "provisional ballots, duplicates, ties) and run the command again, or load the demo into an "
            "empty database (with the default SQLite database, remove db.sqlite3; otherwise drop and recreate it)."
        )
