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


@pytest.fixture(scope="session")
def s3_endpoint(tmp_path_factory):
    """An S3 API server on 127.0.0.1, a process started for this run (tests/media.py)."""
    from tests import media

    with media.s3_server(tmp_path_factory.mktemp("s3") / "server.log") as endpoint:
        yield endpoint


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path, monkeypatch, request):
    """Each test's file store, empty: a folder, or with ``STORAGE_BACKEND=s3`` in the run's
    environment a bucket of its own (also for the worker processes a test starts, through the
    environment). Returns the store's raw view (tests/media.py)."""
    from tests import media

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    if not media.S3:
        return settings.MEDIA_ROOT
    from compliance_site.storage import storages_setting

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = media.new_bucket(endpoint)
    env = media.bucket_env(endpoint, bucket)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGES = storages_setting(
        backend="s3",
        bucket=bucket,
        endpoint_url=endpoint,
        region=env["S3_REGION"],
        access_key=env["S3_ACCESS_KEY_ID"],
        secret_key=env["S3_SECRET_ACCESS_KEY"],
    )
    return media.store_view()


@pytest.fixture(autouse=True)
def key_store(settings, tmp_path):
    """Each test gets its own master-key store holding the fixed test key (settings/test.py),
    so a test that rotates or destroys keys leaves no trace for the next."""
    from compliance_site import keystore

    settings.BIOMETRIC_KEY_STORE = str(keystore.ensure_folder(tmp_path / "keys" / "master"))
    keystore.create(key_id=settings.TEST_MASTER_KEY_ID, key=settings.TEST_MASTER_KEY)
    return keystore.folder()


@pytest.fixture(autouse=True)
def _clear_cache():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _sms_outbox():
    """Each test starts with an empty ``consent.identity.sms.outbox`` (as Django does for mail)."""
    from consent.identity import sms

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
    """The purposes and their current policies (version 2; version 1 of ``ephemeral_swap``), as
    the data migrations publish them (version 1, then version 2 through ``publish_shipped``,
    then purposes added later through ``publish_new_purposes``). Seeded again here because a
    transactional test's flush empties every table, these included."""
    from django.utils import timezone

    from consent.ledger.models import PolicyText, PolicyVersion, Purpose
    from consent.ledger.policies import publish_new_purposes, publish_shipped, seed_v1

    models = {"version_model": PolicyVersion, "text_model": PolicyText, "now": timezone.now()}
    seed_v1(purpose_model=Purpose, **models)
    publish_shipped(2, purpose_model=Purpose, **models)
    publish_new_purposes(purpose_model=Purpose, **models)
    purposes = Purpose.objects.order_by("position")
    for purpose in purposes:
        assessment_seed(purpose)
    return purposes


def assessment_seed(purpose, *, review_in_days: int = 365, decision: str = "proceed"):
    """A current impact assessment of ``purpose`` (the DPO's, as ``assessment_publish``
    records it), so that tests may publish policy versions."""
    import hashlib
    from datetime import timedelta

    from django.utils import timezone

    from audit.leaves import jcs
    from consent.ledger.models import ImpactAssessment
    from consent.ledger.selectors import assessment_content

    last = purpose.assessments.order_by("-version").first()
    assessment = ImpactAssessment(
        purpose=purpose,
        version=(last.version + 1) if last else 1,
        scope=f"{purpose.code}: scope",
        necessity="necessary",
        risks="risks",
        measures="measures",
        residual_risk="low",
        decision=decision,
        review_on=timezone.localdate() + timedelta(days=review_in_days),
        signer="DPO (tests)",
    )
    assessment.sha256 = hashlib.sha256(jcs(assessment_content(assessment))).hexdigest()
    assessment.save(force_insert=True)
    return assessment


@pytest.fixture
def grant_consent(policies):
    """``grant_consent(user, "biometric_enrolment", ...)``: the user consents (through the
    real service, audited, with a receipt) to the current text of each purpose."""
    from consent.ledger.models import ConsentRecord, PolicyText, Purpose
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_grant

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


# --- captures and erasure ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _upload_temp_dir(settings, tmp_path):
    """Django's upload temp files go to a folder of this test's own (the erasure tests scan it)."""
    folder = tmp_path / "uploads"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture
def audit_events(db):
    """``audit_events()`` → the (action name, data) of every event written since the fixture."""
    from django.db.models import Max

    from audit.actions import AuditAction
    from audit.models import AuditEvent

    start = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0

    def read(*, names_only: bool = False):
        events = AuditEvent.objects.filter(id__gt=start).order_by("id")
        if names_only:
            return [AuditAction(e.action).name for e in events]
        return [(AuditAction(e.action).name, e.data) for e in events]

    return read


@pytest.fixture(scope="session")
def capture_media():
    """Synthetic capture uploads (``tests.erasure.kit.Media``), made once per session."""
    from tests.erasure.kit import make_media

    return make_media()


@pytest.fixture(scope="session")
def capture_analysis(capture_media):
    """A real analysis (liveness passed, embedding, landmarks) of a synthetic capture, made once:
    ``biometrics.services.capture_store(subject=..., analysis=...)`` stores it for a test."""
    from biometrics.services import capture_analyse
    from tests.biometrics.synth import layout

    steps = layout(["turn_left", "blink"])
    return capture_analyse(photo=capture_media.photo, video=capture_media.video(steps), steps=steps)


@pytest.fixture
def enrolled(grant_consent, capture_analysis):
    """``enrolled(user, captures=1)``: the user consents to biometric enrolment (if not yet) and
    has stored captures (the real storage path, with the session's real analysis)."""
    from biometrics.services import capture_store
    from consent.ledger.gate import GRANTED, consent_state

    def enrol(user, captures: int = 1) -> list:
        if consent_state(subject=user, purpose="biometric_enrolment") != GRANTED:
            grant_consent(user, "biometric_enrolment")
        return [capture_store(subject=user, analysis=capture_analysis) for _ in range(captures)]

    return enrol
