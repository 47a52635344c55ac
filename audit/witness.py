#!/usr/bin/env python3
"""A transparency-log witness (C2SP tlog-witness), and the formats it speaks.

Standalone: Python 3.11+ and ``cryptography``, no Django. Copy this one file to another host,
give it its own key and its own state file, and it cosigns the audit log's checkpoints only
while the log grows append-only:

    python witness.py keygen --name witness.example/w1 --key w1.pem      # prints its vkey
    python witness.py serve --name witness.example/w1 --key w1.pem --state w1.json \\
        --log 'faceledger.example/audit+1a2b3c4d+AQ…' --listen 127.0.0.1:7380

``POST /add-checkpoint`` is the tlog-witness request: ``old <size>``, the RFC 9162 consistency
proof from that size (one base64 hash a line), an empty line, then the log's checkpoint as a
signed note. The witness checks the log's signature (403 when none verifies, 404 for an unknown
origin), that ``old`` is the size it last cosigned (409 with that size, ``text/x.tlog.size``),
that old ≤ new (400), and the proof (422): a rolled-back or forked log gets no cosignature. It
then records the new checkpoint (atomically, before answering) and returns its timestamped
``cosignature/v1`` line. ``GET /checkpoint?origin=…`` (not part of the C2SP protocol, whose
monitoring read is still to be specified) serves the last checkpoint it cosigned, with its
cosignature, so that a verifier can learn what the witness remembers.

The module also holds the formats the service uses to sign and read them (signed-note key ids
and signature lines, tlog-checkpoint note text, cosignature/v1 messages, consistency proofs).
"""

# ruff: noqa: E402 (the path fix below must run before the standard library imports)
from __future__ import annotations

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
if __name__ == "__main__" and sys.path and os.path.realpath(sys.path[0] or ".") == _HERE:
    # Run as a script from inside the app: its folder (which holds an ``audit/selectors.py``)
    # must not shadow the standard library's modules of the same name.
    del sys.path[0]

import argparse
import base64
import binascii
import hashlib
import json
import struct
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

# Signature types of c2sp.org/signed-note: a plain Ed25519 note signature, and a
# c2sp.org/tlog-cosignature cosignature/v1 (timestamped).
ED25519 = 0x01
COSIGNATURE_V1 = 0x04
SIGNATURE_DASH = "\u2014 "
MAX_PROOF_LINES = 63
SIZE_CONTENT_TYPE = "text/x.tlog.size"
EMPTY_ROOT = hashlib.sha256(b"").digest()


class FormatError(ValueError):
    """Malformed note, checkpoint, key or request."""


# --- signed notes -------------------------------------------------------------------------------


def check_key_name(name: str) -> str:
    if not name or any(c.isspace() or c == "+" for c in name) or not name.isprintable():
        raise FormatError(f"invalid key name {name!r}: no spaces, '+' or control characters")
    return name


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(name: str, sig_type: int, public: bytes) -> bytes:
    """SHA-256(name ‖ "\\n" ‖ type ‖ public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([sig_type]) + public).digest()[:4]


@dataclass(frozen=True)
class Verifier:
    """A trusted key: ``name`` and ``key_id`` pick its signature lines out of a note."""

    name: str
    sig_type: int
    key: Ed25519PublicKey

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.sig_type, raw_public(self.key))

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([self.sig_type]) + raw_public(self.key)).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"


def verifier_for(name: str, key: Ed25519PublicKey, sig_type: int = ED25519) -> Verifier:
    return Verifier(check_key_name(name), sig_type, key)


def parse_vkey(text: str) -> Verifier:
    """``<name>+<hex key id>+<base64(type ‖ public key)>`` (signed-note verifier key)."""
    parts = text.strip().split("+", 2)  # the base64 key may hold "+" too
    if len(parts) != 3:
        raise FormatError("a verifier key is <name>+<key id>+<base64 key>")
    name, hex_id, encoded = parts
    try:
        material = base64.b64decode(encoded, validate=True)
        given_id = bytes.fromhex(hex_id)
    except (binascii.Error, ValueError) as exc:
        raise FormatError("a verifier key has a bad key id or key encoding") from exc
    if len(material) != 33 or material[0] not in (ED25519, COSIGNATURE_V1):
        raise FormatError("only Ed25519 (0x01) and cosignature/v1 (0x04) keys are supported")
    verifier = Verifier(
        check_key_name(name), material[0], Ed25519PublicKey.from_public_bytes(material[1:])
    )
    if verifier.key_id != given_id:
        raise FormatError(f"the key id of {name} does not match its key")
    return verifier


def signature_line(name: str, kid: bytes, signature: bytes) -> str:
    return f"{SIGNATURE_DASH}{name} {base64.b64encode(kid + signature).decode()}\n"


def sign_note(text: bytes, name: str, key: Ed25519PrivateKey) -> str:
    """The note signature line of ``key`` (named ``name``) over the note text."""
    kid = key_id(name, ED25519, raw_public(key.public_key()))
    return signature_line(name, kid, key.sign(text))


@dataclass(frozen=True)
class NoteSignature:
    name: str
    key_id: bytes
    signature: bytes
    line: str


def split_note(note: bytes | str) -> tuple[bytes, list[NoteSignature]]:
    """The note text (with its final newline) and its signature lines, syntax checked."""
    raw = note.encode() if isinstance(note, str) else note
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError("a note must be UTF-8") from exc
    if any(ord(c) < 0x20 and c != "\n" for c in decoded):
        raise FormatError("a note holds a control character")
    cut = decoded.rfind("\n\n")
    if cut < 0 or not decoded.endswith("\n"):
        raise FormatError("a note is text, a blank line, then signature lines")
    text, lines = decoded[: cut + 1], decoded[cut + 2 :].splitlines(keepends=True)
    if not lines:
        raise FormatError("a note has no signature")
    return text.encode(), [parse_signature_line(line) for line in lines]


def parse_signature_line(line: str) -> NoteSignature:
    if not line.startswith(SIGNATURE_DASH) or not line.endswith("\n"):
        raise FormatError("a signature line starts with an em dash and a space")
    parts = line[len(SIGNATURE_DASH) : -1].split(" ")
    if len(parts) != 2:
        raise FormatError("a signature line is a key name and a base64 signature")
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error as exc:
        raise FormatError("a signature line's signature is not base64") from exc
    if len(blob) < 5:
        raise FormatError("a signature line is too short")
    return NoteSignature(check_key_name(parts[0]), blob[:4], blob[4:], line)


def _matching(verifier: Verifier, signatures: list[NoteSignature]) -> list[NoteSignature]:
    kid = verifier.key_id
    return [s for s in signatures if s.name == verifier.name and s.key_id == kid]


def note_signed_by(text: bytes, signatures: list[NoteSignature], verifier: Verifier) -> bool:
    """True when a signature line of ``verifier`` (a plain Ed25519 key) verifies."""
    for sig in _matching(verifier, signatures):
        try:
            verifier.key.verify(sig.signature, text)
            return True
        except InvalidSignature:
            continue
    return False


# --- checkpoints (c2sp.org/tlog-checkpoint) -----------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    text: bytes  # the note text that is signed


def checkpoint_text(origin: str, size: int, root: bytes) -> bytes:
    return f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def parse_checkpoint(text: bytes) -> Checkpoint:
    lines = text.decode("utf-8").split("\n")
    if len(lines) < 4 or lines[-1] != "" or not lines[0]:
        raise FormatError("a checkpoint is an origin, a size and a root hash, one a line")
    size_line, root_line = lines[1], lines[2]
    if (
        not size_line.isascii()
        or not size_line.isdigit()
        or (size_line != "0" and size_line[0] == "0")
    ):
        raise FormatError("a checkpoint's size is a decimal without leading zeroes")
    try:
        root = base64.b64decode(root_line, validate=True)
    except binascii.Error as exc:
        raise FormatError("a checkpoint's root hash is not base64") from exc
    if len(root) != 32:
        raise FormatError("a checkpoint's root hash is not 32 bytes")
    if any(not line for line in lines[3:-1]):
        raise FormatError("a checkpoint's extension lines must not be empty")
    return Checkpoint(lines[0], int(size_line), root, text)


def open_checkpoint(note: bytes | str, log: Verifier) -> tuple[Checkpoint, list[NoteSignature]]:
    """Parse a checkpoint note and check the log's signature on it."""
    text, signatures = split_note(note)
    checkpoint = parse_checkpoint(text)
    if checkpoint.origin != log.name:
        raise FormatError(f"checkpoint of {checkpoint.origin!r}, not of {log.name!r}")
    if not note_signed_by(text, signatures, log):
        raise FormatError("the checkpoint is not signed by the log's key")
    return checkpoint, signatures


# --- cosignatures (c2sp.org/tlog-cosignature) ---------------------------------------------------


def cosignature_message(text: bytes, timestamp: int) -> bytes:
    return b"cosignature/v1\ntime %d\n" % timestamp + text


def cosign(text: bytes, name: str, key: Ed25519PrivateKey, timestamp: int) -> str:
    kid = key_id(name, COSIGNATURE_V1, raw_public(key.public_key()))
    signature = key.sign(cosignature_message(text, timestamp))
    return signature_line(name, kid, struct.pack(">Q", timestamp) + signature)


def cosigned_at(text: bytes, signatures: list[NoteSignature], witness: Verifier) -> int | None:
    """The timestamp of ``witness``'s valid cosignature on the note text, or None."""
    for sig in _matching(witness, signatures):
        if len(sig.signature) != 8 + 64:
            continue
        (timestamp,) = struct.unpack(">Q", sig.signature[:8])
        if timestamp >= 2**63:
            continue
        try:
            witness.key.verify(sig.signature[8:], cosignature_message(text, timestamp))
            return timestamp
        except InvalidSignature:
            continue
    return None


def cosigners(text: bytes, signatures: list[NoteSignature], witnesses: list[Verifier]) -> list[str]:
    """Names of the witnesses whose cosignature on the note text verifies."""
    return [w.name for w in witnesses if cosigned_at(text, signatures, w) is not None]


# --- consistency proofs (RFC 9162 §2.1.4.2) ----------------------------------------------------


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> bool:
    if first > second:
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:
        return not proof
    if not proof:
        return False
    if first & (first - 1) == 0:  # a power of two: the old root is the first node
        proof = [first_root, *proof]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = _node(c, fr), _node(c, sr)
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root


# --- add-checkpoint requests (c2sp.org/tlog-witness) --------------------------------------------


def add_checkpoint_body(old_size: int, proof: list[bytes], note: str) -> bytes:
    lines = [f"old {old_size}\n"] + [base64.b64encode(h).decode() + "\n" for h in proof]
    return ("".join(lines) + "\n" + note).encode()


def parse_add_checkpoint(body: bytes) -> tuple[int, list[bytes], bytes]:
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise FormatError("the request has no empty line before the checkpoint")
    lines = head.decode("ascii", "replace").split("\n")
    old = lines[0].removeprefix("old ")
    if old == lines[0] or not old.isdigit() or (old != "0" and old[0] == "0"):
        raise FormatError("the request starts with 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise FormatError("too many consistency proof lines")
    try:
        proof = [base64.b64decode(line, validate=True) for line in lines[1:]]
    except binascii.Error as exc:
        raise FormatError("a proof line is not base64") from exc
    if any(len(h) != 32 for h in proof):
        raise FormatError("a proof line is not a 32-byte hash")
    return int(old), proof, note


# --- the witness --------------------------------------------------------------------------------


class Witness:
    """Cosigns checkpoints of the logs it knows, never a rollback or a fork.

    The state file maps each origin to the last checkpoint cosigned (size, root, the note with
    the cosignature). Checking ``old`` against it and saving the new one happen under one lock,
    and the file is replaced atomically (written, flushed to disk, renamed) before answering.
    """

    def __init__(self, name: str, key: Ed25519PrivateKey, state: Path, logs: list[Verifier]):
        self.name = check_key_name(name)
        self.key = key
        self.state_path = state
        self.logs = {log.name: log for log in logs}
        self.lock = threading.Lock()
        self.state: dict[str, dict] = json.loads(state.read_text()) if state.exists() else {}

    @property
    def verifier(self) -> Verifier:
        return Verifier(self.name, COSIGNATURE_V1, self.key.public_key())

    def _save(self) -> None:
        folder = self.state_path.parent
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, suffix=".tmp") as out:
            json.dump(self.state, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, self.state_path)
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def add_checkpoint(self, body: bytes, now: int | None = None) -> tuple[int, str, bytes]:
        """(HTTP status, content type, body) for one add-checkpoint request."""
        try:
            old, proof, note = parse_add_checkpoint(body)
            text, signatures = split_note(note)
            checkpoint = parse_checkpoint(text)
        except (FormatError, UnicodeDecodeError) as exc:
            return 400, "text/plain", f"{exc}\n".encode()
        log = self.logs.get(checkpoint.origin)
        if log is None:
            return 404, "text/plain", b"unknown log origin\n"
        if not note_signed_by(text, signatures, log):
            return 403, "text/plain", b"no signature from a trusted log key\n"
        if old > checkpoint.size:
            return 400, "text/plain", b"old size is larger than the checkpoint's size\n"
        with self.lock:
            known = self.state.get(checkpoint.origin, {"size": 0, "root": ""})
            known_root = base64.b64decode(known["root"]) if known["root"] else EMPTY_ROOT
            if old != known["size"]:
                return 409, SIZE_CONTENT_TYPE, f"{known['size']}\n".encode()
            if old == checkpoint.size and checkpoint.root != known_root and old:
                return 409, SIZE_CONTENT_TYPE, f"{known['size']}\n".encode()
            if old and not verify_consistency(
                old, checkpoint.size, known_root, checkpoint.root, proof
            ):
                return 422, "text/plain", b"the consistency proof does not verify\n"
            if not old and (proof or (checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT)):
                return 422, "text/plain", b"a proof from size 0 must be empty\n"
            line = cosign(text, self.name, self.key, int(time.time()) if now is None else now)
            log_lines = "".join(s.line for s in signatures if s.name == log.name)
            self.state[checkpoint.origin] = {
                "size": checkpoint.size,
                "root": base64.b64encode(checkpoint.root).decode(),
                "note": text.decode() + "\n" + log_lines + line,
            }
            self._save()
        return 200, "text/plain; charset=utf-8", line.encode()

    def latest(self, origin: str) -> str | None:
        with self.lock:
            entry = self.state.get(origin)
        return entry["note"] if entry else None


def _handler(witness: Witness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            if urllib.parse.urlsplit(self.path).path.rstrip("/").split("/")[-1] != "add-checkpoint":
                self._answer(404, "text/plain", b"not found\n")
                return
            raw_length = self.headers.get("Content-Length") or "0"
            if not raw_length.isdigit():
                self._answer(400, "text/plain", b"a Content-Length is required\n")
                return
            length = int(raw_length)
            if length > 64 * 1024:
                self._answer(413, "text/plain", b"request too large\n")
                return
            self._answer(*witness.add_checkpoint(self.rfile.read(length)))

        def do_GET(self) -> None:  # noqa: N802
            parts = urllib.parse.urlsplit(self.path)
            origin = urllib.parse.parse_qs(parts.query).get("origin", [""])[0]
            note = witness.latest(origin) if parts.path.rstrip("/").endswith("checkpoint") else None
            if note is None:
                self._answer(404, "text/plain", b"no checkpoint cosigned for this origin\n")
            else:
                self._answer(200, "text/plain; charset=utf-8", note.encode())

        def log_message(self, format: str, *args) -> None:  # noqa: A002
            sys.stderr.write(f"witness: {format % args}\n")

    return Handler


# --- clients ------------------------------------------------------------------------------------


def request(url: str, body: bytes | None, timeout: float) -> tuple[int, bytes]:
    """POST (with a body) or GET; (status, body). Network errors raise OSError."""
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            return response.status, response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(64 * 1024)


def latest_from(url: str, origin: str, timeout: float) -> str | None:
    """The last checkpoint the witness at ``url`` cosigned for ``origin`` (a note), or None."""
    query = urllib.parse.urlencode({"origin": origin})
    status, body = request(f"{url.rstrip('/')}/checkpoint?{query}", None, timeout)
    return body.decode("utf-8") if status == 200 else None


# --- command line -------------------------------------------------------------------------------


def _load_private(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise SystemExit(f"{path}: not an Ed25519 private key")
    return key


def _keygen(args) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(args.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(pem)
    print(Verifier(check_key_name(args.name), COSIGNATURE_V1, key.public_key()).vkey)


def _serve(args) -> None:
    key = _load_private(args.key)
    logs = [parse_vkey(text) for text in args.log]
    witness = Witness(args.name, key, args.state, logs)
    host, _, port = args.listen.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), _handler(witness))
    print(f"witness {witness.verifier.vkey} listening on {host}:{server.server_port}", flush=True)
    server.serve_forever()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="witness.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    keygen = commands.add_parser("keygen", help="make a key; prints the witness's vkey")
    keygen.add_argument("--name", required=True, help="key name, e.g. witness.example/w1")
    keygen.add_argument("--key", type=Path, required=True, help="private key file to create")
    vkey = commands.add_parser("vkey", help="print the witness's vkey")
    vkey.add_argument("--name", required=True)
    vkey.add_argument("--key", type=Path, required=True)
    serve = commands.add_parser("serve", help="answer add-checkpoint requests")
    serve.add_argument("--name", required=True)
    serve.add_argument("--key", type=Path, required=True)
    serve.add_argument("--state", type=Path, required=True, help="JSON file of cosigned sizes")
    serve.add_argument("--log", action="append", required=True, help="a log's vkey (repeat)")
    serve.add_argument("--listen", default="127.0.0.1:7380", help="host:port (port 0: any)")
    args = parser.parse_args(argv[1:])
    if args.command == "keygen":
        _keygen(args)
    elif args.command == "vkey":
        print(
            Verifier(
                check_key_name(args.name), COSIGNATURE_V1, _load_private(args.key).public_key()
            ).vkey
        )
    else:
        _serve(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
