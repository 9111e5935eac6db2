from django.core.management.base import BaseCommand

from proposals.uploads import uploads_rename


class Command(BaseCommand):
    help = (
        "Give uploads stored under their original names (ideas/YYYY/MM/<phone's file name>, from "
        "earlier releases) random names, and delete the old files. Safe to run again."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{uploads_rename()} uploaded files renamed.")
