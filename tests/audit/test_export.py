from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from audit import signing
from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import audit_export_bundle, audit_seal
from tests.audit.helpers import record_events

pytestmark = pytest.mark.django_db


def run_verifier(bundle, *options: str) -> subprocess.CompletedProcess:
    """The bundle's own verifier, in a fresh interpreter (taken out of the zip if need be)."""
    script = bundle / "verify_audit.py"
    if not bundle.is_dir():
        script = bundle.with_suffix(".verify_audit.py")
        with zipfile.ZipFile(bundle) as archive:
            script.write_bytes(archive.read("verify_audit.py"))
    return subprocess.run(
        [sys.executable, "-I", str(script), *options, str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def exported(tmp_path, alice):
    record_events(9, subject=alice)
    audit_seal()
    record_events(3, subject=alice, start=9)
    zip_path = tmp_path / "audit.zip"
    call_command("audit_export", "--output", str(zip_path))
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(folder)
    return zip_path, folder


def test_an_export_verifies_with_its_own_verifier_as_zip_and_as_folder(exported):
    zip_path, folder = exported
    for bundle in (zip_path, folder):
        result = run_verifier(bundle)
        assert result.returncode == 0, result.stderr
        assert "OK: log faceledger-test, 12 events" in result.stdout


def test_events_jsonl_holds_the_exact_leaf_bytes_in_tree_order(exported):
    _, folder = exported
    lines = (folder / "events.jsonl").read_bytes().splitlines()
    objects = [json.loads(line) for line in lines]
    assert [o["index"] for o in objects] == list(range(12))
    assert sorted(objects[0]) == [
        "action",
        "actor",
        "data",
        "index",
        "object_id",
        "object_type",
        "purpose",
        "request_id",
        "subject",
        "time",
    ]
    listed = json.loads((folder / "keys.json").read_text())
    assert {entry["job"] for entry in listed} == set(signing.jobs())


@pytest.mark.parametrize("tamper", ["edit", "drop", "swap", "forge_hash"])
def test_a_tampered_export_is_rejected(exported, tamper):
    _, folder = exported
    events = folder / "events.jsonl"
    lines = events.read_bytes().splitlines(keepends=True)
    if tamper == "edit":
        lines[4] = lines[4].replace(b'"object_id":"4"', b'"object_id":"5"')
    elif tamper == "drop":
        del lines[4]
    elif tamper == "swap":
        lines[3], lines[4] = lines[4], lines[3]
    events.write_bytes(b"".join(lines))
    if tamper == "forge_hash":
        hashes = folder / "leaf_hashes.bin"
        raw = bytearray(hashes.read_bytes())
        raw[32 * 4] ^= 1
        hashes.write_bytes(bytes(raw))
    result = run_verifier(folder)
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_a_partial_export_still_verifies_and_fixing_the_manifest_is_caught(tmp_path):
    record_events(6)
    audit_seal()
    cut = timezone.now()
    record_events(4, start=6)
    zip_path = tmp_path / "since.zip"
    call_command("audit_export", "--output", str(zip_path), "--since", cut.isoformat())
    result = run_verifier(zip_path)
    assert result.returncode == 0, result.stderr
    assert "4 events" in result.stdout
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(tmp_path / "b")
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    manifest["events"] = 3
    (tmp_path / "b" / "manifest.json").write_text(json.dumps(manifest))
    assert run_verifier(tmp_path / "b").returncode == 1


def test_every_export_writes_an_audit_event(staff):
    record_events(2)
    audit_seal()
    until = timezone.now()
    bundle = audit_export_bundle(actor=staff, since=until - timedelta(days=1), until=until)
    assert bundle[:2] == b"PK"
    event = AuditEvent.objects.get(action=AuditAction.AUDIT_EXPORTED)
    assert event.actor == f"staff:{staff.pk}"
    assert event.data["events"] == 2 and event.data["tree_size"] == 2


def test_an_export_window_that_ends_before_it_starts_is_refused(tmp_path):
    with pytest.raises(CommandError, match="since must not be after until"):
        call_command(
            "audit_export",
            "--output",
            str(tmp_path / "x.zip"),
            "--since",
            "2026-02-01",
            "--until",
            "2026-01-01",
        )
    assert not AuditEvent.objects.filter(action=AuditAction.AUDIT_EXPORTED).exists()
