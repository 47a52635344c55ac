"""The audit log's tables.

``AuditEvent``, ``AuditLeaf``, ``AuditNode``, ``AuditCheckpoint`` and ``AuditNoteSignature`` are
append-only: migrations 0002 and 0003 install database triggers that refuse UPDATE, DELETE and
TRUNCATE on them. Events are written only by ``audit.services.audit_record``; leaves, nodes,
checkpoints and their note signatures only by the sealer (``audit.services.audit_seal``).
``SubjectPseudonym`` is deliberately outside that set: erasure deletes a mapping row, and the
log still verifies because it holds only the pseudonym.
"""

from __future__ import annotations

import json

from django.db import models

from audit.actions import AuditAction


class AuditEvent(models.Model):
    """One thing that happened. Its position in the log lives in ``AuditLeaf``, not here, so
    the row is written once and never touched again (no UPDATE is ever needed)."""

    # Indexes are what every insert pays for: only the subject (a person's own events, for
    # their report) and txid (the sealer) have one. Exports by time scan, which is rare.
    time = models.DateTimeField()
    # "system", "staff:<pk>" or "subject:<pseudonym>"
    actor = models.CharField(max_length=80)
    # The subject's pseudonym ("" when the event concerns no data subject).
    subject = models.CharField(max_length=32, blank=True)
    # An AuditAction value. No ``choices``: every app adds actions, and choices would make
    # each addition an audit migration.
    action = models.PositiveIntegerField()
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=128, blank=True)
    purpose = models.CharField(max_length=64, blank=True)
    # RFC 8785 canonical JSON of the event's data, made once when recorded: the leaf embeds
    # these exact characters, so no JSON column type can renormalise numbers or key order.
    data_jcs = models.TextField(default="{}")
    request_id = models.CharField(max_length=64, blank=True)
    # PostgreSQL only: the writer's 64-bit transaction id, which lets the sealer find events
    # that committed late without scanning the table (see services.audit_seal). Its index is a
    # BRIN (migration 0005, PostgreSQL only): txids grow with the table, so block ranges find
    # the recent ones, and an insert updates no B-tree page (every writer would queue on its
    # rightmost one). SQLite never sets it, so it has no index there.
    txid = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "audit event"
        # A plain index (no PostgreSQL *_like twin, which CharField(db_index=True) would add).
        indexes = [models.Index(fields=["subject"], name="audit_event_subject")]

    def __str__(self) -> str:
        return f"audit event {self.pk} ({self.action_name})"

    @property
    def action_name(self) -> str:
        try:
            return AuditAction(self.action).name
        except ValueError:
            return str(self.action)

    @property
    def data(self) -> dict:
        return json.loads(self.data_jcs)


class AuditLeaf(models.Model):
    """An event's place in the Merkle tree: ``index`` is gap-free, in sealing order."""

    index = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="leaf")
    leaf_hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = "audit leaf"
        verbose_name_plural = "audit leaves"

    def __str__(self) -> str:
        return f"leaf {self.index}"


class AuditNode(models.Model):
    """The hash of a complete (perfect) subtree: leaves [idx·2^level, (idx+1)·2^level).

    Stored as each subtree completes (like Trillian's compact ranges), so any inclusion or
    consistency proof needs only O(log n) indexed reads.
    """

    level = models.PositiveSmallIntegerField()
    idx = models.BigIntegerField()
    hash = models.BinaryField(max_length=32)

    class Meta:
        verbose_name = "audit tree node"
        constraints = [
            models.UniqueConstraint(fields=["level", "idx"], name="audit_node_level_idx_unique"),
            models.CheckConstraint(condition=models.Q(level__gte=1), name="audit_node_level_gte_1"),
        ]

    def __str__(self) -> str:
        return f"node {self.level}/{self.idx}"


class AuditCheckpoint(models.Model):
    """A signed tree head. ``log_id``, ``tree_size``, ``root_hash`` and ``timestamp`` are kept
    exactly as signed (the timestamp as the signed string)."""

    log_id = models.CharField(max_length=100)
    tree_size = models.BigIntegerField()
    root_hash = models.CharField(max_length=64)
    timestamp = models.CharField(max_length=40)
    signature = models.CharField(max_length=128)
    # The checkpoint key that signed it (audit.signing, part of the signed body). Empty only on
    # checkpoints from before keys had ids. Nullable so that adding it altered no table: on
    # SQLite a rebuilt table loses its append-only triggers.
    key_id = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001
    # Where the next seal resumes looking for events (see services.audit_seal). Not signed.
    seal_horizon = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = "audit checkpoint"

    def __str__(self) -> str:
        return f"checkpoint {self.tree_size}"

    def body(self) -> dict:
        """What the checkpoint key signed (with ``key_id``; ``signing.verify`` checks it)."""
        body = {
            "log_id": self.log_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
        }
        if self.key_id:
            body["key_id"] = self.key_id
        return body

    def document(self) -> dict:
        """The signed checkpoint, as ``signing.sign`` returned it."""
        return {**self.body(), "signature": self.signature}


class AuditNoteSignature(models.Model):
    """One signature line of a checkpoint's C2SP signed note (``audit.witness``): the log's own
    (written with the checkpoint, ``cosigned_at`` empty) or a witness's cosignature/v1 (written
    when the witness answers, with its timestamp). The note is the checkpoint's text
    (``checkpoint_text``) followed by these lines, in id order."""

    checkpoint = models.ForeignKey(
        AuditCheckpoint, on_delete=models.PROTECT, related_name="note_signatures"
    )
    name = models.CharField(max_length=200)
    line = models.TextField()
    cosigned_at = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = "audit note signature"

    def __str__(self) -> str:
        return f"signature by {self.name} on checkpoint {self.checkpoint_id}"


class SubjectPseudonym(models.Model):
    """Subject id → random pseudonym. No foreign key: audit imports no other app, and erasure
    deletes this row while the log keeps only the pseudonym."""

    subject_id = models.BigIntegerField(unique=True)
    pseudonym = models.CharField(max_length=32, unique=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = "subject pseudonym"

    def __str__(self) -> str:
        return f"pseudonym {self.pseudonym}"


# The tables the triggers protect, and that test flushes must leave alone.
APPEND_ONLY_MODELS = (AuditEvent, AuditLeaf, AuditNode, AuditCheckpoint, AuditNoteSignature)


class WindDown(models.Model):
    """The service's wind-down (README "Closing the service"): at most one row, made when
    ``wind_down`` puts the service in closing mode. While it exists, sign-up, captures and swaps
    are refused (``audit.closing``) and every page shows a banner. It holds the run's state so
    that a killed run resumes: the phase, the counts per store taken when erasure began, the
    accounts to erase, and at the end the signed report. It names nobody: account ids only
    while the accounts exist, and counts."""

    class Phase(models.TextChoices):
        CLOSING = "closing", "closing (grace period)"
        ERASING = "erasing", "erasing everyone"
        ERASED = "erased", "erased and proved empty; report to write"
        DONE = "done", "done"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.CLOSING)
    started_at = models.DateTimeField()
    grace_ends_at = models.DateTimeField()
    erasure_started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # Per store, what it held (over every account) when erasure began: the report's "before".
    counts_before = models.JSONField(default=dict)
    # The accounts present when erasure began (ids), for the proof of emptiness, and those
    # still to erase (each removed once its certificate is issued); both cleared with the proof.
    subjects = models.JSONField(default=list)
    pending = models.JSONField(default=list)
    # What the service stores (``inventory.service_stores``) erased, and every store's count
    # after the proof: the report's "after".
    service_erased = models.JSONField(default=dict)
    counts_after = models.JSONField(default=dict)
    # The signed report (JSON, as issued).
    report = models.TextField(blank=True)

    class Meta:
        verbose_name = "wind-down"
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="wind_down_single")]

    def __str__(self) -> str:
        return f"wind-down ({self.phase})"
