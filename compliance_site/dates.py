"""Dates and times as people read them, one format everywhere: pages, text messages, PDFs.

A moment is shown in the active time zone (``TIME_ZONE`` unless a request activated the
person's) with the zone named, so a reader never has to guess: ``6 Dec 2026, 18:21 UTC``,
``2026年12月6日 18:21 UTC``. A date alone: ``6 Dec 2026``, ``2026年12月6日``. Machine-readable
documents (JSON receipts, exports, API answers) keep ISO 8601; this is for people.

In templates, built in (``TEMPLATES`` ``builtins``): ``{{ moment|datetime_text }}`` and
``{{ day|date_text }}``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, tzinfo

from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.translation import get_language

# Short English month names: not translated, Chinese writes the month as a number.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def datetime_text(
    moment: datetime | str, *, language: str | None = None, zone: tzinfo | None = None
) -> str:
    """``moment`` (or its ISO 8601 text, as JSON documents hold it) to the minute in ``zone``
    (the active time zone unless given), with the zone's name, in ``language`` (the active
    language unless given). Text that is not a time is returned as it is."""
    if isinstance(moment, str):
        parsed = _parse(moment)
        if parsed is None:
            return moment
        moment = parsed
    local = timezone.localtime(_aware(moment), zone)
    clock = f"{local:%H:%M} {_zone_name(local)}"
    if _chinese(language):
        return f"{_chinese_date(local)} {clock}"
    return f"{_english_date(local)}, {clock}"


def date_text(value: date | str, *, language: str | None = None, zone: tzinfo | None = None) -> str:
    """A day (or its ISO 8601 text); a moment is first taken to its day in ``zone`` (the
    active time zone unless given). Text that is not a date is returned as it is."""
    if isinstance(value, str):
        parsed = _parse(value)
        if parsed is None:
            return value
        value = parsed.date() if len(value.strip()) == 10 else parsed
    if isinstance(value, datetime):
        value = timezone.localtime(_aware(value), zone).date()
    return _chinese_date(value) if _chinese(language) else _english_date(value)


def _parse(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        return None


def _aware(moment: datetime) -> datetime:
    """Times without a zone are UTC here (``USE_TZ``; ISO texts written by this service)."""
    return timezone.make_aware(moment, UTC) if timezone.is_naive(moment) else moment


def _chinese(language: str | None) -> bool:
    return (language or get_language() or settings.LANGUAGE_CODE).lower().startswith("zh")


def _english_date(day: date) -> str:
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _zone_name(local: datetime) -> str:
    """The zone's abbreviation (``UTC``, ``GMT``, ``BST``, ``CST``), or its offset from UTC
    where the zone has only a number for a name (``UTC+08:00``)."""
    name = local.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = local.utcoffset() or timedelta(0)
    if not offset:
        return "UTC"
    sign = "+" if offset > timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# --- template filters -----------------------------------------------------------------------------

register = template.Library()


@register.filter(name="datetime_text")
def datetime_text_filter(value: datetime | str | None) -> str:
    return datetime_text(value) if value else ""


@register.filter(name="date_text")
def date_text_filter(value: date | str | None) -> str:
    return date_text(value) if value else ""
