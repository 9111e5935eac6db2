from django.core.management.base import BaseCommand, CommandError

from audit.services import cycle_archive, retention_ends
from budgets.models import Cycle
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Archive a cycle in results or implementation: it moves to archived and the personal data it "
        "holds is erased (voters' identities, the roll's identity keys, accounts active in this cycle "
        "only, proposers' details, idea photos, notes, the outbox, sessions); the anonymous roll and "
        "ballots, results, public content and the audit log stay. Refused before the retention period "
        "(PB_RETENTION_DAYS after the results) unless --now with --reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the cycle's short name")
        parser.add_argument("--now", action="store_true", help="archive before the retention period ends")
        parser.add_argument("--reason", default="", help="why (required with --now; written to the audit log)")

    def handle(self, *args, slug, now=False, reason="", **options):
        cycle = Cycle.objects.filter(slug=slug).first()
        if cycle is None:
            raise CommandError(f"No cycle “{slug}”.")
        if now and not reason.strip():
            raise CommandError("--now needs --reason: say why the cycle is archived early.")
        try:
            cycle = cycle_archive(actor=None, cycle=cycle, early=now, reason=reason)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        self.stdout.write(
            f"Cycle “{slug}” is archived (retention period: until {retention_ends(cycle):%Y-%m-%d}); "
            "the personal data it held is erased."
        )
