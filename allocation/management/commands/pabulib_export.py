"""``python manage.py pabulib_export SLUG --district CODE [--out FILE]``: the district's
deterministic .pb (the tally's input; its SHA-256 is the input hash)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from allocation.permissions import ballots_exportable
from allocation.services.interop import district_pb_write
from budgets.models import District


class Command(BaseCommand):
    help = "Write a district's counted ballots as a deterministic Pabulib .pb file."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--district", required=True)
        parser.add_argument("--out", default=None, help="file to write (default: standard output)")

    def handle(self, *args, slug, district, out, **options):
        found = District.objects.filter(cycle__slug=slug, code=district).select_related("cycle").first()
        if found is None:
            raise CommandError(f"no district {district!r} in cycle {slug!r}")
        if not ballots_exportable(found.cycle):
            raise CommandError("ballots are exported once voting has closed")
        if out:
            with open(out, "wb") as handle:
                district_pb_write(found, handle)
        else:
            district_pb_write(found, sys.stdout.buffer)
            sys.stdout.buffer.flush()
