"""The service's Ed25519 signing key (settings ``AUDIT_SIGNING_KEY``, PEM).

Checkpoints and consent receipts are signed with it; ``/api/v1/audit/public-key`` publishes the
public half. Signatures are base64 (standard alphabet, padded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit import witness
from audit.leaves import jcs


@lru_cache(maxsize=4)
def _load(pem: str) -> Ed25519PrivateKey:
    if not pem:
        raise ImproperlyConfigured("Set AUDIT_SIGNING_KEY (an Ed25519 private key, PEM).")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"AUDIT_SIGNING_KEY is not a readable PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured("AUDIT_SIGNING_KEY must be an Ed25519 key.")
    return key


def _private_key() -> Ed25519PrivateKey:
    # Keyed by the PEM text so a test that overrides the setting gets its own key.
    return _load(settings.AUDIT_SIGNING_KEY)


def sign(message: bytes) -> str:
    """Ed25519 signature of ``message``, base64."""
    return base64.b64encode(_private_key().sign(message)).decode("ascii")


def sign_json(obj: dict) -> str:
    """Ed25519 over the RFC 8785 canonical JSON of ``obj``, base64."""
    return sign(jcs(obj))


def public_key() -> Ed25519PublicKey:
    return _private_key().public_key()


def public_key_pem() -> str:
    return (
        public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode("ascii")
    )


def public_key_fingerprint() -> str:
    """SHA-256 of the raw 32-byte public key, hex: what ``verify_audit.py --fingerprint`` pins."""
    raw = public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def verify(message: bytes, signature_b64: str, key: Ed25519PublicKey | None = None) -> bool:
    """True when ``signature_b64`` is a valid signature of ``message`` (by our key by default)."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        (key or public_key()).verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verify_json(obj: dict, signature_b64: str, key: Ed25519PublicKey | None = None) -> bool:
    return verify(jcs(obj), signature_b64, key)


# --- checkpoints as C2SP signed notes -----------------------------------------------------------


def checkpoint_verifier() -> witness.Verifier:
    """The log's note key: named by its origin (``AUDIT_LOG_ID``), as tlog-checkpoint expects."""
    return witness.verifier_for(settings.AUDIT_LOG_ID, public_key())


def sign_note(text: bytes) -> str:
    """The log's signature line on a note text (c2sp.org/signed-note, Ed25519)."""
    return witness.sign_note(text, settings.AUDIT_LOG_ID, _private_key())
