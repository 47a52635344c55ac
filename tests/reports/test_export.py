"""The portable export (GDPR Art. 20): the report's content as JSON that validates against the
published schema, and a ZIP that adds the subject's own photos, decrypted. Audited."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest

from audit.leaves import jcs, leaf_hash
from audit.models import SubjectPseudonym
from audit.selectors import inclusion_proof
from audit.services import audit_seal
from biometrics.models import Capture
from biometrics.services import capture_decrypt
from compliance_site import inventory
from consent.ledger.models import ConsentRecord
from consent.ledger.receipts import receipt_verify
from consent.reports.schema import export_schema
from tests.audit.helpers import verify_inclusion
from tests.reports import schema_check
from tests.reports.conftest import EXPORT_JSON_URL, EXPORT_ZIP_URL, SCHEMA_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema() -> dict:
    published = json.loads(export_schema())
    # The captures' schema is registered by biometrics (consent names no app above it).
    assert "biometrics.captures" in published["properties"]["stores"]["properties"]
    return published


def test_the_schema_checker_catches_what_the_schema_forbids(schema):
    broken = {"format": "something-else", "version": 1, "stores": {"Bad Name": {}}}

    found = schema_check.errors(broken, schema)

    assert any("format" in e for e in found)
    assert any("missing audit" in e for e in found)
    assert any("propertyNames" in e for e in found)


def test_the_export_validates_against_its_published_schema(
    lived_in, alice, api_for, schema, swap_of
):
    swap_of(alice)
    audit_seal()
    response = api_for(alice).get(EXPORT_JSON_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    export = json.loads(response.content)
    assert schema_check.errors(export, schema) == []
    assert list(export["stores"]) == [store.name for store in inventory.stores()]
    assert export["stores"]["swap.jobs"]["data"][0]["template"].startswith("Astronaut")


def test_the_schema_is_served_publicly(client, schema):
    response = client.get(SCHEMA_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    assert json.loads(response.content) == schema


def test_the_export_holds_the_subjects_data_and_none_of_bobs(lived_in, alice, bob, api_for):
    export = api_for(alice).get(EXPORT_JSON_URL).json()

    stores = export["stores"]
    assert stores["consent.subject"]["data"]["phone_number"] == "+447400100001"
    receipts = {r["receipt_id"] for r in stores["consent.ledger"]["data"]["consent_records"]}
    assert receipts == {str(r.receipt_id) for r in ConsentRecord.objects.filter(subject=alice)}
    captures = {c["id"] for c in stores["biometrics.captures"]["data"]}
    assert captures == {str(c.pk) for c in Capture.objects.filter(subject=alice)}
    body = json.dumps(export)
    assert SubjectPseudonym.objects.get(subject_id=bob.pk).pseudonym not in body
    assert "+447400100002" not in body
    for capture in Capture.objects.filter(subject=bob):
        assert str(capture.pk) not in body


def test_the_export_holds_each_signed_receipt_and_27560_record_as_issued(lived_in, alice, api_for):
    export = api_for(alice).get(EXPORT_JSON_URL).json()

    exported = export["stores"]["consent.ledger"]["data"]["consent_records"]
    stored = {str(r.receipt_id): r for r in ConsentRecord.objects.filter(subject=alice)}
    assert exported and len(exported) == len(stored)
    for entry in exported:
        record = stored[entry["receipt_id"]]
        assert entry["receipt"] == record.receipt and entry["record_27560"] == record.record_27560
        assert receipt_verify(json.loads(entry["receipt"]))
        assert receipt_verify(json.loads(entry["record_27560"]))


def test_each_exported_event_proves_its_own_inclusion_in_the_log(lived_in, alice, api_for):
    audit_seal()
    export = api_for(alice).get(EXPORT_JSON_URL).json()

    audit = export["audit"]
    size = audit["checkpoint"]["tree_size"]
    root = bytes.fromhex(audit["checkpoint"]["root_hash"])
    sealed = [e for e in audit["events"] if e["index"] is not None]
    assert len(sealed) >= 6
    for event in sealed:
        leaf = {k: v for k, v in event.items() if k not in ("action_name", "leaf_hash")}
        digest = leaf_hash(jcs(leaf))  # as the schema's description says to
        assert digest.hex() == event["leaf_hash"]
        proof = inclusion_proof(index=event["index"], tree_size=size)
        path = [bytes.fromhex(h) for h in proof["audit_path"]]
        assert verify_inclusion(digest, event["index"], size, path, root)


def test_the_zip_adds_the_subjects_photos_decrypted_and_listed_with_their_sha256(
    lived_in, alice, api_for, schema
):
    response = api_for(alice).get(EXPORT_ZIP_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    export = json.loads(archive.read("export.json"))
    assert schema_check.errors(export, schema) == []
    assert json.loads(archive.read("export.schema.json")) == schema
    capture = Capture.objects.get(subject=alice)
    photo = capture_decrypt(capture).photo_jpeg
    [listed] = export["files"]
    assert listed["store"] == "biometrics.captures" and listed["ref"] == str(capture.pk)
    assert archive.read(listed["path"]) == photo
    assert listed["sha256"] == hashlib.sha256(photo).hexdigest()
    assert photo.startswith(b"\xff\xd8")  # a JPEG, in clear for its owner


def test_exports_are_audited_with_their_format(lived_in, alice, api_for, audit_events):
    api = api_for(alice)
    api.get(EXPORT_JSON_URL)
    api.get(EXPORT_ZIP_URL)

    events = audit_events()
    assert [name for name, _data in events] == ["DATA_EXPORTED", "DATA_EXPORTED"]
    assert events[0][1]["format"] == "json" and "files" not in events[0][1]
    assert events[1][1]["format"] == "zip" and events[1][1]["files"] == 1
    assert events[0][1]["events"] >= 6


def test_the_export_needs_a_signed_in_subject(client):
    for url in (EXPORT_JSON_URL, EXPORT_ZIP_URL):
        response = client.get(url)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_the_portal_offers_the_report_and_the_exports(lived_in, alice, client):
    client.force_login(alice)

    page = client.get("/dashboard/").content.decode()
    report = client.get("/account/report.pdf")
    export = client.get("/account/export.json")
    archive = client.get("/account/export.zip")

    for url in ("/account/report.pdf", "/account/export.json", "/account/export.zip"):
        assert f'href="{url}"' in page
    assert report.status_code == 200 and report.content.startswith(b"%PDF")
    assert export.json()["format"] == "faceledger-export"
    assert zipfile.ZipFile(io.BytesIO(archive.content)).read("export.json")
