from __future__ import annotations

import base64

import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.core.management import call_command
from rest_framework.test import APIClient

from audit.models import AuditCheckpoint, AuditLeaf
from audit.services import audit_seal
from tests.audit.helpers import record_events, verify_consistency, verify_inclusion

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def grown_log():
    """13 events sealed in four batches: checkpoints at 0 (empty), 1, 6, 13."""
    sizes = []
    for batch in (0, 1, 5, 7):
        record_events(batch, start=sum(sizes))
        audit_seal()
        sizes.append(batch)
    return list(AuditCheckpoint.objects.order_by("id"))


def test_sealing_gives_gap_free_indexes_in_order_and_nothing_twice(grown_log):
    assert [c.tree_size for c in grown_log] == [0, 1, 6, 13]
    leaves = list(AuditLeaf.objects.order_by("index").select_related("event"))
    assert [leaf.index for leaf in leaves] == list(range(13))
    assert [leaf.event.object_id for leaf in leaves] == [str(n) for n in range(13)]
    assert audit_seal() is None  # idempotent: nothing new, no new checkpoint
    assert AuditCheckpoint.objects.count() == 4


def test_the_checkpoint_is_signed_with_the_published_key(api, grown_log):
    checkpoint = api.get("/api/v1/audit/checkpoint").json()
    pem = api.get("/api/v1/audit/public-key")
    assert pem.status_code == 200
    assert pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    key = load_pem_public_key(pem.content)
    body = {k: v for k, v in checkpoint.items() if k != "signature"}
    assert set(body) == {"log_id", "tree_size", "root_hash", "timestamp", "key_id"}
    key.verify(base64.b64decode(checkpoint["signature"]), rfc8785.dumps(body))
    # The key the checkpoint names, in the published key list, is the one that verified it.
    listed = {entry["key_id"]: entry for entry in api.get("/api/v1/audit/keys").json()}
    assert listed[checkpoint["key_id"]]["job"] == "checkpoint"
    assert listed[checkpoint["key_id"]]["public_key"].encode() == pem.content
    assert checkpoint["tree_size"] == 13
    assert checkpoint["log_id"] == "faceledger-test"
    assert checkpoint["timestamp"].endswith("Z")


def test_every_inclusion_proof_verifies_against_every_checkpoint(api, grown_log):
    for checkpoint in grown_log[1:]:
        root = bytes.fromhex(checkpoint.root_hash)
        for index in range(checkpoint.tree_size):
            response = api.get(
                "/api/v1/audit/proof/inclusion", {"index": index, "tree_size": checkpoint.tree_size}
            )
            assert response.status_code == 200
            proof = response.json()
            assert proof["leaf_index"] == index and proof["tree_size"] == checkpoint.tree_size
            leaf = bytes(AuditLeaf.objects.get(index=index).leaf_hash)
            assert proof["leaf_hash"] == leaf.hex()
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert verify_inclusion(leaf, index, checkpoint.tree_size, path, root)
            assert not verify_inclusion(leaf, index, checkpoint.tree_size, path, b"\0" * 32)


def test_every_consistency_proof_verifies_between_checkpoints(api, grown_log):
    for older in grown_log:
        for newer in grown_log:
            if older.tree_size > newer.tree_size:
                continue
            response = api.get(
                "/api/v1/audit/proof/consistency",
                {"first": older.tree_size, "second": newer.tree_size},
            )
            assert response.status_code == 200
            body = response.json()
            assert (body["first"], body["second"]) == (older.tree_size, newer.tree_size)
            proof = [bytes.fromhex(h) for h in body["proof"]]
            assert verify_consistency(
                older.tree_size,
                newer.tree_size,
                bytes.fromhex(older.root_hash),
                bytes.fromhex(newer.root_hash),
                proof,
            )


def test_consistency_proofs_hold_for_every_pair_of_sizes(api):
    record_events(21)
    audit_seal()
    from audit.merkle import CompactRange

    leaves = [
        bytes(h) for h in AuditLeaf.objects.order_by("index").values_list("leaf_hash", flat=True)
    ]
    roots = []
    tree = CompactRange()
    roots.append(tree.root())
    for leaf in leaves:
        tree.append(leaf)
        roots.append(tree.root())
    for first in range(1, 22):
        for second in range(first, 22):
            proof = api.get(
                "/api/v1/audit/proof/consistency", {"first": first, "second": second}
            ).json()["proof"]
            assert verify_consistency(
                first, second, roots[first], roots[second], [bytes.fromhex(h) for h in proof]
            ), (first, second)


@pytest.mark.parametrize(
    "url, params",
    [
        ("/api/v1/audit/proof/inclusion", {"index": "abc", "tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"index": -1, "tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"index": 5, "tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"index": 0, "tree_size": 0}),
        ("/api/v1/audit/proof/inclusion", {"index": 0, "tree_size": 14}),
        ("/api/v1/audit/proof/inclusion", {"index": 0, "tree_size": 10**30}),
        ("/api/v1/audit/proof/inclusion", {"index": "9" * 5000, "tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"index": "1.0", "tree_size": 5}),
        ("/api/v1/audit/proof/inclusion", {"index": " 1", "tree_size": 5}),
        ("/api/v1/audit/proof/consistency", {"first": 3}),
        ("/api/v1/audit/proof/consistency", {"first": 6, "second": 5}),
        ("/api/v1/audit/proof/consistency", {"first": -1, "second": 5}),
        ("/api/v1/audit/proof/consistency", {"first": 1, "second": 14}),
        ("/api/v1/audit/proof/consistency", {"first": "x", "second": "y"}),
        ("/api/v1/audit/proof/consistency", {"first": 1, "second": 2**63}),
    ],
)
def test_bad_proof_parameters_are_a_400_with_a_code(api, grown_log, url, params):
    response = api.get(url, params)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter"
    assert response.json()["detail"]


def test_no_checkpoint_yet_is_a_404(api):
    response = api.get("/api/v1/audit/checkpoint")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_seal_command_and_the_verify_command_agree(grown_log, capsys):
    record_events(3, start=100)
    call_command("audit_seal")
    assert "tree size 16" in capsys.readouterr().out
    call_command("audit_verify")
    assert "Audit log OK: 16 events, 5 checkpoints, 0 pending" in capsys.readouterr().out


def test_the_admin_shows_audit_tables_read_only(rf, staff):
    from django.contrib import admin

    from audit.models import AuditCheckpoint, AuditEvent, AuditLeaf, SubjectPseudonym

    staff.is_superuser = True
    request = rf.get("/")
    request.user = staff
    # The pseudonym mapping is in no admin page at all (not even read-only).
    assert SubjectPseudonym not in admin.site._registry
    for model in (AuditEvent, AuditLeaf, AuditCheckpoint):
        model_admin = admin.site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request)
        assert not model_admin.has_delete_permission(request)
        assert model_admin.get_actions(request) == {}


def test_the_beat_task_seals_and_is_idempotent():
    from audit.tasks import audit_seal as audit_seal_task

    record_events(3)
    assert audit_seal_task.delay().get() == 3
    assert audit_seal_task.delay().get() is None
    assert AuditCheckpoint.objects.count() == 1
