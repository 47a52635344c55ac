"""Simplified Chinese: the catalogue is complete and compiled (a fresh clone needs no gettext
tools), and the portal's pages rendered in Chinese show no English words (names, codes and
numbers aside). The browser tests check the same on the pages as Chromium shows them."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation

from biometrics.models import Capture
from consent.ledger.models import ConsentRecord, PolicyText, Purpose
from tests.browser.text_check import english_words, html_texts

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"


def _unquote(lines: list[str]) -> str:
    return "".join(
        bytes(line.strip()[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode()
        for line in lines
    )


def read_po(path: Path) -> list[dict]:
    """Entries of a .po file: ``msgid``, ``msgid_plural``, ``msgstr`` (a list), ``flags``."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry is not None:
                entries.append(entry)
            entry, field = None, None
            continue
        if entry is None:
            entry = {"flags": set(), "msgctxt": None, "msgid_plural": None, "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            field.append(line)
        else:
            key, _, rest = line.partition(" ")
            field = [rest]
            number = re.fullmatch(r"msgstr\[(\d+)\]", key)
            if number:
                entry["msgstr"][int(number.group(1))] = field
            elif key == "msgstr":
                entry["msgstr"][0] = field
            else:
                entry[key] = field
    for entry in entries:
        for key in ("msgctxt", "msgid", "msgid_plural"):
            if entry.get(key) is not None:
                entry[key] = _unquote(entry[key])
        entry["msgstr"] = [_unquote(v) for _, v in sorted(entry["msgstr"].items())]
    return entries


@pytest.fixture(scope="module")
def entries() -> list[dict]:
    return [e for e in read_po(CATALOGUE / "django.po") if e["msgid"]]


_PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%[sd]|<[^>]+>")


def test_every_message_is_translated_and_none_is_fuzzy(entries):
    assert len(entries) > 300
    for entry in entries:
        assert "fuzzy" not in entry["flags"], entry["msgid"]
        assert all(entry["msgstr"]), f"untranslated: {entry['msgid']!r}"


def test_translations_keep_every_placeholder_and_tag(entries):
    for entry in entries:
        wanted = sorted(_PLACEHOLDER.findall(entry["msgid"]))
        for text in entry["msgstr"]:
            assert sorted(_PLACEHOLDER.findall(text)) == wanted, entry["msgid"]


_HALF_WIDTH_BESIDE_HANZI = re.compile(r"[\u4e00-\u9fff][,:;?!()]|[,:;?!(][\u4e00-\u9fff]")


def test_chinese_sentences_use_full_width_punctuation(entries):
    """，：；？！（） beside a hanzi, never , : ; ? ! ( ) (placeholders and tags aside)."""
    for entry in entries:
        for text in entry["msgstr"]:
            bare = _PLACEHOLDER.sub("", text)
            assert not _HALF_WIDTH_BESIDE_HANZI.search(bare), (entry["msgid"], text)


def test_the_committed_mo_file_is_compiled_from_the_po_file(entries):
    with open(CATALOGUE / "django.mo", "rb") as compiled:
        catalog = gettext.GNUTranslations(compiled)

    for entry in entries:
        key = (
            entry["msgid"]
            if entry["msgctxt"] is None
            else f"{entry['msgctxt']}\x04{entry['msgid']}"
        )
        if entry["msgid_plural"] is None:
            assert catalog.gettext(key) == entry["msgstr"][0], entry["msgid"]
        else:
            assert catalog.ngettext(key, entry["msgid_plural"], 1) == entry["msgstr"][0]


def test_the_header_declares_one_plural_form_for_chinese():
    header = (CATALOGUE / "django.po").read_text(encoding="utf-8")

    assert '"Language: zh_Hans\\n"' in header
    assert '"Plural-Forms: nplurals=1; plural=0;\\n"' in header


# --- pages rendered in Chinese ------------------------------------------------------------------


def _chinese(client: Client) -> Client:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


def assert_all_chinese(response) -> None:
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html, response.request["PATH_INFO"]
    found = english_words(html_texts(html))
    assert not found, f"{response.request['PATH_INFO']}: English on a Chinese page: {found}"


PUBLIC_PAGES = ["/login/", "/privacy/", "/retention/", "/transparency/", "/no-such-page/"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_in_chinese_have_no_english(policies, path):
    assert_all_chinese(_chinese(Client()).get(path))


@pytest.mark.django_db
def _grant_in_chinese(client: Client, purpose: str) -> None:
    text = PolicyText.objects.get(
        policy=Purpose.objects.get(code=purpose).current_version, language="zh-hans"
    )
    quote = {"purpose": purpose, "version": text.policy.version, "sha256": text.sha256}
    response = client.post("/consent/grant/", {**quote, "lang": "zh-hans"})
    assert response.status_code == 302


def test_pages_of_a_signed_in_person_in_chinese_have_no_english(alice, policies, enrolled):
    client = _chinese(Client())
    client.force_login(alice)
    capture_page_without_consent = client.get("/capture/")
    _grant_in_chinese(client, "biometric_enrolment")
    enrolled(alice)
    record = ConsentRecord.objects.get(subject=alice)

    pages = [
        capture_page_without_consent,
        client.get("/dashboard/"),
        client.get("/consent/"),
        client.get("/consent/withdraw/?purpose=biometric_enrolment"),  # check before you withdraw
        client.get(f"/consent/receipts/{record.receipt_id}/"),
        client.get("/capture/"),
        client.get("/captures/"),
        client.get(f"/captures/{Capture.objects.get(subject=alice).pk}/delete/"),  # the check
        client.get("/account/delete/"),
        client.post("/account/delete/", {"step": "send"}),  # the code and the typed words
        client.post("/account/delete/", {"step": "erase", "confirm": "no"}),  # its errors
    ]

    for response in pages:
        assert response.status_code in (200, 400, 403), response.request["PATH_INFO"]
        assert_all_chinese(response)


def test_request_free_error_pages_in_chinese_have_no_english():
    with translation.override("zh-hans"):
        for template in ("500.html", "403_csrf.html", "400.html"):
            html = render_to_string(template)
            found = english_words(html_texts(html))
            assert not found, f"{template}: {found}"


@pytest.mark.django_db
def test_the_report_progress_and_guardian_pages_in_chinese_have_no_english(alice, policies):
    from datetime import timedelta

    from django.utils import timezone

    from consent.reports.models import ReportJob

    client = _chinese(Client())
    client.force_login(alice)
    job = ReportJob.objects.create(
        subject=alice, language="zh-hans", expires_at=timezone.now() + timedelta(hours=1)
    )
    client.post("/consent/under-14/", {"lang": "zh-hans"})
    asked = client.post(
        "/consent/guardian/request/",
        {"lang": "zh-hans", "purpose": "face_swap", "phone": "+447400177777"},
    )

    assert asked.status_code == 302
    for response in (client.get(f"/account/report/{job.pk}/"), client.get("/consent/guardian/")):
        assert response.status_code == 200, response.request["PATH_INFO"]
        assert_all_chinese(response)
