"""Moving an MP4's index (``moov``) in front of its media data, in memory.

Browsers start playing a progressive download only once they have the index. FFmpeg's
``movflags=+faststart`` moves it by reopening the output file by name for a second pass, which
fails for an in-memory output; our outputs are never written to disk (they hold a face), so
this does the same move on the bytes, as ``qt-faststart`` does: put ``moov`` before ``mdat``
and add its length to every chunk offset (``stco``/``co64``) inside it.
"""

from __future__ import annotations

import struct

# Boxes that only contain other boxes, on the way from moov to the chunk offset tables.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def top_level_boxes(data: bytes) -> list[tuple[bytes, int, int]]:
    """``(type, start, end)`` of each top-level box. Raises ``ValueError`` on a bad layout."""
    return list(_boxes(data, 0, len(data)))


def _boxes(data: bytes, start: int, end: int):
    offset = start
    while offset < end:
        if end - offset < 8:
            raise ValueError("truncated MP4 box header")
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            raise ValueError(f"bad MP4 box size for {kind!r}")
        yield kind, offset, offset + size
        offset += size


def faststart(data: bytes) -> bytes:
    """``data`` with ``moov`` moved before the first ``mdat`` (unchanged if it already is)."""
    boxes = top_level_boxes(data)
    kinds = [kind for kind, _, _ in boxes]
    if b"moov" not in kinds or b"mdat" not in kinds:
        raise ValueError("not an MP4 with moov and mdat")
    moov_at, mdat_at = kinds.index(b"moov"), kinds.index(b"mdat")
    if moov_at < mdat_at:
        return data
    _, moov_start, moov_end = boxes[moov_at]
    moov = bytearray(data[moov_start:moov_end])
    _shift_offsets(moov, 0, len(moov), len(moov))
    parts = [data[start:end] for _, start, end in boxes[:mdat_at]]
    parts.append(bytes(moov))
    parts += [data[start:end] for kind, start, end in boxes[mdat_at:] if kind != b"moov"]
    return b"".join(parts)


def _shift_offsets(box: bytearray, start: int, end: int, shift: int) -> None:
    for kind, offset, stop in _boxes(box, start, end):
        header = 16 if struct.unpack_from(">I", box, offset)[0] == 1 else 8
        if kind in _CONTAINERS:
            inner = offset + header
            _shift_offsets(box, inner, stop, shift)
        elif kind in (b"stco", b"co64"):
            _shift_table(box, offset + header, kind == b"co64", shift)


def _shift_table(box: bytearray, body: int, wide: bool, shift: int) -> None:
    """Add ``shift`` to every entry of a chunk offset table (after version/flags and count)."""
    (count,) = struct.unpack_from(">I", box, body + 4)
    fmt, width = (">Q", 8) if wide else (">I", 4)
    for n in range(count):
        at = body + 8 + n * width
        (value,) = struct.unpack_from(fmt, box, at)
        value += shift
        if not wide and value > 0xFFFFFFFF:
            raise ValueError("chunk offset past 4 GiB in a 32-bit table")
        struct.pack_into(fmt, box, at, value)
