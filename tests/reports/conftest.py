"""Fixtures for the report, export, certificate and auditor tests."""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from pypdf import PdfReader

from tests.consent.conftest import token_client

REPORT_URL = "/api/v1/me/report.pdf"
EXPORT_JSON_URL = "/api/v1/me/export.json"
EXPORT_ZIP_URL = "/api/v1/me/export.zip"
SCHEMA_URL = "/api/v1/me/export.schema.json"
AUDIT_EXPORT_URL = "/api/v1/audit/export"


def pdf_text(data: bytes) -> str:
    """Every page's text, as a PDF reader extracts it (pypdf, not our code)."""
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_fonts(data: bytes) -> dict[str, bool]:
    """Every font the pages use, by base name, and whether the file embeds it (as pdffonts
    reports: a font program in its descriptor, or in its descendant's for a composite font)."""
    found: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"].get("/Font", {}).values():
            font = font.get_object()
            described = font
            if "/DescendantFonts" in font:
                described = font["/DescendantFonts"][0].get_object()
            descriptor = described.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            embedded = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
            found[str(font["/BaseFont"])] = embedded
    return found


def pdf_pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def api_for(policies):
    """``api_for(user)``: an API client with a real token of ``user``."""
    return token_client


@pytest.fixture
def lived_in(alice, bob, enrolled, grant_consent):
    """Alice and Bob, each enrolled (a capture with its photo) and consenting to face swaps;
    Alice also withdrew and gave output storage once, so her ledger has history."""
    from consent.ledger.models import ConsentRecord
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_withdraw

    enrolled(alice)
    grant_consent(alice, "face_swap", "output_storage")
    evidence = ClientEvidence(method=ConsentRecord.Method.API)
    consent_withdraw(subject=alice, purpose="output_storage", evidence=evidence)
    enrolled(bob)
    grant_consent(bob, "face_swap")
    return alice


def many_events(subject, count: int) -> None:
    """``count`` sign-in events about ``subject``, written directly (fast)."""
    from audit.actions import AuditAction
    from audit.services import audit_record

    with transaction.atomic():
        for _ in range(count):
            audit_record(
                actor=subject, subject=subject, action=AuditAction.LOGIN, data={"channel": "api"}
            )


@pytest.fixture
def auditor(db):
    """A staff member in the ``auditor`` group with a confirmed TOTP device."""
    from consent.identity.services import _role_group
    from tests.factories import StaffFactory

    user = StaffFactory(phone_number="+447911000101")
    user.groups.add(_role_group("auditor"))
    return user


def staff_with_role(role: str, phone: str):
    from consent.identity.services import _role_group
    from tests.factories import StaffFactory

    user = StaffFactory(phone_number=phone)
    user.groups.add(_role_group(role))
    return user


@pytest.fixture
def swap_of(capture_media):
    """``swap_of(user, title)``: a swap job of the user's latest capture into a licensed
    template, through the swap app's own services (skipped while the app has none). The job
    stays pending: its task is queued only when a transaction commits."""
    from datetime import timedelta

    from django.utils import timezone

    services = pytest.importorskip("swap.services")
    from biometrics.models import Capture

    def make(user, title: str = "Astronaut (NASA, public domain)"):
        template = services.swap_template_add(
            title=title,
            media=services.check_template_file(capture_media.photo),
            licence=services.LicenceTerms(source="NASA", terms="Public domain", expires_at=None),
            consent=services.DepictedConsentTerms(
                person="Public-domain portrait",
                document=b"%PDF-1.4\n% release (test)\n%%EOF\n",
                scope="Face editing",
                expires_at=timezone.now() + timedelta(days=365),
            ),
            actor=None,
        )
        capture = Capture.objects.filter(subject=user).latest("created_at")
        return services.swap_job_request(
            subject=user, capture_id=capture.pk, template_id=template.pk
        )

    return make
