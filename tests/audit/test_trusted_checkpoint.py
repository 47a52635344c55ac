"""Verifiers that remember: a checkpoint kept by an auditor catches a log cut short or rebuilt.

The attack: with the triggers disabled (a database superuser, or an application role that may
drop them), delete the newest events with their leaves, tree nodes, checkpoints and note
signatures, cutting at a checkpoint (to hide an erasure, say). What is left is a perfectly
consistent, correctly signed, shorter log: only something kept outside the database shows it.
"""

from __future__ import annotations

import base64

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from audit import signing, witness
from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, AuditNode, AuditNoteSignature
from audit.services import audit_seal
from tests.audit import helpers
from tests.audit.helpers import record_events
from tests.audit.test_export import run_verifier

pytestmark = pytest.mark.django_db

TABLES = (
    "audit_auditevent",
    "audit_auditleaf",
    "audit_auditnode",
    "audit_auditcheckpoint",
    "audit_auditnotesignature",
)


def disable_triggers() -> None:
    helpers.disable_triggers(TABLES)


def truncate_to(size: int) -> None:
    """Cut the log back to its first ``size`` events, leaving no trace in the database."""
    later = AuditCheckpoint.objects.filter(tree_size__gt=size)
    AuditNoteSignature.objects.filter(checkpoint__in=later).delete()
    later.delete()
    for level, idx in AuditNode.objects.values_list("level", "idx"):
        if (idx + 1) << level > size:
            AuditNode.objects.filter(level=level, idx=idx).delete()
    events = list(AuditLeaf.objects.filter(index__gte=size).values_list("event_id", flat=True))
    AuditLeaf.objects.filter(index__gte=size).delete()
    AuditEvent.objects.filter(pk__in=events).delete()


def kept_checkpoint(tmp_path) -> object:
    """What an auditor keeps: the signed note the service serves, saved to a file."""
    response = APIClient().get("/api/v1/audit/log/checkpoint")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    path = tmp_path / "checkpoint.txt"
    path.write_bytes(response.content)
    return path


@pytest.fixture
def log(alice, tmp_path):
    """8 events, a checkpoint after each; the auditor keeps the last one."""
    for number in range(8):
        record_events(1, subject=alice, start=number)
        audit_seal()
    return kept_checkpoint(tmp_path)


def test_the_checkpoint_is_served_as_a_c2sp_signed_note(log):
    note = log.read_text()
    origin, size, root, blank, signature, end = note.split("\n")
    assert (origin, size, blank, end) == ("faceledger-test", "8", "", "")
    assert base64.b64decode(root).hex() == AuditCheckpoint.objects.last().root_hash
    assert signature.startswith("\u2014 faceledger-test ")
    checkpoint, _ = witness.open_checkpoint(note, signing.checkpoint_verifier())
    assert checkpoint.size == 8


def test_a_log_that_extends_the_kept_checkpoint_verifies(log, alice):
    record_events(2, subject=alice, start=8)
    audit_seal()
    call_command("audit_verify", "--trusted-checkpoint", str(log))


def test_truncation_at_a_checkpoint_is_invisible_without_a_kept_checkpoint(log):
    """Why verifiers must remember: the shortened log is consistent with itself."""
    disable_triggers()
    truncate_to(5)
    call_command("audit_verify")


def test_truncation_at_a_checkpoint_is_caught_by_audit_verify_with_the_kept_checkpoint(log):
    disable_triggers()
    truncate_to(5)
    with pytest.raises(CommandError, match="trusted checkpoint covers 8"):
        call_command("audit_verify", "--trusted-checkpoint", str(log))


def test_truncation_is_caught_by_the_offline_verifier_with_the_kept_checkpoint(log, tmp_path):
    disable_triggers()
    truncate_to(5)
    bundle = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(bundle))
    assert run_verifier(bundle).returncode == 0  # alone, it cannot know
    result = run_verifier(bundle, "--trusted-checkpoint", str(log))
    assert result.returncode == 1
    assert "trusted checkpoint covers 8" in result.stderr


def test_a_fork_rebuilt_to_the_same_size_is_caught_by_both_verifiers(log, alice, tmp_path):
    """Cut back and re-grow a different history with the operator's key: every signature is
    valid, the size matches, but the root at the kept size differs."""
    disable_triggers()
    truncate_to(5)
    for number in range(3):
        record_events(1, subject=alice, start=100 + number)
        audit_seal()
    call_command("audit_verify")  # consistent with itself
    with pytest.raises(CommandError, match="not consistent with the trusted checkpoint"):
        call_command("audit_verify", "--trusted-checkpoint", str(log))
    bundle = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(bundle))
    result = run_verifier(bundle, "--trusted-checkpoint", str(log))
    assert result.returncode == 1
    assert "not consistent with the trusted checkpoint" in result.stderr


def test_a_kept_checkpoint_not_signed_by_the_log_is_refused(log, tmp_path):
    forged = tmp_path / "forged.txt"
    text = witness.checkpoint_text("faceledger-test", 3, b"\x00" * 32)
    other = witness.Ed25519PrivateKey.generate()
    forged.write_text(text.decode() + "\n" + witness.sign_note(text, "faceledger-test", other))
    with pytest.raises(CommandError, match="not signed by the log's key"):
        call_command("audit_verify", "--trusted-checkpoint", str(forged))
