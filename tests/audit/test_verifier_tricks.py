"""The offline verifier against a forger who can write the bundle: duplicate or unlisted
entries, and a key swapped for the forger's own. Each bundle is built here as a forger would,
and checked by the bundle's verifier in a fresh interpreter, as an auditor runs it."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from audit import signing
from audit.leaves import jcs
from tests.audit.helpers import bundle_entries, record_events
from tests.audit.test_export import run_verifier

pytestmark = pytest.mark.django_db

NOT_PINNED = "key not pinned: anyone who can write this bundle could have signed it"


def write_zip(path, items: list[tuple[str, bytes]]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in items:
            archive.writestr(name, data)


def fingerprint(pem: bytes) -> str:
    key = serialization.load_pem_public_key(pem)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


@pytest.mark.filterwarnings("ignore:Duplicate name")
def test_a_second_events_jsonl_before_the_genuine_one_is_rejected(genuine, tmp_path):
    items = bundle_entries(genuine)
    events = dict(items)["events.jsonl"]
    forged = events.replace(b'"object_id":"2"', b'"object_id":"9"')
    assert forged != events
    bundle = tmp_path / "duplicate.zip"
    write_zip(bundle, [("events.jsonl", forged), *items])
    result = run_verifier(bundle)
    assert result.returncode == 1
    assert "FAILED: events.jsonl: more than one entry with this name" in result.stderr


@pytest.mark.parametrize(
    "name", ["notes.txt", "docs/readme.txt", "Events.jsonl", "./events.jsonl", "docs/"]
)
def test_an_entry_the_signed_manifest_does_not_list_is_rejected(genuine, tmp_path, name):
    bundle = tmp_path / "extra.zip"
    write_zip(
        bundle, [*bundle_entries(genuine), (name, b"" if name.endswith("/") else b"trust me")]
    )
    result = run_verifier(bundle)
    assert result.returncode == 1
    assert f"FAILED: {name}: not listed in the signed manifest" in result.stderr


def test_an_unlisted_file_in_an_unpacked_folder_is_rejected(genuine, tmp_path):
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(genuine) as archive:
        archive.extractall(folder)
    assert run_verifier(folder).returncode == 0
    (folder / "summary-fixed.pdf").write_bytes(b"%PDF-1.4 forged")
    result = run_verifier(folder)
    assert result.returncode == 1
    assert "summary-fixed.pdf: not listed in the signed manifest" in result.stderr


def root_hash(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH, as any forger can compute it."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(b"\x01" + root_hash(leaves[:split]) + root_hash(leaves[split:])).digest()


def forged_with_own_key(genuine, tmp_path):
    """A forger rewrites an event and re-signs everything with keys of their own (one per job:
    one key listed for two jobs is refused), listed in the bundle's key list under the right
    jobs and ids. Returns the bundle and the forged manifest key (PEM: checked first)."""
    keys = {job: Ed25519PrivateKey.generate() for job in ("checkpoint", "manifest")}
    pems = {
        job: key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        for job, key in keys.items()
    }
    key, pem = keys["checkpoint"], pems["manifest"]
    files = dict(bundle_entries(genuine))
    listed = [
        {
            "job": job,
            "key_id": signing.key_id(job, keys[job].public_key()),
            "public_key": pems[job].decode(),
        }
        for job in ("checkpoint", "manifest")
    ]
    files["keys.json"] = json.dumps(listed).encode()
    events = files["events.jsonl"].replace(b'"object_id":"2"', b'"object_id":"9"')
    files["events.jsonl"] = events
    leaves = [hashlib.sha256(b"\x00" + line).digest() for line in events.splitlines()]
    files["leaf_hashes.bin"] = b"".join(leaves)
    checkpoints = json.loads(files["checkpoints.json"])
    for checkpoint in checkpoints:
        body = {k: checkpoint[k] for k in ("log_id", "tree_size", "root_hash", "timestamp")}
        body["root_hash"] = root_hash(leaves[: body["tree_size"]]).hex()
        body["key_id"] = listed[0]["key_id"]
        checkpoint.update(body, signature=base64.b64encode(key.sign(jcs(body))).decode())
    files["checkpoints.json"] = json.dumps(checkpoints).encode()
    manifest = json.loads(files["manifest.json"])
    manifest.pop("signature")
    manifest["key_id"] = listed[1]["key_id"]
    manifest["events_sha256"] = hashlib.sha256(events).hexdigest()
    manifest["files"] = {
        name: hashlib.sha256(data).hexdigest()
        for name, data in files.items()
        if name != "manifest.json"
    }
    manifest["signature"] = base64.b64encode(keys["manifest"].sign(jcs(manifest))).decode()
    files["manifest.json"] = json.dumps(manifest).encode()
    bundle = tmp_path / "forged.zip"
    write_zip(bundle, list(files.items()))
    return bundle, pem


def published_keys(tmp_path) -> tuple[list[bytes], str]:
    """The current checkpoint and manifest keys (PEM), and the key list as the API serves it,
    saved to a file."""
    (tmp_path / "keys.json").write_bytes(json.dumps(signing.key_history_json()).encode())
    pems = [signing.public_key_pem(job).encode() for job in ("checkpoint", "manifest")]
    return pems, str(tmp_path / "keys.json")


def test_a_bundle_re_signed_with_another_key_verifies_only_when_the_key_is_not_pinned(
    genuine, tmp_path
):
    bundle, forged_pem = forged_with_own_key(genuine, tmp_path)
    unpinned = run_verifier(bundle)
    assert unpinned.returncode == 0, unpinned.stderr
    assert NOT_PINNED in unpinned.stdout
    assert f"sha256:{fingerprint(forged_pem)}" in unpinned.stdout

    ours, keys_file = published_keys(tmp_path)
    (tmp_path / "ours.pem").write_bytes(ours[0])
    for option in (
        ["--keys", keys_file],
        ["--public-key", str(tmp_path / "ours.pem")],
        ["--fingerprint", fingerprint(ours[0]), "--fingerprint", fingerprint(ours[1])],
    ):
        pinned = run_verifier(bundle, *option)
        assert pinned.returncode == 1
        assert "is not one of the pinned keys" in pinned.stderr
        assert fingerprint(forged_pem) in pinned.stderr


@pytest.mark.parametrize("pin", ["keys", "public-key", "fingerprint", "fingerprint-upper-colons"])
def test_a_genuine_bundle_verifies_with_the_published_key_pinned(genuine, tmp_path, pin):
    ours, keys_file = published_keys(tmp_path)
    for job, pem in zip(("checkpoint", "manifest"), ours, strict=True):
        (tmp_path / f"{job}.pem").write_bytes(pem)
    digests = [fingerprint(pem) for pem in ours]
    option = {
        "keys": ["--keys", keys_file],
        "public-key": [
            *("--public-key", str(tmp_path / "checkpoint.pem")),
            *("--public-key", str(tmp_path / "manifest.pem")),
        ],
        "fingerprint": [*("--fingerprint", digests[0]), *("--fingerprint", digests[1])],
        "fingerprint-upper-colons": [
            part
            for digest in digests
            for part in (
                "--fingerprint",
                ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper(),
            )
        ],
    }[pin]
    result = run_verifier(genuine, *option)
    assert result.returncode == 0, result.stderr
    assert "keys pinned: every signature is by a key you gave" in result.stdout
    for digest in digests:
        assert f"sha256:{digest}" in result.stdout
    assert NOT_PINNED not in result.stdout


def test_a_bundle_whose_manifest_is_signed_with_the_checkpoint_key_is_refused(genuine, tmp_path):
    """Job separation offline: a signature by the (genuine, pinned) checkpoint key does not
    make a manifest."""
    files = dict(bundle_entries(genuine))
    manifest = json.loads(files["manifest.json"])
    manifest.pop("signature")
    manifest.pop("key_id")
    files["manifest.json"] = json.dumps(signing.sign("checkpoint", manifest)).encode()
    bundle = tmp_path / "wrong-job.zip"
    write_zip(bundle, list(files.items()))
    _, keys_file = published_keys(tmp_path)
    result = run_verifier(bundle, "--keys", keys_file)
    assert result.returncode == 1
    assert "manifest.json: signed with a checkpoint key" in result.stderr


@pytest.mark.parametrize("value", ["abc", "zz" * 32, ""])
def test_a_malformed_fingerprint_is_a_usage_error(genuine, value):
    result = run_verifier(genuine, "--fingerprint", value)
    assert result.returncode == 2
    assert "fingerprint" in result.stderr


def test_the_transparency_page_publishes_the_key_fingerprint(client):
    page = client.get("/transparency/").content.decode()
    for job in signing.jobs():
        assert fingerprint(signing.public_key_pem(job).encode()) in page
        assert signing.current_key_id(job) in page


def test_audit_verify_prints_the_fingerprint_auditors_pin(genuine, capsys):
    call_command("audit_verify")
    out = capsys.readouterr().out
    for job in signing.jobs():
        assert f"sha256:{fingerprint(signing.public_key_pem(job).encode())}" in out


def genuine_verifier_sha256(client) -> str:
    """The SHA-256 of the verifier the service serves on /transparency/verify_audit.py."""
    response = client.get("/transparency/verify_audit.py")
    return hashlib.sha256(b"".join(response.streaming_content)).hexdigest()


def test_the_transparency_page_publishes_the_genuine_verifiers_sha256(client):
    digest = genuine_verifier_sha256(client)
    assert f"sha256:{digest}" in client.get("/transparency/").content.decode()


def test_audit_verify_and_audit_export_print_the_genuine_verifiers_sha256(
    client, alice, tmp_path, capsys
):
    """A re-signed bundle can ship a doctored verify_audit.py: the auditor compares its SHA-256
    with the published one (or downloads the verifier from /transparency/)."""
    digest = genuine_verifier_sha256(client)
    record_events(2, subject=alice)
    call_command("audit_verify")
    assert f"verify_audit.py sha256:{digest}" in capsys.readouterr().out
    path = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(path))
    assert f"verify_audit.py sha256:{digest}" in capsys.readouterr().out
    bundled = dict(bundle_entries(path))["verify_audit.py"]
    assert hashlib.sha256(bundled).hexdigest() == digest


def test_the_offline_verifiers_roots_match_rfc_9162_at_every_size():
    """Its roots come a level at a time from perfect subtrees; an independent recursive MTH
    (RFC 9162 §2.1.1) is the reference, at every size up to 70 and a few around powers of 2."""
    from audit import verify_audit

    leaves = [hashlib.sha256(b"\x00" + str(n).encode()).digest() for n in range(300)]
    sizes = set(range(71)) | {127, 128, 129, 255, 256, 257, 300}
    roots = verify_audit.merkle_roots(leaves, sizes | {301})
    assert roots == {size: root_hash(leaves[:size]) for size in sizes}  # 301: beyond, absent
