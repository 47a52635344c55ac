from django.core.management.base import BaseCommand

from audit.services import retention_sweep


class Command(BaseCommand):
    help = "Erase whatever each retention rule says has expired (audited, one event per run)."

    def handle(self, *args, **options) -> None:
        counts = retention_sweep()
        for name, count in counts.items():
            self.stdout.write(f"{name}: {count} erased")
