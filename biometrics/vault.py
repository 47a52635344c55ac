"""The key vault: one data key per subject, and ciphertext in storage.

Plaintext exists only in memory. Every ciphertext names what it is in its AAD
(``capture:<uuid>:photo``), so a blob moved to another record does not open; every data key is
wrapped with the subject id as context, so a wrapped key moved to another subject does not open.

Files go through Django's ``default_storage`` (a folder under MEDIA_ROOT locally, an
S3-compatible bucket with ``STORAGE_BACKEND=s3``: ``compliance_site/storage.py``): storage only
ever receives ciphertext. Large files (swap results) are sealed in segments
(``seal_segmented``) so that a download reads, decrypts and sends one segment at a time
(``unseal_stream``), never the whole clip in memory.

Everything here runs in the caller's transaction; the services audit.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from biometrics.models import SubjectKey
from compliance_site import crypto, storage
from compliance_site.crypto import DecryptionError


class KeyDestroyed(DecryptionError):
    """The subject's data key is gone (erased): nothing of theirs can be decrypted again."""


def key_context(subject_id: int) -> bytes:
    return f"subject:{int(subject_id)}".encode()


def subject_key_ensure(*, subject_id: int) -> tuple[bytes, bool]:
    """The subject's data key, made and stored (wrapped) on first use; ``True`` if made now.

    Call with the subject's row locked (``require_consent(lock=True)``) so two first captures
    cannot race to make two keys.
    """
    row = SubjectKey.objects.filter(subject_id=subject_id).first()
    if row is not None:
        return _unwrap(row), False
    key = crypto.new_data_key()
    wrapped = crypto.wrap_data_key(key, context=key_context(subject_id))
    SubjectKey.objects.create(
        subject_id=subject_id, wrapped_key=wrapped, key_id=crypto.wrapped_key_id(wrapped)
    )
    return key, True


def subject_key(subject_id: int) -> bytes:
    """The subject's data key; ``KeyDestroyed`` when there is none (never made, or erased)."""
    row = SubjectKey.objects.filter(subject_id=subject_id).first()
    if row is None:
        raise KeyDestroyed(f"subject {subject_id} has no data key")
    return _unwrap(row)


def _unwrap(row: SubjectKey) -> bytes:
    return crypto.unwrap_data_key(bytes(row.wrapped_key), context=key_context(row.subject_id))


def subject_key_destroy(*, subject_id: int) -> int:
    """Crypto-shredding: delete the wrapped key. Idempotent; returns 1 if a key was destroyed."""
    return SubjectKey.objects.filter(subject_id=subject_id).delete()[0]


def subject_key_rewrap(row: SubjectKey) -> None:
    """Wrap the same data key under the current master key (master-key rotation)."""
    row.wrapped_key = crypto.rewrap_data_key(
        bytes(row.wrapped_key), context=key_context(row.subject_id)
    )
    row.key_id = crypto.wrapped_key_id(row.wrapped_key)
    row.save(update_fields=["wrapped_key", "key_id"])


def seal(key: bytes, plaintext: bytes, *, aad: str) -> bytes:
    return crypto.encrypt(key, plaintext, aad=aad.encode())


def seal_segmented(key: bytes, plaintext: bytes, *, aad: str) -> bytes:
    """As ``seal``, in segments that ``unseal_stream`` opens one at a time."""
    return crypto.encrypt_segmented(key, plaintext, aad=aad.encode())


def unseal(subject_id: int, blob: bytes, *, aad: str) -> bytes:
    """Decrypt ``blob`` (whole or segmented) with the subject's key; ``DecryptionError`` once
    the key is destroyed."""
    return crypto.decrypt_any(subject_key(subject_id), bytes(blob), aad=aad.encode())


@dataclass(frozen=True)
class Stream:
    """A stored blob being decrypted as it is read: ``size`` bytes of plaintext in ``chunks``."""

    size: int
    chunks: Iterator[bytes]


def unseal_stream(subject_id: int, name: str, *, aad: str) -> Stream:
    """Open the stored blob ``name`` for reading as plaintext, a segment at a time. The key and
    the first segment are checked here (``DecryptionError``, ``FileNotFoundError``), so a caller
    can still refuse before it answers; a later segment that does not open raises while
    streaming (the download is cut, nothing unverified is sent)."""
    key = subject_key(subject_id)
    pieces = storage.chunks(name)
    head = next(pieces, b"")
    if not crypto.is_segmented(head):  # an older whole-file ciphertext: small, opened at once
        plain = crypto.decrypt(key, head + b"".join(pieces), aad=aad.encode())
        return Stream(len(plain), iter([plain]))
    size = crypto.segmented_plain_size(storage.size(name), head)
    segments = crypto.decrypt_segments(key, itertools.chain([head], pieces), aad=aad.encode())
    first = next(segments)
    return Stream(size, itertools.chain([first], segments))


def blob_save(name: str, ciphertext: bytes) -> str:
    """Store ``ciphertext`` (never plaintext) under ``name``; returns the name storage chose."""
    return default_storage.save(name, ContentFile(ciphertext))


def blob_read(name: str) -> bytes:
    return storage.read(name)


def blob_delete(name: str) -> bool:
    """Delete a stored blob; ``True`` if it existed. Idempotent."""
    if blob_exists(name):
        default_storage.delete(name)
        return True
    return False


def blob_names(folder: str) -> list[str]:
    """Every blob name directly under ``folder`` (empty if the folder does not exist)."""
    try:
        _dirs, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return []
    return [f"{folder}/{name}" for name in files]


def blob_modified(name: str):
    """When the blob was last written (an aware datetime)."""
    return default_storage.get_modified_time(name)


def blob_exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)
