"""PostgreSQL: the log's leaves and tree nodes checked in the database, for verification.

A million events through the ORM cost tens of seconds in row objects alone. Instead the
database rebuilds each leaf from its event's stored columns with the exact template of
``audit.leaves`` (``LEAF_SQL``), hashes it and compares it with the stored leaf hash, in one
aggregate it may spread over parallel workers; Python gets the stored leaf hashes, 32 bytes a
leaf in one value, and builds the tree. ``tests/audit/test_verify_copy_path.py`` holds every kind
of character to the same bytes. ``copy_lines`` streams rows with COPY (the benchmark's baseline).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

from django.db import connection

# The time as ``leaves.format_time`` writes it, and each string as its JSON text: PostgreSQL's
# to_json escapes exactly what JSON requires (", \ and control characters: \b \f \n \r \t
# short, the rest \u00xx in lower case), as ``json.dumps(ensure_ascii=False)`` and RFC 8785 do.
_TIME = "'\"' || to_char(e.time AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '\"'"


def _json(column: str) -> str:
    return f"to_json(e.{column})::text"


# A leaf of ``_FROM``'s rows rebuilt from its event's stored columns with the template of
# ``audit.leaves`` (NULL when the event is missing).
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
# The same rows as stored (the benchmark's baseline reads these).
COLUMNS_SQL = (
    'COPY (SELECT l."index", l.leaf_hash, e.id, e.action, e.actor, e.data_jcs, e.object_id, '
    f"e.object_type, e.purpose, e.request_id, e.subject, e.time {_FROM} "
    'ORDER BY l."index") TO STDOUT'
)


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


# Whether every leaf rebuilt from its event's stored columns (``LEAF_SQL``) hashes to the
# stored leaf hash: false when an event is missing, and when a column was emptied to NULL (the
# rebuilt leaf is then NULL, and so is its comparison, which bool_and alone would skip). One
# aggregate the database may spread over parallel workers, so the rebuilding uses every core.
LEAVES_MATCH_SQL = (
    "SELECT COALESCE(bool_and(COALESCE(e.id IS NOT NULL AND l.leaf_hash = "
    f"sha256('\\x00'::bytea || convert_to({LEAF_SQL}, 'UTF8')), false)), true) {_FROM}"
)
# The stored leaf hashes of a range of indexes, concatenated in index order.
LEAF_HASHES_SQL = (
    "SELECT count(*), COALESCE(string_agg(leaf_hash, ''::bytea ORDER BY \"index\"), ''::bytea) "
    'FROM audit_auditleaf WHERE "index" >= %s AND "index" < %s'
)
LEAF_CHUNK = 1_000_000  # 32 MB of hashes a query, far below a value's 1 GB limit


def leaf_span() -> tuple[int, int, int]:
    """(count, smallest index, largest index) of every leaf (-1, -1 when there is none)."""
    with connection.cursor() as cursor:
        cursor.execute('SELECT count(*), min("index"), max("index") FROM audit_auditleaf')
        count, first, last = cursor.fetchone()
    return count, -1 if first is None else first, -1 if last is None else last


def leaves_match() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(LEAVES_MATCH_SQL)
        return bool(cursor.fetchone()[0])


def leaf_hash_chunks(count: int) -> Iterator[tuple[int, bytes]]:
    """(how many, their stored hashes) per LEAF_CHUNK indexes of leaves 0..count-1."""
    with connection.cursor() as cursor:
        for start in range(0, count, LEAF_CHUNK):
            cursor.execute(LEAF_HASHES_SQL, [start, start + LEAF_CHUNK])
            chunk, hashes = cursor.fetchone()
            yield chunk, bytes(hashes)


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
