import getpass
import os

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.services import administrator_create
from core.errors import ApplicationError

PASSWORD_ENV = "PB_ADMIN_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create the first administrator of a fresh install (or make an existing account one). The "
        "administrator then logs in, sets up two-factor authentication and appoints staff on the "
        "staff roles page."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--no-input",
            action="store_true",
            help=f"do not prompt: the password comes from ${PASSWORD_ENV} (a new account needs one)",
        )

    def handle(self, *args, email, no_input=False, **options):
        password = os.environ.get(PASSWORD_ENV) or None
        if password is None and not no_input:
            password = getpass.getpass("Password (empty: keep an existing account's password): ") or None
            if password and password != getpass.getpass("Password (again): "):
                raise CommandError("The passwords differ.")
        if password:
            try:
                validate_password(password)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from exc
        try:
            user, created = administrator_create(email=email, password=password)
        except ApplicationError as exc:
            raise CommandError(" ".join(str(m) for msgs in exc.extra.values() for m in msgs) or str(exc)) from exc
        if created and not password:
            self.stdout.write(f"{user.email} has no password yet: set one with “Forgot password?” on the login page.")
        self.stdout.write(f"{user.email} is an administrator.")
        self.stdout.write(
            "Next: log in, set up two-factor authentication (Security), then appoint staff on /accounts/staff/."
        )
