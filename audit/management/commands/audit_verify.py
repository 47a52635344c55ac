from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from audit import signing, witness
from audit.selectors import configured_witnesses
from audit.services import verifier_sha256
from audit.verification import audit_log_verify


class Command(BaseCommand):
    help = (
        "Recompute every leaf from the stored events, rebuild the roots and check every "
        "checkpoint's signature. Exits non-zero naming the first bad index. With a trusted "
        "checkpoint (a signed note kept from /api/v1/audit/log/checkpoint), or with what the "
        "witnesses last cosigned, also fails when the log is shorter than or inconsistent with "
        "it. Prints every signing key's id and fingerprint, which auditors pin with "
        "verify_audit.py --fingerprint (or --keys), and the SHA-256 of the genuine verify_audit.py."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--trusted-checkpoint",
            action="append",
            type=Path,
            default=[],
            metavar="FILE",
            help="a checkpoint note kept earlier (repeatable); the log must extend it",
        )
        parser.add_argument(
            "--witness",
            action="append",
            default=None,
            metavar="VKEY",
            help="a witness's verifier key (repeatable; default: AUDIT_WITNESSES)",
        )
        parser.add_argument(
            "--quorum",
            type=int,
            default=None,
            help="cosignatures the latest checkpoint needs (default: AUDIT_WITNESS_QUORUM)",
        )
        parser.add_argument(
            "--ask-witnesses",
            action="store_true",
            help="fetch what each configured witness last cosigned, and trust it",
        )

    def handle(self, *args, **options):
        try:
            witnesses = (
                [witness.parse_vkey(v) for v in options["witness"]]
                if options["witness"] is not None
                else configured_witnesses()
            )
            trusted = [self._read(path) for path in options["trusted_checkpoint"]]
        except (OSError, witness.FormatError) as exc:
            raise CommandError(f"Trusted checkpoint or witness key refused: {exc}") from exc
        quorum = settings.AUDIT_WITNESS_QUORUM if options["quorum"] is None else options["quorum"]
        if options["ask_witnesses"]:
            trusted += self._ask_witnesses(witnesses, quorum)
        result = audit_log_verify(trusted=trusted, witnesses=witnesses, quorum=quorum)
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
        for checkpoint in trusted:
            self.stdout.write(f"Extends the trusted checkpoint of tree size {checkpoint.size}.")
        for entry in signing.key_history():
            state = "retired" if entry.valid_until else "current"
            self.stdout.write(
                f"{entry.job} key {entry.key_id} ({state}) fingerprint (SHA-256 of the raw "
                f"Ed25519 key): sha256:{entry.as_json()['fingerprint']}"
            )
        self.stdout.write(f"Genuine verifier: verify_audit.py sha256:{verifier_sha256()}")

    def _read(self, path: Path) -> witness.Checkpoint:
        checkpoint, _ = signing.open_checkpoint(path.read_bytes())
        return checkpoint

    def _ask_witnesses(self, witnesses, quorum: int) -> list[witness.Checkpoint]:
        """Each configured witness's last cosigned checkpoint, kept only when both its
        cosignature and the log's signature verify; fewer than ``quorum`` answers fail."""
        keys = {w.name: w for w in witnesses}
        answers = []
        for config in settings.AUDIT_WITNESSES:
            verifier = keys.get(witness.parse_vkey(config["vkey"]).name)
            try:
                note = witness.latest_from(
                    config["url"], settings.AUDIT_LOG_ID, settings.AUDIT_WITNESS_TIMEOUT
                )
                if verifier is None or note is None:
                    continue
                checkpoint, signatures = signing.open_checkpoint(note)
            except (OSError, witness.FormatError) as exc:
                self.stderr.write(f"  witness {config['url']}: {exc}")
                continue
            if witness.cosigned_at(checkpoint.text, signatures, verifier) is not None:
                answers.append(checkpoint)
        if len(answers) < max(quorum, 1):
            raise CommandError(
                f"Audit log verification FAILED (log): {len(answers)} witnesses answered with a "
                f"valid cosigned checkpoint, {max(quorum, 1)} needed"
            )
        return answers
