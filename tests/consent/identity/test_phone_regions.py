"""National-format numbers: the region they are read in (a picker on the sign-in page, a
``region`` field in the API), and that both spellings of a number are one person."""

from __future__ import annotations

import re

import phonenumbers
import pytest
from django.test import Client
from django.urls import reverse

from consent.identity.models import SendWindow, SessionNumber, SmsDevice, User
from consent.identity.selectors import phone_digest, phone_region_choices
from consent.identity.services import check_phone
from tests.consent.conftest import REQUEST_URL, VERIFY_URL, last_code

pytestmark = pytest.mark.django_db

LOGIN = reverse("consent:login")
VERIFY = reverse("consent:login_verify")
CN_NATIONAL, CN_E164 = "13800138000", "+8613800138000"
GB_NATIONAL, GB_E164 = "07400 166777", "+447400166777"


def _request(api, phone: str, **fields):
    return api.post(REQUEST_URL, {"phone": phone, **fields}, format="json")


def _verify(api, phone: str, code: str, **fields):
    return api.post(VERIFY_URL, {"phone": phone, "code": code, **fields}, format="json")


@pytest.mark.parametrize(
    ("phone", "region", "e164"),
    [(CN_NATIONAL, "CN", CN_E164), (GB_NATIONAL, "GB", GB_E164), ("138 0013 8000", "cn", CN_E164)],
)
def test_a_national_number_with_its_region_is_texted_in_e164(api, outbox, phone, region, e164):
    response = _request(api, phone, region=region)

    assert response.status_code == 202
    assert [message.to for message in outbox] == [e164]


def test_a_national_number_without_a_region_is_still_refused_by_the_api(api, outbox):
    response = _request(api, CN_NATIONAL)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert outbox == []


def test_an_international_number_ignores_the_region(api, outbox):
    response = _request(api, CN_E164, region="GB")

    assert response.status_code == 202
    assert [message.to for message in outbox] == [CN_E164]


def test_a_national_number_read_in_the_wrong_region_is_refused(api, outbox):
    response = _request(api, CN_NATIONAL, region="GB")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert outbox == []


@pytest.mark.parametrize("region", ["", "ZZ", "GBR", "001", "C", "中国", " ", "X" * 500])
def test_an_unknown_region_is_refused_with_invalid_region(api, outbox, region):
    for url in (REQUEST_URL, VERIFY_URL):
        response = api.post(
            url, {"phone": CN_E164, "code": "123456", "region": region}, format="json"
        )

        assert response.status_code == 400, url
        body = response.json()
        assert body["code"] == "invalid_region", url
        assert "ISO 3166" in body["detail"]
    assert outbox == []
    assert not SendWindow.objects.exists()


@pytest.mark.parametrize("region", [86, None, ["CN"], {"code": "CN"}])
def test_a_region_that_is_not_text_is_refused_as_invalid(api, outbox, region):
    response = _request(api, CN_NATIONAL, region=region)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert outbox == []


def test_the_national_and_the_international_spelling_are_one_person(api, outbox):
    assert _request(api, CN_NATIONAL, region="CN").status_code == 202
    # The code sent for the national spelling signs in with the international one...
    response = _verify(api, CN_E164, last_code(outbox))
    assert response.status_code == 200
    # ...and the other way round, into the same account.
    assert _request(api, CN_E164).status_code == 202
    response = _verify(api, CN_NATIONAL, last_code(outbox), region="CN")
    assert response.status_code == 200

    assert list(User.objects.values_list("phone_number", flat=True)) == [CN_E164]
    assert SmsDevice.objects.get().phone_digest == phone_digest(check_phone(CN_E164))
    # Both sends were counted against the same number's limits, not two numbers' limits.
    number_rows = SendWindow.objects.filter(phone_digest=phone_digest(check_phone(CN_E164)))
    assert number_rows.count() == 2  # per number and network, per number in all
    assert all(len(row.hits) == 2 for row in number_rows)
    assert SendWindow.objects.count() == 4


def test_the_send_limit_counts_both_spellings_of_one_number(api, outbox, settings):
    settings.OTP_SEND_LIMIT_PER_NUMBER = 2

    assert _request(api, CN_NATIONAL, region="CN").status_code == 202
    assert _request(api, "+86 138 0013 8000").status_code == 202
    response = _request(api, "138-0013-8000", region="cn")

    assert response.status_code == 429
    assert len(outbox) == 2


# --- the portal's picker ------------------------------------------------------------------------


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def _csrf(client: Client) -> str:
    page = client.get(LOGIN)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match
    return match.group(1)


def _post(client: Client, url: str, data: dict):
    return client.post(url, {**data, "csrfmiddlewaretoken": _csrf(client)})


@pytest.mark.parametrize(("language", "selected"), [("zh-hans", "CN"), ("en", "GB")])
def test_the_sign_in_page_picks_the_country_of_the_page_language(browser, language, selected):
    browser.cookies["django_language"] = language

    html = browser.get(LOGIN).content.decode()

    chosen = re.findall(r'<option value="([A-Z]{2})" selected>([^<]*)</option>', html)
    assert len(chosen) == 1
    assert chosen[0][0] == selected
    assert chosen[0][1] == {"CN": "中国 (+86)", "GB": "United Kingdom (+44)"}[selected]
    assert html.count("<option ") > 200


@pytest.mark.parametrize(
    ("language", "phone", "e164"), [("zh-hans", CN_NATIONAL, CN_E164), ("en", GB_NATIONAL, GB_E164)]
)
def test_a_national_number_signs_in_with_the_page_language_country(
    browser, outbox, language, phone, e164
):
    browser.cookies["django_language"] = language
    # The picker sent as the page drew it, and a client that leaves it out: the same.
    for fields in ({"phone": phone, "region": ""}, {"phone": phone}):
        response = _post(browser, LOGIN, fields)
        assert response.status_code == 302, response.content.decode()
        assert outbox[-1].to == e164
        assert SessionNumber.objects.get().phone_number == e164

    response = _post(browser, VERIFY, {"code": last_code(outbox)})

    assert response.status_code == 302
    assert User.objects.get().phone_number == e164


def test_the_chosen_country_reads_the_national_number(browser, outbox):
    browser.cookies["django_language"] = "en"  # the page says GB; the person chose China

    response = _post(browser, LOGIN, {"phone": CN_NATIONAL, "region": "CN"})

    assert response.status_code == 302
    assert outbox[-1].to == CN_E164


def test_an_unknown_country_in_the_picker_is_explained(browser, outbox):
    response = _post(browser, LOGIN, {"phone": CN_NATIONAL, "region": "XX"})

    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert outbox == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_every_country_in_the_picker_is_named_in_the_page_language(language):
    choices = phone_region_choices(language)

    assert len(choices) == len(phonenumbers.SUPPORTED_REGIONS)
    assert [code for code, name in choices if name.startswith(code + " ")] == []
    if language == "zh-hans":
        latin = [name for _code, name in choices if re.search(r"[A-Za-z]", name)]
        assert latin == []
