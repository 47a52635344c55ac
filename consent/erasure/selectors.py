"""Reads of account erasure: what it will erase, shown before anything is sent or erased."""

from __future__ import annotations

from compliance_site import inventory
from consent.identity.models import User
from consent.ledger.selectors import PreviewLine, preview_line


def erasure_preview_for(subject: User) -> list[PreviewLine]:
    """Every store holding something of the subject, with how many items, in the active
    language: everything an erasure now would erase (``inventory.held_all``)."""
    return [preview_line(store, count) for store, count in inventory.held_all(subject.pk)]


def certificate_lines(certificate: dict) -> list[PreviewLine]:
    """The stores an erasure certificate lists, each described in plain words in the active
    language (the certificate itself names them by their stable codes)."""
    by_name = {store.name: store for store in inventory.stores()}
    lines = []
    for row in certificate["stores"]:
        store = by_name.get(row["store"])
        if store is None:  # a store since retired: its code is all there is to show
            lines.append(PreviewLine(row["store"], row["erased"], str(row["erased"]), "", ""))
        else:
            lines.append(preview_line(store, row["erased"]))
    return lines
