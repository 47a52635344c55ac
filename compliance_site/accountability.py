"""Records of accountability that upper apps keep and the auditor bundle carries, registered
from their ``AppConfig.ready()`` so that ``audit`` names no upper app: each is a name and a
function returning JSON-safe rows (the ledger's impact assessments: ``impact_assessments``).

This module imports no app."""

from __future__ import annotations

from collections.abc import Callable

IMPACT_ASSESSMENTS = "impact_assessments"

_records: dict[str, Callable[[], list[dict]]] = {}


def register(name: str, rows: Callable[[], list[dict]]) -> None:
    if _records.get(name, rows) is not rows:
        raise ValueError(f"accountability record {name!r} is registered twice")
    _records[name] = rows


def records() -> dict[str, list[dict]]:
    """Every registered record's rows, by name."""
    return {name: rows() for name, rows in sorted(_records.items())}
