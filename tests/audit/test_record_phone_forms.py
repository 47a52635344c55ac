"""audit_record refuses a mobile number in any form people write one (international with "+"
or "00", digits only, national for the regions we serve), and still takes the service's own
identifiers: UUIDs, counts, receipt ids, digests, timestamps, versions."""

from __future__ import annotations

import hashlib
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from audit.actions import AuditAction
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db

PHONE_FORMS = [
    "00447400123456",
    "447400123456",
    "07400123456",
    "07400 123456",
    "07400-123-456",
    "(0)7400 123 456",
    "0044 7400 123456",
    "44 7400 123456",
    "call 07400123456 now",
    "tel:07400123456",
    "13800138000",  # China, national
    "8613800138000",
    "0086 138 0013 8000",
    "14155550100",  # US, digits only with the country code
    "1 415 555 0100",
    "001-415-555-0100",
]


# What an attacker got through: every separator the phone library strips (dots, slashes,
# Unicode dashes and spaces, invisible characters, runs of spaces), URL-encoded "+", links and
# URIs, the US exit code, a number glued to a phone-ish word, digits in other Unicode forms.
ATTACKER_FORMS = [
    "07400.123.456",
    "44.7400.123456",
    "0044.7400.123.456",
    "138.0013.8000",
    "07400\u2013123456",  # en dash
    "07400\u2014123456",  # em dash
    "07400\u2212123456",  # minus sign
    "07400\u00a0123456",  # no-break space
    "07400\u2009123456",  # thin space
    "0740\u200b0123456",  # zero-width space
    "07400    123456",
    "07400\t123456",
    "07400\n123456",
    "07400/123456",
    "+44\u20137400\u2013123456",
    "%2B447400123456",
    "tel:%2B447400123456",
    "tel:+44-7400-123456",
    "sms:07400123456",
    "wa.me/447400123456",
    "https://wa.me/447400123456?text=hi",
    "https://api.whatsapp.com/send?phone=447400123456",
    "01144 7400 123456",
    "phone07400123456",
    "Phone:07400123456",
    "mobile_447400123456",
    "tel447400123456",
    "num=447400123456",
    "number-07400-123456",
    "whatsapp447400123456",
    "电话13800138000",
    "手机：138 0013 8000",
    "⁰⁷⁴⁰⁰¹²³⁴⁵⁶",  # superscript
    "⓪⑦④⓪⓪①②③④⑤⑥",  # circled
    "𝟎𝟕𝟒𝟎𝟎𝟏𝟐𝟑𝟒𝟓𝟔",  # mathematical bold
    "0️⃣7️⃣4️⃣0️⃣0️⃣1️⃣2️⃣3️⃣4️⃣5️⃣6️⃣",  # keycaps
    {"07400.123456": 1},
]


def record(**fields) -> AuditEvent:
    with transaction.atomic():
        return audit_record(actor=None, subject=None, action=AuditAction.LOGIN, **fields)


@pytest.mark.parametrize("text", PHONE_FORMS)
def test_a_mobile_number_in_any_common_form_is_refused_in_data(text):
    with pytest.raises(ValueError, match="phone number"):
        record(data={"note": text})
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("value", ATTACKER_FORMS, ids=repr)
def test_every_separator_and_form_the_phone_library_accepts_is_refused(value):
    with pytest.raises(ValueError, match="phone number"):
        record(data=value if isinstance(value, dict) else {"note": value})
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    "value",
    [
        "id_447400123456",  # glued to a word that does not say "phone": an id, kept
        "n447400123456",
        "order7400123456",
        "07400_123456",  # the phone library does not read "_" as a separator
        "0.7400123456",  # a fraction, not a national number
        "2026-12-06T10:00:00.123456Z",
        "2026.12.06",
        "3.11.7",
        "microphone0740",
        "telemetry 2024",
        "sha256:" + hashlib.sha256(b"1").hexdigest(),
        "captures/2024/01/15/123456.png",
        "price 100.00",
    ],
)
def test_ids_glued_to_other_words_fractions_and_dotted_versions_pass(value):
    event = record(data={"value": value})
    assert AuditEvent.objects.get(pk=event.pk).data == {"value": value}


@pytest.mark.parametrize("field", ["object_id", "purpose", "object_type"])
@pytest.mark.parametrize("text", ["00447400123456", "447400123456", "07400123456"])
def test_a_mobile_number_in_any_common_form_is_refused_in_fields_and_keys(field, text):
    with pytest.raises(ValueError, match="phone number"):
        record(**{field: text})
    with pytest.raises(ValueError, match="phone number"):
        record(data={"nested": [{text: 1}]})


def _service_identifiers() -> list[str]:
    """What the service itself writes into events, in bulk (seeded: the same every run)."""
    rng = random.Random(12)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    values = ["12", "2024", "0", "1", "99", "4711", "1.2.3", "v2", "10.0.1", "3.11.7"]
    for _ in range(3000):
        values.append(str(uuid.UUID(int=rng.getrandbits(128), version=4)))
    for _ in range(500):
        values.append(uuid.UUID(int=rng.getrandbits(128), version=4).hex)
        values.append(hashlib.sha256(rng.randbytes(16)).hexdigest())
        values.append(rng.randbytes(16).hex())
        moment = start + timedelta(seconds=rng.randrange(3 * 365 * 86400), microseconds=1)
        values += [
            moment.isoformat(),
            moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            moment.strftime("%Y-%m-%d %H:%M:%S"),
            moment.date().isoformat(),
            str(int(moment.timestamp())),
            str(rng.randrange(1, 10**6)),
            f"receipt-{uuid.UUID(int=rng.getrandbits(128), version=4)}.pdf",
            f"captures/{rng.randbytes(1).hex()}/{rng.randbytes(16).hex()}.png",
        ]
    return values


def test_the_services_own_identifiers_are_not_taken_for_phone_numbers():
    refused = []
    for value in _service_identifiers():
        try:
            record(object_id=value[:128], data={"id": value, "ids": [value]})
        except ValueError:
            refused.append(value)
    assert refused == []


@pytest.mark.parametrize(
    "data",
    [
        {"policy_sha256": hashlib.sha256(b"policy").hexdigest(), "version": 3},
        {"erased": {"biometrics.capture": 2, "swap.job": 12}, "consent": "granted"},
        {"window": "2026-01-01T00:00:00Z/2026-02-01T00:00:00Z", "events": 2024},
        {"code": "no_motion", "scores": {"yaw": 0.31, "blink": 0.02}},
        {"masked": "+44 74•• ••• •56", "country_code": 44},
        {"user_agent_sha256": "ab" * 32, "languages": ["en", "zh-hans"]},
        {"size": "1920x1080", "duration": "00:00:04.000", "fps": 30},
    ],
)
def test_realistic_event_data_still_passes(data):
    event = record(data=data)
    assert AuditEvent.objects.get(pk=event.pk).data == data
