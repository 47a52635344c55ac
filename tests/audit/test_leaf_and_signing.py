from __future__ import annotations

import base64
import json

import pytest
import rfc8785
from django.db import transaction

from audit import signing
from audit.actions import AuditAction
from audit.leaves import LEAF_FIELDS, format_time, leaf_bytes_for
from audit.models import AuditEvent
from audit.services import audit_record

pytestmark = pytest.mark.django_db

TRICKY = [
    {},
    {"b": 1, "a": [True, False, None], "é": "naïve", "\u20ac": "€", "z": {"y": {"x": []}}},
    {"float": 0.1, "big": 1e21, "small": 5e-7, "neg": -2.5, "int": 2**53 - 1, "zero": -0.0},
    {"text": 'quote " backslash \\ newline \n tab \t bell \x07 del \x7f ls \u2028 😀'},
    {"\U0001f600": 1, "\ufb33": 2, "a": 3},  # keys sorted by UTF-16 code units, not code points
]


@pytest.mark.parametrize("data", TRICKY)
def test_the_leaf_is_exactly_the_rfc8785_form_of_the_exported_event(alice, staff, data):
    with transaction.atomic():
        event = audit_record(
            actor=staff,
            subject=alice,
            action=AuditAction.STAFF_VIEWED_SUBJECT,
            object_type='ty"pe',
            object_id="ïd\n",
            purpose="p",
            data=data,
        )
    stored = AuditEvent.objects.get(pk=event.pk)
    leaf = leaf_bytes_for(stored, 41)
    exported = json.loads(leaf)
    assert tuple(sorted(exported)) == LEAF_FIELDS
    assert exported["index"] == 41
    assert exported["time"] == format_time(stored.time)
    assert exported["data"] == json.loads(rfc8785.dumps(data))
    assert leaf == rfc8785.dumps(exported)


def test_times_are_utc_with_microseconds_and_z():
    from datetime import datetime, timedelta, timezone

    moment = datetime(2026, 3, 1, 1, 2, 3, tzinfo=timezone(timedelta(hours=8)))
    assert format_time(moment) == "2026-02-28T17:02:03.000000Z"


def test_sign_signs_the_canonical_form_and_its_key_id_with_the_jobs_published_key():
    receipt = {"b": 2, "a": "consent", "n": [1, 2]}
    signed = signing.sign("receipt", receipt)
    assert signed["key_id"] == signing.current_key_id("receipt")
    assert signed["key_id"].startswith("receipt-")
    signature = base64.b64decode(signed["signature"])
    assert len(signature) == 64
    canonical = b'{"a":"consent","b":2,"key_id":"%s","n":[1,2]}' % signed["key_id"].encode()
    signing.public_key("receipt").verify(signature, canonical)  # raises if it does not hold
    assert signing.verify("receipt", {**signed})
    assert not signing.verify("receipt", {**signed, "b": 3})
    assert signing.public_key_pem("receipt").startswith("-----BEGIN PUBLIC KEY-----")
