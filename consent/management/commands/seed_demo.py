from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.module_loading import module_has_submodule

from compliance_site.errors import ApplicationError
from consent.management.commands.create_staff import print_credentials
from consent.models import User
from consent.services import staff_create, staff_credentials_reset

# Only names the demo account: no text is ever sent to it (staff sign in with password + TOTP).
DEMO_STAFF_PHONE = "+447400000000"


class Command(BaseCommand):
    help = (
        "Development only (DEBUG on): make sure a demo staff account exists, give it a new "
        "random password and print how to sign in to the admin; then let every app that has a "
        "``demo`` module seed its own demo data (swap: demo templates). Safe to run again."
    )

    def handle(self, *args, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo runs only with DEBUG on: it prints a staff password.")
        user = User.objects.filter(phone_number=DEMO_STAFF_PHONE).first()
        try:
            if user is None:
                credentials = staff_create(
                    phone=DEMO_STAFF_PHONE, roles=["support"], superuser=True
                )
            else:
                credentials = staff_credentials_reset(user=user)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        verb = "created" if user is None else "kept; its password was replaced"
        self.stdout.write(self.style.SUCCESS(f"Demo staff account {verb}."))
        self.stdout.write(f"Admin: {reverse('admin:login')}")
        print_credentials(self.stdout, credentials)
        self.stdout.write("Sign in with the phone number as username, the password, and a code")
        self.stdout.write("from the authenticator app (choose the 'default' device).")
        self._seed_apps()

    def _seed_apps(self) -> None:
        # Each app seeds its own demo data (``<app>.demo.seed_demo(stdout)``): consent does not
        # import the apps above it.
        for app in apps.get_app_configs():
            if module_has_submodule(app.module, "demo"):
                import_module(f"{app.name}.demo").seed_demo(self.stdout)
