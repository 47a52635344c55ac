"""A Chinese report's table headers and words are Chinese (names, codes and values aside)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from audit.services import audit_seal
from tests.browser.text_check import english_words
from tests.reports.conftest import REPORT_URL, pdf_text

pytestmark = pytest.mark.django_db


def test_a_chinese_report_has_no_english_headers_or_words(lived_in, alice, api_for, swap_of):
    swap_of(alice, "Astronaut (NASA, public domain)")
    audit_seal()

    text = pdf_text(api_for(alice).get(REPORT_URL, {"lang": "zh-hans"}).content)
    # What is printed as it was given, not written by us: the controller's details from the
    # settings, the template's title, the master key's id, signatures and fingerprints, and the
    # audit events' own details (the record as stored, keys and values).
    given = [str(getattr(settings, name)) for name in CONTROLLER_SETTINGS]
    given += ["Astronaut (NASA, public domain)", settings.TEST_MASTER_KEY_ID]
    text = _WRAPPED_RUN.sub(r"\1\2", text)  # a signature wrapped across lines is one run
    text = " ".join(text.split())  # so may a value
    for value in given:
        text = text.replace(value, " ")
    text = _HEX_PIECE.sub(" ", _BASE64_RUN.sub(" ", text))

    assert [w for w in english_words([text]) if w not in EVENT_DETAIL_WORDS] == []


CONTROLLER_SETTINGS = (
    "CONTROLLER_NAME",
    "CONTROLLER_ADDRESS",
    "CONTROLLER_CONTACT",
    "CONTROLLER_EMAIL",
    "DPO_NAME",
)
# Pieces of a fingerprint that wrapped across lines ("9d9", "f257").
_HEX_PIECE = re.compile(r"(?<![\w/.:])(?=[0-9a-f]*\d)[0-9a-f]{2,}(?![\w/.:])")
_WRAPPED_RUN = re.compile(r"([\w+/-]{16,})\n([\w+/=-]+)")
_BASE64_RUN = re.compile(r"(?=[\w+/-]*[A-Z])(?=[\w+/-]*[a-z])(?=[\w+/-]*\d)[\w+/-]{16,}=*")
EVENT_DETAIL_WORDS = {
    "audit", "language", "en", "method", "version", "receipt", "sha256", "engine", "classic",
    "steps", "blink", "erased", "swap", "licence", "capture", "template",
}  # fmt: skip
