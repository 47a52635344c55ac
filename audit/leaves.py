"""The leaf: the exported event object and its exact bytes.

The leaf object is
``{"action", "actor", "data", "index", "object_id", "object_type", "purpose", "request_id",
"subject", "time"}``: ``action`` and ``index`` integers, ``data`` an object, the rest strings,
``time`` ISO-8601 UTC with microseconds and a ``Z`` (``2026-11-26T12:44:00.123456Z``).
Its bytes are the RFC 8785 (JCS) canonical JSON of that object.

``data`` is canonicalised once, with the ``rfc8785`` package, when the event is recorded and
stored as text; the leaf embeds those characters. The other members are strings and integers,
whose JCS form is what ``json.dumps(..., ensure_ascii=False)`` gives (same escapes, keys here are
ASCII and written in sorted order), so building a leaf is a string format, not a tree walk —
verification of a million events depends on it. Tests compare against ``rfc8785.dumps``.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import Any

import rfc8785

LEAF_FIELDS = (
    "action",
    "actor",
    "data",
    "index",
    "object_id",
    "object_type",
    "purpose",
    "request_id",
    "subject",
    "time",
)

_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')
_TEMPLATE = (
    '{{"action":{action},"actor":{actor},"data":{data},"index":{index},'
    '"object_id":{object_id},"object_type":{object_type},"purpose":{purpose},'
    '"request_id":{request_id},"subject":{subject},"time":{time}}}'
)


def jcs(obj: Any) -> bytes:
    """RFC 8785 canonical JSON (raises ``rfc8785.CanonicalizationError`` on floats out of
    range, integers beyond ±2^53, lone surrogates, non-string keys)."""
    return rfc8785.dumps(obj)


def _s(value: str) -> str:
    if _NEEDS_ESCAPE.search(value) is None:
        return f'"{value}"'
    return json.dumps(value, ensure_ascii=False)


def format_time(moment: datetime) -> str:
    """ISO-8601 UTC with microseconds and ``Z``; refuses a naive datetime."""
    if moment.utcoffset() is None:
        raise ValueError("audit times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:-6] + "Z"


def leaf_bytes(
    *,
    index: int,
    time: datetime | str,
    actor: str,
    subject: str,
    action: int,
    object_type: str,
    object_id: str,
    purpose: str,
    data_jcs: str,
    request_id: str,
) -> bytes:
    return _TEMPLATE.format(
        action=int(action),
        actor=_s(actor),
        data=data_jcs,
        index=int(index),
        object_id=_s(object_id),
        object_type=_s(object_type),
        purpose=_s(purpose),
        request_id=_s(request_id),
        subject=_s(subject),
        time=_s(time if isinstance(time, str) else format_time(time)),
    ).encode("utf-8")


def leaf_bytes_for(event, index: int) -> bytes:
    return leaf_bytes(
        index=index,
        time=event.time,
        actor=event.actor,
        subject=event.subject,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        purpose=event.purpose,
        data_jcs=event.data_jcs,
        request_id=event.request_id,
    )


def as_utc(value: datetime | str) -> datetime:
    """A stored event time as an aware UTC datetime (a plain SQLite cursor returns it naive or
    as text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    return value


def leaf_bytes_from_row(index: int, columns) -> bytes:
    """Leaf bytes from the event columns of ``audit.selectors.leaf_rows``."""
    time, actor, subject, action, object_type, object_id, purpose, data_jcs, request_id = columns
    return leaf_bytes(
        index=index,
        time=as_utc(time),
        actor=actor,
        subject=subject,
        action=action,
        object_type=object_type,
        object_id=object_id,
        purpose=purpose,
        data_jcs=data_jcs,
        request_id=request_id,
    )


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x00 ‖ leaf)."""
    return hashlib.sha256(b"\x00" + leaf).digest()
