from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils.module_loading import module_has_submodule

from compliance_site.errors import ApplicationError
from consent.identity.models import User
from consent.identity.services import staff_create, staff_credentials_reset
from consent.management.commands.create_staff import print_credentials

# One per staff role (compliance_site.staff_roles.ROLES; a test keeps them in step). Only name the
# demo accounts: no text is ever sent to them (staff sign in with password + TOTP).
DEMO_STAFF = {"support": "+447400000001", "dpo": "+447400000002", "auditor": "+447400000003"}
DEMO_SUPERUSER_PHONE = "+447400000000"

# What each account is for, so that a newcomer meets the role limits from the start.
_WHAT = {
    "support": "data-subject requests, the account list (numbers masked; reveal one, audited)",
    "dpo": "policy versions, the consent ledger, templates and their licences and consents",
    "auditor": "audit log exports at {auditor} (sign in at {admin} first); nothing in the admin",
    "superuser": "every admin page; for changes the roles cannot make, not for daily work",
}


class Command(BaseCommand):
    help = (
        "Development only (DEBUG on): make sure one demo staff account per role exists "
        "(support, dpo, auditor), give each a new random password and print how it signs in; "
        "with --superuser, a demo superuser too. Then let every app that has a ``demo`` module "
        "seed its own demo data (swap: demo templates). Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--superuser",
            action="store_true",
            help="Also make (or reset) a demo superuser. Not needed to try the roles.",
        )

    def handle(self, *args, superuser: bool = False, **options) -> None:
        if not settings.DEBUG:
            raise CommandError("seed_demo runs only with DEBUG on: it prints staff passwords.")
        self.stdout.write(f"Staff admin: {reverse('admin:login')}")
        for role, phone in DEMO_STAFF.items():
            self._seed_staff(role, phone, roles=[role])
        if superuser:
            self._seed_staff("superuser", DEMO_SUPERUSER_PHONE, superuser=True)
        else:
            self.stdout.write(
                "No superuser was made. If you really need one: manage.py seed_demo --superuser"
            )
        self.stdout.write("Sign in with the phone number as username, the password, and a code")
        self.stdout.write("from the authenticator app (choose the 'default' device).")
        self._seed_apps()

    def _seed_staff(self, label: str, phone: str, **kind) -> None:
        user = User.objects.filter(phone_number=phone).first()
        try:
            if user is None:
                credentials = staff_create(phone=phone, **kind)
            else:
                credentials = staff_credentials_reset(user=user)
        except ApplicationError as exc:
            raise CommandError(exc.detail) from exc
        verb = "created" if user is None else "kept; its password was replaced"
        what = _WHAT[label].format(auditor=reverse("audit:auditor"), admin=reverse("admin:login"))
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"[{label}] demo account {verb}: {what}."))
        print_credentials(self.stdout, credentials)

    def _seed_apps(self) -> None:
        # Each app seeds its own demo data (``<app>.demo.seed_demo(stdout)``): consent does not
        # import the apps above it.
        for app in apps.get_app_configs():
            if module_has_submodule(app.module, "demo"):
                import_module(f"{app.name}.demo").seed_demo(self.stdout)
