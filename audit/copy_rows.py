"""PostgreSQL: the log's leaves, events and tree nodes read with COPY, for verification.

A million events through the ORM cost tens of seconds in row objects alone; COPY streams the
same rows as text, and each leaf is rebuilt from its event's stored columns by the database,
with the exact template of ``audit.leaves`` (``LEAF_SQL``), so that Python only hashes.
``tests/audit/test_verify_copy_path.py`` holds every kind of character to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

from django.db import connection

# The time as ``leaves.format_time`` writes it, and each string as its JSON text: PostgreSQL's
# to_json escapes exactly what JSON requires (", \ and control characters: \b \f \n \r \t
# short, the rest \u00xx in lower case), as ``json.dumps(ensure_ascii=False)`` and RFC 8785 do.
_TIME = "'\"' || to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"'"


def _json(column: str) -> str:
    return f"to_json(e.{column})::text"


# One row per leaf, in index order: the index, the stored leaf hash (hex), and the leaf rebuilt
# from its event's stored columns with the template of ``audit.leaves`` (NULL when the event is
# missing).
LEAF_SQL = (
    "'{\"action\":' || e.action || ',\"actor\":' || "
    + _json("actor")
    + ' || \',"data":\' || e.data_jcs || \',"index":\' || l."index"'
    + " || ',\"object_id\":' || "
    + _json("object_id")
    + " || ',\"object_type\":' || "
    + _json("object_type")
    + " || ',\"purpose\":' || "
    + _json("purpose")
    + " || ',\"request_id\":' || "
    + _json("request_id")
    + " || ',\"subject\":' || "
    + _json("subject")
    + " || ',\"time\":' || "
    + _TIME
    + " || '}'"
)
_FROM = "FROM audit_auditleaf l LEFT JOIN audit_auditevent e ON e.id = l.event_id"
LEAVES_SQL = (
    f"COPY (SELECT l.\"index\", encode(l.leaf_hash, 'hex'), {LEAF_SQL} {_FROM} "
    'ORDER BY l."index") TO STDOUT'
)
# The same rows as stored (the benchmark's baseline reads these).
COLUMNS_SQL = (
    'COPY (SELECT l."index", l.leaf_hash, e.id, e.action, e.actor, e.data_jcs, e.object_id, '
    f"e.object_type, e.purpose, e.request_id, e.subject, e.time {_FROM} "
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


def copy_lines(sql: str, params=()) -> Generator[str, None, None]:
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


class Leaves:
    """(stored leaf hash in hex, rebuilt leaf bytes or None when the event is gone) of every
    leaf, in index order; ``last_index`` is the index of the last row read (-1 before any)."""

    def __init__(self) -> None:
        self.last_index = -1
        self._lines = copy_lines(LEAVES_SQL)

    def __iter__(self) -> Iterator[tuple[str, bytes | None]]:
        line = ""
        for line in self._lines:
            _index, stored, leaf = line.split("\t")
            if leaf == "\\N":
                yield stored, None
            else:
                yield stored, (_unescape(leaf) if "\\" in leaf else leaf).encode()
        if line:
            self.last_index = int(line.split("\t", 1)[0])

    def close(self) -> None:
        self._lines.close()


def leaves() -> Leaves:
    return Leaves()


def node_level(level: int) -> tuple[int, int, bytes]:
    """(count, largest idx + 1, SHA-256 of every hash of the level in idx order) of the stored
    nodes: the database concatenates and hashes, 32 bytes come back."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), COALESCE(max(idx) + 1, 0), "
            "sha256(COALESCE(string_agg(hash, ''::bytea ORDER BY idx), ''::bytea)) "
            "FROM audit_auditnode WHERE level = %s",
            [level],
        )
        count, end, digest = cursor.fetchone()
    return count, end, bytes(digest)


def node_top_level() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(max(level), 0) FROM audit_auditnode")
        return int(cursor.fetchone()[0])
