from datetime import timedelta
from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from compliance_site.errors import ApplicationError
from consent.identity.models import User
from consent.identity.services import staff_create, staff_credentials_reset
from consent.ledger.models import ImpactAssessment, Purpose
from consent.ledger.selectors import assessment_current
from consent.ledger.services import AssessmentFacts, assessment_publish
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

_COMMON_MEASURES = (
    "HTTPS only; staff access by role with two-factor sign-in and masked numbers; every change "
    "in a signed, append-only audit log; erasure verified by the inventory and certified."
)
# Demo assessments (development data, not legal advice): what the DPO of a real deployment
# writes for its own circumstances.
DEMO_ASSESSMENTS = {
    "biometric_enrolment": {
        "scope": (
            "A face photo, a short liveness video (checked in memory, never stored), the face "
            "embedding and landmarks of each user who gives explicit consent; adults and, with "
            "a guardian's consent, children under 14; hosted by the hosting provider."
        ),
        "necessity": (
            "Explicit, separate consent (GDPR Art. 9(2)(a), PIPL Art. 29). A swap cannot be "
            "made without the face; the liveness check stops enrolment of another person's "
            "photo. No identity document, contact or location is collected."
        ),
        "risks": (
            "Theft of face data from the database or a backup; enrolment of someone else's face "
            "from a photo or replay; keeping data after the person has withdrawn."
        ),
        "measures": (
            "AES-256-GCM under a per-person key wrapped by a rotated master key outside the "
            "database; key destroyed on withdrawal or erasure, so backups stop opening by a "
            "stated date; liveness challenge with random actions; withdrawal in one action. "
            + _COMMON_MEASURES
        ),
    },
    "face_swap": {
        "scope": (
            "Decrypting a user's face template in memory to make the swaps they start, with "
            "licensed templates whose depicted person consented; results kept 24 hours."
        ),
        "necessity": (
            "Explicit consent per purpose; the template is used only for swaps the person asks "
            "for, and only while biometric enrolment is current too."
        ),
        "risks": (
            "Deceptive synthetic media; swaps into a template whose depicted person did not "
            "consent; results kept longer than needed."
        ),
        "measures": (
            "Visible AI label, IPTC and C2PA provenance and an invisible watermark on every "
            "output; template licence and depicted consent checked at request, claim and before "
            "storing; consent re-checked between frames. " + _COMMON_MEASURES
        ),
    },
    "output_storage": {
        "scope": "Keeping swap results in the user's account for 30 days after each is made.",
        "necessity": "Consent (GDPR Art. 6(1)(a)); optional, separate from the swap itself.",
        "risks": "Results shared beyond the person's intent; results kept after withdrawal.",
        "measures": (
            "Encrypted under the person's key; erased on withdrawal (except results younger "
            "than 24 hours, as the text says) and after 30 days. " + _COMMON_MEASURES
        ),
    },
    "ephemeral_swap": {
        "scope": (
            "A face photo and a liveness video of a user who swaps once without enrolling, "
            "checked and used in memory during the request; only the labelled result is kept."
        ),
        "necessity": (
            "Explicit consent (GDPR Art. 9(2)(a), PIPL Art. 29); the swap cannot be made without "
            "the face, and nothing of it is kept once the result is made."
        ),
        "risks": (
            "A copy of the face left behind (a temporary file, a queue message, a cache, a log); "
            "someone else's face swapped from a photo or replay."
        ),
        "measures": (
            "Uploads held in memory only and made in the request (no queue); the same liveness "
            "check as enrolment; a test scans rows, files, cache and broker for any trace; the "
            "result labelled and erased with the consent. " + _COMMON_MEASURES
        ),
    },
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
        self._seed_assessments()
        self._seed_apps()

    def _seed_assessments(self) -> None:
        """A demo assessment of each purpose that has no current one, signed by the demo DPO
        (policy versions can be published only with one)."""
        dpo = User.objects.get(phone_number=DEMO_STAFF["dpo"])
        for purpose in Purpose.objects.all():
            if purpose.code not in DEMO_ASSESSMENTS or assessment_current(purpose) is not None:
                continue
            facts = AssessmentFacts(
                **DEMO_ASSESSMENTS[purpose.code],
                residual_risk=ImpactAssessment.Risk.LOW,
                decision=ImpactAssessment.Decision.CONDITIONS,
                review_on=timezone.localdate() + timedelta(days=365),
                signer="Demo DPO (seed_demo), Data Protection Officer",
            )
            assessment = assessment_publish(purpose=purpose.code, facts=facts, actor=dpo)
            self.stdout.write(f"Impact assessment published: {assessment}.")

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
