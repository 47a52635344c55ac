"""The test suite: SQLite unless DATABASE_URL is set; SMS to memory; tasks run eagerly."""

import os
import tempfile
from datetime import UTC, datetime

from compliance_site import devkeys, keystore

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-any-deployment")
os.environ.setdefault("FACELEDGER_VAR_DIR", tempfile.mkdtemp(prefix="faceledger-test-"))
# STORAGE_BACKEND=s3: each test gets a bucket of its own on an S3 server the run starts
# (tests/conftest.py, `_media_root`); this name is never used.
if os.environ.get("STORAGE_BACKEND") == "s3":
    os.environ.setdefault("S3_BUCKET", "replaced-by-each-test")

from .base import *  # noqa: E402,F403
from .base import VAR_DIR  # noqa: E402

if not os.environ.get("DATABASE_URL"):
    DATABASES = {  # noqa: F811
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "test.sqlite3"),
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA secure_delete=ON;",  # as every SQLite deployment
            },
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SMS_BACKEND = "consent.identity.sms.backends.locmem.SmsBackend"
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BEAT_SCHEDULE = {}
# Beat processes started by tests/compliance_site/test_beat.py send one cheap task often.
if os.environ.get("TEST_BEAT_INTERVAL"):
    CELERY_BEAT_SCHEDULE = {
        "audit-seal": {
            "task": "audit.tasks.audit_seal",
            "schedule": float(os.environ["TEST_BEAT_INTERVAL"]),
        }
    }

# Fixed Ed25519 keys that exist only for tests (never deployed): the checkpoint key was
# generated for this repository; the others are derived from their job's name.
AUDIT_SIGNING_KEYS = {
    job: os.environ.get(f"AUDIT_{job.upper()}_KEY") or devkeys.test_ed25519_pem(job)
    for job in AUDIT_SIGNING_JOBS  # noqa: F405
}
AUDIT_SIGNING_KEYS["checkpoint"] = os.environ.get("AUDIT_CHECKPOINT_KEY") or (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIGyAvoih7e/j5cYWgB7Q7G1u4ZBqTIxhdNkmHKnqIJ4b\n"
    "-----END PRIVATE KEY-----\n"
)
AUDIT_LOG_ID = "faceledger-test"
# A key store in the run's temporary folder holding one fixed test-only master key (never
# deployed); each test gets a fresh copy of it (tests/conftest.py), worker processes this one.
_key_folder = keystore.ensure_folder(VAR_DIR / "keys" / "master")
BIOMETRIC_KEY_STORE = str(_key_folder)
TEST_MASTER_KEY_ID, TEST_MASTER_KEY = "test1", b"test-only-master-key-32-bytes!!!"
with keystore.locked(_key_folder):  # worker processes import this too
    if keystore.get(TEST_MASTER_KEY_ID, _key_folder) is None:
        keystore.create(
            now=datetime.now(UTC), key_id=TEST_MASTER_KEY_ID, key=TEST_MASTER_KEY, path=_key_folder
        )
LOGGING = {"version": 1, "disable_existing_loggers": False}
# Suites call the public endpoints hundreds of times from one address; the per-address limit
# itself is tested with its own low rate (tests/hardening/test_web_security.py).
PUBLIC_API_RATE = "100000/min"
