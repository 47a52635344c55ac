"""Fixtures shared by every app's tests. Network access is blocked except to loopback."""

from __future__ import annotations

import ipaddress
import socket

import pytest

_real_connect = socket.socket.connect


def _is_loopback(address) -> bool:
    if isinstance(address, tuple | list):
        host = address[0]
    else:
        return True  # AF_UNIX sockets (e.g. the PostgreSQL socket) stay on this machine
    if host in {"localhost", ""}:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self, address):
    if not _is_loopback(address):
        raise OSError(f"network access is blocked in tests (tried {address!r})")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network():
    socket.socket.connect = _guarded_connect
    yield
    socket.socket.connect = _real_connect


@pytest.fixture(autouse=True, scope="session")
def _flush_keeps_audit_log():
    """Transactional tests flush tables afterwards; the audit log's triggers refuse that."""
    from django.core.management.commands import flush

    from audit.testing import sql_flush_keeping_audit

    real = flush.sql_flush
    flush.sql_flush = sql_flush_keeping_audit
    yield
    flush.sql_flush = real


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _sms_outbox():
    """Each test starts with an empty ``consent.sms.outbox`` (as Django does for mail)."""
    from consent import sms

    sms.outbox.clear()
    yield sms.outbox
    sms.outbox.clear()


@pytest.fixture
def alice(db):
    from tests.factories import UserFactory

    return UserFactory(phone_number="+447400100001")


@pytest.fixture
def bob(db):
    from tests.factories import UserFactory

    return UserFactory(phone_number="+447400100002")


@pytest.fixture
def staff(db):
    """A staff member with password ``tests.factories.STAFF_PASSWORD`` and a confirmed TOTP
    device (``staff.totp_device``)."""
    from tests.factories import StaffFactory

    return StaffFactory(phone_number="+447911000001")


@pytest.fixture
def policies(db):
    """The purposes and their v1 policies, as the data migration publishes them. Seeded again
    here because a transactional test's flush empties every table, these included."""
    from django.utils import timezone

    from consent.models import PolicyText, PolicyVersion, Purpose
    from consent.policies import seed_v1

    seed_v1(
        purpose_model=Purpose,
        version_model=PolicyVersion,
        text_model=PolicyText,
        now=timezone.now(),
    )
    return Purpose.objects.order_by("position")


@pytest.fixture
def grant_consent(policies):
    """``grant_consent(user, "biometric_enrolment", ...)``: the user consents (through the
    real service, audited, with a receipt) to the current text of each purpose."""
    from consent.models import ConsentRecord, PolicyText, Purpose
    from consent.selectors import ClientEvidence
    from consent.services import consent_grant

    def grant(user, *purposes: str) -> list:
        records = []
        for code in purposes:
            text = PolicyText.objects.get(
                policy=Purpose.objects.get(code=code).current_version, language="en"
            )
            records.append(
                consent_grant(
                    subject=user,
                    purpose=code,
                    version=text.policy.version,
                    sha256=text.sha256,
                    evidence=ClientEvidence(method=ConsentRecord.Method.API),
                )
            )
        return records

    return grant
