"""Recompute the whole log from the stored events and check it against the signed checkpoints.

Trusts nothing stored but the events themselves and the public key: every leaf is rebuilt from
its event row, every root from those leaves. So it catches an event modified in any leaf
column, deleted, inserted or reordered, also when the triggers were disabled and the stored
leaf hashes were rewritten to match (then the signed roots disagree).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256

from django.conf import settings
from django.db import connection

from audit import copy_rows, signing, witness
from audit.leaves import jcs, leaf_bytes_from_row, leaf_hash
from audit.merkle import CompactRange
from audit.models import AuditCheckpoint, AuditEvent, AuditNode
from audit.selectors import checkpoint_cosigners, leaf_rows

_CHUNK = 5000


@dataclass(frozen=True)
class Problem:
    index: int | None  # the first leaf index concerned, when one can be named
    reason: str

    def __str__(self) -> str:
        where = f"index {self.index}" if self.index is not None else "log"
        return f"{where}: {self.reason}"


@dataclass
class VerificationResult:
    tree_size: int = 0
    checkpoints: int = 0
    pending: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        indexed = [p for p in self.problems if p.index is not None]
        if indexed:
            return min(indexed, key=lambda p: p.index or 0)  # (each has an index)
        return self.problems[0] if self.problems else None


class _Checker:
    def __init__(self, result: VerificationResult, trusted: list[witness.Checkpoint]):
        self.result = result
        self.trusted: dict[int, list[witness.Checkpoint]] = {}
        for kept in trusted:
            self.trusted.setdefault(kept.size, []).append(kept)
        self.tree = CompactRange()
        self.levels: dict[int, bytearray] = {}
        self.checkpoints = list(AuditCheckpoint.objects.order_by("id"))
        self.roots_due: dict[int, list[AuditCheckpoint]] = {}
        for checkpoint in self.checkpoints:
            self.roots_due.setdefault(checkpoint.tree_size, []).append(checkpoint)
        self.verified_size = 0
        self.leaf_failed = self.root_failed = False

    def fail(self, index: int | None, reason: str) -> None:
        self.result.problems.append(Problem(index, reason))

    def check_signatures(self) -> None:
        # Checkpoints from before keys had ids name none: any published checkpoint key.
        legacy_keys = [
            entry.key for entry in signing.key_history() if entry.job == signing.CHECKPOINT
        ]
        previous = 0
        for checkpoint in self.checkpoints:
            label = f"checkpoint {checkpoint.pk} (tree size {checkpoint.tree_size})"
            if checkpoint.log_id != settings.AUDIT_LOG_ID:
                self.fail(None, f"{label} names log {checkpoint.log_id!r}")
            if checkpoint.key_id:
                valid = signing.verify(signing.CHECKPOINT, checkpoint.document())
            else:
                message = jcs(checkpoint.body())
                valid = any(
                    signing.verify_signature(message, checkpoint.signature, key)
                    for key in legacy_keys
                )
            if not valid:
                self.fail(None, f"{label} has an invalid signature")
            if checkpoint.tree_size < previous:
                self.fail(checkpoint.tree_size, f"{label} is smaller than the one before it")
            previous = max(previous, checkpoint.tree_size)

    def add_leaf(self, row) -> bool:
        """Rebuild one leaf from a ``leaf_rows`` row."""
        index, stored, event_id, *columns = row
        if event_id is None:
            leaf = None
        elif None in columns:  # a column emptied to NULL: the event is not what was hashed
            leaf = b""
        else:
            leaf = leaf_bytes_from_row(index, columns)
        return self.add_rebuilt(index, bytes(stored), leaf)

    def add_rebuilt(self, index: int, stored: bytes, leaf: bytes | None) -> bool:
        """Check one rebuilt leaf (None: its event is missing). Goes on past a bad leaf (with
        the rebuilt hash) so that the signed roots still narrow down where a consistent rewrite
        starts; stops at a gap."""
        if index != self.tree.size:
            self.fail(self.tree.size, "leaf missing (a gap in the indexes)")
            return False
        if leaf is None:
            self.fail_leaf(index, "the event of this leaf is missing (deleted)")
            digest = stored
        else:
            digest = leaf_hash(leaf)
            if digest != stored:
                self.fail_leaf(
                    index,
                    "the event does not match its leaf hash (modified, reordered or inserted)",
                )
        for level, _idx, node in self.tree.append(digest):
            self.levels.setdefault(level, bytearray()).extend(node)
        self.check_roots_at(self.tree.size)
        return True

    def fail_leaf(self, index: int, reason: str) -> None:
        if not self.leaf_failed:  # the first is the one that matters; the rest follow from it
            self.leaf_failed = True
            self.fail(index, reason)

    def check_roots_at(self, size: int) -> None:
        due = self.roots_due.get(size, ())
        root = self.tree.root().hex() if due or size in self.trusted else ""
        for kept in self.trusted.get(size, ()):
            if kept.root.hex() != root:
                self.fail(
                    None,
                    f"the log is not consistent with the trusted checkpoint of tree size {size}: "
                    "its first events were rewritten (a fork)",
                )
        for checkpoint in due:
            if checkpoint.root_hash != root and not self.root_failed:
                self.root_failed = True
                self.fail(
                    self.verified_size,
                    f"the root of checkpoint {checkpoint.pk} (tree "
                    f"size {size}) differs: a leaf in [{self.verified_size}, {size}) was "
                    "changed",
                )
        if due and not self.root_failed:
            self.verified_size = size

    def add_copied(self) -> bool:
        """Every leaf checked by the database (PostgreSQL): the fast path for a sound log. The
        database rebuilds each leaf from its event's stored columns, hashes it and compares it
        with the stored leaf hash (``copy_rows.LEAVES_MATCH_SQL``, on every core); the tree is
        built here from the stored hashes. Returns False at the first thing that is not as it
        should be (a gap, a missing event, a leaf or root that differs), leaving the caller to
        verify again on the slow path, which names the problem."""
        sha, size, levels = sha256, 0, self.levels
        stack: list[bytes] = []
        due = set(self.roots_due) | set(self.trusted)
        total, first, final = copy_rows.leaf_span()
        if total and (first != 0 or final != total - 1):  # a gap, or an index out of place
            return False
        if not copy_rows.leaves_match():
            return False
        for count, hashes in copy_rows.leaf_hash_chunks(total):
            for at in range(0, 32 * count, 32):
                digest = hashes[at : at + 32]
                n, level = size, 0
                while n & 1:
                    digest = sha(b"\x01" + stack.pop() + digest).digest()
                    level += 1
                    node_level = levels.get(level)
                    if node_level is None:
                        node_level = levels[level] = bytearray()
                    node_level += digest
                    n >>= 1
                stack.append(digest)
                size += 1
                if size in due:
                    self.tree = CompactRange(size, stack)
                    self.check_roots_at(size)
                    if self.root_failed or self.result.problems:
                        return False
        self.tree = CompactRange(size, stack)
        return True

    def nodes_match_quickly(self) -> bool:
        """PostgreSQL: each level's stored hashes in one query, compared with the rebuild; on a
        mismatch ``check_nodes`` names the node."""
        top = max(copy_rows.node_top_level(), max(self.levels, default=0))
        for level in range(1, top + 1):
            expected = self.levels.get(level, bytearray())
            count, end, digest = copy_rows.node_level(level)
            if count != end or digest != sha256(expected).digest():
                return False
        return True

    def check_nodes(self) -> None:
        """The stored subtree hashes that proofs are served from must match the rebuild."""
        if connection.vendor == "postgresql" and self.nodes_match_quickly():
            return
        stored_levels = AuditNode.objects.values_list("level", flat=True).distinct()
        for level in sorted(set(stored_levels) | set(self.levels)):
            expected = self.levels.get(level, bytearray())
            count = 0
            for idx, digest in (
                AuditNode.objects.filter(level=level)
                .order_by("idx")
                .values_list("idx", "hash")
                .iterator(chunk_size=_CHUNK)
            ):
                if idx != count or bytes(digest) != expected[32 * idx : 32 * idx + 32]:
                    self.fail(count << level, f"stored tree node {level}/{idx} is wrong")
                    return
                count += 1
            if count * 32 != len(expected):
                self.fail(count << level, f"stored tree nodes at level {level} are missing")
                return


def _check_unsealed(checker: _Checker, result: VerificationResult, *, sound: bool) -> None:
    """Unsealed events, and none that should have been sealed. ``sound``: every leaf was found
    with its own event (each event has at most one leaf), so the count needs no join."""
    unsealed = AuditEvent.objects.filter(leaf__isnull=True)
    if sound:
        result.pending = AuditEvent.objects.count() - result.tree_size
        if not result.pending:
            return
    else:
        result.pending = unsealed.count()
    if not checker.checkpoints or not result.pending:
        return
    horizon = checker.checkpoints[-1].seal_horizon
    column = "txid" if connection.vendor == "postgresql" else "id"
    stray = unsealed.filter(**{f"{column}__lt": horizon}).order_by("id").first()
    if stray is not None:
        checker.fail(
            None,
            f"event {stray.pk} predates the last seal but has no leaf "
            "(inserted, or its leaf was deleted)",
        )


def _check_trusted(checker: _Checker, size: int) -> None:
    """A trusted checkpoint (kept by an auditor, or a witness's) larger than the log: events
    were cut off, or the log was rolled back, however consistent what is left looks."""
    largest = max(checker.trusted, default=0)
    if largest > size:
        checker.fail(
            size,
            f"the log holds {size} events but a trusted checkpoint covers {largest}: "
            "events were removed (truncated or rolled back)",
        )


def _check_quorum(checker: _Checker, witnesses: list[witness.Verifier], quorum: int) -> None:
    """The newest checkpoint must carry ``quorum`` cosignatures: witnesses refuse to cosign a
    rolled-back or forked log, so a checkpoint without them is one they were not shown or
    refused."""
    if not quorum or not checker.checkpoints:
        return
    latest = checker.checkpoints[-1]
    try:
        names = checkpoint_cosigners(latest, witnesses)
    except witness.FormatError as exc:
        names, reason = [], f" ({exc})"
    else:
        reason = ""
    if len(names) < quorum:
        checker.fail(
            None,
            f"the latest checkpoint (tree size {latest.tree_size}) has {len(names)} of the "
            f"{quorum} witness cosignatures required{reason}: witnesses refused it (a rollback "
            "or fork) or were not asked",
        )


def _start(trusted: list[witness.Checkpoint]) -> tuple[VerificationResult, _Checker]:
    result = VerificationResult()
    checker = _Checker(result, trusted)
    result.checkpoints = len(checker.checkpoints)
    checker.check_signatures()
    checker.check_roots_at(0)
    return result, checker


def audit_log_verify(
    *,
    trusted: list[witness.Checkpoint] | None = None,
    witnesses: list[witness.Verifier] | None = None,
    quorum: int = 0,
) -> VerificationResult:
    """Verify the log; ``trusted`` checkpoints (already verified) must be prefixes of it, and
    with ``quorum`` the latest checkpoint must be cosigned by that many of ``witnesses``."""
    result, checker = _start(trusted or [])
    if connection.vendor == "postgresql" and not result.problems and checker.add_copied():
        complete = sound = True
    else:  # SQLite, or a problem to name: leaf by leaf
        result, checker = _start(trusted or [])
        complete = all(checker.add_leaf(row) for row in leaf_rows())
        sound = False
    result.tree_size = size = checker.tree.size
    _check_trusted(checker, size)
    _check_quorum(checker, witnesses or [], quorum)
    signed = max(checker.roots_due, default=0)
    if complete and signed > size:
        checker.fail(size, f"a checkpoint covers {signed} leaves but only {size} exist (deleted)")
    elif complete and signed < size:
        checker.fail(signed, f"leaves {signed}..{size - 1} are in no checkpoint (inserted)")
    if complete and not result.problems:  # else node mismatches only echo them
        checker.check_nodes()
    _check_unsealed(checker, result, sound=sound)
    return result
