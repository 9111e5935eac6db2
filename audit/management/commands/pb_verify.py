from django.core.management.base import BaseCommand, CommandError

from audit.verify import bundle_verify


class Command(BaseCommand):
    help = (
        "Check an audit bundle using only the bundle (never the database): manifest hashes, ballots.csv "
        "against the .pb files row by row, voter roll = ballots, a recount of every district with its "
        "certified rule, and the audit log's hash chain. Exits non-zero naming the first mismatch."
    )
    requires_system_checks: list = []  # nothing here needs the project's database or its checks

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="the bundle's zip file")

    def handle(self, *args, bundle, **options):
        report = bundle_verify(bundle)
        for check in report.checks:
            mark = "ok  " if check.ok else "FAIL"
            self.stdout.write(f"{mark} {check.name}: {check.detail}")
        for note in report.notes:
            self.stdout.write(f"note {note}")
        failure = report.first_failure
        if failure is not None:
            raise CommandError(f"Verification failed at {failure.name}: {failure.detail}")
        self.stdout.write(f"The bundle {bundle} is consistent: every check passed.")
