"""Helpers for the identity tests: an API client, the SMS outbox, the audit events written."""

from __future__ import annotations

import re

import pytest
from django.db.models import Max
from rest_framework.test import APIClient

from audit.actions import AuditAction
from audit.models import AuditEvent

REQUEST_URL = "/api/v1/auth/otp/request"
VERIFY_URL = "/api/v1/auth/otp/verify"
LOGOUT_URL = "/api/v1/auth/logout"
# A valid UK mobile number that no fixture uses.
NEW_NUMBER = "+447400155555"


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def audit_log(db):
    """``audit_log()`` → the (action name, data) of every event written since the fixture."""
    start = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0

    def read(*, with_data: bool = False):
        events = AuditEvent.objects.filter(id__gt=start).order_by("id")
        if with_data:
            return [(AuditAction(e.action).name, e.data) for e in events]
        return [AuditAction(e.action).name for e in events]

    return read


def last_code(outbox) -> str:
    """The 6-digit code in the newest text message."""
    match = re.search(r"\b(\d{6})\b", outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def request_code(api, phone: str, **extra):
    return api.post(REQUEST_URL, {"phone": phone}, format="json", **extra)


def verify_code(api, phone: str, code: str, **extra):
    return api.post(VERIFY_URL, {"phone": phone, "code": code}, format="json", **extra)


def wrong(code: str) -> str:
    """A code that is certainly not ``code``."""
    return f"{(int(code) + 1) % 1_000_000:06d}"


@pytest.fixture
def outbox(_sms_outbox):
    """The text messages sent during this test (``consent.identity.sms.outbox``)."""
    return _sms_outbox


# --- the consent ledger -------------------------------------------------------------------------


def quote(purpose: str, language: str = "en") -> dict:
    """What a client sends to grant: the purpose, its current version and that text's SHA-256."""
    from consent.ledger.models import PolicyText, Purpose

    current = Purpose.objects.get(code=purpose).current_version
    text = PolicyText.objects.get(policy=current, language=language)
    return {"purpose": purpose, "version": current.version, "sha256": text.sha256}


def token_client(user) -> APIClient:
    """An API client signed in as ``user`` with a real (hashed, expiring) API token."""
    import secrets
    from datetime import timedelta

    from django.utils import timezone

    from consent.identity.models import ApiToken
    from consent.identity.selectors import token_digest

    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(
        user=user, key_digest=token_digest(key), expires_at=timezone.now() + timedelta(hours=1)
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def alice_api(alice, policies):
    return token_client(alice)


@pytest.fixture
def bob_api(bob, policies):
    return token_client(bob)


@pytest.fixture
def ledger_events(db):
    """``ledger_events()`` → (action name, purpose, data) of every event written since."""
    start = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0

    def read():
        events = AuditEvent.objects.filter(id__gt=start).order_by("id")
        return [(AuditAction(e.action).name, e.purpose, e.data) for e in events]

    return read


@pytest.fixture
def erasable_store(monkeypatch):
    """``erasable_store(purpose, held={subject_id: items})`` registers a real inventory store
    for ``purpose`` that erases from ``held``; returns the list of subject ids it erased."""
    from compliance_site import inventory

    # Only the test's stores erase on withdrawal (the apps' own are tested in their apps).
    kept = {name: store for name, store in inventory._stores.items() if not store.purposes}
    monkeypatch.setattr(inventory, "_stores", kept)

    def register(purpose: str, held: dict[int, int], name: str = "tests.faces"):
        calls: list[int] = []

        def erase(subject_id: int) -> int:
            calls.append(subject_id)
            return held.pop(subject_id, 0)

        inventory.register(
            inventory.Store(
                name=name,
                what="test items",
                why="testing withdrawal",
                retention="none",
                legal_basis="consent",
                locate=lambda sid: [f"{name}:{sid}"] * held.get(sid, 0),
                export=lambda sid: held.get(sid, 0),
                erase=erase,
                band=inventory.Band.CAPTURES,
                purposes=(purpose,),
            )
        )
        return calls

    return register
