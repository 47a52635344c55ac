"""Each grant and withdrawal is also an ISO/IEC TS 27560:2023 consent record (JSON, field names
of clause 6.3, W3C DPV terms for purposes, data categories and legal bases), signed like the
Kantara receipt with the same id, the jurisdiction taken from the controller's settings."""

from __future__ import annotations

import json

import pytest

from consent.ledger.models import ConsentRecord
from consent.ledger.receipts import DPV_PREFIXES, receipt_verify
from tests.consent.conftest import quote

pytestmark = pytest.mark.django_db

CONSENTS = "/api/v1/consents"
# Clause 6.3 of ISO/IEC TS 27560:2023: the fields it makes mandatory, by block.
MANDATORY_TOP = {"schema_version", "record_id", "pii_principal_id", "privacy_notice", "language"}
MANDATORY_PURPOSE = {
    "purpose",
    "pii_information",
    "pii_controllers",
    "storage_locations",
    "retention_period",
    "jurisdiction",
    "recipient_third_parties",
    "withdrawal_method",
}
MANDATORY_EVENT = {"event_time", "validity_duration", "entity_id", "event_type", "event_state"}
MANDATORY_PARTY = {"party_id", "party_name", "party_role", "party_type"}


def _record(api, receipt_id) -> dict:
    response = api.get(f"{CONSENTS}/receipts/{receipt_id}/iso27560")
    assert response.status_code == 200, response.content
    return json.loads(response.content)


def _curies(value) -> list[str]:
    if isinstance(value, str):
        return [value] if value.split(":", 1)[0] in DPV_PREFIXES else []
    if isinstance(value, dict):
        return [c for v in value.values() for c in _curies(v)]
    if isinstance(value, list):
        return [c for v in value for c in _curies(v)]
    return []


def test_a_grant_is_a_signed_27560_record_with_dpv_terms_and_the_receipts_id(alice_api, settings):
    settings.CONTROLLER_JURISDICTION = "CN"
    granted = alice_api.post(CONSENTS, quote("biometric_enrolment"), format="json")
    receipt = granted.json()["receipt"]

    record = _record(alice_api, receipt["consentReceiptID"])

    assert receipt_verify(record) and record["record_id"] == receipt["consentReceiptID"]
    assert MANDATORY_TOP <= set(record)
    (purpose,) = record["purposes"]
    assert MANDATORY_PURPOSE <= set(purpose)
    assert purpose["jurisdiction"] == "loc:CN" and receipt["jurisdiction"] == "CN"
    assert purpose["purpose_type"] == ["dpv:ServiceProvision"]
    assert purpose["lawful_basis"] == ["dpv:ExplicitlyExpressedConsent", "eu-gdpr:A9-2-a"]
    assert {p["pii_type"] for p in purpose["pii_information"]} == {"pd:FacialPrint", "pd:Picture"}
    assert all(p["special_pii_category"] == ["pd:Biometric"] for p in purpose["pii_information"])
    assert purpose["withdrawal_method"]["method"] == "dpv:WithdrawConsent"
    assert purpose["impact_assessment"]["type"] == "dpv:DPIA"
    (event,) = record["events"]
    assert MANDATORY_EVENT <= set(event) and event["event_state"] == "dpv:ConsentGiven"
    assert event["entity_id"] == record["pii_principal_id"] == receipt["piiPrincipalId"]
    assert all(MANDATORY_PARTY <= set(party) for party in record["parties"])
    roles = {party["party_role"] for party in record["parties"]}
    assert {"dpv:DataController", "dpv:DataProtectionOfficer", "dpv:DataProcessor"} <= roles
    assert _curies(record) and all(c.split(":", 1)[1] for c in _curies(record))


def test_a_withdrawal_is_a_27560_record_of_consent_withdrawn(alice_api):
    alice_api.post(CONSENTS, quote("output_storage"), format="json")
    withdrawn = alice_api.delete(f"{CONSENTS}/output_storage").json()["receipt"]

    record = _record(alice_api, withdrawn["consentReceiptID"])

    assert receipt_verify(record)
    assert record["events"][0]["event_state"] == "dpv:ConsentWithdrawn"
    assert record["purposes"][0]["lawful_basis"][1] == "eu-gdpr:A6-1-a"


def test_a_changed_27560_record_no_longer_verifies_and_no_one_else_can_read_it(alice_api, bob_api):
    receipt = alice_api.post(CONSENTS, quote("face_swap"), format="json").json()["receipt"]
    record = _record(alice_api, receipt["consentReceiptID"])

    record["purposes"][0]["jurisdiction"] = "loc:US"

    assert not receipt_verify(record)
    missing = bob_api.get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}/iso27560")
    assert missing.status_code == 404 and missing.json()["code"] == "receipt_not_found"


def test_the_portal_offers_the_27560_record_next_to_the_receipt(alice, alice_api, client):
    receipt = alice_api.post(CONSENTS, quote("face_swap"), format="json").json()["receipt"]
    rid = receipt["consentReceiptID"]
    client.force_login(alice)

    page = client.get(f"/consent/receipts/{rid}/").content.decode()
    download = client.get(f"/consent/receipts/{rid}.27560.json")

    assert f"/consent/receipts/{rid}.27560.json" in page
    stored = ConsentRecord.objects.get(receipt_id=rid).record_27560
    assert download.status_code == 200 and download.content.decode() == stored
