"""A key per job, and rotation that keeps old documents verifiable.

Checkpoints, consent receipts, erasure certificates and export manifests are each signed by
their own key and name it by id; the published key history (``/api/v1/audit/keys``, and
``keys.json`` in every export) lets a verifier pick the key by id, after a rotation too. A
signature by one job's key never passes for another job's document."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from rest_framework.test import APIClient

from audit import signing
from audit.leaves import jcs
from audit.models import AuditCheckpoint
from audit.services import audit_seal
from audit.verification import audit_log_verify
from consent.ledger.receipts import receipt_verify
from tests.audit.helpers import record_events
from tests.audit.test_export import run_verifier
from tests.consent.conftest import quote, token_client
from tests.erasure.kit import ERASURE_URL

pytestmark = pytest.mark.django_db


def _grant(api) -> dict:
    response = api.post("/api/v1/consents", quote("biometric_enrolment"), format="json")
    assert response.status_code == 201, response.content
    return response.json()["receipt"]


def _erasure_certificate(api, run_on_commit) -> dict:
    with run_on_commit(execute=True):  # the erasure is queued on commit, as in production
        started = api.post(ERASURE_URL)
    assert started.status_code == 202, started.content
    answer = APIClient().get(f"{ERASURE_URL}/{started.json()['id']}")
    assert answer.status_code == 200, answer.content
    return answer.json()["certificate"]


def _rotate(settings, tmp_path, job: str) -> str:
    """The documented rotation: ``audit_keys --rotate JOB`` writes a new key and the history
    to publish; the operator points the settings at both. Returns the new key's id."""
    key_file, history_file = tmp_path / f"{job}-new.pem", tmp_path / f"{job}-history.json"
    call_command("audit_keys", rotate=job, key_out=key_file, history_out=history_file)
    settings.AUDIT_SIGNING_KEYS = {**settings.AUDIT_SIGNING_KEYS, job: key_file.read_text()}
    settings.AUDIT_KEY_HISTORY = json.loads(history_file.read_text())
    return signing.current_key_id(job)


def _export(tmp_path, name: str):
    path = tmp_path / name
    call_command("audit_export", "--output", str(path), verbosity=0)
    return path


def _published_keys(tmp_path, name: str):
    path = tmp_path / name
    path.write_bytes(APIClient().get("/api/v1/audit/keys").content)
    return str(path)


def test_documents_signed_before_a_rotation_still_verify_after_it(
    alice, bob, policies, tmp_path, settings, django_capture_on_commit_callbacks
):
    alice_api, bob_api = token_client(alice), token_client(bob)
    receipt = _grant(alice_api)
    certificate = _erasure_certificate(bob_api, django_capture_on_commit_callbacks)
    record_events(3)
    old_bundle = _export(tmp_path, "before.zip")
    note_before = APIClient().get("/api/v1/audit/log/checkpoint").content
    (tmp_path / "kept.txt").write_bytes(note_before)
    old_ids = {job: signing.current_key_id(job) for job in signing.jobs()}
    assert receipt["key_id"] == old_ids["receipt"]
    assert certificate["key_id"] == old_ids["erasure"]
    assert certificate["checkpoint"]["key_id"] == old_ids["checkpoint"]

    new_ids = {job: _rotate(settings, tmp_path, job) for job in signing.jobs()}

    assert all(new_ids[job] != old_ids[job] for job in signing.jobs())
    listed = {entry["key_id"]: entry for entry in APIClient().get("/api/v1/audit/keys").json()}
    for job in signing.jobs():
        assert listed[old_ids[job]]["job"] == job and listed[old_ids[job]]["valid_until"]
        assert listed[new_ids[job]]["valid_until"] is None
        assert listed[new_ids[job]]["valid_from"] == listed[old_ids[job]]["valid_until"]
    # Old documents, verified by the key their id names:
    assert receipt_verify(receipt)
    assert signing.verify("erasure", certificate)
    assert signing.verify("checkpoint", certificate["checkpoint"])
    # New documents name the new keys; the log holds checkpoints by both.
    withdrawn = alice_api.delete("/api/v1/consents/biometric_enrolment").json()["receipt"]
    assert withdrawn["key_id"] == new_ids["receipt"] and receipt_verify(withdrawn)
    record_events(2, start=3)
    assert audit_seal().key_id == new_ids["checkpoint"]
    call_command("audit_verify", "--trusted-checkpoint", str(tmp_path / "kept.txt"))
    keys_now = _published_keys(tmp_path, "keys-now.json")
    for bundle in (old_bundle, _export(tmp_path, "after.zip")):
        kept = str(tmp_path / "kept.txt")
        result = run_verifier(bundle, "--keys", keys_now, "--trusted-checkpoint", kept)
        assert result.returncode == 0, result.stderr
        assert "keys pinned: every signature is by a key you gave" in result.stdout
    after = run_verifier(tmp_path / "after.zip", "--keys", keys_now)
    assert old_ids["checkpoint"] in after.stdout and new_ids["checkpoint"] in after.stdout
    assert new_ids["manifest"] in after.stdout


def test_without_the_key_history_old_documents_no_longer_verify(alice, policies, settings):
    """What the history is for: a rotation that forgets the old public key strands what it
    signed (so ``audit_keys --rotate`` always writes the history)."""
    receipt = _grant(token_client(alice))
    new_key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings.AUDIT_SIGNING_KEYS = {**settings.AUDIT_SIGNING_KEYS, "receipt": new_key.decode()}
    assert not receipt_verify(receipt)


def test_a_checkpoint_signature_presented_as_a_receipt_is_refused(alice, policies):
    receipt = _grant(token_client(alice))
    record_events(1)
    audit_seal()
    checkpoint = APIClient().get("/api/v1/audit/checkpoint").json()
    assert signing.verify("checkpoint", checkpoint)
    assert not signing.verify("receipt", checkpoint)
    assert not receipt_verify(checkpoint)
    # A receipt body signed with the checkpoint key: a valid Ed25519 signature by a published
    # key, but not a receipt key.
    body = {k: v for k, v in receipt.items() if k not in ("key_id", "signature")}
    forged = signing.sign("checkpoint", body)
    assert not receipt_verify(forged)
    assert not signing.verify("erasure", forged)
    # Claiming the receipt key's id does not help: the signature is not by that key.
    assert not receipt_verify({**forged, "key_id": receipt["key_id"]})
    assert receipt_verify(receipt)


def test_a_document_naming_an_unknown_key_is_refused(alice, policies):
    receipt = _grant(token_client(alice))
    assert not receipt_verify({**receipt, "key_id": "receipt-0000000000000000"})
    assert not receipt_verify({k: v for k, v in receipt.items() if k != "key_id"})
    missing = APIClient().get("/api/v1/audit/public-key", {"key_id": "receipt-00"})
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


@pytest.mark.parametrize("signer", ["checkpoint", "receipt"])
def test_a_checkpoint_from_before_key_ids_verifies_by_a_checkpoint_key_only(tmp_path, signer):
    """Checkpoints signed before keys had ids name none (the column is empty): any published
    checkpoint key may have signed one, never a key of another job; online and offline."""
    record_events(3)
    sealed = audit_seal()
    body = {k: v for k, v in sealed.body().items() if k != "key_id"}
    signature = signing._private_key(signer).sign(jcs(body))
    AuditCheckpoint.objects.create(
        **body, signature=base64.b64encode(signature).decode(), seal_horizon=0
    )
    result = audit_log_verify()
    bundle = _export(tmp_path, "legacy.zip")
    offline = run_verifier(bundle)
    if signer == "checkpoint":
        assert result.ok, result.problems
        assert offline.returncode == 0, offline.stderr
    else:
        assert [p.reason for p in result.problems] == [
            f"checkpoint {sealed.pk + 1} (tree size 3) has an invalid signature"
        ]
        assert offline.returncode == 1
        assert "checkpoint of tree size 3: bad signature" in offline.stderr
