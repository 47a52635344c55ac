"""Consent receipts: Kantara Consent Receipt v1.1 field names, signed, as JSON and PDF.

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
from compliance_site import pdf
from compliance_site.pdf import para as _para
from consent.ledger.models import ConsentRecord, GuardianRelationship, PolicyText, Purpose
from consent.ledger.policies import text_paragraphs
from consent.ledger.selectors import retention_text

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


def receipt_issue(facts: ReceiptFacts) -> str:
    """The signed receipt as the JSON text stored and served."""
    body = receipt_body(facts)
    return json.dumps(signing.sign(signing.RECEIPT, body), ensure_ascii=False, indent=2)


def receipt_verify(receipt: dict) -> bool:
    """True when the receipt's signature holds for the rest of it under the receipt key its
    ``key_id`` names (current or retired)."""
    return signing.verify(signing.RECEIPT, receipt)


# --- PDF ----------------------------------------------------------------------------------------


def _paragraphs(text: str, style: ParagraphStyle) -> list[Paragraph]:
    """The policy text: its title line in bold, then its paragraphs reflowed."""
    title = text.partition("\n")[0].strip()
    heading = ParagraphStyle(style.name + "-title", parent=style, fontName="Helvetica-Bold")
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
        (_("Time (UTC)"), when.strftime("%Y-%m-%d %H:%M:%S")),
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
        (_("Privacy notice"), receipt["policyUrl"]),
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
