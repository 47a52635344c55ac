"""A Chinese report's table headers and words are Chinese (names, codes and values aside)."""

from __future__ import annotations

import pytest

from audit.services import audit_seal
from tests.browser.text_check import english_words
from tests.reports.conftest import REPORT_URL, pdf_text

pytestmark = pytest.mark.django_db


def test_a_chinese_report_has_no_english_headers_or_words(lived_in, alice, api_for, swap_of):
    swap_of(alice, "Astronaut (NASA, public domain)")
    audit_seal()

    text = pdf_text(api_for(alice).get(REPORT_URL, {"lang": "zh-hans"}).content)

    assert english_words(text) == []
