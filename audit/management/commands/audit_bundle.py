from django.core.management.base import BaseCommand, CommandError

from audit.bundle import bundle_write
from audit.permissions import ballots_exportable, public_record_exists
from budgets.models import Cycle


class Command(BaseCommand):
    help = (
        "Write a cycle's audit bundle (manifest.json, ballots.csv, one .pb per district, design.json, "
        "tally_runs.json, turnout.json, paper.json, audit_log.jsonl) to a zip file. --public: the public "
        "record (no receipt hashes, small groups merged), only once the results are certified."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the cycle's short name")
        parser.add_argument("--out", required=True, help="the zip file to write")
        parser.add_argument("--public", action="store_true", help="the public record instead of the auditor bundle")

    def handle(self, *args, slug, out, public=False, **options):
        cycle = Cycle.objects.filter(slug=slug).first()
        if cycle is None:
            raise CommandError(f"No cycle “{slug}”.")
        if not ballots_exportable(cycle):
            raise CommandError("The vote record can be exported once voting has closed.")
        if public and not public_record_exists(cycle):
            raise CommandError("The public record is published once the results are certified.")
        info = bundle_write(cycle=cycle, out=out, public=public)
        kind = "public record" if public else "auditor bundle"
        self.stdout.write(f"Wrote the {kind} of “{slug}” to {out}: {info.ballots} ballots, {info.size} bytes.")
        self.stdout.write(f"SHA-256 of the zip: {info.sha256}")
