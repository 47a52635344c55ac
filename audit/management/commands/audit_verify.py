from django.core.management.base import BaseCommand, CommandError

from audit import signing
from audit.services import verifier_sha256
from audit.verification import audit_log_verify


class Command(BaseCommand):
    help = (
        "Recompute every leaf from the stored events, rebuild the roots and check every "
        "checkpoint's signature. Exits non-zero naming the first bad index. Prints the signing "
        "key's fingerprint, which auditors pin with verify_audit.py --fingerprint, and the "
        "SHA-256 of the genuine verify_audit.py."
    )

    def handle(self, *args, **options):
        result = audit_log_verify()
        if not result.ok:
            for problem in result.problems:
                self.stderr.write(f"  {problem}")
            first = result.first_problem
            assert first is not None  # not ok: there is a problem
            index = f"first bad index {first.index}" if first.index is not None else "log"
            raise CommandError(f"Audit log verification FAILED ({index}): {first.reason}")
        self.stdout.write(
            f"Audit log OK: {result.tree_size} events, {result.checkpoints} checkpoints, "
            f"{result.pending} pending."
        )
        self.stdout.write(
            f"Signing key fingerprint (SHA-256 of the raw Ed25519 key): "
            f"sha256:{signing.public_key_fingerprint()}"
        )
        self.stdout.write(f"Genuine verifier: verify_audit.py sha256:{verifier_sha256()}")
