"""The one registry of every place that holds personal data (DESIGN invariant 6).

Each app registers its stores from its ``AppConfig.ready()``. Access, portability, erasure,
withdrawal clean-up, the record of processing (GDPR Art. 30) and the public retention
schedule all walk this registry, so a store that is not registered is a bug that the
erasure tests (a raw scan of every table and file after erasure) will find.

This module imports no app: stores are plain callables taking a subject id, which keeps
working after the subject's own row is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


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
