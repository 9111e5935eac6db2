from django.core.management.base import BaseCommand, CommandError

from pbverify.verify import bundle_verify


class Command(BaseCommand):
    help = (
        "Check an audit bundle using only the bundle (never the database): manifest hashes, ballots.csv "
        "against the .pb files row by row, voter roll = ballots, a recount of every district with its "
        "certified rule, and the audit log's hash chain. Exits non-zero naming the first mismatch. "
        "The same as `python -m pbverify BUNDLE.zip`, which needs nothing of the platform."
    )
    requires_system_checks: list = []  # nothing here needs the project's database or its checks

    def add_arguments(self, parser):
        parser.add_argument("bundle", help="the bundle's zip file")

    def handle(self, *args, bundle, **options):
        report = bundle_verify(bundle)
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise CommandError(report.verdict(bundle))
        self.stdout.write(report.verdict(bundle))
