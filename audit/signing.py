"""The service's Ed25519 signing keys: one per job, each document naming the key that signed it.

Jobs (``AUDIT_SIGNING_JOBS``): ``checkpoint`` (the log's tree heads, JSON and C2SP note),
``receipt`` (consent receipts), ``erasure`` (erasure certificates) and ``manifest`` (audit
export manifests). Each job's private key is a setting (``AUDIT_SIGNING_KEYS[job]``, PEM,
from ``AUDIT_<JOB>_KEY`` or ``AUDIT_<JOB>_KEY_FILE``); production refuses a missing key and
one key serving two jobs (``compliance_site.deploy_checks.signing_keys_problem``).

The API every signer uses:

* ``sign(job, payload)`` → the payload with ``key_id`` and ``signature`` added. The signature is
  Ed25519 over the RFC 8785 canonical JSON of the payload *with* its ``key_id`` (so the id is
  signed too), base64 (standard alphabet, padded).
* ``verify(job, document)`` → True when the document's ``key_id`` names a key of that job in
  the key history and its signature holds under that key. A document signed with another job's
  key is refused even though the signature itself is valid: the key's job must match.

Key ids: ``<job>-<first 8 bytes of SHA-256(raw 32-byte public key), hex>``. The checkpoint key
also signs C2SP notes under the log's origin (``AUDIT_LOG_ID``), where the key id is the note
format's own (``witness.key_id``).

Rotation keeps old public keys published: ``AUDIT_KEY_HISTORY`` lists retired keys (job,
public key, valid from/until); ``key_history()`` is them plus the current keys, as
``/api/v1/audit/keys`` serves it and exports ship it (``keys.json``). ``manage.py audit_keys
--rotate JOB`` makes a new key and the history to publish with it (README "The audit log").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from audit import witness
from audit.leaves import jcs

CHECKPOINT, RECEIPT, ERASURE, MANIFEST = "checkpoint", "receipt", "erasure", "manifest"


def jobs() -> tuple[str, ...]:
    """Every signing job (``AUDIT_SIGNING_JOBS``; a new kind of signed document adds its job
    there, and production then requires its key)."""
    return tuple(settings.AUDIT_SIGNING_JOBS)


def setting_name(job: str) -> str:
    """The environment variable holding ``job``'s private key (or ``…_FILE``)."""
    return f"AUDIT_{job.upper()}_KEY"


@lru_cache(maxsize=32)
def load_private(pem: str, what: str = "key") -> Ed25519PrivateKey:
    if not pem:
        raise ImproperlyConfigured(f"Set {what} (an Ed25519 private key, PEM).")
    try:
        key = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{what} is not a readable PEM key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ImproperlyConfigured(f"{what} must be an Ed25519 key.")
    return key


def load_public(pem: str, what: str = "public key") -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"{what} is not a readable PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ImproperlyConfigured(f"{what} must be an Ed25519 key.")
    return key


def _check_job(job: str) -> str:
    if job not in jobs():
        raise ValueError(f"unknown signing job {job!r} (one of {', '.join(jobs())})")
    return job


def _private_key(job: str) -> Ed25519PrivateKey:
    # Keyed by the PEM text so a test that overrides the setting gets its own key.
    pem = settings.AUDIT_SIGNING_KEYS.get(_check_job(job), "")
    return load_private(pem, setting_name(job))


def raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex: what ``verify_audit.py --fingerprint`` pins."""
    return hashlib.sha256(raw(key)).hexdigest()


def key_id(job: str, key: Ed25519PublicKey) -> str:
    return f"{job}-{fingerprint(key)[:16]}"


@dataclass(frozen=True)
class PublishedKey:
    """One entry of the key history: a job's key, current (``valid_until`` None) or retired."""

    job: str
    key: Ed25519PublicKey
    valid_from: str | None
    valid_until: str | None

    @property
    def key_id(self) -> str:
        return key_id(self.job, self.key)

    def as_json(self) -> dict:
        return {
            "job": self.job,
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": pem(self.key),
            "fingerprint": fingerprint(self.key),
            "valid_from": self.valid_from,
            "valid_until": self.valid_until,
        }


def _retired(configured: list) -> list[PublishedKey]:
    retired = []
    for position, entry in enumerate(configured):
        what = f"AUDIT_KEY_HISTORY[{position}]"
        if not isinstance(entry, dict) or not entry.get("valid_until"):
            raise ImproperlyConfigured(f"{what} needs job, public_key, valid_from, valid_until.")
        job = str(entry.get("job"))
        if job not in jobs():
            raise ImproperlyConfigured(f"{what} names an unknown job {job!r}.")
        key = load_public(str(entry.get("public_key", "")), f"{what}.public_key")
        retired.append(PublishedKey(job, key, entry.get("valid_from"), entry["valid_until"]))
    return retired


def key_history() -> list[PublishedKey]:
    """Every published key: the retired ones (``AUDIT_KEY_HISTORY``), then each job's current
    one, valid from when the job's last retired key stopped."""
    keys = tuple((job, settings.AUDIT_SIGNING_KEYS.get(job, "")) for job in jobs())
    return list(_history(keys, json.dumps(settings.AUDIT_KEY_HISTORY, sort_keys=True)))


@lru_cache(maxsize=8)
def _history(keys: tuple[tuple[str, str], ...], retired: str) -> tuple[PublishedKey, ...]:
    history = _retired(json.loads(retired))
    for job, private in keys:
        ends = [entry.valid_until for entry in history if entry.job == job and entry.valid_until]
        current = load_private(private, setting_name(job)).public_key()
        if all(entry.key_id != key_id(job, current) for entry in history):
            history.append(PublishedKey(job, current, max(ends) if ends else None, None))
    return tuple(history)


def key_history_json() -> list[dict]:
    return [entry.as_json() for entry in key_history()]


def published_key(kid: str) -> PublishedKey | None:
    """The history's entry for key id ``kid``, or None."""
    for entry in key_history():
        if entry.key_id == kid:
            return entry
    return None


def public_key(job: str = CHECKPOINT) -> Ed25519PublicKey:
    """The current public key of ``job``."""
    return _private_key(job).public_key()


def current_key_id(job: str) -> str:
    return key_id(job, public_key(job))


def public_key_pem(job: str = CHECKPOINT) -> str:
    return pem(public_key(job))


def public_key_fingerprint(job: str = CHECKPOINT) -> str:
    return fingerprint(public_key(job))


def sign(job: str, payload: dict) -> dict:
    """``payload`` signed by ``job``'s current key: a copy with ``key_id`` and ``signature``
    (Ed25519 over the canonical JSON of the payload and its ``key_id``)."""
    if "signature" in payload or "key_id" in payload:
        raise ValueError("the payload already carries a key_id or signature")
    body = {**payload, "key_id": current_key_id(job)}
    signature = _private_key(job).sign(jcs(body))
    return {**body, "signature": base64.b64encode(signature).decode("ascii")}


def verify_signature(message: bytes, signature_b64: str, key: Ed25519PublicKey) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def verify(job: str, document: dict) -> bool:
    """True when ``document`` (as ``sign`` returns it) was signed by a published key of ``job``
    that its ``key_id`` names."""
    _check_job(job)
    body = {k: v for k, v in document.items() if k != "signature"}
    kid, signature = body.get("key_id"), document.get("signature")
    if not isinstance(kid, str) or not isinstance(signature, str):
        return False
    entry = published_key(kid)
    if entry is None:
        return False
    # A key signs for one job only: a valid checkpoint signature is no receipt.
    # mutant: delete — tests/audit/test_signing_keys.py
    #   test_a_checkpoint_signature_presented_as_a_receipt_is_refused
    if entry.job != job:
        return False
    try:
        message = jcs(body)
    except (TypeError, ValueError):
        return False
    return verify_signature(message, signature, entry.key)


# --- checkpoints as C2SP signed notes -----------------------------------------------------------


def checkpoint_verifier(key: Ed25519PublicKey | None = None) -> witness.Verifier:
    """The log's note key: named by its origin (``AUDIT_LOG_ID``), as tlog-checkpoint expects;
    the current checkpoint key unless ``key`` (a retired one) is given."""
    return witness.verifier_for(settings.AUDIT_LOG_ID, key or public_key(CHECKPOINT))


def checkpoint_verifiers() -> list[witness.Verifier]:
    """The note keys of every checkpoint key in the history, current one first."""
    keys = [entry.key for entry in reversed(key_history()) if entry.job == CHECKPOINT]
    return [checkpoint_verifier(key) for key in keys]


def sign_note(text: bytes) -> str:
    """The log's signature line on a note text (c2sp.org/signed-note, Ed25519)."""
    return witness.sign_note(text, settings.AUDIT_LOG_ID, _private_key(CHECKPOINT))


def open_checkpoint(note: bytes | str) -> tuple[witness.Checkpoint, list[witness.NoteSignature]]:
    """A checkpoint note signed by any checkpoint key of the history: one kept before a
    rotation still opens."""
    problem: witness.FormatError | None = None
    for verifier in checkpoint_verifiers():
        try:
            return witness.open_checkpoint(note, verifier)
        except witness.FormatError as exc:
            problem = problem or exc
    assert problem is not None  # the history always holds the current checkpoint key
    raise problem
