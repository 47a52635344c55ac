from django.core.management.base import BaseCommand

from biometrics.services import master_key_schedule


class Command(BaseCommand):
    help = (
        "Run the master-key schedule now: make the first key of an empty key store, rotate when "
        "the current key is BIOMETRIC_KEY_ROTATION_DAYS old (at once with --force), re-wrap "
        "every subject key, retire and destroy keys past BACKUP_RETENTION_DAYS. Idempotent and "
        "audited; Celery beat runs the same schedule."
    )
    # This is how an operator fixes what the key-store system check reports.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--force", action="store_true", help="Make a new current key now.")

    def handle(self, *args, **options) -> None:
        done = master_key_schedule(force=options["force"])
        self.stdout.write(
            f"Master keys: {done['created']} created, {done['rewrapped']} subject key(s) "
            f"re-wrapped under the current one, {done['destroyed']} destroyed."
        )
