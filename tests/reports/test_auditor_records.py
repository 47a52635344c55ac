"""The auditor bundle carries the complete record of processing (GDPR Art. 30: JSON, CSV and the
summary PDF) and every impact assessment, current and superseded (PIPL Art. 56: JSON and PDF),
each bound by the signed manifest so the bundle still verifies offline."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from audit.services import audit_seal
from compliance_site import inventory
from consent.ledger.services import AssessmentFacts, assessment_publish
from tests.factories import StaffFactory
from tests.reports.conftest import AUDIT_EXPORT_URL, pdf_text
from tests.reports.test_auditor import run_verifier, signed_in, unpack

pytestmark = pytest.mark.django_db


@pytest.fixture
def bundle(policies, auditor, tmp_path, settings):
    settings.DPO_NAME = "Jane Doe"
    settings.DPO_EMAIL = "dpo@faceledger.example"
    settings.RECIPIENT_SMS_GATEWAY = "Example SMS Ltd"
    dpo = StaffFactory(phone_number="+447911000401")
    dpo.groups.add(Group.objects.get_or_create(name="dpo")[0])
    facts = AssessmentFacts(
        scope="Face photos and embeddings of consenting users.",
        necessity="A swap needs the face.",
        risks="Misuse of a face.",
        measures="Per-person encryption; erasure on withdrawal.",
        residual_risk="low",
        decision="proceed",
        review_on=timezone.localdate() + timedelta(days=365),
        signer="Jane Doe, DPO",
    )
    assessment_publish(purpose="face_swap", facts=facts, actor=dpo)
    audit_seal()
    files = unpack(signed_in(auditor).get(AUDIT_EXPORT_URL).content, tmp_path / "b")
    return files, tmp_path / "b"


def test_the_bundle_holds_the_complete_record_of_processing_and_still_verifies(bundle, tmp_path):
    files, folder = bundle
    script = tmp_path / "verify_audit.py"
    script.write_bytes(files["verify_audit.py"])

    assert run_verifier(script, folder).returncode == 0
    record = json.loads(files["record_of_processing.json"])
    assert record["controller"]["dpo"] == "Jane Doe"
    assert {"controller", "address", "representative", "dpo_email"} <= set(record["controller"])
    assert record["processing"] == inventory.record_of_processing()
    assert {r["recipient"]: r["provider"] for r in record["recipients"]}["sms_gateway"] == (
        "Example SMS Ltd"
    )
    rows = list(csv.DictReader(io.StringIO(files["record_of_processing.csv"].decode())))
    assert [r["store"] for r in rows] == [
        s.name for s in [*inventory.stores(), *inventory.service_stores()]
    ]
    assert all(r["subjects"] and r["recipients"] and r["security"] for r in rows)
    summary = " ".join(pdf_text(files["summary.pdf"]).split())
    assert "Data protection officer Jane Doe" in summary
    assert "SMS gateway (processor)" in summary and "Example SMS Ltd" in summary
    assert "No store discloses" not in summary


def test_the_bundle_holds_every_assessment_current_and_superseded(bundle):
    files, _folder = bundle

    rows = json.loads(files["impact_assessments.json"])
    face_swap = [
        (r["version"], r["current"], bool(r["superseded_at"]))
        for r in rows
        if r["purpose"] == "face_swap"
    ]
    assert face_swap == [(1, False, True), (2, True, False)]
    assert {r["purpose"] for r in rows} == {
        "biometric_enrolment",
        "face_swap",
        "output_storage",
        "ephemeral_swap",
    }
    summary = " ".join(pdf_text(files["summary.pdf"]).split())
    assert "Impact assessments" in summary and "face_swap, version 2" in summary
    assert "Misuse of a face" in summary and "superseded on" in summary


def test_a_seed_demo_bundle_holds_the_record_and_the_assessments_and_verifies_offline(
    settings, auditor, tmp_path
):
    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    audit_seal()
    zip_path = tmp_path / "bundle.zip"
    zip_path.write_bytes(signed_in(auditor).get(AUDIT_EXPORT_URL).content)
    files = unpack(zip_path.read_bytes(), tmp_path / "b")
    script = tmp_path / "verify_audit.py"
    script.write_bytes(files["verify_audit.py"])

    result = run_verifier(script, zip_path)

    assert result.returncode == 0, result.stderr
    manifest = json.loads(files["manifest.json"])
    assert {"record_of_processing.json", "impact_assessments.json"} <= set(manifest["files"])
    assessments = json.loads(files["impact_assessments.json"])
    assert {r["purpose"] for r in assessments if r["current"]} == {
        "biometric_enrolment",
        "face_swap",
        "output_storage",
        "ephemeral_swap",
    }
    assert len(json.loads(files["record_of_processing.json"])["processing"]) == len(
        inventory.stores()
    ) + len(inventory.service_stores())
