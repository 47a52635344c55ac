"""Malformed requests get a 4xx with a ``code``, never a 500, and change nothing."""

from __future__ import annotations

import json

import pytest
from django.apps import apps

from tests.consent.conftest import NEW_NUMBER, REQUEST_URL, VERIFY_URL, last_code, request_code

pytestmark = pytest.mark.django_db

ONE_MEGABYTE_PHONE = "+44" + "7" * (1024 * 1024)


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


@pytest.fixture
def unchanged(outbox):
    """Asserts, after the test, that no table gained or lost a row and no SMS went out."""
    before = _row_counts()
    yield
    assert _row_counts() == before
    assert outbox == []


BAD_JSON_BODIES = [
    {},
    {"phone": None},
    {"phone": 447400123456},
    {"phone": 4.5},
    {"phone": True},
    {"phone": ["+447400123456"]},
    {"phone": {"number": "+447400123456"}},
    {"phone": ""},
    {"phone": ONE_MEGABYTE_PHONE},
    {"telephone": "+447400123456"},
    [],
    ["+447400123456"],
    "+447400123456",
    42,
    None,
]


@pytest.mark.parametrize("url", [REQUEST_URL, VERIFY_URL])
@pytest.mark.parametrize("body", BAD_JSON_BODIES, ids=lambda b: json.dumps(b)[:40])
def test_a_malformed_json_body_gets_a_400_with_a_code(api, unchanged, url, body):
    response = api.post(url, json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    # A body that is not a JSON object is refused by the parser, before any field is looked at.
    expected = "invalid" if isinstance(body, dict) else "malformed_request"
    assert response.json()["code"] == expected
    assert response.json()["detail"]


@pytest.mark.parametrize(
    "code",
    [
        None,
        123456,
        12345.6,
        True,
        ["123456"],
        "",
        "12345",
        "1234567",
        "12a456",
        "١٢٣٤٥٦",
        "x" * 10_000,
    ],
)
def test_a_malformed_code_gets_a_400_and_is_not_counted_as_an_attempt(api, outbox, code):
    request_code(api, NEW_NUMBER)
    before = _row_counts()

    response = api.post(VERIFY_URL, {"phone": NEW_NUMBER, "code": code}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert _row_counts() == before
    # Not a failed attempt: the real code still works at once (no back-off).
    ok = api.post(VERIFY_URL, {"phone": NEW_NUMBER, "code": last_code(outbox)}, format="json")
    assert ok.status_code == 200


@pytest.mark.parametrize("url", [REQUEST_URL, VERIFY_URL])
@pytest.mark.parametrize(
    "raw",
    [b"{", b"not json", b'{"phone": "+447400123456"', b"\xff\xfe\x00", b'{"phone": NaN}'],
    ids=["truncated", "text", "unterminated", "binary", "nan"],
)
def test_a_body_that_is_not_json_gets_a_400_malformed_request(api, unchanged, url, raw):
    response = api.post(url, raw, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["code"] in {"malformed_request", "invalid"}


@pytest.mark.parametrize("url", [REQUEST_URL, VERIFY_URL])
def test_a_form_encoded_body_gets_a_415(api, unchanged, url):
    response = api.post(
        url, "phone=%2B447400123456", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


@pytest.mark.parametrize("url", [REQUEST_URL, VERIFY_URL])
def test_a_get_is_405_with_a_code(api, unchanged, url):
    response = api.get(url)

    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_a_one_megabyte_phone_number_is_refused_quickly(api, unchanged):
    response = request_code(api, ONE_MEGABYTE_PHONE)

    assert response.status_code == 400
    assert "phone" in response.json()["fields"]
