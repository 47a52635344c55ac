"""Consent receipts: Kantara Consent Receipt v1.1 field names, signed, as JSON and PDF; and the
same event as an ISO/IEC TS 27560:2023 consent record with W3C DPV terms (``record_27560_body``),
signed the same way (``_signed``).

A receipt is issued for every grant and withdrawal and stored with its record exactly as
issued. ``signature`` is Ed25519 over the RFC 8785 canonical JSON of the receipt without
``signature``, by the service's signing key (``audit.signing``; the public key is served at
``/api/v1/audit/public-key`` and embedded as ``publicKey``). Besides the Kantara fields a
receipt carries ``action`` (grant | withdraw), ``purposeCode``, ``policyVersion`` and
``policySha256`` (the SHA-256 of the exact text shown), and, when a parent or guardian gave
the consent, ``guardianPrincipalId`` (a keyed digest of their number, never the number) and
``guardianRelationship`` (parent, legal guardian or other person with parental responsibility).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID
from xml.sax.saxutils import escape

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import KeepTogether, Paragraph, Spacer

from audit import signing
from compliance_site import inventory, pdf
from compliance_site.dates import datetime_text
from compliance_site.pdf import para as _para
from consent.ledger.models import ConsentRecord, GuardianRelationship, PolicyText, Purpose
from consent.ledger.policies import text_paragraphs
from consent.ledger.selectors import assessment_current, retention_text

RECEIPT_VERSION = "KI-CR-v1.1.0"
SERVICE_NAME = "Faceledger"
# Kantara v1.1 vocabularies (purpose categories, PII categories) for our purposes.
_CATEGORIES = {
    "biometric_enrolment": (["Core Function"], ["Biometric"]),
    "face_swap": (["Contracted Service"], ["Biometric"]),
    "output_storage": (["Personalized Experience"], ["Images of the subject's face"]),
}
_DEFAULT_CATEGORIES = (["Contracted Service"], ["Biometric"])


@dataclass(frozen=True)
class ReceiptFacts:
    """Everything a receipt states; taken from the record being written."""

    receipt_id: UUID
    moment: datetime
    action: str
    method: str
    reason: str
    principal_id: str
    guardian_id: str
    guardian_relationship: str
    purpose: Purpose
    text: PolicyText
    version: int


def _controller() -> dict:
    controller = {
        "piiController": settings.CONTROLLER_NAME,
        "contact": settings.CONTROLLER_CONTACT,
        "address": settings.CONTROLLER_ADDRESS,
        "email": settings.CONTROLLER_EMAIL,
    }
    if settings.CONTROLLER_PHONE:
        controller["phone"] = settings.CONTROLLER_PHONE
    return controller


def _collection_method(facts: ReceiptFacts) -> str:
    methods: dict[str, str] = {
        ConsentRecord.Method.PORTAL: _("Faceledger consent centre (web)"),
        ConsentRecord.Method.API: _("Faceledger app (API)"),
    }
    method = methods[facts.method]
    if facts.guardian_id:
        method += " — " + _("given by a parent or guardian who verified their phone by SMS code")
        if facts.guardian_relationship:
            relationship = GuardianRelationship(facts.guardian_relationship).label
            method += (
                " ("
                + _("stated relationship: %(relationship)s") % {"relationship": relationship}
                + ")"
            )
    if facts.reason == ConsentRecord.Reason.MINOR_DECLARED:
        method += " — " + _("withdrawn because the subject declared an age under 14")
    return method


def _service(facts: ReceiptFacts) -> dict:
    purpose_categories, pii_categories = _CATEGORIES.get(facts.purpose.code, _DEFAULT_CATEGORIES)
    return {
        "service": SERVICE_NAME,
        "purposes": [
            {
                "purpose": facts.text.title,
                "purposeCategory": purpose_categories,
                "consentType": "EXPLICIT",
                "piiCategory": pii_categories,
                "primaryPurpose": True,
                "termination": retention_text(facts.purpose)
                + " "
                + _("You can withdraw this consent at any time, with one action."),
                "thirdPartyDisclosure": False,
            }
        ],
    }


def receipt_body(facts: ReceiptFacts) -> dict:
    """The receipt without its signature, in the language of the text it is about."""
    with translation.override(facts.text.language):
        body = {
            "version": RECEIPT_VERSION,
            "jurisdiction": settings.CONTROLLER_JURISDICTION,
            "consentTimestamp": int(facts.moment.timestamp()),
            "collectionMethod": _collection_method(facts),
            "consentReceiptID": str(facts.receipt_id),
            "publicKey": signing.public_key_pem(signing.RECEIPT),
            "language": facts.text.language,
            "piiPrincipalId": facts.principal_id,
            "piiControllers": [_controller()],
            "policyUrl": settings.PUBLIC_BASE_URL + reverse("consent:privacy"),
            "services": [_service(facts)],
            "sensitive": facts.purpose.sensitive,
            "spiCat": ["biometric"] if facts.purpose.sensitive else [],
            "action": facts.action,
            "purposeCode": facts.purpose.code,
            "policyVersion": facts.version,
            "policySha256": facts.text.sha256,
        }
    if facts.guardian_id:
        body["guardianPrincipalId"] = facts.guardian_id
    if facts.guardian_relationship:
        body["guardianRelationship"] = facts.guardian_relationship
    return body


def _signed(body: dict) -> str:
    """``body`` with ``key_id`` and ``signature``: Ed25519 over the RFC 8785 JSON of the rest, by
    the receipt key; the JSON text stored and served. The one place receipts and 27560 records
    are signed."""
    return json.dumps(signing.sign(signing.RECEIPT, body), ensure_ascii=False, indent=2)


def receipt_issue(facts: ReceiptFacts) -> str:
    """The signed receipt as the JSON text stored and served."""
    return _signed(receipt_body(facts))


def receipt_verify(receipt: dict) -> bool:
    """True when the signature of a receipt or a 27560 record holds for the rest of it under
    the receipt key its ``key_id`` names (current or retired)."""
    return signing.verify(signing.RECEIPT, receipt)


# --- ISO/IEC TS 27560:2023 consent records ---------------------------------------------------
#
# Field names are those of ISO/IEC TS 27560:2023 (clause 6.3: the record's metadata, its
# processing, personal-data, party and event fields); values name W3C DPV concepts where the
# DPVCG guide "Consent Records and Receipts as per ISO/IEC TS 27560:2023 using DPV" maps one,
# as CURIEs under ``prefixes``. README "Consent records (ISO/IEC TS 27560)" has the mapping.

RECORD_27560_SCHEMA = "faceledger-27560/1"
DPV_PREFIXES = {
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "eu-gdpr": "https://w3id.org/dpv/legal/eu/gdpr#",
    "loc": "https://w3id.org/dpv/loc#",
}
# Per purpose: DPV purpose categories, processing operations, personal data categories.
_DPV = {
    "biometric_enrolment": (
        ["dpv:ServiceProvision"],
        ["dpv:Collect", "dpv:Store", "dpv:Use", "dpv:Erase"],
        ["pd:FacialPrint", "pd:Picture"],
    ),
    "face_swap": (
        ["dpv:ServiceProvision"],
        ["dpv:Use", "dpv:Generate", "dpv:Erase"],
        ["pd:FacialPrint", "pd:Picture"],
    ),
    "output_storage": (["dpv:ServiceProvision"], ["dpv:Store", "dpv:Erase"], ["pd:Picture"]),
}
_DPV_DEFAULT = (["dpv:ServiceProvision"], ["dpv:Use"], ["pd:Biometric"])
# The rights a person has here (DPV's GDPR extension): access, rectification, erasure,
# portability, withdrawal of consent.
_RIGHTS = ["eu-gdpr:A15", "eu-gdpr:A16", "eu-gdpr:A17", "eu-gdpr:A20", "eu-gdpr:A7-3"]
_GUARDIAN_ROLES: dict[str, str] = {GuardianRelationship.PARENT.value: "dpv:ParentOfDataSubject"}


def _parties() -> list[dict]:
    """The controller, its representative, the DPO and the processors, from settings."""
    block = inventory.controller_record()
    parties = [
        {
            "party_id": "controller",
            "party_name": block["controller"],
            "party_address": block["address"],
            "party_email": block["email"],
            "party_url": settings.PUBLIC_BASE_URL,
            "party_role": "dpv:DataController",
            "party_contact": settings.CONTROLLER_CONTACT,
            "party_type": "dpv:LegalEntity",
        },
        {
            "party_id": "representative",
            "party_name": block["representative"],
            "party_role": "dpv:Representative",
            "party_type": "dpv:LegalEntity",
        },
        {
            "party_id": "dpo",
            "party_name": block["dpo"],
            "party_email": block["dpo_email"],
            "party_role": "dpv:DataProtectionOfficer",
            "party_type": "dpv:LegalEntity",
        },
    ]
    if block["phone"]:
        parties[0]["party_phone"] = block["phone"]
    for recipient in inventory.recipients_record():
        parties.append(
            {
                "party_id": recipient["recipient"],
                "party_name": recipient["provider"],
                "party_role": "dpv:DataProcessor",
                "party_type": "dpv:Recipient",
                "party_address": f"loc:{recipient['country']}",
            }
        )
    return parties


def _recipients_of(purpose: str) -> list[str]:
    keys = {
        key for store in inventory.stores_for_purpose(purpose) for key in store.recipients or ()
    }
    return sorted(keys)


def _purpose_27560(facts: ReceiptFacts) -> dict:
    code = facts.purpose.code
    categories, operations, data = _DPV.get(code, _DPV_DEFAULT)
    basis = "eu-gdpr:A9-2-a" if facts.purpose.sensitive else "eu-gdpr:A6-1-a"
    home = f"loc:{settings.CONTROLLER_JURISDICTION}"
    places = sorted({f"loc:{r['country']}" for r in inventory.recipients_record()} | {home})
    purpose = {
        "purpose_id": code,
        "purpose": facts.text.title,
        "purpose_type": categories,
        "lawful_basis": ["dpv:ExplicitlyExpressedConsent", basis],
        "pii_information": [
            {
                "pii_type": pii,
                "pii_optional": False,
                "sensitive_pii_category": facts.purpose.sensitive,
                "special_pii_category": ["pd:Biometric"] if facts.purpose.sensitive else [],
            }
            for pii in data
        ],
        "pii_controllers": ["controller"],
        "collection_method": _collection_method(facts),
        "processing_method": operations,
        "storage_locations": places,
        "retention_period": retention_text(facts.purpose),
        "processing_locations": places,
        "service": SERVICE_NAME,
        "jurisdiction": home,
        "recipient_third_parties": _recipients_of(code),
        "withdrawal_method": {
            "method": "dpv:WithdrawConsent",
            "description": _("One action, at any time: the consent centre, or the app."),
            "url": settings.PUBLIC_BASE_URL + reverse("consent:centre"),
        },
        "privacy_rights": _RIGHTS,
    }
    assessment = assessment_current(facts.purpose)
    if assessment is not None:
        purpose["impact_assessment"] = {
            "type": "dpv:DPIA",
            "version": assessment.version,
            "sha256": assessment.sha256,
            "review_on": assessment.review_on.isoformat(),
        }
    return purpose


def _event_27560(facts: ReceiptFacts) -> dict:
    granted = facts.action == ConsentRecord.Action.GRANT
    event = {
        "event_time": facts.moment.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "validity_duration": retention_text(facts.purpose) if granted else None,
        "entity_id": facts.guardian_id or facts.principal_id,
        "event_type": "dpv:ExplicitlyExpressedConsent",
        "event_state": "dpv:ConsentGiven" if granted else "dpv:ConsentWithdrawn",
    }
    if facts.guardian_id:
        event["entity_role"] = _GUARDIAN_ROLES.get(
            facts.guardian_relationship, "dpv:GuardianOfDataSubject"
        )
    return event


def record_27560_body(facts: ReceiptFacts) -> dict:
    """The ISO/IEC TS 27560 consent record of one grant or withdrawal, without its signature,
    in the language of the text it is about. ``record_id`` is the Kantara receipt's id: one
    event, two formats."""
    with translation.override(facts.text.language):
        return {
            "schema_version": RECORD_27560_SCHEMA,
            "conforms_to": [
                "ISO/IEC TS 27560:2023",
                "https://w3id.org/dpv/guides/consent-27560",
            ],
            "prefixes": DPV_PREFIXES,
            "record_id": str(facts.receipt_id),
            "pii_principal_id": facts.principal_id,
            "privacy_notice": {
                "notice_url": settings.PUBLIC_BASE_URL + reverse("consent:privacy"),
                "consent_notice": {
                    "purpose_id": facts.purpose.code,
                    "version": facts.version,
                    "sha256": facts.text.sha256,
                },
            },
            "language": facts.text.language,
            "purposes": [_purpose_27560(facts)],
            "parties": _parties(),
            "events": [_event_27560(facts)],
            "public_key": signing.public_key_pem(signing.RECEIPT),
        }


def record_27560_issue(facts: ReceiptFacts) -> str:
    """The signed 27560 record as the JSON text stored and served."""
    return _signed(record_27560_body(facts))


# --- PDF ----------------------------------------------------------------------------------------


def _paragraphs(text: str, style: ParagraphStyle) -> list[Paragraph]:
    """The policy text: its title line in bold (in the document's bold font), then its
    paragraphs reflowed."""
    title = text.partition("\n")[0].strip()
    heading = ParagraphStyle(style.name + "-title", parent=style, fontName=pdf.fonts().bold)
    return [_para(title, heading), *(_para(p, style) for p in text_paragraphs(text))]


def _facts_table(receipt: dict, styles: dict[str, ParagraphStyle]):
    purpose = receipt["services"][0]["purposes"][0]
    controller = receipt["piiControllers"][0]
    when = datetime.fromtimestamp(receipt["consentTimestamp"], tz=UTC)
    granted = receipt["action"] == "grant"
    rows = [
        (_("Consent"), _("Granted") if granted else _("Withdrawn")),
        (_("Purpose"), purpose["purpose"]),
        (_("Policy version"), str(receipt["policyVersion"])),
        (_("Text SHA-256"), receipt["policySha256"]),
        (_("Time"), datetime_text(when)),
        (_("How"), receipt["collectionMethod"]),
        (_("Your pseudonym"), receipt["piiPrincipalId"]),
    ]
    if receipt.get("guardianPrincipalId"):
        rows.append((_("Parent or guardian (pseudonym)"), receipt["guardianPrincipalId"]))
    if receipt.get("guardianRelationship") in GuardianRelationship.values:
        label = GuardianRelationship(receipt["guardianRelationship"]).label
        rows.append((_("Relationship to the child"), str(label)))
    rows += [
        (_("Retention"), purpose["termination"]),
        (_("Sensitive data"), _("yes (biometric)") if receipt["sensitive"] else _("no")),
        (_("Controller"), f"{controller['piiController']}, {controller['address']}"),
        (_("Contact"), f"{controller['contact']} <{controller['email']}>"),
        # Where to read it today: the signed JSON keeps the address it was issued under.
        (_("Privacy notice"), settings.PUBLIC_BASE_URL + reverse("consent:privacy")),
        (_("Receipt ID"), receipt["consentReceiptID"]),
        (_("Jurisdiction"), receipt["jurisdiction"]),
    ]
    return pdf.facts_table(rows, styles)


def receipt_pdf(receipt: dict, text: str) -> bytes:
    """A printable copy of a receipt, with the policy text it is about. The signed JSON is
    the proof; the PDF says how to check it."""
    with translation.override(receipt["language"]):
        styles = pdf.styles()
        key_url = settings.PUBLIC_BASE_URL + reverse("audit-api:public-key")
        how_to_check = _(
            "Download the JSON receipt. Its signature is Ed25519 over the RFC 8785 canonical "
            "JSON of the receipt without the signature field, checked with the public key "
            "below (also published at %(url)s)."
        ) % {"url": key_url}
        story = [
            _para(_("Consent receipt"), styles["title"]),
            _para(f"{SERVICE_NAME} · {receipt['version']}", styles["label"]),
            Spacer(1, 8),
            _facts_table(receipt, styles),
            _para(_("The text you were shown"), styles["heading"]),
            *_paragraphs(text, styles["text"]),
            # Kept on one page: a label must not end a page without its value.
            KeepTogether(
                [
                    _para(_("How to check this receipt"), styles["heading"]),
                    _para(how_to_check, styles["body"]),
                    Spacer(1, 5),
                    _para(_("Signature"), styles["label"]),
                    Paragraph(escape(receipt["signature"]), styles["mono"]),
                    Spacer(1, 5),
                    _para(_("Public key"), styles["label"]),
                    Paragraph(escape(receipt["publicKey"]).replace("\n", "<br/>"), styles["mono"]),
                ]
            ),
        ]
        return pdf.build(
            story,
            title=_("Consent receipt"),
            author=SERVICE_NAME,
            footer=f"{SERVICE_NAME} · {_('Consent receipt')} {receipt['consentReceiptID']}",
            page_label=_("Page %(page)d of %(pages)d"),
        )
