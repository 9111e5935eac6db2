import sys

from django.core.management.base import BaseCommand

from core.selectors import audit_events_export_lines


class Command(BaseCommand):
    help = "Write the audit log as canonical JSON lines (audit_log.jsonl) to stdout or --out."

    def add_arguments(self, parser):
        parser.add_argument("--out", help="file to write (default: stdout)")

    def handle(self, *args, out=None, **options):
        stream = open(out, "wb") if out else sys.stdout.buffer  # noqa: SIM115
        try:
            for line in audit_events_export_lines():
                stream.write(line)
        finally:
            if out:
                stream.close()
            else:
                stream.flush()
