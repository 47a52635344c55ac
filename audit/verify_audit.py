#!/usr/bin/env python3
"""Offline verifier for a Faceledger audit export. Needs Python 3.11+ and ``cryptography``.

    python verify_audit.py BUNDLE            (BUNDLE: the .zip, or a folder it was unpacked to)

Checks, trusting only ``public_key.pem`` (compare it with the one the service publishes):
1. every checkpoint's Ed25519 signature over the RFC 8785 canonical JSON of
   {log_id, tree_size, root_hash, timestamp}, and the signed manifest;
2. that ``leaf_hashes.bin`` rebuilds every checkpoint's root (RFC 9162 §2.1: leaf hash =
   SHA-256(0x00 ‖ leaf), node = SHA-256(0x01 ‖ left ‖ right)), so all roots are consistent;
3. that each line of ``events.jsonl`` — the exact leaf bytes — hashes to the leaf hash at its
   ``index``, that indexes only increase, and that the file is the one the manifest signed;
4. that every file the signed manifest lists (``files``: name → SHA-256; the auditor's summary
   PDF and CSVs among them) is in the bundle, unchanged.
Exit status 0 when everything holds, 1 with the first problem otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

FILES = ("manifest.json", "checkpoints.json", "public_key.pem", "leaf_hashes.bin", "events.jsonl")


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
    """MTH(D[0:n]) for each n in ``sizes``, in one pass over the leaves (compact range)."""
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []  # (subtree height, hash), heights strictly decreasing

    def root() -> bytes:
        if not stack:
            return _sha256(b"")
        value = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            value = _sha256(b"\x01" + left + value)
        return value

    if 0 in sizes:
        roots[0] = root()
    for count, leaf in enumerate(leaf_hashes, start=1):
        stack.append((0, leaf))
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            height, right = stack.pop()
            _, left = stack.pop()
            stack.append((height + 1, _sha256(b"\x01" + left + right)))
        if count in sizes:
            roots[count] = root()
    return roots


def _read_bundle(path: Path) -> dict[str, bytes]:
    """Every file at the top of the bundle (a zip, or the folder it was unpacked to)."""
    if path.is_dir():
        return {item.name: item.read_bytes() for item in path.iterdir() if item.is_file()}
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist() if "/" not in name}


def _check_files(files: dict[str, bytes], listed: dict) -> int:
    """The manifest's SHA-256 of each file it lists (older bundles list none)."""
    if not isinstance(listed, dict):
        raise Invalid("manifest.json: files is not an object")
    for name, expected in sorted(listed.items()):
        if name not in files:
            raise Invalid(f"{name}: listed in the manifest but missing from the bundle")
        if hashlib.sha256(files[name]).hexdigest() != expected:
            raise Invalid(f"{name}: not the file the manifest signed (SHA-256 differs)")
    return len(listed)


def _check_signature(key: Ed25519PublicKey, body: dict, signature: str, what: str) -> None:
    try:
        key.verify(base64.b64decode(signature, validate=True), jcs(body))
    except (InvalidSignature, ValueError) as exc:
        raise Invalid(f"{what}: bad signature") from exc


def _check_checkpoints(key, checkpoints: list, leaf_hashes: list[bytes], log_id: str) -> int:
    roots = merkle_roots(leaf_hashes, {c["tree_size"] for c in checkpoints})
    previous = 0
    for checkpoint in checkpoints:
        body = {k: checkpoint[k] for k in ("log_id", "tree_size", "root_hash", "timestamp")}
        what = f"checkpoint of tree size {body['tree_size']}"
        _check_signature(key, body, checkpoint["signature"], what)
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


def _check_events(events: bytes, leaf_hashes: list[bytes], complete: bool) -> int:
    lines = events.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    last = -1
    for number, line in enumerate(lines, start=1):
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


def verify(path: Path) -> str:
    files = _read_bundle(path)
    missing = [name for name in FILES if name not in files]
    if missing:
        raise Invalid(f"bundle lacks {', '.join(missing)}")
    key = load_pem_public_key(files["public_key.pem"])
    if not isinstance(key, Ed25519PublicKey):
        raise Invalid("public_key.pem is not an Ed25519 key")
    manifest = json.loads(files["manifest.json"])
    signature = manifest.pop("signature", "")
    _check_signature(key, manifest, signature, "manifest.json")
    raw = files["leaf_hashes.bin"]
    if len(raw) != 32 * manifest["tree_size"]:
        raise Invalid("leaf_hashes.bin does not hold tree_size hashes")
    leaf_hashes = [raw[i : i + 32] for i in range(0, len(raw), 32)]
    checkpoints = json.loads(files["checkpoints.json"])
    signed_size = _check_checkpoints(key, checkpoints, leaf_hashes, manifest["log_id"])
    if signed_size != manifest["tree_size"]:
        raise Invalid("the latest checkpoint does not cover every leaf hash")
    if hashlib.sha256(files["events.jsonl"]).hexdigest() != manifest["events_sha256"]:
        raise Invalid("events.jsonl is not the file the manifest signed")
    count = _check_events(files["events.jsonl"], leaf_hashes, manifest["complete"])
    if count != manifest["events"]:
        raise Invalid(f"events.jsonl has {count} events, the manifest says {manifest['events']}")
    checked = _check_files(files, manifest.get("files", {}))
    return (
        f"OK: log {manifest['log_id']}, {count} events verified against "
        f"{len(checkpoints)} checkpoints (tree size {signed_size}); {checked} files match the "
        "signed manifest."
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        print(verify(Path(argv[1])))
    except (Invalid, OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
