"""Production: every secret from the environment (or NAME_FILE), no insecure default."""

from django.core.exceptions import ImproperlyConfigured

from compliance_site import deploy_checks
from compliance_site.env import env_bool, env_int, env_str

# Without it, the base settings would quietly use a SQLite file in the var folder.
env_str("DATABASE_URL")

from .base import *  # noqa: E402,F403


def _refuse(problem: str | None) -> None:
    """Start-up refuses what ``check --deploy`` reports (compliance_site.deploy_checks)."""
    if problem:
        raise ImproperlyConfigured(f"{problem}.")


DEBUG = False
# A key per signing job, each required, no two the same (and no retired key brought back).
AUDIT_SIGNING_KEYS = {job: env_str(f"AUDIT_{job.upper()}_KEY") for job in AUDIT_SIGNING_JOBS}  # noqa: F405
AUDIT_LOG_ID = env_str("AUDIT_LOG_ID")
# No default: the key store must be a volume outside the database backups, and the retention
# must be the real one, or the erasure certificate's backup date is not true.
BIOMETRIC_KEY_STORE = env_str("BIOMETRIC_KEY_STORE")
BACKUP_RETENTION_DAYS = env_int("BACKUP_RETENTION_DAYS", minimum=0)

# Receipts name the controller and link to the public notice: no placeholder in production.
CONTROLLER_NAME = env_str("CONTROLLER_NAME")
CONTROLLER_ADDRESS = env_str("CONTROLLER_ADDRESS")
CONTROLLER_EMAIL = env_str("CONTROLLER_EMAIL")
CONTROLLER_JURISDICTION = env_str("CONTROLLER_JURISDICTION")
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL").rstrip("/")
_refuse(deploy_checks.public_base_url_problem(PUBLIC_BASE_URL))
# The record of processing names them (GDPR Art. 30(1)(a), (d)): no placeholder either.
CONTROLLER_REPRESENTATIVE = env_str("CONTROLLER_REPRESENTATIVE")
DPO_NAME = env_str("DPO_NAME")
DPO_EMAIL = env_str("DPO_EMAIL")
RECIPIENT_HOSTING = env_str("RECIPIENT_HOSTING")
RECIPIENT_SMS_GATEWAY = env_str("RECIPIENT_SMS_GATEWAY")
_refuse(deploy_checks.accountability_problem(globals()))
# Logs kept at least six months (China's Cybersecurity Law Art. 21), stated, not assumed.
LOG_RETENTION_DAYS = env_int("LOG_RETENTION_DAYS", minimum=1)
_refuse(deploy_checks.log_retention_problem(LOG_RETENTION_DAYS))
# Workers log through LOGGING too (JSON lines), not Celery's own plain format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# SMS: an explicit provider. The development backends write live codes and numbers to stdout,
# memory or files, so production refuses them (check --deploy: faceledger.E001).
SMS_BACKEND = env_str("SMS_BACKEND")
_refuse(deploy_checks.sms_backend_problem(SMS_BACKEND))
_refuse(deploy_checks.sms_url_problem(SMS_HTTP_BASE_URL))  # noqa: F405
_refuse(deploy_checks.allowed_hosts_problem(ALLOWED_HOSTS))  # noqa: F405
_refuse(deploy_checks.signing_keys_problem(AUDIT_SIGNING_KEYS, AUDIT_KEY_HISTORY))  # noqa: F405
_backend = deploy_checks.sms_backend_class(SMS_BACKEND)  # importable: refused above otherwise
_http_backend = deploy_checks.sms_backend_class(deploy_checks.HTTP_SMS_BACKEND)
if _backend is not None and _http_backend is not None and issubclass(_backend, _http_backend):
    SMS_HTTP_ACCOUNT_SID = env_str("SMS_HTTP_ACCOUNT_SID")
    SMS_HTTP_AUTH_TOKEN = env_str("SMS_HTTP_AUTH_TOKEN")
    SMS_HTTP_FROM = env_str("SMS_HTTP_FROM")

# C2PA on every output, or a stated reason for not signing (shown on /transparency/); with
# credentials set, a library or signer that fails is a start-up error, never a silent drop
# (swap.signing_checks: faceledger.E002, E003).
if not SWAP_C2PA_CERT_CHAIN and not C2PA_DISABLED_REASON:  # noqa: F405
    raise ImproperlyConfigured(
        "Set SWAP_C2PA_CERT_CHAIN and SWAP_C2PA_PRIVATE_KEY (C2PA on every output), or "
        "C2PA_DISABLED_REASON to say publicly why outputs are not signed."
    )
# The signer is tried once before anything is served (swap.signing_checks, from the swap app's
# ready()): a configured signer that cannot sign stops the service.
C2PA_SELF_TEST_AT_START = True

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
# X-Forwarded-Proto says "https" only when a proxy in front sets it (and strips the client's):
# trusted from anyone, it lets a plain-HTTP client pass for HTTPS (faceledger.E004).
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None
_refuse(
    deploy_checks.client_address_problem(
        header=CLIENT_IP_HEADER,  # noqa: F405
        behind_proxy=BEHIND_PROXY,
    )
)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
_refuse(
    deploy_checks.transport_problem(
        secret_key=SECRET_KEY,  # noqa: F405
        ssl_redirect=SECURE_SSL_REDIRECT,
        hsts_seconds=SECURE_HSTS_SECONDS,
    )
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
