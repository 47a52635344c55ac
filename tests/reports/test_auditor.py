"""The auditor's export: a bundle that verifies with its own verifier, whose signed manifest
binds a summary PDF and CSVs computed from the exported events; auditors only, with a second
factor; every export audited. And the public transparency page."""

from __future__ import annotations

import base64
import csv
import io
import json
import subprocess
import sys
import zipfile

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.test import Client
from django.utils import timezone
from django_otp.oath import totp

from audit.leaves import jcs
from audit.models import AuditCheckpoint
from audit.services import VERIFIER_PATH, audit_seal
from compliance_site import inventory
from tests.consent.identity.test_admin import admin_login
from tests.reports.conftest import (
    AUDIT_EXPORT_URL,
    EXPORT_JSON_URL,
    pdf_text,
    staff_with_role,
)

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    """A session verified by the admin's password + TOTP sign-in."""
    client = Client()
    assert admin_login(client, user, device=user.totp_device).status_code == 302
    return client


def unpack(content: bytes, folder) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        archive.extractall(folder)
        return {name: archive.read(name) for name in archive.namelist()}


def run_verifier(script, bundle) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-I", str(script), str(bundle)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def rows(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode())))


@pytest.fixture
def history(lived_in, alice, api_for):
    api_for(alice).get(EXPORT_JSON_URL)  # a portability request, in the log
    audit_seal()
    return alice


def test_the_bundle_verifies_with_its_own_verifier_and_its_signed_manifest(
    history, auditor, tmp_path
):
    response = signed_in(auditor).get(AUDIT_EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    zip_path = tmp_path / "bundle.zip"
    zip_path.write_bytes(response.content)
    files = unpack(response.content, tmp_path / "bundle")
    assert {
        "events.jsonl",
        "leaf_hashes.bin",
        "checkpoints.json",
        "keys.json",
        "verify_audit.py",
        "summary.pdf",
        "events.csv",
        "consents_by_purpose.csv",
        "requests.csv",
        "record_of_processing.json",
        "record_of_processing.csv",
        "impact_assessments.json",
        "manifest.json",
    } == set(files)
    script = tmp_path / "verify_audit.py"
    script.write_bytes(files["verify_audit.py"])
    for bundle in (zip_path, tmp_path / "bundle"):
        result = run_verifier(script, bundle)
        assert result.returncode == 0, result.stderr
        assert "OK: log faceledger-test" in result.stdout
        assert "12 files match the signed manifest" in result.stdout
    manifest = json.loads(files["manifest.json"])
    signature = base64.b64decode(manifest.pop("signature"))
    listed = {entry["key_id"]: entry for entry in json.loads(files["keys.json"])}
    signer = listed[manifest["key_id"]]
    assert signer["job"] == "manifest"
    load_pem_public_key(signer["public_key"].encode()).verify(signature, jcs(manifest))
    assert set(manifest["files"]) == set(files) - {"manifest.json"}


def test_a_changed_summary_or_csv_fails_verification(history, auditor, tmp_path):
    files = unpack(signed_in(auditor).get(AUDIT_EXPORT_URL).content, tmp_path / "b")
    script = tmp_path / "verify_audit.py"
    script.write_bytes(files["verify_audit.py"])
    (tmp_path / "b" / "requests.csv").write_bytes(files["requests.csv"] + b"forged,row\n")

    result = run_verifier(script, tmp_path / "b")

    assert result.returncode == 1
    assert "requests.csv: not the file the manifest signed" in result.stderr


def test_the_summary_and_csvs_are_computed_from_the_exported_events(
    history, alice, auditor, tmp_path
):
    files = unpack(signed_in(auditor).get(AUDIT_EXPORT_URL).content, tmp_path / "b")

    consents = {
        (r["purpose"], r["version"]): (r["granted"], r["withdrawn"])
        for r in rows(files["consents_by_purpose.csv"])
    }
    assert consents == {
        ("biometric_enrolment", "2"): ("2", "0"),
        ("face_swap", "2"): ("2", "0"),
        ("output_storage", "2"): ("1", "1"),
    }
    requests = rows(files["requests.csv"])
    assert [(r["kind"], r["status"]) for r in requests] == [
        ("portability (json)", "within deadline")
    ]
    events = rows(files["events.csv"])
    assert len(events) == len(files["events.jsonl"].splitlines())
    assert {e["action_name"] for e in events} >= {"CONSENT_GRANTED", "CAPTURE_CREATED"}
    summary = pdf_text(files["summary.pdf"])
    flat = "".join(summary.split())
    assert "Record of processing" in summary
    for store in inventory.stores():
        assert store.name in flat
    assert "verified: no problem found" in summary
    latest = AuditCheckpoint.objects.order_by("-id").first()
    assert latest.root_hash in flat
    assert "Data-subject requests" in summary and "one month from receipt" in summary
    assert "CONSENT_WITHDRAWN" in summary  # every kind of event is counted


def test_an_export_of_a_window_counts_only_that_window(history, alice, auditor, tmp_path, api_for):
    cut = timezone.now()
    api_for(alice).get(EXPORT_JSON_URL)
    audit_seal()

    response = signed_in(auditor).get(AUDIT_EXPORT_URL, {"since": cut.isoformat()})

    files = unpack(response.content, tmp_path / "b")
    names = [e["action_name"] for e in rows(files["events.csv"])]
    assert names == ["DATA_EXPORTED", "STAFF_LOGIN"]  # the second export, the auditor's sign-in
    assert rows(files["consents_by_purpose.csv"]) == []
    manifest = json.loads(files["manifest.json"])
    assert manifest["complete"] is False and manifest["since"] is not None
    script = tmp_path / "v.py"
    script.write_bytes(files["verify_audit.py"])
    assert run_verifier(script, tmp_path / "b").returncode == 0


def test_every_auditor_export_is_audited(history, auditor, audit_events):
    signed_in(auditor).get(AUDIT_EXPORT_URL, {"until": "2999-01-01T00:00:00Z"})

    exported = [(n, d) for n, d in audit_events() if n == "AUDITOR_EXPORTED"]
    size = AuditCheckpoint.objects.order_by("-id").first().tree_size
    assert len(exported) == 1
    data = exported[0][1]
    assert data["since"] is None and data["until"] == "2999-01-01T00:00:00.000000Z"
    assert data["tree_size"] == size and data["events"] == size


# --- who may export -----------------------------------------------------------------------------


def test_an_api_token_needs_the_current_totp_code(history, auditor, api_for):
    api = api_for(auditor)
    device = auditor.totp_device
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"

    without = api.get(AUDIT_EXPORT_URL)
    right = api.get(AUDIT_EXPORT_URL, HTTP_X_OTP_TOKEN=code)
    replayed = api.get(AUDIT_EXPORT_URL, HTTP_X_OTP_TOKEN=code)
    wrong = api.get(AUDIT_EXPORT_URL, HTTP_X_OTP_TOKEN=f"{(int(code) + 1) % 10**6:06d}")

    assert without.status_code == 403 and without.json()["code"] == "otp_required"
    assert wrong.status_code == 403 and wrong.json()["code"] == "otp_required"
    assert right.status_code == 200 and right.content.startswith(b"PK")
    assert replayed.status_code == 403  # a code works once


def test_everyone_but_auditors_is_refused(history, alice, api_for):
    support = staff_with_role("support", "+447911000201")
    dpo = staff_with_role("dpo", "+447911000202")
    callers = {
        "anonymous": Client(),
        "subject": api_for(alice),
        "support": signed_in(support),
        "dpo": signed_in(dpo),
    }
    for who, client in callers.items():
        response = client.get(AUDIT_EXPORT_URL)
        assert response.status_code == 403, who
        assert response.json()["code"] == "permission_denied", who


def test_an_auditor_signed_in_by_sms_code_alone_has_no_second_factor(history, auditor):
    portal = Client()
    portal.force_login(auditor)  # as after the SMS sign-in: one factor

    api = portal.get(AUDIT_EXPORT_URL)
    page = portal.get("/auditor/")

    assert api.status_code == 403 and api.json()["code"] == "otp_required"
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")


def test_the_auditor_page_is_for_verified_auditors_only(history, auditor):
    support = staff_with_role("support", "+447911000203")

    page = signed_in(auditor).get("/auditor/")
    refused = signed_in(support).get("/auditor/")
    anonymous = Client().get("/auditor/")

    assert page.status_code == 200
    assert f'action="{AUDIT_EXPORT_URL}"' in page.content.decode()
    assert refused.status_code == 403
    assert anonymous.status_code == 302


def test_bad_windows_are_refused_with_a_code(history, auditor):
    client = signed_in(auditor)

    for params in ({"since": "yesterday"}, {"since": "2026-02-01", "until": "2026-01-01"}):
        response = client.get(AUDIT_EXPORT_URL, params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "invalid_parameter"


# --- the public transparency page ---------------------------------------------------------------


def test_the_transparency_page_shows_the_checkpoint_key_and_verifier(history, client):
    checkpoint = AuditCheckpoint.objects.order_by("-id").first()

    page = client.get("/transparency/").content.decode()
    verifier = client.get("/transparency/verify_audit.py")

    assert checkpoint.root_hash in page and checkpoint.signature in page
    assert checkpoint.key_id in page  # the key that signed it, in the published list
    assert 'href="/api/v1/audit/keys"' in page
    assert 'href="/transparency/verify_audit.py"' in page
    assert verifier.status_code == 200
    assert b"".join(verifier.streaming_content) == VERIFIER_PATH.read_bytes()
