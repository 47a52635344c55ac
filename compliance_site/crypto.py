"""Envelope encryption: AES-256-GCM data keys wrapped by a rotatable master key.

Each data subject gets their own random data key; everything personal of theirs at rest is
ciphertext under it. The data key is only ever stored wrapped (encrypted) by a master key
from the environment, so destroying the wrapped key destroys every copy of the data at once
(crypto-shredding), including copies in backups.

``BIOMETRIC_MASTER_KEYS`` is a comma-separated list of ``key_id:base64(32 bytes)``; the first
is current (used to wrap), the others only unwrap until `rotate_master_key` re-wraps.
"""

from __future__ import annotations

import base64
import binascii
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_NONCE = 12
_WRAP_MAGIC = b"FLK1"
_DATA_MAGIC = b"FLD1"


class DecryptionError(Exception):
    """Ciphertext that does not open: wrong key, destroyed key, or tampered bytes."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes


def parse_master_keys(value: list[str]) -> list[MasterKey]:
    keys = []
    for entry in value:
        key_id, sep, encoded = entry.partition(":")
        if not sep or not key_id or len(key_id) > 32 or not key_id.isascii():
            raise ImproperlyConfigured("BIOMETRIC_MASTER_KEYS entries are key_id:base64key.")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise ImproperlyConfigured(f"master key {key_id!r} is not base64.") from exc
        if len(key) != 32:
            raise ImproperlyConfigured(f"master key {key_id!r} must be 32 bytes (AES-256).")
        keys.append(MasterKey(key_id, key))
    if not keys:
        raise ImproperlyConfigured("Set BIOMETRIC_MASTER_KEYS (at least one key).")
    if len({k.key_id for k in keys}) != len(keys):
        raise ImproperlyConfigured("BIOMETRIC_MASTER_KEYS has a repeated key id.")
    return keys


def master_keys() -> list[MasterKey]:
    return parse_master_keys(settings.BIOMETRIC_MASTER_KEYS)


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def wrap_data_key(data_key: bytes, *, context: bytes) -> bytes:
    """Encrypt a data key under the current master key; ``context`` binds it to its owner."""
    current = master_keys()[0]
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
    by_id = {k.key_id: k for k in master_keys()}
    if key_id not in by_id:
        raise DecryptionError(f"master key {key_id!r} is not configured")
    start = len(_WRAP_MAGIC) + 1 + len(key_id)
    nonce, sealed = wrapped[start : start + _NONCE], wrapped[start + _NONCE :]
    try:
        return AESGCM(by_id[key_id].key).decrypt(
            nonce, sealed, _WRAP_MAGIC + key_id.encode() + context
        )
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
