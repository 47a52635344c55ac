"""Development-only secrets, made once on first use and kept under ``var/keys``.

Only the local settings call this; production reads every secret from the environment.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def _ensure(path: Path, make: callable) -> str:  # type: ignore[valid-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: when two processes start at once, one writes and the other reads.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    value = make()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value)
    return value


def secret_key(folder: Path) -> str:
    return _ensure(folder / "django_secret_key", lambda: secrets.token_urlsafe(50))


def ed25519_pem(folder: Path, name: str) -> str:
    def make() -> str:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return (
            Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )

    return _ensure(folder / name, make)


def aes_key_b64(folder: Path, name: str) -> str:
    import base64

    return _ensure(folder / name, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
