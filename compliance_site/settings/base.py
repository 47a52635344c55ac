"""Settings shared by every environment. Every value comes from the environment (see README)."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from compliance_site.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_json_list,
    env_list,
    env_str,
)
from compliance_site.storage import storages_setting

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("FACELEDGER_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])
ADMIN_URL = env_str("DJANGO_ADMIN_URL", "admin/")

INSTALLED_APPS = [
    "compliance_site.apps.FaceledgerAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from our own static files (no CDN).
    "drf_spectacular_sidecar",
    "django_otp",
    "compliance_site.apps.StaffAuthenticatorConfig",  # django_otp.plugins.otp_totp
    "phonenumber_field",
    # Dependencies point one way: audit ← consent ← biometrics ← swap (tests/test_layers.py).
    "audit",
    "consent",
    "biometrics",
    "swap",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "compliance_site.middleware.RequestIdMiddleware",
    "compliance_site.middleware.SecurityHeadersMiddleware",
    # Before sessions, CSRF and any view: a body we cannot read is a 400 here.
    "compliance_site.middleware.UnreadableBodyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "compliance_site.urls"
WSGI_APPLICATION = "compliance_site.wsgi.application"
ASGI_APPLICATION = "compliance_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "audit.closing.context",
            ],
            # Every page shows dates one way: {{ moment|datetime_text }}, {{ day|date_text }}.
            "builtins": ["compliance_site.dates"],
        },
    },
]

DATABASES = {
    "default": database_from_url(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'faceledger.sqlite3'}")
    )
}
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
# PostgreSQL: the role the web and worker processes connect as (their DATABASE_URL), when
# migrations run as another, owning role (the migrate step's DATABASE_URL). After each migrate
# it gets SELECT and INSERT on the audit tables and nothing more there (audit.db_roles).
DATABASE_SERVICE_ROLE = env_str("DATABASE_SERVICE_ROLE", "")
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web server and the worker read while the other writes. secure_delete
    # overwrites deleted rows (off in some SQLite builds: an erased number would stay readable
    # in the file's free pages).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
        "PRAGMA secure_delete=ON;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "consent.User"
LOGIN_URL = "consent:login"
LOGIN_REDIRECT_URL = "consent:dashboard"
LOGOUT_REDIRECT_URL = "consent:login"
# Data subjects have no password; staff passwords are checked before their TOTP code.
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("DJANGO_MEDIA_ROOT", str(VAR_DIR / "media")))
# Every file (encrypted photos and results, reports, templates, depicted persons' documents)
# goes through default_storage: the folder MEDIA_ROOT (the embedded default), or an
# S3-compatible bucket with STORAGE_BACKEND=s3 (compliance_site/storage.py). The bucket must not
# keep object versions (refused at start-up). Credentials may come from ..._FILE secrets.
STORAGE_BACKEND = env_choice("STORAGE_BACKEND", ("filesystem", "s3"), "filesystem")
STORAGES = storages_setting(
    backend=STORAGE_BACKEND,
    bucket=env_str("S3_BUCKET", ""),
    endpoint_url=env_str("S3_ENDPOINT_URL", ""),
    region=env_str("S3_REGION", ""),
    access_key=env_str("S3_ACCESS_KEY_ID", ""),
    secret_key=env_str("S3_SECRET_ACCESS_KEY", ""),
    addressing_style=env_choice("S3_ADDRESSING_STYLE", ("path", "virtual", "auto"), "path"),
)
# Uploads are streamed to memory up to this size, then to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
if env_str("CACHE_URL", ""):
    CACHES["default"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": env_str("CACHE_URL"),
    }

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 60 * 60 * 12, minimum=60)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script anywhere: scripts and styles come from our own static files
# (compliance_site.middleware.SecurityHeadersMiddleware). Captures and results are shown from
# blob: URLs made in the page.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "media-src": "'self' blob:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# The Swagger UI page has an inline <style> and its bundle writes style attributes: on that one
# path only, inline styles (never scripts) are allowed.
CONTENT_SECURITY_POLICY_RELAXED = {"/api/docs/": {"style-src": "'self' 'unsafe-inline'"}}
# The camera only for our own pages (the capture page); nothing else a browser can grant.
PERMISSIONS_POLICY = {
    "camera": ["self"],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
}

# Anonymous API calls per client address (compliance_site.throttles), the address counted as the
# sign-in limits count it (CLIENT_IP_HEADER). Counters live in the cache: set CACHE_URL when
# several web processes run, or each counts alone.
PUBLIC_API_RATE = env_str("PUBLIC_API_RATE", "120/min")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "consent.identity.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["compliance_site.api.JsonObjectParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "compliance_site.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["compliance_site.throttles.PublicRateThrottle"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_SCHEMA_CLASS": "compliance_site.openapi.AutoSchema",
}

# OpenAPI 3 at /api/schema/, Swagger UI at /api/docs/ (README "API"). Every endpoint declares
# its request, responses and error codes with extend_schema; `manage.py spectacular --validate
# --fail-on-warn` is clean (a test checks).
SPECTACULAR_SETTINGS = {
    "TITLE": "Faceledger API",
    "DESCRIPTION": (
        "Consent-first face swaps. Sign in with a phone number and an SMS code, then send "
        "`Authorization: Token <key>` (or use the portal session). Every error is a 4xx "
        'with a JSON body `{"code": ..., "detail": ...}`: `code` is stable, `detail` is '
        "for people, in the request's language."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v[0-9]+",
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery -----------------------------------------------------------------------------------
# The embedded default is kombu's filesystem transport: a broker that needs no server.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_DIR = VAR_DIR / "celery"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    for _folder in ("queue", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# Results are never stored: jobs record their outcome in their own rows, so no result store
# holds a copy of anything personal.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300, minimum=1)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360, minimum=1)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Queues by weight: swaps (seconds to minutes of CPU or GPU each) have their own queue for the
# machines that make them; everything light (sealing, erasure, reports, sweeps) goes to
# "default". Worker commands for each: docs/deploy.md.
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {"swap.tasks.swap_job_run": {"queue": "swap"}}
# One beat dispatches at a time, however many are started: the others wait for its database
# lock (compliance_site/beat.py).
CELERY_BEAT_SCHEDULER = "compliance_site.beat:LeaderScheduler"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
# Background jobs of every kind (swaps, erasures, reports: compliance_site.jobs) whose worker
# died or whose message was lost are queued again or failed by this sweep (seconds).
CELERY_BEAT_SCHEDULE["jobs-recover"] = {
    "task": "compliance_site.tasks.jobs_recover",
    "schedule": env_float("JOBS_RECOVER_INTERVAL", 60.0),
}

# --- SMS and one-time codes ------------------------------------------------------------------
SMS_BACKEND = env_str("SMS_BACKEND", "consent.identity.sms.backends.console.SmsBackend")
SMS_FILE_PATH = env_str("SMS_FILE_PATH", str(VAR_DIR / "sms"))
SMS_HTTP_BASE_URL = env_str("SMS_HTTP_BASE_URL", "https://api.twilio.com")
SMS_HTTP_ACCOUNT_SID = env_str("SMS_HTTP_ACCOUNT_SID", "")
SMS_HTTP_AUTH_TOKEN = env_str("SMS_HTTP_AUTH_TOKEN", "")
SMS_HTTP_FROM = env_str("SMS_HTTP_FROM", "")
SMS_HTTP_TIMEOUT = env_float("SMS_HTTP_TIMEOUT", 5.0)
SMS_SENDER_NAME = env_str("SMS_SENDER_NAME", "Faceledger")

OTP_SMS_CODE_VALIDITY = env_int("OTP_SMS_CODE_VALIDITY", 300, minimum=30)
OTP_SMS_THROTTLE_FACTOR = env_int("OTP_SMS_THROTTLE_FACTOR", 1, minimum=0)
# Back-off, lock-out and the first send limit count per number AND client network
# (compliance_site.client_address.ip_limit_key), so one network cannot lock another out.
# Wrong codes for one number from one network, per code: then that network is locked out until
# it asks for a new code.
OTP_SMS_MAX_FAILURES = env_int("OTP_SMS_MAX_FAILURES", 6, minimum=1)
# Wrong codes for one number per OTP_FAILURE_WINDOW: from one network, and from all networks
# together (which bounds guessing: at most OTP_FAILURES_PER_NUMBER guesses of a 6-digit code a
# day). The first must stay below the second, or one network could lock the owner out.
OTP_FAILURES_PER_NUMBER_NETWORK = env_int("OTP_FAILURES_PER_NUMBER_NETWORK", 12, minimum=1)
OTP_FAILURES_PER_NUMBER = env_int("OTP_FAILURES_PER_NUMBER", 60, minimum=1)
OTP_FAILURE_WINDOW = env_int("OTP_FAILURE_WINDOW", 86400, minimum=60)
# Codes sent to one number at the request of one client network, per window...
OTP_SEND_LIMIT_PER_NUMBER = env_int("OTP_SEND_LIMIT_PER_NUMBER", 3, minimum=1)
OTP_SEND_WINDOW_PER_NUMBER = env_int("OTP_SEND_WINDOW_PER_NUMBER", 600, minimum=1)
# ... and at the request of all networks together: above what one network can ask in this
# window (3 per 10 minutes is 18 an hour), so one network cannot starve the owner of codes.
OTP_SEND_LIMIT_PER_NUMBER_TOTAL = env_int("OTP_SEND_LIMIT_PER_NUMBER_TOTAL", 24, minimum=1)
OTP_SEND_WINDOW_PER_NUMBER_TOTAL = env_int("OTP_SEND_WINDOW_PER_NUMBER_TOTAL", 3600, minimum=1)
OTP_SEND_LIMIT_PER_IP = env_int("OTP_SEND_LIMIT_PER_IP", 20, minimum=1)
OTP_SEND_WINDOW_PER_IP = env_int("OTP_SEND_WINDOW_PER_IP", 3600, minimum=1)
OTP_SEND_LIMIT_PER_PREFIX = env_int("OTP_SEND_LIMIT_PER_PREFIX", 200, minimum=1)
OTP_SEND_WINDOW_PER_PREFIX = env_int("OTP_SEND_WINDOW_PER_PREFIX", 3600, minimum=1)
# Digits after the country code that make a number's "prefix" for the prefix send limit.
OTP_SEND_PREFIX_DIGITS = env_int("OTP_SEND_PREFIX_DIGITS", 4, minimum=1)
# Country calling codes refused outright (no country served, or abused for SMS pumping).
OTP_BLOCKED_COUNTRY_CODES = [int(c) for c in env_list("OTP_BLOCKED_COUNTRY_CODES", [])]
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Faceledger")
API_TOKEN_TTL = env_int("API_TOKEN_TTL", 60 * 60 * 24 * 30, minimum=60)
# Which proxy header carries the client address; empty = REMOTE_ADDR only.
CLIENT_IP_HEADER = env_str("CLIENT_IP_HEADER", "")
# Devices of numbers that never signed in, once their code expired, old send counters and
# expired API tokens are deleted by this sweep (seconds between runs).
CELERY_BEAT_SCHEDULE["identity-prune"] = {
    "task": "consent.tasks.identity_prune",
    "schedule": env_float("IDENTITY_PRUNE_INTERVAL", 300.0),
}

# Numbers held for a portal sign-in or a guardian's code once that code expired, and expired
# sessions (Django never deletes those by itself), are deleted by this sweep (seconds).
CELERY_BEAT_SCHEDULE["session-numbers-prune"] = {
    "task": "consent.tasks.session_numbers_prune",
    "schedule": env_float("SESSION_PRUNE_INTERVAL", 300.0),
}

# --- The controller (named on consent receipts and the privacy notice) -----------------------
CONTROLLER_NAME = env_str("CONTROLLER_NAME", "Faceledger (development)")
CONTROLLER_ADDRESS = env_str("CONTROLLER_ADDRESS", "Not a real address: set CONTROLLER_ADDRESS")
CONTROLLER_EMAIL = env_str("CONTROLLER_EMAIL", "privacy@faceledger.invalid")
CONTROLLER_PHONE = env_str("CONTROLLER_PHONE", "")  # optional on receipts
CONTROLLER_CONTACT = env_str("CONTROLLER_CONTACT", "Data Protection Officer")
# GDPR Art. 27 / PIPL Art. 53 representative (name and address), or "none" with the reason
# (e.g. "none: the controller is established in the EU"); the data protection officer
# (GDPR Art. 37 / PIPL Art. 52). Production refuses the placeholders (faceledger.E010).
CONTROLLER_REPRESENTATIVE = env_str(
    "CONTROLLER_REPRESENTATIVE", "Not set: CONTROLLER_REPRESENTATIVE"
)
DPO_NAME = env_str("DPO_NAME", "Not set: DPO_NAME")
DPO_EMAIL = env_str("DPO_EMAIL", "dpo@faceledger.invalid")
# The processors that receive personal data (record of processing, privacy notice): who, the
# ISO 3166 country they process in (default: the controller's), and, when that is another
# country, the safeguard of the transfer (GDPR Art. 46, PIPL Art. 38).
RECIPIENT_HOSTING = env_str("RECIPIENT_HOSTING", "Not set: RECIPIENT_HOSTING")
RECIPIENT_HOSTING_COUNTRY = env_str("RECIPIENT_HOSTING_COUNTRY", "")
RECIPIENT_HOSTING_SAFEGUARD = env_str("RECIPIENT_HOSTING_SAFEGUARD", "")
RECIPIENT_SMS_GATEWAY = env_str("RECIPIENT_SMS_GATEWAY", "Not set: RECIPIENT_SMS_GATEWAY")
RECIPIENT_SMS_GATEWAY_COUNTRY = env_str("RECIPIENT_SMS_GATEWAY_COUNTRY", "")
RECIPIENT_SMS_GATEWAY_SAFEGUARD = env_str("RECIPIENT_SMS_GATEWAY_SAFEGUARD", "")
# ISO 3166 code of the jurisdiction whose law governs consent (receipts' ``jurisdiction``).
CONTROLLER_JURISDICTION = env_str("CONTROLLER_JURISDICTION", "GB")
# Where people reach this site; receipts link to its privacy notice.
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Audit log ---------------------------------------------------------------------------------
AUDIT_LOG_ID = env_str("AUDIT_LOG_ID", "faceledger-dev")
# One Ed25519 private key (PEM) per signing job (audit.signing): checkpoints, consent receipts,
# erasure certificates, export manifests; AUDIT_<JOB>_KEY or AUDIT_<JOB>_KEY_FILE. Required;
# local settings make dev keys once, production refuses a missing key or one key for two jobs.
AUDIT_SIGNING_JOBS = ("checkpoint", "receipt", "erasure", "manifest")
AUDIT_SIGNING_KEYS = {job: env_str(f"AUDIT_{job.upper()}_KEY", "") for job in AUDIT_SIGNING_JOBS}
# Retired public keys, still published so that what they signed still verifies: a JSON list of
# {"job", "public_key" (PEM), "valid_from", "valid_until"} (AUDIT_KEY_HISTORY or
# AUDIT_KEY_HISTORY_FILE); ``manage.py audit_keys --rotate JOB`` writes the next one.
AUDIT_KEY_HISTORY = env_json_list("AUDIT_KEY_HISTORY")
AUDIT_SEAL_INTERVAL = env_float("AUDIT_SEAL_INTERVAL", 5.0)
# Witnesses (C2SP tlog-witness) the sealer asks to cosign each new checkpoint: a comma-separated
# list of "<witness vkey> <URL prefix of its add-checkpoint>". Checkpoints are C2SP signed notes
# whose origin (and log key name) is AUDIT_LOG_ID: in production a schema-less URL such as
# "faceledger.example/audit". A checkpoint is trusted once AUDIT_WITNESS_QUORUM of the
# configured witnesses cosigned it (0: no cosignature required).
AUDIT_WITNESSES = [
    {"vkey": vkey, "url": url}
    for vkey, _, url in (item.partition(" ") for item in env_list("AUDIT_WITNESSES", []))
]
AUDIT_WITNESS_QUORUM = env_int("AUDIT_WITNESS_QUORUM", 0)
# Seconds per witness request: a slow or dead witness never holds the sealer up for longer.
AUDIT_WITNESS_TIMEOUT = env_float("AUDIT_WITNESS_TIMEOUT", 3.0)
CELERY_BEAT_SCHEDULE["audit-seal"] = {
    "task": "audit.tasks.audit_seal",
    "schedule": AUDIT_SEAL_INTERVAL,
}

# --- Encryption at rest -----------------------------------------------------------------------
# Master keys live in this folder, never in the database or the environment (see keystore.py).
# Production: a volume that is not part of any database backup (and is not backed up itself).
BIOMETRIC_KEY_STORE = env_str("BIOMETRIC_KEY_STORE", str(VAR_DIR / "keys" / "master"))
# A new master key every this many days; every data key is re-wrapped under it.
BIOMETRIC_KEY_ROTATION_DAYS = env_int("BIOMETRIC_KEY_ROTATION_DAYS", 30, minimum=1)
# How long the operator keeps database backups: a retired master key is destroyed this long
# after retirement, so no backup still kept needs it and no older backup can be read.
BACKUP_RETENTION_DAYS = env_int("BACKUP_RETENTION_DAYS", 30, minimum=0)
BIOMETRIC_KEY_SCHEDULE_INTERVAL = env_float("BIOMETRIC_KEY_SCHEDULE_INTERVAL", 3600.0)
CELERY_BEAT_SCHEDULE["master-key-schedule"] = {
    "task": "biometrics.tasks.master_key_schedule",
    "schedule": BIOMETRIC_KEY_SCHEDULE_INTERVAL,
}

# --- Retention and erasure --------------------------------------------------------------------
# Django's upload temp files get their own folder, which erasure checks for leftovers. None are
# expected: capture uploads are read in memory only.
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR", str(VAR_DIR / "uploads"))
Path(FILE_UPLOAD_TEMP_DIR).mkdir(parents=True, exist_ok=True)
CELERY_BEAT_SCHEDULE["retention-sweep"] = {
    "task": "audit.tasks.retention_sweep",
    "schedule": env_float("RETENTION_SWEEP_INTERVAL", 3600.0),
}
# An erasure whose worker has not reported for this long is queued again by "jobs-recover"
# (seconds; keep it above CELERY_TASK_TIME_LIMIT so a live run is never doubled).
ERASURE_RETRY_AFTER = env_int("ERASURE_RETRY_AFTER", 600, minimum=60)
# Wind-down (README "Closing the service"): days between closing mode and the erasure of
# everyone, during which people may still sign in and download their data; and the address
# where the static tombstone site will be served (named in the text message that carries each
# person's erasure token).
WIND_DOWN_GRACE_DAYS = env_int("WIND_DOWN_GRACE_DAYS", 30, minimum=0)
WIND_DOWN_TOMBSTONE_URL = env_str("WIND_DOWN_TOMBSTONE_URL", "")
# A user-data report of more audit events than this is made by a worker (202 + job) instead
# of in the request; the PDF is kept (encrypted) this many seconds, then swept.
REPORT_ASYNC_EVENTS = env_int("REPORT_ASYNC_EVENTS", 2000, minimum=0)
REPORT_TTL = env_int("REPORT_TTL", 60 * 60 * 24, minimum=60)

# --- Face engines (README "Engines") ---------------------------------------------------------
# One setting picks both the analyser and the swap engine. classic: dlib, CPU, nothing to
# provide. insightface: ONNX models the operator provides, checked against their SHA-256 and
# loaded once per process; nothing is ever downloaded. The liveness check always runs classic.
# A name in the face engine table (README "Engines"), checked at start-up by a system check.
FACE_ENGINE = env_str("FACE_ENGINE", "classic")
# Absolute folder holding the detector and the recogniser (buffalo_l's det_10g + w600k_r50).
FACE_MODEL_DIR = env_str("FACE_MODEL_DIR", "")
# "file=sha256,file=sha256": exactly the detector and the recogniser in FACE_MODEL_DIR.
FACE_MODEL_SHA256 = env_str("FACE_MODEL_SHA256", "")
# Absolute path of inswapper_128.onnx, outside FACE_MODEL_DIR, and its SHA-256.
FACE_SWAP_MODEL_PATH = env_str("FACE_SWAP_MODEL_PATH", "")
FACE_SWAP_MODEL_SHA256 = env_str("FACE_SWAP_MODEL_SHA256", "")
# onnxruntime providers in order; empty = CUDA (when installed), then CPU.
FACE_ONNX_PROVIDERS = env_list("FACE_ONNX_PROVIDERS", [])
# The licence the operator holds for the model files, e.g. "insightface-non-commercial".
FACE_MODEL_LICENSE_ACCEPTED = env_str("FACE_MODEL_LICENSE_ACCEPTED", "")
# Optional passive presentation-attack model for the liveness check (off when the path is
# empty): an absolute .onnx path, its SHA-256 and the licence held for it; the probability of
# "real" (class LIVENESS_PAD_REAL_INDEX) must reach LIVENESS_PAD_THRESHOLD on the photo and on
# frames of the video. biometrics/analysis/pad.py gives the model's expected signature.
LIVENESS_PAD_MODEL_PATH = env_str("LIVENESS_PAD_MODEL_PATH", "")
LIVENESS_PAD_MODEL_SHA256 = env_str("LIVENESS_PAD_MODEL_SHA256", "")
LIVENESS_PAD_LICENSE_ACCEPTED = env_str("LIVENESS_PAD_LICENSE_ACCEPTED", "")
LIVENESS_PAD_THRESHOLD = env_float("LIVENESS_PAD_THRESHOLD", 0.5)
LIVENESS_PAD_REAL_INDEX = env_int("LIVENESS_PAD_REAL_INDEX", 1, minimum=0)
LIVENESS_PAD_CROP_SCALE = env_float("LIVENESS_PAD_CROP_SCALE", 2.7)

# --- Swaps (README "Swaps") -------------------------------------------------------------------
# A running job whose worker has not reported for this long is queued again by "jobs-recover",
# or failed with "worker_lost" after SWAP_MAX_ATTEMPTS claims (seconds; keep it above
# CELERY_TASK_TIME_LIMIT so a live run is never doubled).
SWAP_STALE_AFTER = env_int("SWAP_STALE_AFTER", 600, minimum=1)
SWAP_MAX_ATTEMPTS = env_int("SWAP_MAX_ATTEMPTS", 3, minimum=1)
# C2PA Content Credentials on every output, when both are set and c2pa-python works here: the
# signing certificate chain (leaf first: CA=false, critical keyUsage digitalSignature, extended
# key usage emailProtection) and its private key, PEM (or SWAP_C2PA_..._FILE). Local settings
# make a development pair once.
SWAP_C2PA_CERT_CHAIN = env_str("SWAP_C2PA_CERT_CHAIN", "")
SWAP_C2PA_PRIVATE_KEY = env_str("SWAP_C2PA_PRIVATE_KEY", "")
_C2PA_ALGORITHMS = ("es256", "es384", "es512", "ps256", "ps384", "ps512", "ed25519")
SWAP_C2PA_ALGORITHM = env_choice("SWAP_C2PA_ALGORITHM", _C2PA_ALGORITHMS, "es256")
# Production turns this on: the swap app signs a probe at start-up (swap.signing_checks).
C2PA_SELF_TEST_AT_START = False
if bool(SWAP_C2PA_CERT_CHAIN) != bool(SWAP_C2PA_PRIVATE_KEY):
    raise ImproperlyConfigured("Set SWAP_C2PA_CERT_CHAIN and SWAP_C2PA_PRIVATE_KEY together.")
# Regions whose national phone-number forms (07400 123456 in GB) audit_record refuses, on top of
# every number written with "+", "00" or its country code: the controller's and the portal's.
AUDIT_PHONE_REGIONS = [r.upper() for r in env_list("AUDIT_PHONE_REGIONS", ["GB", "CN"])]
# Production signs every output unless this names why it does not; /transparency/ shows it.
C2PA_DISABLED_REASON = env_str("C2PA_DISABLED_REASON", "").strip()

# Application logs: one JSON object a line on stderr (compliance_site/logs.py), for the
# collector to keep LOG_RETENTION_DAYS (README "Logs"); LOG_FORMAT=plain for reading by eye.
# No line holds a number, a code, an address or biometric bytes (test_log_privacy.py).
LOG_FORMAT = env_str("LOG_FORMAT", "json")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use json or plain")
# How long the log collector keeps application and access logs (days). Stated on the privacy
# notice and in the record of processing; production refuses less than six months
# (compliance_site.deploy_checks.log_retention_problem).
LOG_RETENTION_DAYS = env_int("LOG_RETENTION_DAYS", 183, minimum=1)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "compliance_site.logs.JsonFormatter"},
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
