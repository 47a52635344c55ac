"""Envelope encryption: AES-256-GCM data keys wrapped by a rotated master key.

Each data subject gets their own random data key; everything personal of theirs at rest is
ciphertext under it. The data key is only ever stored wrapped (encrypted) by a master key from
the key store (``compliance_site.keystore``, a folder outside the database). Destroying the
wrapped key destroys every live copy of the data at once (crypto-shredding); a copy of the
wrapped key in a database backup stays readable only until the master key that wrapped it is
destroyed, which the key schedule does within ``keystore.backup_horizon``.

The current master key wraps; retired ones only unwrap until the rotation has re-wrapped.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from compliance_site import keystore

_NONCE = 12
_WRAP_MAGIC = b"FLK1"
_DATA_MAGIC = b"FLD1"


class DecryptionError(Exception):
    """Ciphertext that does not open: wrong key, destroyed key, or tampered bytes."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(data_key: bytes, *, context: bytes) -> bytes:
    """Encrypt a data key under the current master key; ``context`` binds it to its owner."""
    current = keystore.current()
    key_id = current.key_id.encode()
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(current.key).encrypt(nonce, data_key, _WRAP_MAGIC + key_id + context)
    return _WRAP_MAGIC + bytes([len(key_id)]) + key_id + nonce + sealed


def wrapped_key_id(wrapped: bytes) -> str:
    if not wrapped.startswith(_WRAP_MAGIC):
        raise DecryptionError("not a wrapped data key")
    length = wrapped[len(_WRAP_MAGIC)]
    start = len(_WRAP_MAGIC) + 1
    return wrapped[start : start + length].decode()


def unwrap_data_key(wrapped: bytes, *, context: bytes) -> bytes:
    key_id = wrapped_key_id(wrapped)
    master = keystore.get(key_id)
    if master is None:
        raise DecryptionError(f"master key {key_id!r} is not in the key store (destroyed?)")
    start = len(_WRAP_MAGIC) + 1 + len(key_id)
    nonce, sealed = wrapped[start : start + _NONCE], wrapped[start + _NONCE :]
    try:
        return AESGCM(master.key).decrypt(nonce, sealed, _WRAP_MAGIC + key_id.encode() + context)
    except InvalidTag as exc:
        raise DecryptionError("wrapped data key does not open") from exc


def rewrap_data_key(wrapped: bytes, *, context: bytes) -> bytes:
    """The same data key wrapped under the current master key (for rotation)."""
    return wrap_data_key(unwrap_data_key(wrapped, context=context), context=context)


def encrypt(data_key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """AES-256-GCM; ``aad`` names what the bytes are, so a ciphertext cannot be swapped."""
    nonce = os.urandom(_NONCE)
    return _DATA_MAGIC + nonce + AESGCM(data_key).encrypt(nonce, plaintext, _DATA_MAGIC + aad)


def decrypt(data_key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    if not blob.startswith(_DATA_MAGIC):
        raise DecryptionError("not a Faceledger ciphertext")
    nonce = blob[len(_DATA_MAGIC) : len(_DATA_MAGIC) + _NONCE]
    try:
        return AESGCM(data_key).decrypt(nonce, blob[len(_DATA_MAGIC) + _NONCE :], _DATA_MAGIC + aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not open with this key") from exc
