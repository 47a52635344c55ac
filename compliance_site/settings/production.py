"""Production: every secret from the environment (or NAME_FILE), no insecure default."""

from compliance_site.env import env_bool, env_int, env_str

from .base import *  # noqa: F403

DEBUG = False
AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY")
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

SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
