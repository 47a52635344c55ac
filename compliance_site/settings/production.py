"""Production: every secret from the environment (or NAME_FILE), no insecure default."""

from compliance_site.crypto import parse_master_keys
from compliance_site.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403

DEBUG = False
AUDIT_SIGNING_KEY = env_str("AUDIT_SIGNING_KEY")
AUDIT_LOG_ID = env_str("AUDIT_LOG_ID")
BIOMETRIC_MASTER_KEYS = env_list("BIOMETRIC_MASTER_KEYS", required=True)
parse_master_keys(BIOMETRIC_MASTER_KEYS)  # a malformed key stops the start, not the first upload

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
