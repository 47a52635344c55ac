"""Reads of account erasure: what it will erase, shown before anything is sent or erased."""

from __future__ import annotations

from compliance_site import inventory
from consent.identity.models import User
from consent.ledger.selectors import PreviewLine, preview_line


def erasure_preview_for(subject: User) -> list[PreviewLine]:
    """Every store holding something of the subject, with how many items, in the active
    language: everything an erasure now would erase (``inventory.held_all``)."""
    return [preview_line(store, count) for store, count in inventory.held_all(subject.pk)]
