"""The consent centre, receipts and the privacy notice, through the portal (Django Client)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from consent.ledger.gate import ConsentRequired, require_consent
from consent.ledger.models import ConsentRecord
from tests.consent.conftest import last_code, quote

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("policies")]

CENTRE = "/consent/"
PARENT = "+447400166666"


@pytest.fixture
def browser(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    return client


def _post(client: Client, url: str, data: dict, *, page: str = CENTRE):
    token = re.search(
        r'name="csrfmiddlewaretoken" value="([^"]+)"', client.get(page).content.decode()
    )
    assert token, "the page has no CSRF token"
    return client.post(url, {**data, "csrfmiddlewaretoken": token.group(1)})


def _grant(client: Client, purpose: str, language: str = "en"):
    return _post(client, "/consent/grant/", {**quote(purpose, language), "lang": language})


def test_the_centre_shows_every_purpose_in_full_with_nothing_pre_ticked(browser):
    page = browser.get(CENTRE)

    html = page.content.decode()
    assert page.status_code == 200
    for purpose in ("biometric_enrolment", "face_swap", "output_storage", "ephemeral_swap"):
        assert f'id="purpose-{purpose}"' in html
    assert "We take no licence, ownership or other right to your face or likeness." in html
    assert "swaps that are waiting or running are cancelled at once" in html
    assert "useful only together with" in html  # face_swap needs biometric enrolment
    assert "checkbox" not in html
    assert " checked" not in html
    assert html.count('action="/consent/grant/"') == 4  # one explicit button per purpose
    assert "Not given." in html


def test_a_grant_and_a_withdrawal_are_one_button_each(browser, alice):
    granted = _grant(browser, "biometric_enrolment")

    assert granted.status_code == 302
    assert granted["Location"] == "/consent/?lang=en#purpose-biometric_enrolment"
    require_consent(subject=alice, purpose="biometric_enrolment")
    page = browser.get(granted["Location"]).content.decode()
    assert "Consent given (version 2)." in page
    assert "Your consent is recorded" in page

    withdrawn = _post(browser, "/consent/withdraw/", {"purpose": "biometric_enrolment"})

    assert withdrawn.status_code == 302
    with pytest.raises(ConsentRequired):
        require_consent(subject=alice, purpose="biometric_enrolment")
    records = ConsentRecord.objects.filter(subject=alice).order_by("id")
    assert [(r.action, r.method) for r in records] == [("grant", "portal"), ("withdraw", "portal")]


def test_the_history_links_receipts_that_download_as_json_and_pdf(browser):
    _grant(browser, "face_swap")
    record = ConsentRecord.objects.get()

    page = browser.get(CENTRE).content.decode()
    pdf = browser.get(f"/consent/receipts/{record.receipt_id}.pdf")
    receipt_page = browser.get(f"/consent/receipts/{record.receipt_id}/")

    assert f"/consent/receipts/{record.receipt_id}.pdf" in page
    assert f"/consent/receipts/{record.receipt_id}.json" in page
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert receipt_page.status_code == 200
    assert record.text_sha256 in receipt_page.content.decode()


def test_the_chinese_page_shows_the_chinese_texts_and_grants_the_chinese_text(browser, alice):
    page = browser.get(f"{CENTRE}?lang=zh-hans")

    html = page.content.decode()
    assert page.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "生物识别登记——同意采集并保存我的人脸数据" in html
    assert "我们不取得您的面部或肖像的任何许可" in html
    assert quote("face_swap", "zh-hans")["sha256"] in html

    response = _grant(browser, "face_swap", "zh-hans")

    assert response["Location"].startswith("/consent/?lang=zh-hans")
    record = ConsentRecord.objects.get()
    assert record.language == "zh-hans"
    pdf = browser.get(f"/consent/receipts/{record.receipt_id}.pdf")
    assert pdf.content.startswith(b"%PDF")


def test_the_language_follows_accept_language_and_ignores_unknown_choices(browser):
    chinese = browser.get(CENTRE, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")
    unknown = browser.get(f"{CENTRE}?lang=klingon")

    assert "换脸——同意将我的人脸模板用于我发起的换脸" in chinese.content.decode()
    assert unknown.status_code == 200
    assert "Face swap — consent to use my face template" in unknown.content.decode()


def test_a_page_quoting_another_text_cannot_grant(browser):
    stale = {**quote("face_swap"), "sha256": "0" * 64, "lang": "en"}

    response = _post(browser, "/consent/grant/", stale)

    assert response.status_code == 409
    assert "This is not the current text" in response.content.decode()
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    "data",
    [{}, {"purpose": "face_swap"}, {"purpose": "face_swap", "version": "x", "sha256": "0" * 64}],
)
def test_an_incomplete_grant_form_is_a_400_and_writes_nothing(browser, data):
    response = _post(browser, "/consent/grant/", data)

    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()


def test_withdrawing_what_was_not_granted_shows_why(browser):
    response = _post(browser, "/consent/withdraw/", {"purpose": "output_storage"})

    assert response.status_code == 409
    assert "nothing to withdraw" in response.content.decode()


def test_the_centre_and_receipts_need_a_signed_in_subject(alice):
    stranger = Client()

    assert stranger.get(CENTRE).status_code == 302
    assert stranger.post("/consent/grant/", quote("face_swap")).status_code in (302, 403)
    assert not ConsentRecord.objects.exists()


def test_the_privacy_notice_is_public_and_generated_from_the_current_policies(settings):
    client = Client()

    english = client.get("/privacy/")
    chinese = client.get("/privacy/?lang=zh-hans")

    assert english.status_code == 200
    html = english.content.decode()
    assert settings.CONTROLLER_NAME in html
    assert settings.CONTROLLER_EMAIL in html
    for purpose in ("biometric_enrolment", "face_swap", "output_storage"):
        assert quote(purpose)["sha256"] in html
    assert "365 days after you last used it" in html
    assert "Does not require the face swap consent" in html
    assert "结果保存——同意在我的账户中保存换脸结果" in chinese.content.decode()


def test_consent_texts_are_shown_whole_and_the_fingerprint_is_one_disclosure_away(browser):
    html = browser.get(CENTRE).content.decode()

    # No scroll box that cuts the text (where retention and erasure are said) mid-line.
    assert '<div class="policy-text" lang="en">' in html and 'tabindex="0"' not in html
    css = (Path(settings.BASE_DIR) / "consent/static/faceledger/site.css").read_text()
    rule = re.search(r"\.policy-text \{(.*?)\}", css, flags=re.S).group(1)
    assert "max-height" not in rule and "overflow" not in rule
    # Plain words first; the SHA-256 inside a details disclosure.
    proofs = re.findall(r"<details class=\"proof\">(.*?)</details>", html, flags=re.S)
    assert any(quote("face_swap")["sha256"] in proof for proof in proofs)
    assert html.count(quote("face_swap")["sha256"]) == 2  # the disclosure and the grant's quote


def test_the_dashboard_links_to_the_consent_centre(browser):
    assert 'href="/consent/"' in browser.get("/dashboard/").content.decode()


def test_a_page_that_needs_a_consent_links_to_its_card_and_the_grant_goes_back(browser):
    centre = browser.get("/consent/?next=/swaps/").content.decode()
    granted = _post(
        browser,
        "/consent/grant/",
        {**quote("face_swap"), "lang": "en", "next": "/swaps/"},
        page="/consent/?next=/swaps/",
    )

    assert 'name="next" value="/swaps/"' in centre  # carried by each grant button
    assert 'class="back-link" href="/swaps/"' in centre
    assert granted.status_code == 302 and granted["Location"] == "/swaps/"
    assert require_consent(subject=ConsentRecord.objects.get().subject, purpose="face_swap") is None


@pytest.mark.parametrize("elsewhere", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_the_grant_never_goes_back_to_another_site(browser, elsewhere):
    centre = browser.get(f"/consent/?next={elsewhere}").content.decode()
    granted = _post(
        browser, "/consent/grant/", {**quote("face_swap"), "lang": "en", "next": elsewhere}
    )

    assert "evil" not in centre
    assert granted.status_code == 302 and granted["Location"].startswith("/consent/")


def test_a_child_asks_a_guardian_in_the_portal_and_the_guardian_grants_there(
    browser, alice, outbox
):
    _post(browser, "/consent/under-14/", {})
    page = browser.get(CENTRE).content.decode()
    assert 'action="/consent/grant/"' not in page
    assert "Ask a parent or guardian" in page

    sent = _post(browser, "/consent/guardian/request/", {"purpose": "face_swap", "phone": PARENT})
    assert sent.status_code == 302
    form_page = browser.get(sent["Location"])
    assert "换脸" not in form_page.content.decode()
    assert "Face swap — consent to use my face template" in form_page.content.decode()

    granted = _post(
        browser,
        "/consent/guardian/",
        {**quote("face_swap"), "code": last_code(outbox), "relationship": "parent", "lang": "en"},
        page="/consent/guardian/",
    )

    assert granted.status_code == 302
    require_consent(subject=alice, purpose="face_swap")
    record = ConsentRecord.objects.get(subject=alice)
    assert record.guardian_pseudonym
    assert "Given by a parent or guardian." in browser.get(CENTRE).content.decode()


def test_a_child_on_the_chinese_page_asks_a_guardian_by_a_national_number(browser, outbox):
    _post(browser, "/consent/under-14/", {})
    page = browser.get(f"{CENTRE}?lang=zh-hans").content.decode()
    assert 'id="guardian-region"' in page and '<option value="CN" selected>' in page
    assert "国家/地区代码" in page

    sent = _post(
        browser,
        "/consent/guardian/request/",
        {"purpose": "face_swap", "phone": "138 0013 8000", "region": "CN", "lang": "zh-hans"},
    )

    assert sent.status_code == 302
    assert outbox[-1].to == "+8613800138000"
