"""PostgreSQL: the log's leaves, events and tree nodes read with COPY, for verification.

A million events through the ORM cost tens of seconds in row objects alone; COPY streams the
same rows as text, and each leaf is rebuilt here straight from its event's columns with the
exact template of ``audit.leaves`` (the time formatted by the database the way
``leaves.format_time`` does; any string needing a JSON escape goes through ``leaves._s``).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

from django.db import connection

from audit.leaves import _NEEDS_ESCAPE, _s

# One row per leaf, in index order; the event's columns are NULL when its row is missing.
LEAVES_SQL = (
    "COPY (SELECT l.\"index\", encode(l.leaf_hash, 'hex'), e.id, e.action, e.actor, "
    "e.data_jcs, e.object_id, e.object_type, e.purpose, e.request_id, e.subject, "
    "to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM audit_auditleaf l LEFT JOIN audit_auditevent e ON e.id = l.event_id "
    'ORDER BY l."index") TO STDOUT'
)
_ESCAPE = re.compile(r"\\(?:([0-7]{1,3})|x([0-9a-fA-F]{1,2})|(.))")
_SIMPLE = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}


def _unescape_match(match: re.Match) -> str:
    octal, hexa, other = match.groups()
    if octal:
        return chr(int(octal, 8))
    if hexa:
        return chr(int(hexa, 16))
    return _SIMPLE.get(other, other)


def _unescape(field: str) -> str:
    """COPY text format: backslash escapes (NULL, ``\\N``, is handled by the caller)."""
    return _ESCAPE.sub(_unescape_match, field) if "\\" in field else field


def copy_lines(sql: str, params=()) -> Iterator[str]:
    """The lines a ``COPY … TO STDOUT`` query streams, decoded, without their newline."""
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(sql, params or None) as copy:
            rest = b""
            for block in copy:
                data = rest + bytes(block)
                cut = data.rfind(b"\n") + 1
                rest = data[cut:]
                if cut:
                    yield from data[:cut].decode("utf-8").split("\n")[:-1]
            if rest:
                yield rest.decode("utf-8")


def leaves() -> Generator[tuple[int, str, bytes | None], None, None]:
    """(index, stored leaf hash in hex, rebuilt leaf bytes or None when the event is gone)."""
    for line in copy_lines(LEAVES_SQL):
        fields = line.split("\t")
        if fields[2] == "\\N":
            yield int(fields[0]), fields[1], None
            continue
        if "\\" in line:
            fields = [_unescape(field) for field in fields]
        (index, stored, _id, action, actor, data, object_id, object_type, purpose, request_id,
         subject, time) = fields  # fmt: skip
        if _NEEDS_ESCAPE.search(actor + object_id + object_type + purpose + request_id + subject):
            leaf = (
                f'{{"action":{action},"actor":{_s(actor)},"data":{data},"index":{index},'
                f'"object_id":{_s(object_id)},"object_type":{_s(object_type)},'
                f'"purpose":{_s(purpose)},"request_id":{_s(request_id)},'
                f'"subject":{_s(subject)},"time":"{time}"}}'
            )
        else:
            leaf = (
                f'{{"action":{action},"actor":"{actor}","data":{data},"index":{index},'
                f'"object_id":"{object_id}","object_type":"{object_type}","purpose":"{purpose}",'
                f'"request_id":"{request_id}","subject":"{subject}","time":"{time}"}}'
            )
        yield int(index), stored, leaf.encode("utf-8")


def node_level_hex(level: int) -> tuple[int, int, str]:
    """(count, largest idx + 1, every hash of the level in idx order as hex) of stored nodes."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), COALESCE(max(idx) + 1, 0), "
            "COALESCE(string_agg(encode(hash, 'hex'), '' ORDER BY idx), '') "
            "FROM audit_auditnode WHERE level = %s",
            [level],
        )
        count, end, hexes = cursor.fetchone()
    return count, end, hexes
