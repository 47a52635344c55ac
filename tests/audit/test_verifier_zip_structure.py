"""The offline verifier reads the zip as every reader would, front to back as well as through
its central directory: a forged entry that only a streaming reader (``jar x``, a streaming
unzipper) sees — a zip glued in front, a local entry left out of the directory, bytes in a gap,
after the end or in a comment — is refused. Each bundle is built byte by byte here, as a forger
would, and checked by the bundle's own verifier in a fresh interpreter."""

from __future__ import annotations

import struct
import zipfile
import zlib

import pytest

from tests.audit.helpers import bundle_entries
from tests.audit.test_export import run_verifier

pytestmark = pytest.mark.django_db


def forged_events(path) -> bytes:
    events = dict(bundle_entries(path))["events.jsonl"]
    forged = events.replace(b'"object_id":"2"', b'"object_id":"9"')
    assert forged != events
    return forged


def local_entry(name: str, data: bytes, *, stream: bytes | None = None) -> tuple[bytes, tuple]:
    """A local header and its deflated data; ``stream`` replaces the compressed bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = stream if stream is not None else packer.compress(data) + packer.flush()
    fields = (20, 0, 8, 0, 0x21, zlib.crc32(data), len(body), len(data))
    raw = name.encode()
    header = struct.pack("<IHHHHHIIIHH", 0x04034B50, *fields, len(raw), 0) + raw
    return header + body, fields


def build(
    entries: list[tuple[str, bytes]],
    *,
    prefix: bytes = b"",
    gap_after: int | None = None,
    hidden: list[tuple[str, bytes]] = (),
    trailing: bytes = b"",
    comment: bytes = b"",
    streams: dict[str, bytes] | None = None,
) -> bytes:
    """A zip whose central directory is self-consistent (offsets count ``prefix``): ``hidden``
    entries are written after the listed ones but left out of the directory."""
    out, directory = bytearray(prefix), bytearray()
    for position, (name, data) in enumerate(entries):
        offset = len(out)
        local, fields = local_entry(name, data, stream=(streams or {}).get(name))
        out += local
        raw = name.encode()
        directory += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, *fields, len(raw), 0, 0, 0, 0, 0, offset
        )
        directory += raw
        if position == gap_after:
            out += b"\x00" * 64
    for name, data in hidden:
        out += local_entry(name, data)[0]
    start = len(out)
    out += directory
    count = len(entries)
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(directory), start, len(comment)
    )
    return bytes(out + end + comment + trailing)


def check(tmp_path, genuine, data: bytes, message: str) -> None:
    bundle = tmp_path / "trick.zip"
    bundle.write_bytes(data)
    (tmp_path / "trick.verify_audit.py").write_bytes(
        dict(bundle_entries(genuine))["verify_audit.py"]
    )
    result = run_verifier(bundle)
    assert result.returncode == 1, result.stdout
    assert "OK" not in result.stdout
    assert f"FAILED: {message}" in result.stderr


def test_the_byte_by_byte_copy_of_a_genuine_bundle_verifies(genuine, tmp_path):
    bundle = tmp_path / "copy.zip"
    bundle.write_bytes(build(bundle_entries(genuine)))
    result = run_verifier(bundle)
    assert result.returncode == 0, result.stderr


def test_a_forged_zip_glued_in_front_is_refused(genuine, tmp_path):
    front = build([("events.jsonl", forged_events(genuine))])
    check(tmp_path, genuine, front + genuine.read_bytes(), "zip: the central directory is not")


def test_bytes_in_front_with_matching_offsets_are_refused(genuine, tmp_path):
    forged = build([("events.jsonl", forged_events(genuine))])
    data = build(bundle_entries(genuine), prefix=forged)
    check(tmp_path, genuine, data, "zip: bytes before the first entry")


def test_a_local_entry_left_out_of_the_central_directory_is_refused(genuine, tmp_path):
    data = build(bundle_entries(genuine), hidden=[("events.jsonl", forged_events(genuine))])
    check(tmp_path, genuine, data, "zip: bytes after the last entry that the central directory")


def test_the_attackers_hidden_entry_made_with_zipfile_is_refused(genuine, tmp_path):
    """As the attacker built it: a second events.jsonl written, then dropped from the list."""
    source = bundle_entries(genuine)
    bundle = tmp_path / "smuggle.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in source:
            archive.writestr(name, data)
        real = archive.NameToInfo["events.jsonl"]
        archive.writestr("events.jsonl", forged_events(genuine))
        archive.filelist.pop()
        archive.NameToInfo["events.jsonl"] = real
    assert [name for name, _ in bundle_entries(bundle)] == [name for name, _ in source]
    check(tmp_path, genuine, bundle.read_bytes(), "zip: bytes after the last entry")


def test_a_gap_between_entries_is_refused(genuine, tmp_path):
    data = build(bundle_entries(genuine), gap_after=0)
    name = bundle_entries(genuine)[1][0]
    check(tmp_path, genuine, data, f"zip: {name}: bytes before this entry")


def test_bytes_after_an_entrys_compressed_stream_are_refused(genuine, tmp_path):
    """A streaming reader that inflates until the stream ends would next see the hidden local
    header; a directory reader would see the genuine file."""
    source = dict(bundle_entries(genuine))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = packer.compress(source["checkpoints.json"]) + packer.flush()
    stream += local_entry("events.jsonl", forged_events(genuine))[0]
    data = build(list(source.items()), streams={"checkpoints.json": stream})
    check(tmp_path, genuine, data, "checkpoints.json: bytes after the end of its compressed")


@pytest.mark.parametrize("trailing", [b"x", b"PK\x03\x04" + b"\x00" * 40])
def test_bytes_after_the_end_record_are_refused(genuine, tmp_path, trailing):
    check(
        tmp_path,
        genuine,
        genuine.read_bytes() + trailing,
        "zip: the file does not end with its end-of-central-directory record",
    )


def test_a_zip_comment_is_refused(genuine, tmp_path):
    data = build(bundle_entries(genuine), comment=b"events.jsonl is in the comment")
    check(tmp_path, genuine, data, "zip: the file does not end with its end-of-central-directory")


def test_an_export_is_exactly_what_the_verifier_accepts(genuine):
    """No data descriptors, no extra fields, no comment, no zip64: the strict reader's rules
    are what the exporter writes."""
    with zipfile.ZipFile(genuine) as archive:
        assert archive.comment == b""
        for info in archive.infolist():
            assert info.flag_bits == 0, info.filename
            assert info.extra == b"", info.filename
            assert info.compress_type == zipfile.ZIP_DEFLATED
    assert genuine.read_bytes()[:4] == b"PK\x03\x04"
