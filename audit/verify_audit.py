#!/usr/bin/env python3
"""Offline verifier for a Faceledger audit export. Needs Python 3.11+ and ``cryptography``.

    python verify_audit.py [--keys FILE] [--public-key FILE]... [--fingerprint HEX]...
        [--trusted-checkpoint FILE]... [--witness VKEY... --quorum N]
        [--certificate FILE]... [--report FILE] BUNDLE

BUNDLE is the .zip, or a folder it was unpacked to. The service signs with one Ed25519 key per
job (checkpoints, export manifests, receipts, erasure certificates); each signed document names
its key by id (``<job>-<first 16 hex digits of the fingerprint>``), and ``keys.json`` in the
bundle is the service's key history (current and retired keys, each with its job), so documents
signed before a key was replaced still verify. Pin the keys: ``--keys`` takes the key list the
service publishes (``/api/v1/audit/keys``), ``--public-key`` a PEM it publishes
(``/api/v1/audit/public-key?key_id=…``), ``--fingerprint`` a fingerprint shown on its
``/transparency/`` page (each repeatable). A fingerprint is the SHA-256 of the raw 32-byte
Ed25519 public key, in hex (colons, spaces and case are ignored). Every signature must then be
by a pinned key. Unpinned, the bundle's own ``keys.json`` is trusted and the output says so:
anyone who can write the bundle could then have signed it.

Checks, trusting only the (pinned) keys:
1. every checkpoint's Ed25519 signature over the RFC 8785 canonical JSON of
   {log_id, tree_size, root_hash, timestamp, key_id}, and the signed manifest, each by the key
   its ``key_id`` names, which must be a key of that job (a checkpoint key's signature never
   passes for a manifest);
2. that ``leaf_hashes.bin`` rebuilds every checkpoint's root (RFC 9162 §2.1: leaf hash =
   SHA-256(0x00 ‖ leaf), node = SHA-256(0x01 ‖ left ‖ right)), so all roots are consistent;
3. that each line of ``events.jsonl`` — the exact leaf bytes — hashes to the leaf hash at its
   ``index``, that indexes only increase, and that the file is the one the manifest signed;
4. that the bundle holds exactly ``manifest.json`` and the files the signed manifest lists
   (``files``: name → SHA-256; the auditor's summary PDF and CSVs among them), each once and
   unchanged: a second entry with the same name, or any entry (file, folder, or a name in a
   folder) that ``files`` does not name, is refused, since zip readers disagree on which copy
   of a name they return and an unlisted file proves nothing.
5. that a zip holds nothing a reader could see beyond its central directory: read strictly,
   front to back, the local entries start at byte 0 and follow each other with no gap, each
   matches its directory entry (name, offset, sizes, CRC-32) and its compressed data ends
   exactly where its size says; then the directory, then the end record, with nothing after
   it (no comment). Bytes glued in front, a local entry the directory does not list (which
   ``jar`` and streaming unzippers extract), gaps and trailing bytes are refused; so are data
   descriptors, extra fields, zip64 and encryption, which the exporter never writes.
6. with ``--trusted-checkpoint`` (a checkpoint you kept earlier: the C2SP signed note served at
   ``/api/v1/audit/log/checkpoint``, signed by the log's key): that the log is at least that
   large and its first events still hash to that root. A log cut short or rebuilt since is
   refused, however consistent with itself it looks;
7. with ``--witness`` keys (C2SP vkeys) and ``--quorum N``: that the latest checkpoint carries
   valid cosignature/v1 lines from at least N of those witnesses, which refuse to cosign a log
   that was rolled back or forked.
8. with ``--certificate`` (an erasure certificate, JSON as issued): its signature by an erasure
   key,
   its checkpoint's signature and root (rebuilt from the bundle's leaf hashes), and that the
   event it cites is in the log under that checkpoint, is an ERASURE_COMPLETED event and hashes
   to the leaf hash it states;
9. with ``--report`` (the wind-down report, from the service's tombstone): its signature by an
   erasure key (the report is the service's statement that everyone was erased), that
   its final checkpoint is the bundle's last, that the bundle is the one it names (SHA-256, for
   a .zip), that its proof event (WIND_DOWN_ERASED) and every certificate event it lists
   (ERASURE_COMPLETED) are in the log as stated, and that every store's count after is 0.
The note formats (signed-note, tlog-checkpoint, tlog-cosignature) are read here with their own
few lines of code, so that this file stays self-contained.
Exit status 0 when everything holds, 1 with the first problem otherwise, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import struct
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

NOT_PINNED = (
    "key not pinned: anyone who can write this bundle could have signed it. Compare the "
    "fingerprint with the one the service publishes, or pass --public-key or --fingerprint."
)
FILES = ("manifest.json", "checkpoints.json", "keys.json", "leaf_hashes.bin", "events.jsonl")
# The audit actions the documents cite (audit.actions.AuditAction), by number as leaves hold them.
ERASURE_COMPLETED, WIND_DOWN_ERASED = 603, 643
CERTIFICATE_TYPE, REPORT_TYPE = "faceledger-erasure-certificate", "faceledger-wind-down-report"


class Invalid(Exception):
    pass


def jcs(value) -> bytes:
    """RFC 8785 for what the signed objects hold (strings, integers, booleans, null, objects)."""

    def encode(item) -> str:
        if item is None or isinstance(item, bool):
            return json.dumps(item)
        if isinstance(item, int):
            if abs(item) > 2**53 - 1:
                raise Invalid(f"integer out of the JSON range: {item}")
            return str(item)
        if isinstance(item, str):
            return json.dumps(item, ensure_ascii=False)
        if isinstance(item, dict):
            keys = sorted(item, key=lambda k: k.encode("utf-16-be"))
            return "{" + ",".join(f"{encode(k)}:{encode(item[k])}" for k in keys) + "}"
        if isinstance(item, list):
            return "[" + ",".join(encode(v) for v in item) + "]"
        raise Invalid(f"unexpected value in a signed object: {item!r}")

    return encode(value).encode("utf-8")


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def merkle_roots(leaf_hashes: list[bytes], sizes: set[int]) -> dict[int, bytes]:
    """MTH(D[0:n]) for each n in ``sizes`` (those within the leaves). Every perfect subtree is
    hashed once, a level at a time; each root is then folded, right to left, from the perfect
    subtrees its size's binary digits name (RFC 9162 §2.1.1 splits at the largest power of two
    below n, which is exactly that decomposition)."""
    sha = hashlib.sha256
    levels = [leaf_hashes]
    while len(levels[-1]) > 1:
        below = levels[-1]
        pairs = zip(below[0::2], below[1::2], strict=False)
        levels.append([sha(b"\x01" + left + right).digest() for left, right in pairs])
    roots: dict[int, bytes] = {}
    for size in sizes:
        if size > len(leaf_hashes):
            continue
        parts, start = [], 0
        for height in range(size.bit_length() - 1, -1, -1):
            if size >> height & 1:
                parts.append(levels[height][start >> height])
                start += 1 << height
        value = parts[-1] if parts else _sha256(b"")
        for left in reversed(parts[:-1]):
            value = _sha256(b"\x01" + left + value)
        roots[size] = value
    return roots


_LOCAL = struct.Struct("<IHHHHHIIIHH")  # local file header, before name and extra field
_CENTRAL = struct.Struct("<IHHHHHHIIIHHHHHII")  # central directory entry, before its name
_END = struct.Struct("<IHHHHIIH")  # end of central directory record, before its comment
_UTF8_NAME = 0x800  # general purpose flag bit 11; any other bit is refused


class _Entry(NamedTuple):
    name: str
    raw_name: bytes
    fields: tuple  # flags, method, time, date, CRC-32, compressed and uncompressed size
    offset: int


def _entries(path: Path) -> dict[str, Callable[[], bytes]]:
    """Every entry of the bundle (a zip, or the folder it was unpacked to) by name, read only
    when asked (an unlisted entry is refused unread); folders end in "/". A name twice is
    refused here."""
    if path.is_dir():
        return {
            item.name + ("/" if item.is_dir() else ""): (
                (lambda: b"") if item.is_dir() else item.read_bytes
            )
            for item in sorted(path.iterdir())
        }
    data = path.read_bytes()
    entries: dict[str, Callable[[], bytes]] = {}
    for entry in _zip_structure(data):
        if entry.name in entries:
            raise Invalid(f"{entry.name}: more than one entry with this name")
        entries[entry.name] = functools.partial(_read_entry, data, entry)
    return entries


def _zip_structure(data: bytes) -> list[_Entry]:
    """The zip's entries, accepted only when a reader going front to back (``jar``, streaming
    unzippers) and one going through the central directory must see the same files: local
    entries from byte 0, back to back, each the directory's entry at that offset (same name,
    sizes, CRC), then the directory, then the end record, then nothing (no comment). The
    exporter writes exactly this: no data descriptors, extra fields or zip64."""
    end = len(data) - _END.size
    if end < 0 or data[end : end + 4] != b"PK\x05\x06":
        raise Invalid(
            "zip: the file does not end with its end-of-central-directory record "
            "(bytes after it, a comment, or not a zip)"
        )
    _sig, disk, first_disk, here, total, size, start, comment = _END.unpack_from(data, end)
    if comment:
        raise Invalid("zip: a comment after the end record (the exporter writes none)")
    if (disk, first_disk) != (0, 0) or here != total or start + size != end:
        raise Invalid(
            "zip: the central directory is not where the end record says (bytes glued in "
            "front, split archive or zip64)"
        )
    directory = _central_directory(data, start, end, total)
    position = 0
    for entry in directory:
        if entry.offset != position and position == 0:
            raise Invalid("zip: bytes before the first entry (glued in front of the archive)")
        if entry.offset != position:
            raise Invalid(f"zip: {entry.name}: bytes before this entry that no entry holds")
        position = _local_entry(data, entry)
    if position != start:
        raise Invalid(
            "zip: bytes after the last entry that the central directory does not list (a "
            "hidden entry streaming readers would extract)"
        )
    return directory


def _central_directory(data: bytes, start: int, end: int, total: int) -> list[_Entry]:
    entries, position = [], start
    for _ in range(total):
        if position + _CENTRAL.size > end or data[position : position + 4] != b"PK\x01\x02":
            raise Invalid("zip: the central directory is malformed")
        values = _CENTRAL.unpack_from(data, position)
        fields, (name_len, extra_len, comment_len, disk), offset = (
            values[3:10],
            values[10:14],
            values[16],
        )
        raw_name = data[position + _CENTRAL.size : position + _CENTRAL.size + name_len]
        entry = _Entry(_decode_name(raw_name, fields[0]), raw_name, fields, offset)
        if extra_len or comment_len or disk:
            raise Invalid(
                f"zip: {entry.name}: extra field, comment or disk number in the directory"
            )
        entries.append(entry)
        position += _CENTRAL.size + name_len
    if position != end:
        raise Invalid("zip: the central directory holds more than its end record counts")
    return entries


def _decode_name(raw: bytes, flags: int) -> str:
    if flags & ~_UTF8_NAME:
        raise Invalid(
            "zip: an entry is encrypted or uses a data descriptor (the exporter does not)"
        )
    try:
        return raw.decode("utf-8" if flags & _UTF8_NAME else "cp437")
    except UnicodeDecodeError as exc:
        raise Invalid("zip: an entry name is not valid UTF-8") from exc


def _local_entry(data: bytes, entry: _Entry) -> int:
    """Check the local header at ``entry.offset`` against the directory; return where the next
    entry must begin (right after this one's data)."""
    position = entry.offset
    if data[position : position + 4] != b"PK\x03\x04" or position + _LOCAL.size > len(data):
        raise Invalid(f"zip: {entry.name}: no local header where the directory points")
    _sig, _needs, *fields, name_len, extra_len = _LOCAL.unpack_from(data, position)
    name_at = position + _LOCAL.size
    if data[name_at : name_at + name_len] != entry.raw_name:
        raise Invalid(f"zip: {entry.name}: the local header names another file")
    if extra_len or tuple(fields) != entry.fields:
        raise Invalid(f"zip: {entry.name}: the local header and the directory disagree")
    return name_at + name_len + entry.fields[5]


def _read_entry(data: bytes, entry: _Entry) -> bytes:
    """The entry's bytes: its compressed stream must end exactly at its compressed size (no
    bytes hidden after it) and match its size and CRC."""
    _flags, method, _time, _date, crc, compressed, size = entry.fields
    start = entry.offset + _LOCAL.size + len(entry.raw_name)
    raw = data[start : start + compressed]
    if method == 0:
        content, clean = raw, True
    elif method == 8:
        inflater = zlib.decompressobj(-15)
        try:
            content = inflater.decompress(raw, size + 1)
        except zlib.error as exc:
            raise Invalid(f"{entry.name}: not a valid deflate stream") from exc
        clean = inflater.eof and not inflater.unused_data and not inflater.unconsumed_tail
    else:
        raise Invalid(f"{entry.name}: compression method {method} (the exporter uses deflate)")
    if not clean:
        raise Invalid(f"{entry.name}: bytes after the end of its compressed data, or truncated")
    if len(content) != size or zlib.crc32(content) != crc:
        raise Invalid(f"{entry.name}: size or CRC-32 does not match the zip's record")
    return content


def _listed_files(entries: dict[str, Callable[[], bytes]], listed) -> dict[str, bytes]:
    """Exactly manifest.json and what the signed manifest lists, each with its SHA-256."""
    if not isinstance(listed, dict) or not set(FILES) - {"manifest.json"} <= set(listed):
        raise Invalid("manifest.json: files does not list every file of the bundle")
    for name in entries:
        if name != "manifest.json" and name not in listed:
            raise Invalid(f"{name}: not listed in the signed manifest")
    files = {}
    for name, expected in sorted(listed.items()):
        if name not in entries:
            raise Invalid(f"{name}: listed in the manifest but missing from the bundle")
        files[name] = entries[name]()
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise Invalid(f"{name}: not the file the manifest signed (SHA-256 differs)")
    return files


def _check_signature(key: Ed25519PublicKey, body: dict, signature: str, what: str) -> None:
    try:
        key.verify(base64.b64decode(signature, validate=True), jcs(body))
    except (InvalidSignature, ValueError) as exc:
        raise Invalid(f"{what}: bad signature") from exc


def checkpoint_body(checkpoint: dict) -> dict:
    """What a checkpoint's signature covers: its fields and, since keys have ids, its key id."""
    body = {k: checkpoint[k] for k in ("log_id", "tree_size", "root_hash", "timestamp")}
    if "key_id" in checkpoint:
        body["key_id"] = checkpoint["key_id"]
    return body


def _check_checkpoints(keys: Keys, checkpoints: list, leaf_hashes: list[bytes], log_id: str) -> int:
    roots = merkle_roots(leaf_hashes, {c["tree_size"] for c in checkpoints})
    previous = 0
    for checkpoint in checkpoints:
        body = checkpoint_body(checkpoint)
        what = f"checkpoint of tree size {body['tree_size']}"
        keys.check_document("checkpoint", body, checkpoint["signature"], what)
        if body["log_id"] != log_id:
            raise Invalid(f"{what}: belongs to log {body['log_id']!r}, not {log_id!r}")
        if body["tree_size"] < previous:
            raise Invalid(f"{what}: smaller than the checkpoint before it")
        if roots.get(body["tree_size"], b"").hex() != body["root_hash"]:
            raise Invalid(
                f"{what}: the leaf hashes do not rebuild its root (first bad index "
                f"at or after {previous})"
            )
        previous = body["tree_size"]
    return previous


def _leaf_index(line: bytes) -> int | None:
    """The ``index`` of a leaf without parsing it all: in RFC 8785 order it is the member after
    ``data``, and only strings follow it, in which a quote is always escaped, so its key is the
    last ``,"index":`` of the line. A line that is not a genuine leaf fails its hash anyway;
    None sends anything unusual through the JSON parser."""
    at = line.rfind(b',"index":')
    end = line.find(b",", at + 9)
    digits = line[at + 9 : end]
    if at < 0 or end < 0 or not digits.isdigit() or (len(digits) > 1 and digits[0] == 48):
        return None
    return int(digits)


def _index_is(line: bytes, index: int) -> bool:
    """The leaf's own ``index`` member is ``index`` (found as ``_leaf_index`` finds it)."""
    at = line.rfind(b',"index":')
    return at >= 0 and line.startswith(b"%d," % index, at + 9)


def _check_events(events: bytes, leaf_hashes: list[bytes], complete: bool) -> int:
    lines = events.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if complete and len(lines) == len(leaf_hashes):
        # A complete export: line i must be leaf i. All hashes at once, then each line's own
        # index; anything amiss goes through the loop below, which names the first problem.
        sha = hashlib.sha256
        if [sha(b"\x00" + line).digest() for line in lines] == leaf_hashes and all(
            map(_index_is, lines, range(len(lines)))
        ):
            return len(lines)
    last = -1
    for number, line in enumerate(lines, start=1):
        index = _leaf_index(line)
        if index is None:
            try:
                index = json.loads(line)["index"]
            except (ValueError, KeyError, TypeError) as exc:
                raise Invalid(f"events.jsonl line {number}: not an event object") from exc
        if not isinstance(index, int) or not last < index < len(leaf_hashes):
            raise Invalid(f"events.jsonl line {number}: index {index!r} out of order or range")
        if complete and index != last + 1:
            raise Invalid(f"first bad index {last + 1}: missing from a complete export")
        if _sha256(b"\x00" + line) != leaf_hashes[index]:
            raise Invalid(f"first bad index {index}: the event does not match its leaf hash")
        last = index
    if complete and last + 1 != len(leaf_hashes):
        raise Invalid(f"first bad index {last + 1}: missing from a complete export")
    return len(lines)


# --- C2SP signed notes: checkpoints and cosignatures --------------------------------------------


@dataclass(frozen=True)
class NoteKey:
    name: str
    sig_type: int  # 0x01 Ed25519 note signature, 0x04 cosignature/v1
    key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        raw = self.key.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return _sha256(self.name.encode() + b"\n" + bytes([self.sig_type]) + raw)[:4]


def parse_vkey(text: str) -> NoteKey:
    """A signed-note verifier key: <name>+<hex key id>+<base64(type ‖ public key)>."""
    try:
        name, hex_id, encoded = text.strip().split("+", 2)
        material = base64.b64decode(encoded, validate=True)
        given = bytes.fromhex(hex_id)
    except ValueError as exc:
        raise Invalid(f"not a verifier key: {text!r}") from exc
    if len(material) != 33 or material[0] not in (1, 4):
        raise Invalid(f"not an Ed25519 or cosignature/v1 verifier key: {text!r}")
    key = NoteKey(name, material[0], Ed25519PublicKey.from_public_bytes(material[1:]))
    if key.key_id != given:
        raise Invalid(f"the key id of {name} does not match its key")
    return key


def split_note(note: str) -> tuple[bytes, list[tuple[str, bytes]]]:
    """(note text, [(key name, key id ‖ signature)]) of a signed note."""
    cut = note.rfind("\n\n")
    if cut < 0 or not note.endswith("\n") or any(ord(c) < 32 and c != "\n" for c in note):
        raise Invalid("not a signed note (text, a blank line, signature lines)")
    signatures = []
    for line in note[cut + 2 :].splitlines():
        name, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        if not line.startswith("\u2014 ") or not encoded:
            raise Invalid(f"not a note signature line: {line!r}")
        try:
            signatures.append((name, base64.b64decode(encoded, validate=True)))
        except ValueError as exc:
            raise Invalid(f"not a note signature line: {line!r}") from exc
    return note[: cut + 1].encode(), signatures


def note_verified(text: bytes, signatures, key: NoteKey) -> bool:
    """A valid signature line of ``key``: Ed25519 over the text, or cosignature/v1 over
    "cosignature/v1\\ntime <t>\\n" and the text."""
    for name, blob in signatures:
        if name != key.name or blob[:4] != key.key_id:
            continue
        if key.sig_type == 1:
            message, signature = text, blob[4:]
        elif len(blob) == 4 + 8 + 64:
            stamp = int.from_bytes(blob[4:12], "big")
            message, signature = b"cosignature/v1\ntime %d\n" % stamp + text, blob[12:]
        else:
            continue
        try:
            key.key.verify(signature, message)
            return True
        except InvalidSignature:
            continue
    return False


def read_checkpoint(note: str, log_keys: list[NoteKey]) -> tuple[int, bytes, bytes, list]:
    """(size, root, text, signatures) of a checkpoint note signed by one of ``log_keys`` (the
    log's checkpoint keys, current and retired: all share the log's origin as their name)."""
    text, signatures = split_note(note)
    lines = text.decode("utf-8").split("\n")
    name = log_keys[0].name if log_keys else ""
    if len(lines) < 4 or lines[0] != name or not lines[1].isdigit():
        raise Invalid(f"not a checkpoint of log {name!r}")
    if not any(note_verified(text, signatures, key) for key in log_keys):
        raise Invalid("the checkpoint is not signed by the log's key")
    root = base64.b64decode(lines[2], validate=True)
    return int(lines[1]), root, text, signatures


def _check_trusted(note: str, log_keys: list[NoteKey], leaf_hashes: list[bytes]) -> int:
    size, root, _, _ = read_checkpoint(note, log_keys)
    if size > len(leaf_hashes):
        raise Invalid(
            f"the log holds {len(leaf_hashes)} events but the trusted checkpoint covers {size}: "
            "events were removed (truncated or rolled back)"
        )
    if merkle_roots(leaf_hashes, {size})[size] != root:
        raise Invalid(
            f"the log is not consistent with the trusted checkpoint of tree size {size}: its "
            "first events were rewritten (a fork)"
        )
    return size


def _check_quorum(
    checkpoints: list, log_keys: list[NoteKey], witnesses: list[NoteKey], quorum: int
) -> int:
    if not checkpoints or "note" not in checkpoints[-1]:
        raise Invalid("the latest checkpoint has no signed note, so no cosignatures")
    _, _, text, signatures = read_checkpoint(checkpoints[-1]["note"], log_keys)
    found = sum(note_verified(text, signatures, w) for w in witnesses)
    if found < quorum:
        raise Invalid(
            f"the latest checkpoint has {found} of the {quorum} witness cosignatures required: "
            "witnesses refused it (a rollback or fork) or were not asked"
        )
    return found


def fingerprint(key: Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, hex."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()


def _load_key(pem: bytes, what: str) -> Ed25519PublicKey:
    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise Invalid(f"{what} is not a PEM public key") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid(f"{what} is not an Ed25519 key")
    return key


def key_id(job: str, key: Ed25519PublicKey) -> str:
    """``<job>-<first 8 bytes of the key's fingerprint, hex>``."""
    return f"{job}-{fingerprint(key)[:16]}"


def read_key_list(data: bytes, what: str) -> dict[str, tuple[str, Ed25519PublicKey]]:
    """A key history (``keys.json``, ``/api/v1/audit/keys``): key id → (job, key). Each id is
    recomputed from its job and key; an entry whose id does not match is refused, and so is
    one key listed for two jobs (the service never lets a key serve two jobs: relabelled in a
    bundle, one job's key would sign every kind of document, pinned or not)."""
    try:
        entries = json.loads(data)
    except ValueError as exc:
        raise Invalid(f"{what} is not JSON") from exc
    if not isinstance(entries, list) or not entries:
        raise Invalid(f"{what} is not a list of keys")
    keys: dict[str, tuple[str, Ed25519PublicKey]] = {}
    jobs_of: dict[str, str] = {}  # fingerprint → the job it is listed for
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("public_key"), str):
            raise Invalid(f"{what}: an entry without a public key")
        job = str(entry.get("job"))
        key = _load_key(entry["public_key"].encode("ascii", "replace"), f"{what} ({job})")
        if entry.get("key_id") != key_id(job, key):
            raise Invalid(f"{what}: key id {entry.get('key_id')!r} does not match its job and key")
        other = jobs_of.setdefault(fingerprint(key), job)
        # mutant: negate — tests/audit/test_verifier_job_relabel.py
        #   test_a_checkpoint_key_relabelled_as_a_manifest_key_in_the_bundle_is_refused_when_pinned
        if other != job:
            raise Invalid(f"{what}: one key is listed for two jobs ({other} and {job})")
        keys[key_id(job, key)] = (job, key)
    return keys


class Keys:
    """The bundle's key history, checked against what the auditor pinned (fingerprints)."""

    def __init__(self, keys: dict[str, tuple[str, Ed25519PublicKey]], pinned: set[str] | None):
        self.keys = keys
        self.pinned = pinned
        self.used: dict[str, str] = {}  # key id → fingerprint, of the keys a signature needed

    def _use(self, kid: str, key: Ed25519PublicKey) -> None:
        found = fingerprint(key)
        if self.pinned is not None and found not in self.pinned:
            raise Invalid(
                f"key {kid} (sha256:{found}) is not one of the pinned keys: the bundle's key "
                "list is not the one the service publishes"
            )
        self.used[kid] = found

    def of_job(self, job: str) -> list[tuple[str, Ed25519PublicKey]]:
        return [(kid, key) for kid, (kind, key) in self.keys.items() if kind == job]

    def check_document(self, job: str, body: dict, signature: str, what: str) -> None:
        """The signature of a document of ``job``, by the key its ``key_id`` names, which must
        be a key of that job. A checkpoint from before keys had ids may be signed by any
        checkpoint key."""
        kid = body.get("key_id")
        if kid is None and job == "checkpoint":
            for legacy_id, key in self.of_job(job):
                try:
                    _check_signature(key, body, signature, what)
                except Invalid:
                    continue
                self._use(legacy_id, key)
                return
            raise Invalid(f"{what}: bad signature")
        if not isinstance(kid, str) or kid not in self.keys:
            raise Invalid(f"{what}: signed by key {kid!r}, which the key list does not hold")
        kind, key = self.keys[kid]
        if kind != job:
            raise Invalid(f"{what}: signed with a {kind} key ({kid}), not a {job} key")
        self._use(kid, key)
        _check_signature(key, body, signature, what)

    def note_keys(self, log_id: str) -> list[NoteKey]:
        """The log's note keys (every checkpoint key, named by the log's origin), pinned ones
        only when keys are pinned."""
        return [
            NoteKey(log_id, 1, key)
            for _, key in self.of_job("checkpoint")
            if self.pinned is None or fingerprint(key) in self.pinned
        ]

    def summary(self) -> str:
        used = ", ".join(f"{kid} (sha256:{fp})" for kid, fp in sorted(self.used.items()))
        if self.pinned is None:
            return f"keys used: {used}\n{NOT_PINNED}"
        return f"keys pinned: every signature is by a key you gave: {used}"


@dataclass(frozen=True)
class Trust:
    """What the auditor brings: checkpoint notes kept earlier, witness keys and a quorum."""

    checkpoints: tuple[str, ...] = ()
    witnesses: tuple[NoteKey, ...] = ()
    quorum: int = 0


class Verified(NamedTuple):
    """A bundle that passed ``verify``: what the documents are checked against."""

    message: str
    keys: Keys
    leaf_hashes: list[bytes]
    checkpoints: list
    events: bytes


def verify(path: Path, pinned: set[str] | None = None, trust: Trust = Trust()) -> str:  # noqa: B008
    """Check the bundle; ``pinned`` holds the fingerprints (hex, lower case) of the keys the
    auditor trusts: every signature must be by one of them (None: trust ``keys.json``)."""
    return verified(path, pinned, trust).message


def verified(
    path: Path,
    pinned: set[str] | None = None,
    trust: Trust = Trust(),  # noqa: B008
) -> Verified:
    """``verify``, keeping what it checked for the documents (``check_certificate``, …)."""
    entries = _entries(path)
    missing = [name for name in FILES if name not in entries]
    if missing:
        raise Invalid(f"bundle lacks {', '.join(missing)}")
    keys = Keys(read_key_list(entries["keys.json"](), "keys.json"), pinned)
    manifest = json.loads(entries["manifest.json"]())
    signature = manifest.pop("signature", "")
    keys.check_document("manifest", manifest, signature, "manifest.json")
    files = _listed_files(entries, manifest.get("files"))
    raw = files["leaf_hashes.bin"]
    if len(raw) != 32 * manifest["tree_size"]:
        raise Invalid("leaf_hashes.bin does not hold tree_size hashes")
    leaf_hashes = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    checkpoints = json.loads(files["checkpoints.json"])
    signed_size = _check_checkpoints(keys, checkpoints, leaf_hashes, manifest["log_id"])
    if signed_size != manifest["tree_size"]:
        raise Invalid("the latest checkpoint does not cover every leaf hash")
    # ``files`` was hashed above against the signed list: the two signed digests must agree.
    if manifest["files"]["events.jsonl"] != manifest["events_sha256"]:
        raise Invalid("events.jsonl is not the file the manifest signed")
    count = _check_events(files["events.jsonl"], leaf_hashes, manifest["complete"])
    if count != manifest["events"]:
        raise Invalid(f"events.jsonl has {count} events, the manifest says {manifest['events']}")
    key_line = keys.summary()
    log_keys = keys.note_keys(manifest["log_id"])
    remembered = [_check_trusted(note, log_keys, leaf_hashes) for note in trust.checkpoints]
    if remembered:
        key_line += f"\nextends the trusted checkpoints of tree sizes {remembered}"
    if trust.quorum:
        found = _check_quorum(checkpoints, log_keys, list(trust.witnesses), trust.quorum)
        key_line += f"\nlatest checkpoint cosigned by {found} witnesses (quorum {trust.quorum})"
    message = (
        f"OK: log {manifest['log_id']}, {count} events verified against "
        f"{len(checkpoints)} checkpoints (tree size {signed_size}); {len(files)} files match "
        f"the signed manifest, and the bundle holds nothing else.\n{key_line}"
    )
    return Verified(message, keys, leaf_hashes, checkpoints, files["events.jsonl"])


# --- documents that cite the log: erasure certificates, the wind-down report -------------------


def _signed_body(document: dict, kind: str, what: str) -> tuple[dict, str]:
    if not isinstance(document, dict) or document.get("type") != kind:
        raise Invalid(f"{what}: not a {kind}")
    body = dict(document)
    return body, body.pop("signature", "")


def _check_event(bundle: Verified, event: dict, action: int, size: int, what: str) -> int:
    """The event a document cites (``leaf_index``, ``leaf_hash``) is in the log below ``size``,
    hashes as stated, and (its line in the bundle) is the ``action`` it should be."""
    index = event.get("leaf_index")
    if not isinstance(index, int) or not 0 <= index < min(size, len(bundle.leaf_hashes)):
        raise Invalid(f"{what}: leaf index {index!r} is not under its checkpoint")
    if bundle.leaf_hashes[index].hex() != event.get("leaf_hash"):
        raise Invalid(f"{what}: the leaf hash at index {index} is not the one stated")
    for line in bundle.events.split(b"\n"):
        if line and _leaf_index(line) == index:
            if json.loads(line)["action"] != action:
                raise Invalid(f"{what}: the event at index {index} is not action {action}")
            return index
    raise Invalid(f"{what}: the event at index {index} is not in this bundle's events")


def check_certificate(bundle: Verified, certificate: dict, what: str = "certificate") -> str:
    """Check 8 of the module docstring."""
    body, signature = _signed_body(certificate, CERTIFICATE_TYPE, what)
    bundle.keys.check_document("erasure", body, signature, what)
    checkpoint = body["checkpoint"]
    size = checkpoint["tree_size"]
    bundle.keys.check_document(
        "checkpoint", checkpoint_body(checkpoint), checkpoint["signature"], f"{what}'s checkpoint"
    )
    if not isinstance(size, int) or not 0 < size <= len(bundle.leaf_hashes):
        raise Invalid(f"{what}: its checkpoint is beyond this bundle's log")
    if merkle_roots(bundle.leaf_hashes, {size})[size].hex() != checkpoint["root_hash"]:
        raise Invalid(f"{what}: the log does not rebuild its checkpoint's root")
    index = _check_event(bundle, body["audit_event"], ERASURE_COMPLETED, size, what)
    if body.get("verified_empty") is not True:
        raise Invalid(f"{what}: it does not state that every store was verified empty")
    return (
        f"OK: certificate of erasure request {body['erasure_request']}: its event #{index} "
        f"(ERASURE_COMPLETED) is in the log under the signed checkpoint of tree size {size}."
    )


def check_report(bundle: Verified, report: dict, bundle_sha256: str | None) -> str:
    """Check 9 of the module docstring. ``bundle_sha256``: the bundle file's, when a .zip."""
    body, signature = _signed_body(report, REPORT_TYPE, "report")
    bundle.keys.check_document("erasure", body, signature, "report")
    final = body["final_checkpoint"]
    last = bundle.checkpoints[-1]
    if checkpoint_body(last) != checkpoint_body(final) or last["signature"] != final["signature"]:
        raise Invalid("report: its final checkpoint is not this bundle's last")
    if bundle_sha256 is not None and bundle_sha256 != body["audit_bundle"]["sha256"]:
        raise Invalid("report: this bundle is not the one it names (SHA-256)")
    size = final["tree_size"]
    _check_event(bundle, body["proof"]["event"], WIND_DOWN_ERASED, size, "report's proof")
    for entry in body["certificates"]:
        what = f"report: certificate {entry.get('erasure_request')}"
        _check_event(bundle, entry, ERASURE_COMPLETED, size, what)
    left = [row["store"] for row in body["stores"] if row["after"] != 0]
    if left or body["proof"].get("every_store_empty") is not True:
        raise Invalid(f"report: stores not empty after the wind-down: {left}")
    return (
        f"OK: wind-down report of {body['controller']}: {body['accounts_erased']} accounts, "
        f"{len(body['certificates'])} certificates and the proof of emptiness are in the log; "
        f"its final checkpoint (tree size {size}) is the bundle's last; every store is empty."
    )


def _fingerprint_arg(value: str) -> str:
    digits = value.replace(":", "").replace(" ", "").lower()
    if len(digits) != 64 or any(c not in "0123456789abcdef" for c in digits):
        raise argparse.ArgumentTypeError("a fingerprint is 64 hex digits (SHA-256)")
    return digits


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="verify_audit.py", description="Verify a Faceledger audit export offline."
    )
    parser.add_argument(
        "--keys",
        type=Path,
        metavar="FILE",
        help="the key list the service publishes (/api/v1/audit/keys): pins all its keys",
    )
    parser.add_argument(
        "--public-key",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a published key (PEM) to pin (repeatable)",
    )
    parser.add_argument(
        "--fingerprint",
        action="append",
        type=_fingerprint_arg,
        default=[],
        metavar="HEX",
        help="SHA-256 of a raw Ed25519 public key, hex, to pin (repeatable)",
    )
    parser.add_argument(
        "--trusted-checkpoint",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="a checkpoint note you kept (repeatable); the log must extend it",
    )
    parser.add_argument(
        "--witness", action="append", default=[], metavar="VKEY", help="a witness's vkey"
    )
    parser.add_argument(
        "--quorum", type=int, default=0, help="witness cosignatures the latest checkpoint needs"
    )
    parser.add_argument(
        "--certificate",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="an erasure certificate (JSON) to check against the log (repeatable)",
    )
    parser.add_argument(
        "--report", type=Path, metavar="FILE", help="the wind-down report (JSON) to check"
    )
    parser.add_argument("bundle", type=Path, help="the export (.zip) or its unpacked folder")
    return parser


def main(argv: list[str]) -> int:
    parser = _parser()
    args = parser.parse_args(argv[1:])
    given: set[str] = set(args.fingerprint)
    try:
        for path in args.public_key:
            given.add(fingerprint(_load_key(path.read_bytes(), str(path))))
        if args.keys is not None:
            listed = read_key_list(args.keys.read_bytes(), str(args.keys))
            given.update(fingerprint(key) for _, key in listed.values())
    except (Invalid, OSError) as exc:
        parser.error(f"--keys or --public-key: {exc}")
    pinned = given or None
    try:
        trust = Trust(
            tuple(p.read_text(encoding="utf-8") for p in args.trusted_checkpoint),
            tuple(parse_vkey(v) for v in args.witness),
            args.quorum,
        )
    except (Invalid, OSError, UnicodeDecodeError) as exc:
        parser.error(f"--trusted-checkpoint or --witness: {exc}")
    if args.quorum > len(args.witness):
        parser.error("--quorum is larger than the number of --witness keys")
    try:
        bundle = verified(args.bundle, pinned, trust)
        print(bundle.message)
        for path in args.certificate:
            print(check_certificate(bundle, json.loads(path.read_bytes()), str(path)))
        if args.report is not None:
            digest = None
            if args.bundle.is_file():
                digest = hashlib.sha256(args.bundle.read_bytes()).hexdigest()
            print(check_report(bundle, json.loads(args.report.read_bytes()), digest))
    except (Invalid, OSError, ValueError, KeyError, TypeError) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
