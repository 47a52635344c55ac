from __future__ import annotations

import pytest

from consent.identity.models import SendWindow, SmsDevice
from tests.consent.conftest import request_code

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("phone", "kind"),
    [
        ("07400123456", "no country code"),
        ("+44 7700 900123", "invalid (reserved for drama)"),
        ("+4474001234567890", "too long"),
        ("not a number", "not a number"),
        ("+447400123456 ext. 12", "with an extension"),
        ("+44 20 7183 8750", "fixed line"),
        ("+44 909 876 5432", "premium rate"),
        ("+1 900 234 5678", "premium rate"),
        ("+44 800 123 4567", "toll free"),
        ("+49 180 12345", "shared cost"),
        ("+44 56 1234 5678", "VOIP"),
        ("+44 70 1234 5678", "personal number"),
        ("+44 76 4012 3456", "pager"),
    ],
)
def test_a_number_that_cannot_receive_our_sms_is_refused_with_invalid_phone(
    api, outbox, phone, kind
):
    response = request_code(api, phone)

    assert response.status_code == 400, kind
    body = response.json()
    assert body["code"] == "invalid_phone"
    assert body["detail"]
    assert outbox == []
    assert not SendWindow.objects.exists() and not SmsDevice.objects.exists()


def test_a_number_in_a_blocked_country_is_refused(api, outbox, settings):
    settings.OTP_BLOCKED_COUNTRY_CODES = [49]

    response = request_code(api, "+4915123456789")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_phone"
    assert outbox == []


@pytest.mark.parametrize(
    "phone",
    [
        "+447400123456",
        "+44 7400 123456",
        "+44 (0) 7400-123-456",
        "+4915123456789",
        "+8613800138000",
        "+1 201 555 0123",  # the US plan cannot tell mobile from fixed: allowed
    ],
)
def test_mobile_numbers_in_any_common_format_are_accepted_and_texted_in_e164(api, outbox, phone):
    response = request_code(api, phone)

    assert response.status_code == 202
    assert outbox[0].to.startswith("+")
    assert outbox[0].to.replace("+", "").isdigit()
