"""Every kind of PDF the service prints, made in Chinese from seeded data: set only in fonts the
file embeds, every character drawn by the font, no English table header, status or code left,
and every link on the site's own address (``PUBLIC_BASE_URL``)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterator
from typing import NamedTuple

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import translation

from audit.exports import auditor_export_bundle
from audit.services import audit_seal
from compliance_site import deadlines, inventory, pdf
from compliance_site.fonts import missing_glyphs
from consent.erasure.models import ErasureRequest
from consent.erasure.pdf import wind_down_report_pdf
from consent.ledger.models import ImpactAssessment, Purpose
from consent.reports.models import ReportJob
from swap.models import SwapJob
from tests.conftest import assessment_seed
from tests.consent.ledger.test_receipts import CONSENTS, _grant
from tests.reports.conftest import REPORT_URL, pdf_fonts, pdf_text

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "https://faceledger.example.cn"
KINDS = ("receipt", "report", "certificate", "summary", "wind-down report")


def _certificate(api_for, user, client) -> bytes:
    response = api_for(user).post("/api/v1/me/erasure")
    assert response.status_code == 202, response.content
    token = response.json()["id"]
    pdf_response = client.get(f"/api/v1/me/erasure/{token}/certificate.pdf", {"lang": "zh-hans"})
    assert pdf_response.status_code == 200
    return pdf_response.content


def _summary(auditor) -> bytes:
    with translation.override("zh-hans"):
        bundle = auditor_export_bundle(actor=auditor, since=None, until=None)
    with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
        return archive.read("summary.pdf")


def _wind_down_report(settings, tmp_path) -> bytes:
    settings.WIND_DOWN_GRACE_DAYS = 0
    out = tmp_path / "tombstone"
    call_command("wind_down", out=out, confirm=settings.AUDIT_LOG_ID, interactive=False)
    report = json.loads((out / "wind-down-report.json").read_text())
    with translation.override("zh-hans"):
        return wind_down_report_pdf(report)


class Printed(NamedTuple):
    pdfs: dict[str, bytes]  # by kind, and the report in English
    export: dict  # the person's export, whose keys a table may show


@pytest.fixture
def chinese_pdfs(
    lived_in, alice, bob, api_for, swap_of, auditor, client, settings, tmp_path
) -> Printed:
    """One PDF of each kind, in Chinese, about a person with a history: consents given and
    withdrawn, a capture, a swap, an impact assessment with conditions, an erasure."""
    settings.PUBLIC_BASE_URL = SITE
    assessment_seed(Purpose.objects.get(code="face_swap"), decision="conditions")
    swap_of(alice, "Astronaut (NASA, public domain)")
    export = inventory.export_all(alice.pk)
    receipt = _grant(api_for(alice), "output_storage", "zh-hans")
    audit_seal()
    pdfs = {
        "report in English": api_for(alice).get(REPORT_URL, {"lang": "en"}).content,
        "receipt": api_for(alice)
        .get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}.pdf")
        .content,
        "report": api_for(alice).get(REPORT_URL, {"lang": "zh-hans"}).content,
        "certificate": _certificate(api_for, bob, client),
        "summary": _summary(auditor),
    }
    pdfs["wind-down report"] = _wind_down_report(settings, tmp_path)  # last: erases everyone
    assert all(data.startswith(b"%PDF") for data in pdfs.values())
    return Printed(pdfs, export)


def _keys(data) -> set[str]:
    """The keys of an export, at every depth: each can become a table header or a label."""
    if isinstance(data, dict):
        return set(data).union(*(_keys(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(_keys(value) for value in data))
    return set()


def _words(text: str, words: set[str]) -> list[str]:
    """The ``words`` found whole (not inside a longer word or code) in ``text``."""
    found = []
    for word in sorted(words):
        if re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w-])", text):
            found.append(word)
    return found


def _without_raw_json(text: str) -> str:
    """``text`` less the events' own details, printed as stored (JSON objects such as a
    template event's ``{"stopped": 0, "cancelled": 1, "erased": 0}``): they are the record, not
    words written for the reader."""
    while (stripped := re.sub(r"\{[^{}]*\}", " ", text)) != text:
        text = stripped
    return text


def _english_headers_and_values(english_report: str, export: dict) -> set[str]:
    """The English words a person could meet in a table: the headers the English report makes
    from the stores' export keys (as ``pdf.label`` spells them), and every status, decision,
    risk and request code."""
    words: set[str] = set()
    with translation.override("en"):
        headers = {pdf.label(key) for key in _keys(list(export.values()))}
    words |= {header for header in headers if header in english_report}
    for choices in (
        SwapJob.Status,
        ErasureRequest.Status,
        ReportJob.Status,
        ImpactAssessment.Decision,
        ImpactAssessment.Risk,
    ):
        words |= set(choices.values)
    words |= {deadlines.Deadline.OPEN, deadlines.Deadline.OVERDUE, deadlines.Deadline.LATE}
    words.add(deadlines.Deadline.ON_TIME)
    words |= {"erasure", "access (report)", "portability (json)", "portability (zip)"}
    return words


def _each(printed: Printed) -> Iterator[tuple[str, bytes, str]]:
    for kind in KINDS:
        yield kind, printed.pdfs[kind], pdf_text(printed.pdfs[kind])


def test_every_chinese_pdf_embeds_every_font_it_uses_and_draws_every_character(chinese_pdfs):
    for kind, data, text in _each(chinese_pdfs):
        fonts = pdf_fonts(data)
        assert fonts, kind
        assert [name for name, embedded in fonts.items() if not embedded] == [], kind
        assert all("FaceledgerSansCJK" in name for name in fonts), (kind, fonts)
        assert missing_glyphs(text) == set(), kind
        assert re.search("[\u4e00-\u9fff]", text), kind  # Chinese, and it extracts as such


def test_no_english_header_status_or_decision_code_is_left_in_a_chinese_pdf(chinese_pdfs):
    english = _english_headers_and_values(
        pdf_text(chinese_pdfs.pdfs["report in English"]), chinese_pdfs.export
    )
    assert {"Created at", "Status", "done"} <= english  # the list is not empty by mistake
    for kind, _data, text in _each(chinese_pdfs):
        text = _without_raw_json(text)
        assert _words(text, english) == [], (kind, _words(text, english))
    report = "".join(pdf_text(chinese_pdfs.pdfs["report"]).split())
    assert "通过（向左转头、眨眼）" in report  # the capture's liveness steps, in words
    summary = "".join(pdf_text(chinese_pdfs.pdfs["summary"]).split())
    assert "按所列条件开展处理" in summary  # the assessment decided with conditions


def test_a_chinese_certificate_and_wind_down_report_name_stores_in_words_not_codes(
    chinese_pdfs,
):
    codes = {store.name for store in inventory.stores()}
    for kind in ("certificate", "wind-down report"):
        text = pdf_text(chinese_pdfs.pdfs[kind])
        assert [code for code in sorted(codes) if code in text] == [], kind


def test_every_link_in_a_pdf_is_on_the_sites_own_address(chinese_pdfs):
    for kind, _data, text in _each(chinese_pdfs):
        links = re.findall(r"https?://[^\s)）]+", text)
        assert "127.0.0.1" not in text, kind
        assert all(link.startswith(SITE) for link in links), (kind, links)


@pytest.mark.django_db
def test_a_receipt_pdf_links_to_the_sites_address_of_today_not_the_one_it_was_issued_under(
    alice, api_for, settings
):
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8000"  # the default, before the site was set
    alice_api = api_for(alice)
    receipt = _grant(alice_api, "face_swap", "zh-hans")
    assert receipt["policyUrl"].startswith("http://127.0.0.1:8000/")  # signed as issued

    with override_settings(PUBLIC_BASE_URL=SITE):
        data = alice_api.get(f"{CONSENTS}/receipts/{receipt['consentReceiptID']}.pdf").content

    text = pdf_text(data)
    assert "127.0.0.1" not in text
    assert f"{SITE}/privacy/" in text and f"{SITE}/api/v1/audit/public-key" in text


def test_the_summary_words_an_assessments_risk_and_decision_as_the_ledger_does():
    from audit.exports import DECISION_LABELS, RISK_LABELS

    assert {code: str(label) for code, label in DECISION_LABELS.items()} == dict(
        ImpactAssessment.Decision.choices
    )
    assert {code: str(label) for code, label in RISK_LABELS.items()} == dict(
        ImpactAssessment.Risk.choices
    )
