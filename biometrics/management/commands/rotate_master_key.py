from django.core.management.base import BaseCommand

from biometrics.services import master_key_rotate


class Command(BaseCommand):
    help = (
        "Re-wrap every subject key under the current (first) key of BIOMETRIC_MASTER_KEYS. "
        "Idempotent and audited. Keep the old key configured until this has run."
    )

    def handle(self, *args, **options) -> None:
        count = master_key_rotate()
        self.stdout.write(f"Re-wrapped {count} subject key(s) under the current master key.")
