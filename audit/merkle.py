"""RFC 9162 §2.1 Merkle tree arithmetic, independent of storage.

Every Merkle Tree Hash a proof needs, MTH(D[a:b]), is over a range whose start is a multiple of
the largest power of two below its size, so it splits into *perfect* subtrees that the sealer
stores as they complete: node (level, idx) covers leaves [idx·2^level, (idx+1)·2^level).
Proof builders here return ranges; ``perfect_nodes`` names the stored nodes a range needs and
``fold`` combines their hashes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

EMPTY_ROOT = hashlib.sha256(b"").digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (size ≥ 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, idx), left to right, whose fold is MTH(D[start:end])."""
    nodes = []
    while start < end:
        level = (end - start).bit_length() - 1
        if start & ((1 << level) - 1):
            raise ValueError(f"range [{start}, {end}) is not split into aligned subtrees")
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: list[bytes]) -> bytes:
    """Combine the perfect-subtree hashes of one range: the RFC tree leans left, so fold
    from the right."""
    if not hashes:
        return EMPTY_ROOT
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(m, D[n]) (RFC 9162 §2.1.3.1) as the ranges whose MTHs form it, leaf side first."""
    ranges = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """PROOF(m, D[n]) (RFC 9162 §2.1.4.1) as ranges; empty when m is 0 or m == n."""
    if first == 0 or first == second:
        return []
    ranges = []
    start, end, remaining, is_start = 0, second, first, True
    while True:
        if remaining == end - start:
            if not is_start:
                ranges.append((start, end))
            break
        k = split_point(end - start)
        if remaining <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            remaining -= k
            is_start = False
    ranges.reverse()
    return ranges


class CompactRange:
    """The right edge of a growing tree: one perfect subtree per set bit of its size.

    ``append`` returns the perfect nodes (level ≥ 1) each leaf completes, for storage;
    ``root`` is MTH of everything appended so far.
    """

    def __init__(self, size: int = 0, edge: Iterable[bytes] = ()):
        self.size = size
        self._stack: list[tuple[int, bytes]] = []
        levels = [lvl for lvl in range(size.bit_length() - 1, -1, -1) if size >> lvl & 1]
        hashes = list(edge)
        if len(hashes) != len(levels):
            raise ValueError(f"a tree of size {size} has {len(levels)} edge subtrees")
        self._stack = list(zip(levels, hashes, strict=True))

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        completed = []
        stack = self._stack
        stack.append((0, leaf_hash))
        position = self.size
        while len(stack) > 1 and stack[-1][0] == stack[-2][0]:
            level, right = stack.pop()
            _, left = stack.pop()
            merged = node_hash(left, right)
            stack.append((level + 1, merged))
            completed.append((level + 1, position >> (level + 1), merged))
        self.size += 1
        return completed

    def root(self) -> bytes:
        return fold([h for _, h in self._stack])
