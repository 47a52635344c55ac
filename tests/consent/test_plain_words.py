"""Plain words first, the proof one disclosure away: on the receipt, the consent cards, the
privacy page and the erasure certificate page, in English and in Chinese, no hash, store code,
raw JSON or protocol name is shown outside a ``<details>`` disclosure; each store erased is
named by its description in the page's language."""

from __future__ import annotations

import html
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from compliance_site import inventory
from consent.ledger.models import ConsentRecord, PolicyText, Purpose

pytestmark = pytest.mark.usefixtures("policies")

LANGUAGES = ("en", "zh-hans")


def _client(user, language: str) -> Client:
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    client.force_login(user)
    return client


def _shown_first(html: str) -> str:
    """The page's main part with every ``<details>`` disclosure taken out."""
    main = html.split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return re.sub(r"<details\b.*?</details>", "", main, flags=re.S)


def _technical(shown: str) -> list[str]:
    """What only a machine or a specialist reads, in the text of ``shown`` (what a form sends
    is not read: a hidden input's value is no text), and links to bare JSON answers."""
    names = "|".join(re.escape(store.name) for store in inventory.stores())
    text = html.unescape(re.sub(r"<[^>]*>", " ", shown))
    patterns = [
        r"\b[0-9a-f]{32,}\b",  # hashes, pseudonyms, signatures
        rf"(?<![\w.])(?:{names})(?![\w.])",  # store codes
        r"\{\s*\"",  # raw JSON
        r"SHA-256|Ed25519|RFC 8785|Kantara|piiPrincipalId",
    ]
    found = [found for pattern in patterns for found in re.findall(pattern, text)]
    return found + re.findall(r'href="/api/[^"]*"', shown)


def _grant(client: Client, purpose: str, language: str) -> ConsentRecord:
    text = PolicyText.objects.get(
        policy=Purpose.objects.get(code=purpose).current_version, language=language
    )
    quote = {"purpose": purpose, "version": text.policy.version, "sha256": text.sha256}
    assert client.post("/consent/grant/", {**quote, "lang": language}).status_code == 302
    return ConsentRecord.objects.filter(purpose__code=purpose).latest("id")


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_receipt_says_what_was_agreed_in_plain_words_and_keeps_the_proof_in_a_disclosure(
    alice, language
):
    client = _client(alice, language)
    record = _grant(client, "face_swap", language)

    page = client.get(f"/consent/receipts/{record.receipt_id}/").content.decode()

    shown = _shown_first(page)
    assert not _technical(shown), _technical(shown)
    assert PolicyText.objects.get(policy=record.policy, language=language).title in shown
    proof = page.split("<details", 1)[1]
    assert record.text_sha256 in proof and "piiPrincipalId" in proof  # one disclosure away


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("path", ["/consent/", "/privacy/"])
def test_consent_cards_and_the_privacy_page_keep_fingerprints_in_a_disclosure(
    alice, language, path
):
    page = _client(alice, language).get(path).content.decode()

    assert not _technical(_shown_first(page)), _technical(_shown_first(page))
    sha256 = PolicyText.objects.get(
        policy=Purpose.objects.get(code="face_swap").current_version, language=language
    ).sha256
    assert sha256 in page.split("<details", 1)[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("language", LANGUAGES)
def test_the_erasure_certificate_names_each_store_in_plain_words_and_the_proof_in_a_disclosure(
    alice, enrolled, _sms_outbox, language
):
    from tests.erasure.kit import portal_erase

    enrolled(alice)
    client = _client(alice, "en")
    assert portal_erase(client, _sms_outbox).status_code == 302
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language

    page = client.get("/account/delete/status/").content.decode()

    shown = _shown_first(page)
    assert not _technical(shown), _technical(shown)
    with translation.override(language):
        for store in inventory.stores():
            assert translation.gettext(store.what) in html.unescape(shown), store.name
    proof = page.split("<details", 1)[1]
    assert "biometrics.captures" in proof and "/api/v1/audit/" in proof
    assert "/transparency/" in shown  # how anyone checks it, in words


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_a_spent_or_expired_recording_prompt_is_explained_without_the_word_challenge(
    alice, grant_consent, language
):

    from django.utils import timezone

    from biometrics.models import LivenessChallenge
    from biometrics.services import liveness_challenge_issue, liveness_challenge_use
    from compliance_site.errors import ApplicationError

    grant_consent(alice, "biometric_enrolment")
    used = liveness_challenge_issue(subject=alice)
    liveness_challenge_use(subject=alice, challenge_id=used.pk)
    expired = liveness_challenge_issue(subject=alice)
    LivenessChallenge.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    words = {"en": ("record again", "challenge"), "zh-hans": ("重新录制", "挑战")}[language]

    for challenge in (used, expired):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            liveness_challenge_use(subject=alice, challenge_id=challenge.pk)
        plain, jargon = words
        assert plain in str(refused.value.detail) and jargon not in str(refused.value.detail)
