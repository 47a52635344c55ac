from django.core.management.base import BaseCommand

from audit.selectors import sealed_size
from audit.services import audit_seal


class Command(BaseCommand):
    help = "Seal pending audit events into the Merkle tree and sign a checkpoint."

    def handle(self, *args, **options):
        checkpoint = audit_seal()
        if checkpoint is None:
            self.stdout.write(f"Nothing to seal; tree size {sealed_size()}.")
        else:
            self.stdout.write(
                f"Checkpoint: tree size {checkpoint.tree_size}, root {checkpoint.root_hash}."
            )
