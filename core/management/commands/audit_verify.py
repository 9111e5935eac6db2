import json

from django.core.management.base import BaseCommand, CommandError

from core.selectors import audit_chain_verify, audit_chain_verify_database


class Command(BaseCommand):
    help = "Verify the audit log's hash chain (the database, or an exported audit_log.jsonl)."

    def add_arguments(self, parser):
        parser.add_argument("--file", help="an exported audit_log.jsonl instead of the database")
        parser.add_argument(
            "--public-cycle",
            type=int,
            default=None,
            help="the file is the public record of this cycle (by id): withheld events are checked by their links",
        )

    def handle(self, *args, file=None, public_cycle=None, **options):
        if file:
            with open(file, encoding="utf-8") as fh:
                report = audit_chain_verify(
                    (json.loads(line) for line in fh if line.strip()), public_cycle=public_cycle
                )
        else:
            report = audit_chain_verify_database()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken at event {report.broken_id}: {report.problem} "
                f"({report.checked} events before it are intact)."
            )
        message = f"Audit chain intact: {report.checked} events."
        if report.erased:
            message += (
                f" {report.erased} of them had their withheld values erased by the archive (body and link checked)."
            )
        self.stdout.write(message)
