"""Consent receipts: Kantara v1.1 fields, a signature anyone can check, owner-only downloads."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from django.test import Client
from rest_framework.test import APIClient

from audit.services import pseudonym_for
from compliance_site.fonts import missing_glyphs
from consent.ledger.models import ConsentRecord
from consent.ledger.receipts import receipt_verify
from tests.consent.conftest import quote
from tests.reports.conftest import pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"
KANTARA_FIELDS = {
    "version",
    "jurisdiction",
    "consentTimestamp",
    "collectionMethod",
    "consentReceiptID",
    "publicKey",
    "language",
    "piiPrincipalId",
    "piiControllers",
    "policyUrl",
    "services",
    "sensitive",
    "spiCat",
}
OUR_FIELDS = {"action", "purposeCode", "policyVersion", "policySha256", "key_id", "signature"}


def _public_key(key_id: str):
    """The key the receipt names, as anyone gets it: from the public endpoint, not from
    settings; it must be a receipt key in the published key list."""
    listed = {entry["key_id"]: entry for entry in APIClient().get("/api/v1/audit/keys").json()}
    assert listed[key_id]["job"] == "receipt"
    response = APIClient().get("/api/v1/audit/public-key", {"key_id": key_id})
    assert response.status_code == 200
    assert response.content.decode() == listed[key_id]["public_key"]
    return load_pem_public_key(response.content)


def _check_signature(receipt: dict) -> None:
    """Recompute RFC 8785 over the receipt without ``signature`` and verify Ed25519."""
    body = {k: v for k, v in receipt.items() if k != "signature"}
    key = _public_key(receipt["key_id"])
    key.verify(base64.b64decode(receipt["signature"]), rfc8785.dumps(body))


def _grant(client, purpose="biometric_enrolment", language="en") -> dict:
    response = client.post(CONSENTS, quote(purpose, language), format="json")
    assert response.status_code == 201
    return response.json()["receipt"]


def test_a_grant_receipt_has_the_kantara_fields_and_ours(alice_api, alice, settings):
    receipt = _grant(alice_api)

    assert set(receipt) == KANTARA_FIELDS | OUR_FIELDS
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == settings.CONTROLLER_JURISDICTION
    assert isinstance(receipt["consentTimestamp"], int)
    record = ConsentRecord.objects.get()
    assert receipt["consentTimestamp"] == int(record.created_at.timestamp())
    assert uuid.UUID(receipt["consentReceiptID"]) == record.receipt_id
    assert receipt["piiPrincipalId"] == pseudonym_for(alice)
    assert receipt["language"] == "en"
    assert receipt["piiControllers"] == [
        {
            "piiController": settings.CONTROLLER_NAME,
            "contact": settings.CONTROLLER_CONTACT,
            "address": settings.CONTROLLER_ADDRESS,
            "email": settings.CONTROLLER_EMAIL,
        }
    ]
    assert receipt["policyUrl"] == f"{settings.PUBLIC_BASE_URL}/privacy/"
    assert receipt["sensitive"] is True
    assert receipt["spiCat"] == ["biometric"]
    [service] = receipt["services"]
    [purpose] = service["purposes"]
    assert purpose["purpose"].startswith("Biometric enrolment")
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["primaryPurpose"] is True
    assert purpose["thirdPartyDisclosure"] is False
    assert "365 days" in purpose["termination"]
    assert receipt["action"] == "grant"
    assert receipt["policyVersion"] == 2
    assert receipt["policySha256"] == quote("biometric_enrolment")["sha256"]


def test_a_receipt_for_a_purpose_without_biometrics_is_not_marked_sensitive(alice_api):
    receipt = _grant(alice_api, "output_storage")

    assert receipt["sensitive"] is False
    assert receipt["spiCat"] == []
    assert "30 days" in receipt["services"][0]["purposes"][0]["termination"]


def test_grant_and_withdrawal_receipts_verify_with_the_published_public_key(alice_api):
    granted = _grant(alice_api)
    withdrawn = alice_api.delete(f"{CONSENTS}/biometric_enrolment").json()["receipt"]

    _check_signature(granted)
    _check_signature(withdrawn)
    assert withdrawn["action"] == "withdraw"
    assert withdrawn["consentReceiptID"] != granted["consentReceiptID"]
    assert receipt_verify(granted) and receipt_verify(withdrawn)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.update(action="withdraw"),
        lambda r: r.update(policyVersion=r["policyVersion"] + 1),
        lambda r: r.update(consentTimestamp=r["consentTimestamp"] + 1),
        lambda r: r["services"][0]["purposes"][0].update(thirdPartyDisclosure=True),
        lambda r: r.update(extra="field"),
    ],
    ids=["action", "version", "time", "nested", "added-field"],
)
def test_a_changed_receipt_no_longer_verifies(alice_api, tamper):
    receipt = _grant(alice_api)
    tamper(receipt)

    with pytest.raises(InvalidSignature):
        _check_signature(receipt)
    assert not receipt_verify(receipt)


def test_the_stored_receipt_is_served_exactly_as_issued(alice_api):
    receipt = _grant(alice_api)

    response = alice_api.get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.content.decode() == ConsentRecord.objects.get().receipt
    assert json.loads(response.content) == receipt


def test_the_receipt_pdf_is_a_pdf(alice_api):
    receipt = _grant(alice_api)

    response = alice_api.get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}.pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_a_chinese_receipt_names_the_purpose_in_chinese_and_its_pdf_embeds_a_cjk_font(alice_api):
    receipt = _grant(alice_api, "face_swap", "zh-hans")

    assert receipt["language"] == "zh-hans"
    assert receipt["services"][0]["purposes"][0]["purpose"].startswith("换脸")
    assert receipt["policySha256"] == quote("face_swap", "zh-hans")["sha256"]
    _check_signature(receipt)
    pdf = alice_api.get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}.pdf").content
    assert pdf.startswith(b"%PDF")
    fonts = pdf_fonts(pdf)
    assert fonts and all(embedded for embedded in fonts.values()), fonts
    assert all("FaceledgerSansCJK" in name for name in fonts), fonts
    text = pdf_text(pdf)
    assert "Faceledger · KI-CR-v1.1.0" in text  # "·" is drawn, and extracts as itself
    assert not missing_glyphs(text)


def test_another_subjects_receipt_is_not_found_in_either_format(alice_api, bob_api):
    receipt = _grant(alice_api)
    url = f"{CONSENTS}/receipts/{receipt['consentReceiptID']}"

    for path in (url, f"{url}.pdf"):
        response = bob_api.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "receipt_not_found"


@pytest.mark.parametrize("receipt_id", [str(uuid.uuid4()), "not-a-uuid", "1", "../../etc"])
def test_an_unknown_or_malformed_receipt_id_is_a_404(alice_api, receipt_id):
    assert alice_api.get(f"{CONSENTS}/receipts/{receipt_id}").status_code == 404
    assert alice_api.get(f"{CONSENTS}/receipts/{receipt_id}.pdf").status_code == 404


def test_strangers_cannot_read_receipts(alice_api):
    receipt = _grant(alice_api)

    response = APIClient().get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}")

    assert response.status_code == 401


def test_the_portal_serves_only_its_owner_receipts(alice_api, alice, bob):
    receipt = _grant(alice_api)
    receipt_id = receipt["consentReceiptID"]
    owner, other = Client(), Client()
    owner.force_login(alice)
    other.force_login(bob)

    json_download = owner.get(f"/consent/receipts/{receipt_id}.json")
    pdf_download = owner.get(f"/consent/receipts/{receipt_id}.pdf")

    assert json_download.status_code == 200
    assert json.loads(json_download.content) == receipt
    assert "attachment" in json_download["Content-Disposition"]
    assert pdf_download.content.startswith(b"%PDF")
    assert owner.get(f"/consent/receipts/{receipt_id}/").status_code == 200
    for path in ("/", ".json", ".pdf"):
        assert other.get(f"/consent/receipts/{receipt_id}{path}").status_code == 404
