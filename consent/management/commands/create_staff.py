from django.core.management.base import BaseCommand, CommandError

from compliance_site.errors import ApplicationError
from compliance_site.staff_roles import ROLES
from consent.identity.services import StaffCredentials, staff_create


class Command(BaseCommand):
    help = (
        "Create a staff account with a random password and a TOTP device; print the password "
        "once and the otpauth:// URI for an authenticator app."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--phone", required=True, help="The staff member's mobile number.")
        parser.add_argument(
            "--role",
            action="append",
            default=[],
            choices=sorted(ROLES),
            help="A role (Django group); repeat for several.",
        )
        parser.add_argument("--superuser", action="store_true", help="Grant every permission.")

    def handle(self, *args, phone: str, role: list[str], superuser: bool, **options) -> None:
        try:
            credentials = staff_create(phone=phone, roles=role, superuser=superuser)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(self.style.SUCCESS(f"Staff account {credentials.user.pk} created."))
        print_credentials(self.stdout, credentials)


def print_credentials(stdout, credentials: StaffCredentials) -> None:
    stdout.write(f"Phone number: {credentials.user.phone_number}")
    stdout.write(f"Password (shown only now): {credentials.password}")
    stdout.write("Second factor: add this URI to an authenticator app (or make a QR code of it):")
    stdout.write(credentials.otpauth_uri)
