"""The one registry of every place that holds personal data (DESIGN invariant 6).

Each app registers its stores from its ``AppConfig.ready()``. Access, portability, erasure,
withdrawal clean-up, the record of processing (GDPR Art. 30) and the public retention
schedule all walk this registry, so a store that is not registered is a bug that the
erasure tests (a raw scan of every table and file after erasure) will find.

This module imports no app: stores are plain callables taking a subject id, which keeps
working after the subject's own row is gone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StoreFile:
    """One file a store holds for a subject, decrypted in memory for the subject's own copy
    (the export zip, the report's thumbnails). Never written anywhere in clear."""

    ref: str  # what it belongs to, as the store's export names it (e.g. a capture id)
    name: str  # a file name for the zip: "<ref>.jpg"
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Store:
    name: str  # "<app>.<store>", stable: erasure certificates cite it
    what: str  # the data held, in plain words
    why: str  # the purpose of processing
    retention: str  # how long, in plain words
    legal_basis: str
    locate: Callable[[int], list[str]]  # references to what is held (never the data)
    export: Callable[[int], Any]  # JSON-serialisable copy for access and portability
    erase: Callable[[int], int]  # number of items erased; must be idempotent
    # Consent purposes whose withdrawal erases this store (empty: erased only by erasure or
    # retention).
    purposes: tuple[str, ...] = ()
    # Erasure order: lower first. Keys and the subject row go late, the pseudonym mapping last.
    order: int = 100
    recipients: tuple[str, ...] = field(default_factory=tuple)
    # Stores of files (photos, results): the subject's files in clear, for their own copy.
    files: Callable[[int], Iterable[StoreFile]] | None = None


_stores: dict[str, Store] = {}


def register(store: Store) -> None:
    existing = _stores.get(store.name)
    if existing is not None and existing != store:
        raise ValueError(f"store {store.name!r} is registered twice")
    _stores[store.name] = store


def stores() -> list[Store]:
    return sorted(_stores.values(), key=lambda s: (s.order, s.name))


def locate_all(subject_id: int) -> dict[str, list[str]]:
    """What every store still holds for the subject; empty lists mean nothing."""
    return {store.name: list(store.locate(subject_id)) for store in stores()}


def export_all(subject_id: int) -> dict[str, Any]:
    return {store.name: store.export(subject_id) for store in stores()}


def files_all(subject_id: int) -> Iterable[tuple[str, StoreFile]]:
    """(store name, file) for every file any store holds for the subject, one at a time."""
    for store in stores():
        if store.files is not None:
            for item in store.files(subject_id):
                yield store.name, item


def stores_for_purpose(purpose: str) -> list[Store]:
    return [store for store in stores() if purpose in store.purposes]


def record_of_processing() -> list[dict[str, str]]:
    """GDPR Art. 30(1): categories of data, purposes, recipients and time limits."""
    return [
        {
            "store": store.name,
            "data": store.what,
            "purpose": store.why,
            "legal_basis": store.legal_basis,
            "retention": store.retention,
            "recipients": ", ".join(store.recipients) or "none",
        }
        for store in stores()
    ]


# --- the subject's key ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectCipher:
    """Encryption under a subject's own data key, for apps below the one that holds the keys:
    what is sealed with it dies with the key (crypto-shredding, DESIGN invariant 5).
    ``seal(subject_id, plaintext, aad)`` makes the key if needed; ``open`` raises once the key
    is destroyed."""

    seal: Callable[[int, bytes, str], bytes]
    open: Callable[[int, bytes, str], bytes]


_cipher: list[SubjectCipher] = []


def register_subject_cipher(cipher: SubjectCipher) -> None:
    if _cipher and _cipher[0] != cipher:
        raise ValueError("a subject cipher is registered twice")
    _cipher[:] = [cipher]


def subject_cipher() -> SubjectCipher:
    if not _cipher:
        raise LookupError("no app registered a subject cipher")
    return _cipher[0]
