"""List the signing keys, or prepare a rotation (README "The audit log", rotating a key)."""

import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from audit import signing
from audit.leaves import format_time


class Command(BaseCommand):
    help = (
        "Print the key history (every signing key, current and retired, as /api/v1/audit/keys "
        "serves it). With --rotate JOB: write a new private key for JOB and the key history to "
        "publish with it (the current key of JOB retired now). Nothing changes until you point "
        "AUDIT_<JOB>_KEY_FILE at the new key and AUDIT_KEY_HISTORY_FILE at the new history, "
        "and restart every process (web, worker, beat) at once."
    )

    def add_arguments(self, parser):
        parser.add_argument("--rotate", metavar="JOB", help="the job whose key to replace")
        parser.add_argument("--key-out", type=Path, help="where to write the new private key")
        parser.add_argument("--history-out", type=Path, help="where to write the new history")

    def handle(self, *args, rotate, key_out, history_out, **options):
        if rotate is None:
            self.stdout.write(json.dumps(signing.key_history_json(), indent=1))
            return
        if rotate not in signing.jobs():
            raise CommandError(f"--rotate: one of {', '.join(signing.jobs())}")
        if key_out is None or history_out is None:
            raise CommandError("--rotate needs --key-out and --history-out")
        for path in (key_out, history_out):
            if path.exists():
                raise CommandError(f"{path} exists: the command never overwrites a key or list")
        now = format_time(timezone.now())
        retired = [dict(entry) for entry in settings.AUDIT_KEY_HISTORY]
        for entry in signing.key_history():
            if entry.job == rotate and entry.valid_until is None:
                retired.append(
                    {
                        "job": rotate,
                        "public_key": signing.pem(entry.key),
                        "valid_from": entry.valid_from,
                        "valid_until": now,
                    }
                )
        new = Ed25519PrivateKey.generate()
        pem = new.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        fd = os.open(key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        history_out.write_text(json.dumps(retired, indent=1) + "\n", encoding="utf-8")
        kid = signing.key_id(rotate, new.public_key())
        self.stdout.write(
            f"New {rotate} key {kid} written to {key_out}; key history written to "
            f"{history_out}.\nSet {signing.setting_name(rotate)}_FILE={key_out} and "
            f"AUDIT_KEY_HISTORY_FILE={history_out}, then restart every process."
        )
        if rotate == signing.CHECKPOINT:
            vkey = signing.checkpoint_verifier(new.public_key()).vkey
            self.stdout.write(
                f"Checkpoint key: give the witnesses the log's new verifier key {vkey} "
                "before the restart (they verify the log's signature on every checkpoint)."
            )
