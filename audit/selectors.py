"""Reads of the audit log that have logic: tree hashes, proofs, checkpoints."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import connection

from audit import merkle, witness
from audit.actions import AuditAction
from audit.leaves import as_utc, format_time
from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditNode
from compliance_site.errors import ApplicationError


class InvalidParameter(ApplicationError):
    code = "invalid_parameter"


def checkpoint_latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-id").first()


def checkpoint_text(checkpoint: AuditCheckpoint) -> bytes:
    """The checkpoint as the text of a C2SP tlog-checkpoint note (origin, size, root)."""
    return witness.checkpoint_text(
        checkpoint.log_id, checkpoint.tree_size, bytes.fromhex(checkpoint.root_hash)
    )


def checkpoint_note(checkpoint: AuditCheckpoint) -> str:
    """The signed note: its text, a blank line, the log's signature and every cosignature."""
    lines = checkpoint.note_signatures.order_by("id").values_list("line", flat=True)
    return checkpoint_text(checkpoint).decode() + "\n" + "".join(lines)


def checkpoint_cosigners(
    checkpoint: AuditCheckpoint, witnesses: list[witness.Verifier]
) -> list[str]:
    """The names of the given witnesses whose cosignature on the checkpoint verifies."""
    text, signatures = witness.split_note(checkpoint_note(checkpoint))
    return witness.cosigners(text, signatures, witnesses)


def configured_witnesses() -> list[witness.Verifier]:
    return [witness.parse_vkey(config["vkey"]) for config in settings.AUDIT_WITNESSES]


def sealed_size() -> int:
    """How many events have an index (the tree size of the latest checkpoint)."""
    latest = checkpoint_latest()
    return latest.tree_size if latest else 0


def tree_hashes(nodes: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    """Stored hashes of perfect subtrees (level 0 = leaf hashes), two indexed queries."""
    wanted = set(nodes)
    found: dict[tuple[int, int], bytes] = {}
    leaf_indexes = [idx for level, idx in wanted if level == 0]
    if leaf_indexes:
        for index, digest in AuditLeaf.objects.filter(index__in=leaf_indexes).values_list(
            "index", "leaf_hash"
        ):
            found[(0, index)] = bytes(digest)
    inner = [node for node in wanted if node[0] > 0]
    if inner:
        # Row-value IN (PostgreSQL, SQLite ≥ 3.15): one probe of the unique index per node;
        # plain SQL because compiling dozens of ORM Q objects cost more than the query.
        pairs = ", ".join(["(%s, %s)"] * len(inner))
        table = AuditNode._meta.db_table
        sql = f"SELECT level, idx, hash FROM {table} WHERE (level, idx) IN ({pairs})"  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for node in inner for value in node])
            for level, idx, digest in cursor.fetchall():
                found[(level, idx)] = bytes(digest)
    missing = wanted - found.keys()
    if missing:
        raise LookupError(f"tree nodes missing from storage: {sorted(missing)[:5]}")
    return found


def _range_hashes(ranges: list[tuple[int, int]]) -> list[str]:
    parts = [merkle.perfect_nodes(start, end) for start, end in ranges]
    hashes = tree_hashes([node for part in parts for node in part])
    return [merkle.fold([hashes[node] for node in part]).hex() for part in parts]


def _check_size(name: str, value: int, *, low: int, high: int) -> None:
    if not low <= value <= high:
        raise InvalidParameter(f"{name} must be between {low} and {high}.")


def inclusion_proof(*, index: int, tree_size: int) -> dict:
    """RFC 9162 §2.1.3 audit path of leaf ``index`` in the tree of ``tree_size`` leaves."""
    _check_size("tree_size", tree_size, low=1, high=sealed_size())
    _check_size("index", index, low=0, high=tree_size - 1)
    leaf = tree_hashes([(0, index)])[(0, index)]
    return {
        "leaf_index": index,
        "tree_size": tree_size,
        "leaf_hash": leaf.hex(),
        "audit_path": _range_hashes(merkle.inclusion_ranges(index, tree_size)),
    }


def consistency_proof(*, first: int, second: int) -> dict:
    """RFC 9162 §2.1.4 proof that the tree of ``first`` leaves is a prefix of ``second``."""
    _check_size("second", second, low=0, high=sealed_size())
    _check_size("first", first, low=0, high=second)
    return {
        "first": first,
        "second": second,
        "proof": _range_hashes(merkle.consistency_ranges(first, second)),
    }


LEAF_ROW_CHUNK = 5000
EVENT_COLUMNS = (
    "time",
    "actor",
    "subject",
    "action",
    "object_type",
    "object_id",
    "purpose",
    "data_jcs",
    "request_id",
)


def _events_by_id(ids: list[int]) -> dict[int, tuple]:
    """The events of one chunk of leaves. Sealing follows ids closely, so a chunk's events
    are usually one dense id range: read that range (one index range scan) instead of a list
    of thousands of ids, unless it is sparse."""
    if not ids:
        return {}
    low, high = min(ids), max(ids)
    events = AuditEvent.objects.values_list("id", *EVENT_COLUMNS)
    if high - low < 2 * len(ids):
        events = events.filter(id__gte=low, id__lte=high)
    else:
        events = events.filter(id__in=ids)
    return {row[0]: row[1:] for row in events}


def leaf_rows(start: int = 0, end: int | None = None):
    """(index, stored leaf hash, event id, time, actor, subject, action, object_type,
    object_id, purpose, data_jcs, request_id) in index order, a chunk at a time; the event
    columns are None when a leaf's event is missing.

    Two indexed reads per chunk (leaves by index range, then their events by id) rather than
    a join, which the planner may turn into a scan of the whole event table per chunk.
    """
    leaves = AuditLeaf.objects.order_by("index").values_list("index", "leaf_hash", "event_id")
    end = 2**62 if end is None else end
    while start < end:
        chunk = list(leaves.filter(index__gte=start, index__lt=end)[:LEAF_ROW_CHUNK])
        events = _events_by_id([c[2] for c in chunk])
        missing = (None,) * len(EVENT_COLUMNS)
        for index, digest, event_id in chunk:
            columns = events.get(event_id)
            yield (index, digest, event_id if columns else None, *(columns or missing))
        if len(chunk) < LEAF_ROW_CHUNK:
            return
        start = chunk[-1][0] + 1


# --- a subject's own events (their report) ------------------------------------------------------


def subject_event_count(pseudonym: str) -> int:
    return AuditEvent.objects.filter(subject=pseudonym).count() if pseudonym else 0


def subject_events(pseudonym: str) -> list[dict]:
    """Every event about the subject named by ``pseudonym``, as the leaf objects the log
    hashes (``audit.leaves``) plus ``leaf_hash`` (hex) and ``action_name``; ``index`` and
    ``leaf_hash`` are None while an event is not sealed yet. In log order, unsealed last.

    The leaf fields are exactly what anyone needs to recompute the leaf hash and check it
    against an inclusion proof (drop ``action_name`` and ``leaf_hash``, RFC 8785, SHA-256 of
    0x00 ‖ bytes)."""
    if not pseudonym:
        return []
    rows = (
        AuditEvent.objects.filter(subject=pseudonym)
        .order_by("id")
        .values_list("id", *EVENT_COLUMNS, "leaf__index", "leaf__leaf_hash")
    )
    events = [_subject_event(row) for row in rows.iterator(chunk_size=2000)]
    events.sort(key=lambda e: (e["index"] is None, e["index"] or 0))
    return events


def _subject_event(row: tuple) -> dict:
    columns = dict(zip(EVENT_COLUMNS, row[1:10], strict=True))
    index, digest = row[10], row[11]
    return {
        "action": columns["action"],
        "actor": columns["actor"],
        "data": json.loads(columns["data_jcs"]),
        "index": index,
        "object_id": columns["object_id"],
        "object_type": columns["object_type"],
        "purpose": columns["purpose"],
        "request_id": columns["request_id"],
        "subject": columns["subject"],
        "time": format_time(as_utc(columns["time"])),
        "action_name": _action_name(columns["action"]),
        "leaf_hash": bytes(digest).hex() if digest is not None else None,
    }


def _action_name(action: int) -> str:
    try:
        return AuditAction(action).name
    except ValueError:
        return str(action)


# --- the auditor role ---------------------------------------------------------------------------

AUDITOR_GROUP = "auditor"


def is_auditor(user) -> bool:
    """Staff in the ``auditor`` group (read-only exports of the log). Whether their sign-in
    had a second factor is the caller's check: it depends on how they signed in."""
    if user is None or not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.groups.filter(name=AUDITOR_GROUP).exists()
