"""``python manage.py pabulib_import FILE.pb [--cycle SLUG] [--district CODE]``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from allocation.services.interop import pabulib_import
from core.errors import ApplicationError
from pbverify.pabulib import PbFormatError


class Command(BaseCommand):
    help = "Import a Pabulib .pb election into a cycle in the counting phase (one district per file)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--cycle", dest="cycle", default=None, help="cycle slug (default: the file name)")
        parser.add_argument("--district", dest="district", default=None, help="district code (default: the file name)")

    def handle(self, *args, file, cycle, district, **options):
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        try:
            result = pabulib_import(data=data, name=path.name, cycle_slug=cycle, district_code=district)
        except PbFormatError as exc:
            raise CommandError(f"{path.name}: {exc} (nothing imported)") from exc
        except ApplicationError as exc:
            raise CommandError(f"{path.name}: {exc.message} (nothing imported)") from exc
        self.stdout.write(f"cycle: {result.cycle.slug}")
        self.stdout.write(f"district: {result.district.code}")
        self.stdout.write(f"projects: {result.projects}")
        self.stdout.write(f"ballots: {result.ballots}")
        self.stdout.write(f"ballots breaking a META limit (kept): {result.limit_violations}")
