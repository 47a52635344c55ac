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
import struct
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from compliance_site import keystore

_NONCE = 12
_WRAP_MAGIC = b"FLK1"
_DATA_MAGIC = b"FLD1"
# Segmented ciphertext for large files (swap results): each segment is sealed on its own, its
# index and whether it is the last in its AAD, so segments cannot be reordered, dropped or the
# file cut short, and a download decrypts and sends one segment at a time.
_STREAM_MAGIC = b"FLS1"
_TAG = 16
SEGMENT_SIZE = 256 * 1024


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


def _segment_aad(aad: bytes, index: int, last: bool) -> bytes:
    return _STREAM_MAGIC + aad + b"|%d|%d" % (index, int(last))


def encrypt_segmented(
    data_key: bytes, plaintext: bytes, *, aad: bytes, segment_size: int = SEGMENT_SIZE
) -> bytes:
    """AES-256-GCM in segments of ``segment_size`` bytes (``decrypt_segments`` reads it back
    one segment at a time)."""
    cipher = AESGCM(data_key)
    pieces = [_STREAM_MAGIC, struct.pack(">I", segment_size)]
    count = max(1, -(-len(plaintext) // segment_size))
    for index in range(count):
        chunk = plaintext[index * segment_size : (index + 1) * segment_size]
        nonce = os.urandom(_NONCE)
        aad_i = _segment_aad(aad, index, index == count - 1)
        pieces.append(nonce + cipher.encrypt(nonce, chunk, aad_i))
    return b"".join(pieces)


def is_segmented(head: bytes) -> bool:
    return head.startswith(_STREAM_MAGIC)


def segmented_plain_size(cipher_size: int, head: bytes) -> int:
    """The plaintext size of a segmented ciphertext of ``cipher_size`` bytes (``head``: its
    first 8 bytes), without reading it."""
    (segment_size,) = struct.unpack(">I", head[4:8])
    body = cipher_size - 8
    record = _NONCE + segment_size + _TAG
    full, rest = divmod(body, record)
    if rest == 0:
        return full * segment_size
    return full * segment_size + rest - _NONCE - _TAG


def decrypt_segments(data_key: bytes, chunks: Iterable[bytes], *, aad: bytes) -> Iterator[bytes]:
    """Plaintext, one segment at a time, from the pieces of a segmented ciphertext (any sizes).
    A segment is given out only once its tag is verified; a reordered, dropped, altered or
    missing final segment raises ``DecryptionError``."""
    cipher = AESGCM(data_key)
    buffer = bytearray()
    source = iter(chunks)
    record = 0
    index = 0
    ended = False
    while True:
        while not ended and (record == 0 or len(buffer) <= record):
            piece = next(source, None)
            if piece is None:
                ended = True
            else:
                buffer += piece
            if record == 0 and len(buffer) >= 8:
                if not is_segmented(bytes(buffer[:4])):
                    raise DecryptionError("not a Faceledger segmented ciphertext")
                (segment_size,) = struct.unpack(">I", bytes(buffer[4:8]))
                record = _NONCE + segment_size + _TAG
                del buffer[:8]
        if record == 0:
            raise DecryptionError("not a Faceledger segmented ciphertext")
        last = ended and len(buffer) <= record
        piece_bytes = bytes(buffer[:record])
        del buffer[:record]
        if len(piece_bytes) < _NONCE + _TAG:
            raise DecryptionError("segmented ciphertext is cut short")
        nonce, sealed = piece_bytes[:_NONCE], piece_bytes[_NONCE:]
        try:
            yield cipher.decrypt(nonce, sealed, _segment_aad(aad, index, last))
        except InvalidTag as exc:
            raise DecryptionError("ciphertext segment does not open with this key") from exc
        if last:
            return
        index += 1


def decrypt_any(data_key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """``decrypt`` or, for a segmented ciphertext, all its segments joined."""
    if is_segmented(blob):
        return b"".join(decrypt_segments(data_key, [blob], aad=aad))
    return decrypt(data_key, blob, aad=aad)
