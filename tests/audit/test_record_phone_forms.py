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


def record(**fields) -> AuditEvent:
    with transaction.atomic():
        return audit_record(actor=None, subject=None, action=AuditAction.LOGIN, **fields)


@pytest.mark.parametrize("text", PHONE_FORMS)
def test_a_mobile_number_in_any_common_form_is_refused_in_data(text):
    with pytest.raises(ValueError, match="phone number"):
        record(data={"note": text})
    assert not AuditEvent.objects.exists()


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
