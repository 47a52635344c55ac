"""Attack on key-per-job signing offline: the bundle's keys.json names each key's job, and the
auditor pins the keys the service publishes. A forger holding one job's key (here the
checkpoint key) relabels it in the bundle as another job's key: a pin must bind the key to
its published job, or one stolen key signs every kind of document."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from audit import signing
from audit.leaves import jcs
from tests.audit.helpers import bundle_entries
from tests.audit.test_export import run_verifier
from tests.audit.test_verifier_tricks import published_keys, write_zip

pytestmark = pytest.mark.django_db


def test_a_checkpoint_key_relabelled_as_a_manifest_key_in_the_bundle_is_refused_when_pinned(
    genuine, tmp_path
):
    files = dict(bundle_entries(genuine))
    checkpoint_key = signing._private_key("checkpoint")
    public = checkpoint_key.public_key()
    relabelled = signing.key_id("manifest", public)
    listed = json.loads(files["keys.json"])
    listed.append(
        {
            "job": "manifest",
            "key_id": relabelled,
            "algorithm": "Ed25519",
            "public_key": signing.pem(public),
            "fingerprint": signing.fingerprint(public),
            "valid_from": None,
            "valid_until": None,
        }
    )
    files["keys.json"] = json.dumps(listed).encode()
    manifest = json.loads(files["manifest.json"])
    manifest.pop("signature")
    manifest["key_id"] = relabelled
    manifest["files"] = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in files.items()
        if name != "manifest.json"
    }
    manifest["signature"] = base64.b64encode(checkpoint_key.sign(jcs(manifest))).decode()
    files["manifest.json"] = json.dumps(manifest).encode()
    bundle = tmp_path / "relabelled.zip"
    write_zip(bundle, list(files.items()))
    _, keys_file = published_keys(tmp_path)

    result = run_verifier(bundle, "--keys", keys_file)

    assert result.returncode == 1, result.stdout
    assert "manifest" in result.stderr
