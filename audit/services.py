"""Every write to the audit log.

``audit_record`` is the only writer of events. ``audit_seal`` is the only writer of leaves,
tree nodes and checkpoints. ``pseudonym_for`` / ``pseudonym_erase`` manage the mapping table.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import logging
import re
import secrets
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote

import phonenumbers
import rfc8785
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, connections, transaction
from django.utils import timezone

from audit import merkle, signing, witness
from audit.actions import AuditAction
from audit.leaves import as_utc, format_time, jcs, leaf_bytes_from_row, leaf_hash
from audit.merkle import CompactRange
from audit.models import (
    AuditCheckpoint,
    AuditEvent,
    AuditLeaf,
    AuditNode,
    AuditNoteSignature,
    SubjectPseudonym,
)
from audit.selectors import (
    EVENT_COLUMNS,
    checkpoint_note,
    checkpoint_text,
    consistency_proof,
    leaf_rows,
    tree_hashes,
)
from compliance_site import inventory, request_context
from compliance_site.errors import ApplicationError

# What the phone library strips between digits (its VALID_PUNCTUATION: ASCII, Unicode and
# full-width dashes, dots, slashes, brackets and tildes; every Unicode space; invisible
# characters), plus the variation selector and keycap that make emoji digits.
_SEP = (
    r"[\s\-.()/\[\]~\u00ad\u2010-\u2015\u2212\u2053\u223c\u30fc\uff0d\uff0e\uff0f\uff5e"
    r"\uff08\uff09\uff3b\uff3d\u200b-\u200d\u2060\ufeff\ufe0f\u20e3]"
)
# E.164: "+" then 8–15 digits, with any of those separators.
_PHONE = re.compile(rf"\+{_SEP}*\d(?:{_SEP}*\d){{7,14}}")
# A number written without "+": 10–17 digits (an optional leading "(") with up to four
# separators between two digits, standing on its own: not glued to a letter, digit, "-", ".",
# "/", "_" or "+" on either side, so the digit groups of a UUID, a digest, a file name or a
# timestamp never form one. A ":" may precede it (``tel:07400123456``).
_PHONE_WITHOUT_PLUS = re.compile(rf"(?<![\w\-./+])\(?\d(?:{_SEP}{{0,4}}\d){{9,16}}(?![\w\-./:+])")
# A number glued to a word that says what it is (``phone07400123456``, ``mobile_44…``,
# ``wa.me/44…``, ``电话138…``): 7–17 digits right after the word and a little punctuation.
# Digits glued to any other word (``id_447400123456``, ``order7400123456``) are ids.
_PHONE_WORD = re.compile(
    r"(?i)(?<![a-z])(?:tel|telephone|phone|mobile|sms|wa|whatsapp|num|number|电话|手机)"
    rf"(?:\.me/|[:=_#：]|{_SEP}){{0,8}}(\+?\(?\d(?:{_SEP}{{0,4}}\d){{6,16}})(?!\d)"
)
# "0.7400123456" is a fraction, not a national number.
_FRACTION = re.compile(r"0\.\d+")
_MOBILE_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE}
)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6_CANDIDATE = re.compile(r"[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*")
_MAX_STRING_FIELD = {"object_type": 64, "object_id": 128, "purpose": 64}
_MAX_SAFE_INTEGER = 2**53 - 1  # RFC 8785 integers: exact in an IEEE 754 double

logger = logging.getLogger(__name__)


# --- pseudonyms ---------------------------------------------------------------------------------


_PSEUDONYM_TABLE = SubjectPseudonym._meta.db_table
_PSEUDONYM_SQL = f"SELECT pseudonym FROM {_PSEUDONYM_TABLE} WHERE subject_id = %s"  # noqa: S608


def pseudonym_for(subject: Any) -> str:
    """The subject's pseudonym, created on first use (a random 128-bit token, hex)."""
    subject_id = int(subject.pk)
    with connection.cursor() as cursor:  # plain SQL: on every audit_record's path
        cursor.execute(_PSEUDONYM_SQL, [subject_id])
        row = cursor.fetchone()
    if row is not None:
        return row[0]
    try:
        # A savepoint: a concurrent first use for the same subject wins the unique index.
        with transaction.atomic():
            row = SubjectPseudonym.objects.create(
                subject_id=subject_id,
                pseudonym=secrets.token_hex(16),
                created_at=timezone.now(),
            )
        return row.pseudonym
    except IntegrityError:
        return SubjectPseudonym.objects.get(subject_id=subject_id).pseudonym


def pseudonym_erase(*, subject_id: int) -> None:
    """Forget which subject a pseudonym names. Events keep the pseudonym, so the log still
    verifies; it just no longer points at the person (invariant "pseudonymous-log",
    docs/ARCHITECTURE.md)."""
    SubjectPseudonym.objects.filter(subject_id=subject_id).delete()


# --- validation ---------------------------------------------------------------------------------


def _looks_like_ip(text: str) -> bool:
    for match in _IPV4.finditer(text):
        try:
            ipaddress.IPv4Address(match.group(0))
            return True
        except ValueError:
            continue
    for match in _IPV6_CANDIDATE.finditer(text):
        try:
            ipaddress.IPv6Address(match.group(0).rstrip("."))
            return True
        except ValueError:
            continue
    return False


def _is_mobile(text: str, region: str | None) -> bool:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    return (
        phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in _MOBILE_TYPES
    )


def _is_mobile_somewhere(candidate: str) -> bool:
    """A valid mobile number with "+", after ``00`` (the international prefix most countries
    dial) or ``011`` (North America's), as digits with the country code, or in the national form
    of a region in ``AUDIT_PHONE_REGIONS`` (national forms of every region would take any
    10-digit id for a number somewhere)."""
    if candidate.startswith("+"):
        return _is_mobile(candidate, None)
    digits = re.sub(r"\D", "", candidate)
    for prefix in ("00", "011"):
        if digits.startswith(prefix) and _is_mobile("+" + digits[len(prefix) :], None):
            return True
    if _is_mobile("+" + digits, None):
        return True
    return any(_is_mobile(digits, region) for region in settings.AUDIT_PHONE_REGIONS)


def _phone_view(text: str) -> str:
    """The text as the phone library reads it: ``%2B`` is "+", and circled, superscript,
    full-width or other compatibility digits are digits (NFKC, only for non-ASCII text)."""
    if "%" in text:
        text = unquote(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return text


def _looks_like_phone(text: str) -> bool:
    """The cheap patterns find the few candidates; only they are parsed."""
    text = _phone_view(text)
    if _PHONE.search(text):
        return True
    for match in _PHONE_WITHOUT_PLUS.finditer(text):
        if not _FRACTION.fullmatch(match.group(0)) and _is_mobile_somewhere(match.group(0)):
            return True
    return any(_is_mobile_somewhere(m.group(1)) for m in _PHONE_WORD.finditer(text))


def _too_few_digits_for_a_phone(text: str) -> bool:
    """True when no phone pattern can match: every one needs at least 7 digits, and ASCII text
    without "%" is read as it is (``_phone_view`` changes nothing), so counting its ASCII
    digits is exact. Most audit strings (names, codes, short ids) stop here, unparsed."""
    return text.isascii() and "%" not in text and sum(map(text.count, "0123456789")) < 7


def check_audit_text(text: str, *, where: str) -> None:
    """Refuse a string that looks like a phone number or an IP address, or that no database
    column can hold (NUL, lone surrogates)."""
    if "\x00" in text:
        raise ValueError(f"audit {where} contains a NUL character")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"audit {where} is not valid Unicode text") from exc
    if not _too_few_digits_for_a_phone(text) and _looks_like_phone(text):
        raise ValueError(f"audit {where} looks like a phone number; log a pseudonym instead")
    # An IPv4 address has three dots, an IPv6 candidate two colons: without them, no match.
    if (text.count(".") >= 3 or text.count(":") >= 2) and _looks_like_ip(text):
        raise ValueError(f"audit {where} looks like an IP address; IP addresses are not logged")


def _check_value(value: object, path: str) -> bool:
    """Refuse what the log must not hold; True when ``value`` is *plain*: only exact str,
    bool, None, ints within ±(2^53 − 1), lists and dicts with ASCII keys. For plain data the
    standard library's sorted, compact JSON is byte for byte RFC 8785 (same escapes, ASCII keys
    sort the same by UTF-16 unit and by code point, integers print the same), and it costs a
    fraction of the general canonicaliser; anything else (floats, tuples, non-ASCII keys,
    subclasses) takes the general one."""
    kind = type(value)
    if kind is str:
        check_audit_text(value, where=f"data {path}")  # type: ignore[arg-type]
        return True
    if kind is dict:
        plain = True
        for key, item in value.items():  # type: ignore[attr-defined]
            if not isinstance(key, str):
                raise ValueError(f"audit data {path} has a non-string key {key!r}")
            check_audit_text(key, where=f"data key {path}.{key}")
            plain = _check_value(item, f"{path}.{key}") and plain and key.isascii()
        return plain
    if kind is int:
        return -_MAX_SAFE_INTEGER <= value <= _MAX_SAFE_INTEGER  # type: ignore[operator]
    if value is None or kind is bool:
        return True
    if isinstance(value, bytes | bytearray | memoryview):
        raise ValueError(f"audit data {path} is bytes; raw bytes never enter the log")
    if isinstance(value, str):
        check_audit_text(value, where=f"data {path}")
    elif isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"audit data {path} has a non-string key {key!r}")
            check_audit_text(key, where=f"data key {path}.{key}")
            _check_value(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        plain = kind is list
        for position, item in enumerate(value):
            plain = _check_value(item, f"{path}[{position}]") and plain
        return plain
    elif not isinstance(value, bool | int | float):
        raise ValueError(f"audit data {path} has a {type(value).__name__}; use JSON types")
    return False


def check_audit_data(data: dict | None) -> str:
    """Validate ``data`` (invariant "pseudonymous-log", docs/ARCHITECTURE.md) and return its RFC
    8785 canonical JSON."""
    if data is None:
        return "{}"
    if not isinstance(data, dict):
        raise ValueError("audit data must be a dict")
    if _check_value(data, "data"):
        return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    try:
        return jcs(data).decode("utf-8")
    except rfc8785.CanonicalizationError as exc:
        raise ValueError(f"audit data cannot be canonicalised: {exc}") from exc


def _actor_string(actor: Any, *, subject: Any) -> str | None:
    """The actor column, or None when it is the subject's own pseudonym (read in the INSERT)."""
    if actor is None:
        return "system"
    if actor.is_staff:
        return f"staff:{actor.pk}"
    if subject is not None and actor.pk == subject.pk:
        return None  # the usual case: the INSERT reads the pseudonym once for both columns
    return f"subject:{pseudonym_for(actor)}"


# --- recording ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SubjectRef:
    """Names a subject in ``audit_record`` by id alone: what a background job holds, and all
    there is once the account row may be gone (an erasure under way)."""

    pk: int


def audit_record(
    *,
    actor,
    subject,
    action: AuditAction,
    object_type: str = "",
    object_id: str = "",
    purpose: str = "",
    data: dict | None = None,
) -> AuditEvent:
    """Write one event inside the caller's transaction: if the change rolls back, so does
    the event ("no event, no change", invariant "audited", docs/ARCHITECTURE.md). Only inserts; the
    sealer gives the event its index later."""
    db = connections[DEFAULT_DB_ALIAS]  # one lookup: each ``connection.x`` repeats it
    if not db.in_atomic_block:
        raise RuntimeError(
            "audit_record must run inside the caller's transaction.atomic: no event, no change"
        )
    action = AuditAction(action)
    fields = {"object_type": object_type, "object_id": object_id, "purpose": purpose}
    for name, value in fields.items():
        if not isinstance(value, str) or len(value) > _MAX_STRING_FIELD[name]:
            raise ValueError(
                f"audit {name} must be a string of at most {_MAX_STRING_FIELD[name]} characters"
            )
        check_audit_text(value, where=name)
    data_jcs = check_audit_data(data)
    now = timezone.now()
    # In _INSERT_COLUMNS order; the actor is None when the INSERT reads the subject's pseudonym
    # into it, and the subject column is filled there too.
    values = [
        db.ops.adapt_datetimefield_value(now),
        _actor_string(actor, subject=subject),
        "",
        int(action),
        object_type,
        object_id,
        purpose,
        data_jcs,
        request_context.request_id.get() or "",
    ]
    if subject is None:
        pk, actor_column, subject_column = _insert(db, values)
    else:
        inserted = _insert_for_subject(db, values, int(subject.pk))
        if inserted is None:  # first event about this subject: make the mapping, then insert
            pseudonym_for(subject)
            inserted = _insert_for_subject(db, values, int(subject.pk))
            assert inserted is not None  # the pseudonym exists now
        pk, actor_column, subject_column = inserted
    # The row as stored (from_db: the ORM's own constructor for a loaded row, no save pending).
    return AuditEvent.from_db(
        db.alias,
        _EVENT_FIELDS,
        [pk, now, actor_column, subject_column, *values[3:], None],  # txid: not read back
    )


# Every concrete field, in order: from_db then builds the instance positionally.
_EVENT_FIELDS = [field.attname for field in AuditEvent._meta.concrete_fields]
_INSERT_COLUMNS = (
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


@lru_cache(maxsize=4)
def _insert_sql(vendor: str, *, for_subject: bool) -> str:
    """INSERT … SELECT … RETURNING: plain SQL because this is every request's hot path and the
    ORM's save() costs more than the statement itself (made once per database vendor). The
    PostgreSQL variant also records the writer's transaction id for the sealer. For a
    subject, the statement reads the subject's pseudonym into the subject column (and into
    the actor column when the subject acted), so both cost one round trip."""
    columns = list(_INSERT_COLUMNS)
    select = ["%s"] * len(_INSERT_COLUMNS)
    source = ""
    if for_subject:
        select[_INSERT_COLUMNS.index("actor")] = "COALESCE(%s, 'subject:' || p.pseudonym)"
        select[_INSERT_COLUMNS.index("subject")] = "p.pseudonym"
        source = f" FROM {_PSEUDONYM_TABLE} p WHERE p.subject_id = %s"
    if vendor == "postgresql":
        columns.append("txid")
        select.append("pg_current_xact_id()::text::bigint")
    return (
        f"INSERT INTO {AuditEvent._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(select)}{source} RETURNING id, actor, subject"
    )


def _insert_returning(db, sql: str, params: list) -> tuple | None:
    """Run one of the INSERTs; its row. On PostgreSQL as a prepared statement (a server-side
    binding cursor; Django's own cursors bind client-side and never prepare): the INSERT …
    SELECT is then planned once per connection, not for every event. Errors are Django's all
    the same; Django's debug query log does not list it. Needs session-level connections (a
    pooler in transaction mode must keep prepared statements, as PgBouncer 1.21+ can)."""
    if db.vendor != "postgresql":
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()
    import psycopg

    db.ensure_connection()
    raw = db.connection
    if raw.prepare_threshold is None:  # Django's default; only server-side cursors prepare
        raw.prepare_threshold = 5
    with db.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchone()


def _insert(db, values: list) -> tuple[int, str, str]:
    """An event about no subject."""
    row = _insert_returning(db, _insert_sql(db.vendor, for_subject=False), values)
    assert row is not None  # an INSERT … SELECT of constants inserts its one row
    return row[0], row[1], row[2]


_SUBJECT_COLUMN = _INSERT_COLUMNS.index("subject")


def _insert_for_subject(db, values: list, subject_id: int) -> tuple[int, str, str] | None:
    """An event about a subject, named by the pseudonym read in the same statement (one round
    trip); None when the subject has no pseudonym yet. An actor of None means the subject
    acted on themselves."""
    params = [*values[:_SUBJECT_COLUMN], *values[_SUBJECT_COLUMN + 1 :], subject_id]
    row = _insert_returning(db, _insert_sql(db.vendor, for_subject=True), params)
    return None if row is None else (row[0], row[1], row[2])


# --- retention ----------------------------------------------------------------------------------


def retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Erase what every store's retention rules say expired (``inventory.retention_sweep``), in
    one transaction, with one audit event carrying the counts (written even when nothing
    expired: the log then shows that retention ran) and the consent states the deletions
    happened under. Here because the audit log is the lowest app that can record it."""
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        swept = inventory.retention_sweep(now)
        counts = {name: result.erased for name, result in swept.items()}
        data: dict[str, Any] = {"erased": counts}
        consent = {name: result.consent for name, result in swept.items() if result.consent}
        if consent:
            data["consent"] = consent
        audit_record(
            actor=None,
            subject=None,
            action=AuditAction.RETENTION_SWEPT,
            object_type="retention_sweep",
            data=data,
        )
    return counts


# --- sealing ------------------------------------------------------------------------------------

# pg_advisory_xact_lock key shared by every sealer ("audt").
SEALER_LOCK_KEY = 0x61756474
SEAL_BATCH_LIMIT = 50_000


def _take_sealer_lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEALER_LOCK_KEY])
    # SQLite: transactions begin IMMEDIATE (settings), so this one already holds the single
    # write lock; the unique leaf index and event_id are the backstop either way.


def _seal_horizon() -> int:
    """Where the *next* seal may start looking for unsealed events.

    PostgreSQL: the oldest transaction still running (snapshot xmin, 64-bit). Every writer
    older than that has committed or rolled back, so whatever it wrote is visible now and is
    sealed in this batch. Read before the candidates, so a commit in between is also caught.
    SQLite: one writer at a time (and the sealer holds the write lock now), so ids are
    handed out in commit order: past the largest id, nothing can appear late.
    """
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            return int(cursor.fetchone()[0])
        table = AuditEvent._meta.db_table  # a model's table name, not input
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
        return int(cursor.fetchone()[0])


def _unsealed_events(*, since_horizon: int, limit: int) -> list[tuple]:
    """(id, then the leaf columns of ``selectors.leaf_rows``) of unsealed events, by id."""
    events = AuditEvent.objects.filter(leaf__isnull=True)
    if connection.vendor == "postgresql":
        events = events.filter(txid__gte=since_horizon)
    else:
        events = events.filter(id__gte=since_horizon)
    return list(events.order_by("id").values_list("id", *EVENT_COLUMNS)[:limit])


def _append_rows(model, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert many leaf or node rows: COPY on PostgreSQL (a seal's batch in one stream),
    bulk INSERTs elsewhere."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {model._meta.db_table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000
    )


def _tree_edge(size: int) -> CompactRange:
    hashes = tree_hashes(merkle.perfect_nodes(0, size))
    return CompactRange(size, [hashes[node] for node in merkle.perfect_nodes(0, size)])


def _checkpoint_issue(*, tree_size: int, root: bytes, horizon: int) -> AuditCheckpoint:
    body = {
        "log_id": settings.AUDIT_LOG_ID,
        "tree_size": tree_size,
        "root_hash": root.hex(),
        "timestamp": format_time(timezone.now()),
    }
    signed = signing.sign(signing.CHECKPOINT, body)
    checkpoint = AuditCheckpoint.objects.create(
        **body, key_id=signed["key_id"], signature=signed["signature"], seal_horizon=horizon
    )
    AuditNoteSignature.objects.create(
        checkpoint=checkpoint,
        name=settings.AUDIT_LOG_ID,
        line=signing.sign_note(checkpoint_text(checkpoint)),
    )
    return checkpoint


def audit_seal(*, limit: int = SEAL_BATCH_LIMIT) -> AuditCheckpoint | None:
    """Seal (``_seal``), then, once the checkpoint is committed, ask the configured witnesses
    to cosign it (``checkpoint_cosign``): a witness that is down or refuses never stops
    sealing, it only leaves the checkpoint with fewer cosignatures."""
    checkpoint = _seal(limit=limit)
    if checkpoint is not None and settings.AUDIT_WITNESSES:
        checkpoint_cosign(checkpoint=checkpoint)
    return checkpoint


def _seal(*, limit: int) -> AuditCheckpoint | None:
    """Give committed, unsealed events the next indexes, store their leaf hashes and the
    subtrees they complete, and sign a checkpoint. Returns it, or None when nothing was new.

    Order: the log's order is the sealer's observation order. Each seal takes the unsealed
    events it can see, oldest id first, and appends them. An event whose transaction commits
    after a seal (even one with a smaller id) is not skipped: the next seal finds it, because
    it resumes from the previous seal's *horizon* (see ``_seal_horizon``), not from the last
    id sealed. So every committed event is sealed exactly once, and a sealed event's index
    never changes. Writers only insert; there is no lock on their path.

    Two sealers (beat and the command) serialise on an advisory lock (PostgreSQL) or the
    write lock (SQLite), and unique indexes on leaf index and event refuse a double
    assignment regardless.
    """
    with transaction.atomic(durable=True):
        _take_sealer_lock()
        previous = AuditCheckpoint.objects.order_by("-id").first()
        horizon = _seal_horizon()
        since = previous.seal_horizon if previous else 0
        events = _unsealed_events(since_horizon=since, limit=limit)
        if previous is not None and not events:
            return None
        size = previous.tree_size if previous else 0
        tree = _tree_edge(size)
        leaves: list[tuple] = []
        nodes: list[tuple] = []
        for event_id, *columns in events:
            digest = leaf_hash(leaf_bytes_from_row(tree.size, columns))
            leaves.append((tree.size, event_id, digest))
            nodes.extend(tree.append(digest))
        _append_rows(AuditLeaf, ("index", "event_id", "leaf_hash"), leaves)
        _append_rows(AuditNode, ("level", "idx", "hash"), nodes)
        # A truncated batch leaves events behind: keep looking from the old horizon.
        next_horizon = horizon if len(events) < limit else since
        return _checkpoint_issue(tree_size=tree.size, root=tree.root(), horizon=next_horizon)


# --- witnesses ----------------------------------------------------------------------------------


def _witness_old_size(name: str, newest: int) -> int:
    """The size this witness last cosigned for us, as far as our own records go."""
    last = (
        AuditNoteSignature.objects.filter(name=name, cosigned_at__isnull=False)
        .order_by("-checkpoint_id")
        .values_list("checkpoint__tree_size", flat=True)
        .first()
    )
    return last if last is not None and last <= newest else 0


def _witness_ask(url: str, checkpoint: AuditCheckpoint, old: int, note: str) -> tuple[int, bytes]:
    proof = [
        bytes.fromhex(h) for h in consistency_proof(first=old, second=checkpoint.tree_size)["proof"]
    ]
    body = witness.add_checkpoint_body(old, proof, note)
    return witness.request(
        f"{url.rstrip('/')}/add-checkpoint", body, settings.AUDIT_WITNESS_TIMEOUT
    )


def _witness_cosignature(config: dict, checkpoint: AuditCheckpoint, note: str) -> str:
    """One witness's cosignature line on ``note`` (tlog-witness add-checkpoint). When our
    record of what it last cosigned is stale (409), retry once from the size it names."""
    verifier = witness.parse_vkey(config["vkey"])
    old = _witness_old_size(verifier.name, checkpoint.tree_size)
    status, body = _witness_ask(config["url"], checkpoint, old, note)
    if status == 409:
        named = body.decode("ascii", "replace").strip()
        if not named.isdigit() or int(named) > checkpoint.tree_size or int(named) == old:
            raise witness.FormatError(f"refused (409): it cosigned size {named}")
        status, body = _witness_ask(config["url"], checkpoint, int(named), note)
    if status != 200:
        raise witness.FormatError(f"refused ({status}): {body[:200]!r}")
    text, _ = witness.split_note(note)
    for line in body.decode("utf-8").splitlines(keepends=True):
        signatures = [witness.parse_signature_line(line)]
        if witness.cosigned_at(text, signatures, verifier) is not None:
            return line
    raise witness.FormatError("its answer holds no valid cosignature of its key")


def checkpoint_cosign(*, checkpoint: AuditCheckpoint) -> list[str]:
    """Ask every configured witness to cosign ``checkpoint``; store each valid cosignature.
    Returns the names of the witnesses that cosigned. Failures are logged, never raised."""
    note = checkpoint_note(checkpoint)
    cosigned = []
    for config in settings.AUDIT_WITNESSES:
        try:
            line = _witness_cosignature(config, checkpoint, note)
        except (OSError, ValueError, LookupError) as exc:
            logger.warning(
                "witness %s did not cosign tree size %s: %s",
                config.get("url"),
                checkpoint.tree_size,
                exc,
            )
            continue
        sig = witness.parse_signature_line(line)
        with transaction.atomic(durable=True):
            AuditNoteSignature.objects.create(
                checkpoint=checkpoint,
                name=sig.name,
                line=line,
                cosigned_at=int.from_bytes(sig.signature[:8], "big"),
            )
        cosigned.append(sig.name)
    return cosigned


# --- export -------------------------------------------------------------------------------------

VERIFIER_PATH = Path(__file__).with_name("verify_audit.py")


def verifier_sha256() -> str:
    """SHA-256 (hex) of the genuine verifier: every bundle ships a copy, and a forger who
    re-signs a bundle can ship a doctored one, so auditors compare it with this published
    digest (``/transparency/``, ``audit_verify``, ``audit_export``)."""
    return hashlib.sha256(VERIFIER_PATH.read_bytes()).hexdigest()


class ExportRefused(ApplicationError):
    code = "export_refused"


def check_export_window(*, since: datetime | None, until: datetime | None) -> None:
    for name, moment in (("since", since), ("until", until)):
        if moment is not None and moment.utcoffset() is None:
            raise ExportRefused(f"{name} must include a time zone.", code="invalid_parameter")
    if since is not None and until is not None and since > until:
        raise ExportRefused("since must not be after until.", code="invalid_parameter")


class ExportExtras(Protocol):
    """More files for a bundle, computed from the same exported events (the auditor's summary
    and CSVs, ``audit.exports``): ``add`` sees each exported leaf object, ``files`` is called
    once all are written and returns ``{name: bytes}``."""

    def add(self, leaf: dict) -> None: ...

    def files(self, manifest: dict) -> dict[str, bytes]: ...


def _export_events(
    archive: zipfile.ZipFile, *, size: int, since, until, extras: ExportExtras | None
) -> tuple[int, str, bytes]:
    """Write events.jsonl (leaf bytes, tree order); return the count, its SHA-256 and every
    leaf hash (leaf_hashes.bin). Refuses to export a leaf whose event no longer matches its
    hash."""
    digest, count, hashes = hashlib.sha256(), 0, bytearray()
    with archive.open("events.jsonl", "w") as out:
        for index, stored, event_id, *columns in leaf_rows(0, size):
            stored = bytes(stored)
            hashes += stored
            if event_id is None:
                raise ExportRefused(f"The event at index {index} is missing; run audit_verify.")
            moment = as_utc(columns[0])
            if (since and moment < since) or (until and moment > until):
                continue
            leaf = leaf_bytes_from_row(index, columns)
            if leaf_hash(leaf) != stored:
                raise ExportRefused(
                    f"The event at index {index} does not match its leaf hash; run audit_verify."
                )
            out.write(leaf + b"\n")
            digest.update(leaf + b"\n")
            count += 1
            if extras is not None:
                extras.add(json.loads(leaf))
    return count, digest.hexdigest(), bytes(hashes)


def _export_checkpoints(size: int) -> bytes:
    """Each checkpoint's JSON body and signature, and its C2SP signed note (``note``: the log's
    signature line and the witnesses' cosignatures), when it has one."""
    rows = AuditCheckpoint.objects.filter(tree_size__lte=size).order_by("id")
    lines: dict[int, list[str]] = {}
    signatures = AuditNoteSignature.objects.filter(checkpoint__tree_size__lte=size).order_by("id")
    for checkpoint_id, line in signatures.values_list("checkpoint_id", "line"):
        lines.setdefault(checkpoint_id, []).append(line)
    exported = []
    for row in rows:
        entry = row.document()
        if row.pk in lines:
            entry["note"] = checkpoint_text(row).decode() + "\n" + "".join(lines[row.pk])
        exported.append(entry)
    return json.dumps(exported, indent=1).encode()


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def audit_export_write(
    *,
    actor,
    since: datetime | None,
    until: datetime | None,
    fileobj: BinaryIO,
    action: AuditAction = AuditAction.AUDIT_EXPORTED,
    extras: ExportExtras | None = None,
) -> dict:
    """Write a verifiable bundle (zip) of the sealed log to ``fileobj`` and audit the export.

    Contents: ``events.jsonl`` (the exact leaf bytes, one per line, tree order, within
    since/until), ``leaf_hashes.bin`` (every leaf hash up to the latest checkpoint, so a partial
    export still proves each event against the signed roots), ``checkpoints.json``,
    ``keys.json`` (the key history: every public key with its job and id, so documents
    signed before a rotation still verify), ``verify_audit.py``, whatever ``extras`` adds, and
    ``manifest.json`` (signed by the manifest key; it binds every other file by its SHA-256 in
    ``files``, so no line or file can be
    changed or dropped unseen). Only sealed events are exported; seal first for a current
    bundle. The export's own event (``action``) is in the same transaction. ``fileobj`` must be
    seekable, so the zip has no data descriptors (the verifier reads it strictly and refuses
    them).
    """
    check_export_window(since=since, until=until)
    with transaction.atomic(durable=True):
        latest = AuditCheckpoint.objects.order_by("-id").first()
        size = latest.tree_size if latest else 0
        with zipfile.ZipFile(fileobj, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            count, events_sha256, hashes = _export_events(
                archive, size=size, since=since, until=until, extras=extras
            )
            manifest = {
                "log_id": settings.AUDIT_LOG_ID,
                "tree_size": size,
                "since": format_time(since) if since else None,
                "until": format_time(until) if until else None,
                "complete": since is None and until is None,
                "events": count,
                "events_sha256": events_sha256,
            }
            files = {
                "leaf_hashes.bin": hashes,
                "checkpoints.json": _export_checkpoints(size),
                "keys.json": json.dumps(signing.key_history_json(), indent=1).encode(),
                "verify_audit.py": VERIFIER_PATH.read_bytes(),
            }
            if extras is not None:
                files.update(extras.files(dict(manifest)))
            for name, data in files.items():
                archive.writestr(name, data)
            digests = {"events.jsonl": events_sha256}
            digests.update({name: _sha256_hex(data) for name, data in files.items()})
            manifest["files"] = dict(sorted(digests.items()))
            signed = signing.sign(signing.MANIFEST, manifest)
            archive.writestr("manifest.json", json.dumps(signed, indent=1))
        audit_record(
            actor=actor,
            subject=None,
            action=action,
            object_type="audit_export",
            data={k: manifest[k] for k in ("since", "until", "tree_size", "events")},
        )
    return manifest


def audit_export_bundle(*, actor, since: datetime | None, until: datetime | None) -> bytes:
    """The bundle of ``audit_export_write`` as bytes (for an HTTP response)."""
    buffer = io.BytesIO()
    audit_export_write(actor=actor, since=since, until=until, fileobj=buffer)
    return buffer.getvalue()
