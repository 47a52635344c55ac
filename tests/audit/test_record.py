from __future__ import annotations

import json

import pytest
import rfc8785
from django.db import transaction

from audit.actions import AuditAction
from audit.models import AuditEvent, SubjectPseudonym
from audit.services import audit_record, pseudonym_erase, pseudonym_for
from compliance_site import request_context

pytestmark = pytest.mark.django_db


def test_an_event_names_the_subject_by_pseudonym_and_keeps_the_request_id(alice, staff):
    token = request_context.request_id.set("0b7c5e9e-5b7a-4a43-9d0c-3f1f6f0f9a11")
    try:
        with transaction.atomic():
            event = audit_record(
                actor=staff,
                subject=alice,
                action=AuditAction.STAFF_VIEWED_SUBJECT,
                object_type="user",
                object_id="report",
                purpose="support",
                data={"reason": "ticket 7", "pages": 2},
            )
    finally:
        request_context.request_id.reset(token)
    stored = AuditEvent.objects.get(pk=event.pk)
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym
    assert len(pseudonym) == 32 and int(pseudonym, 16) >= 0
    assert stored.actor == f"staff:{staff.pk}"
    assert stored.subject == pseudonym
    assert stored.action == AuditAction.STAFF_VIEWED_SUBJECT
    assert stored.request_id == "0b7c5e9e-5b7a-4a43-9d0c-3f1f6f0f9a11"
    assert stored.data == {"reason": "ticket 7", "pages": 2}
    assert stored.data_jcs == '{"pages":2,"reason":"ticket 7"}'
    assert "447700900001" not in json.dumps(stored.__dict__, default=str)


def test_a_subject_acting_is_named_by_the_same_pseudonym_as_when_acted_upon(alice):
    with transaction.atomic():
        event = audit_record(actor=alice, subject=alice, action=AuditAction.LOGIN)
    assert event.actor == f"subject:{pseudonym_for(alice)}"
    assert event.subject == pseudonym_for(alice)


def test_the_system_actor_and_no_subject_are_recorded_as_such():
    with transaction.atomic():
        event = audit_record(actor=None, subject=None, action=AuditAction.AUDIT_VERIFIED)
    assert (event.actor, event.subject, event.request_id) == ("system", "", "")


def test_a_rolled_back_change_leaves_no_event(alice):
    before = AuditEvent.objects.count()
    with pytest.raises(ZeroDivisionError):
        with transaction.atomic():
            audit_record(actor=alice, subject=alice, action=AuditAction.LOGIN)
            1 / 0  # noqa: B018 - the change fails after the event was written
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "data",
    [
        {"phone": "+447700900123"},
        {"note": "call me on +44 7700 900123 please"},
        {"nested": {"list": ["ok", "+14155550100"]}},
        {"+447700900123": "as a key"},
        {"ip": "203.0.113.9"},
        {"ip": "client 192.168.1.20 said hi"},
        {"ip6": "2001:db8::1"},
        {"ip6": "::1"},
        {"raw": b"\x89PNG"},
        {"when": object()},
    ],
)
def test_data_with_a_phone_number_ip_address_or_bytes_is_refused(alice, data):
    with transaction.atomic(), pytest.raises(ValueError):
        audit_record(actor=None, subject=alice, action=AuditAction.LOGIN, data=data)
    assert not AuditEvent.objects.exists()


def test_fields_with_a_phone_number_are_refused(alice):
    with transaction.atomic(), pytest.raises(ValueError):
        audit_record(actor=None, subject=alice, action=AuditAction.LOGIN, object_id="+447700900123")


@pytest.mark.parametrize(
    "data",
    [
        {"time": "12:30:45", "version": "1.2.3", "count": 12345678901, "mac": "aa:bb:cc:dd"},
        {"score": 0.93, "codes": [1, 2, 3], "ok": True, "none": None},
        {"text": '数据 \u2028 "quoted" \\ \n tab\t'},
    ],
)
def test_ordinary_data_is_accepted(alice, data):
    with transaction.atomic():
        event = audit_record(actor=None, subject=alice, action=AuditAction.LOGIN, data=data)
    assert AuditEvent.objects.get(pk=event.pk).data == data


CANONICAL_CASES = [
    {"step": "created", "count": 3},
    {"b": [1, {"z": None, "a": True}], "a": "x", "B": -(2**53 - 1), "": 2**53 - 1},
    {"text": '数据 \u2028 "quoted" \\ / \n\t\b\f\r \x01\x1f\x7f é 😀'},
    {"nested": {"deeper": {"list": [[], {}, "", 0, False]}}},
    {"score": 0.93, "big": 1e21, "small": 5e-324, "neg": -0.0},  # floats: the general path
    {"é": 1, "e": 2, "\ue000": 3, "😀": 4},  # non-ASCII keys: sorted by UTF-16 units
    {"tuple": (1, 2), "action": AuditAction.LOGIN},  # a tuple and an int subclass
]


@pytest.mark.parametrize("data", CANONICAL_CASES)
def test_data_is_stored_as_its_rfc_8785_canonical_json(alice, data):
    """Plain data takes a faster canonicaliser than the rest; both must give the exact RFC 8785
    bytes, which the leaf embeds (an independent implementation is the reference)."""
    with transaction.atomic():
        event = audit_record(actor=None, subject=alice, action=AuditAction.LOGIN, data=data)
    stored = AuditEvent.objects.get(pk=event.pk).data_jcs
    assert stored.encode() == rfc8785.dumps(data)


@pytest.mark.parametrize("data", [{"big": 2**53}, {"list": [-(2**53)]}, {"nan": float("nan")}])
def test_data_no_canonical_json_can_hold_is_refused(alice, data):
    with transaction.atomic(), pytest.raises(ValueError, match="cannot be canonicalised"):
        audit_record(actor=None, subject=alice, action=AuditAction.LOGIN, data=data)


def test_an_unknown_action_is_refused(alice):
    with transaction.atomic(), pytest.raises(ValueError):
        audit_record(actor=None, subject=alice, action=99999)


def test_erasing_a_pseudonym_forgets_the_mapping_and_a_new_one_is_made_later(alice):
    first = pseudonym_for(alice)
    pseudonym_erase(subject_id=alice.pk)
    assert not SubjectPseudonym.objects.filter(subject_id=alice.pk).exists()
    assert pseudonym_for(alice) != first


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_raises(alice):
    before = AuditEvent.objects.count()
    with pytest.raises(RuntimeError, match="no event, no change"):
        audit_record(actor=None, subject=alice, action=AuditAction.LOGIN)
    assert AuditEvent.objects.count() == before
    assert not SubjectPseudonym.objects.filter(subject_id=alice.pk).exists()
