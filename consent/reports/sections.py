"""Sections of the user-data report that the apps above ``consent`` render for their own
stores (captures, swaps...). An app registers its sections from its ``AppConfig.ready()``;
the report places them, in registration order, after the consents. A store no section covers
is rendered from its export as it comes (``consent.reports.pdf``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from compliance_site.pdf import Story

# (story, document, photos by ref) -> None: appends the section's flowables to the story.
Render = Callable[[Story, dict, dict[str, bytes]], None]


@dataclass(frozen=True)
class Section:
    name: str
    # Store names this section renders; a name ending in "." covers every store under it.
    stores: tuple[str, ...]
    render: Render
    # Stores whose image files the section shows as thumbnails (decrypted in memory only).
    thumbnails: tuple[str, ...] = ()


_sections: dict[str, Section] = {}


def register(section: Section) -> None:
    """Add ``section`` (or replace the one of the same name, keeping its place)."""
    _sections[section.name] = section


def registered() -> tuple[Section, ...]:
    return tuple(_sections.values())


def covers(store: str) -> bool:
    """Whether a registered section renders ``store``."""
    return any(
        store == name or (name.endswith(".") and store.startswith(name))
        for section in _sections.values()
        for name in section.stores
    )


def thumbnail_stores() -> frozenset[str]:
    return frozenset(name for section in _sections.values() for name in section.thumbnails)
