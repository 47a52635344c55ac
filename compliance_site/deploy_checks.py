"""Deployment checks (``manage.py check --deploy``) for the values an attacker would use: an SMS
backend that does not deliver to phones, an SMS gateway in clear, outputs without C2PA and no
stated reason, C2PA configured but failing, forwarded headers trusted with no proxy in front (or
a proxy whose client-address header is not named), any host, placeholders for the controller,
its representative, the DPO or the processors, logs kept under six months, and Django's own
security warnings raised to errors. Production settings refuse the same at start-up (the
``*_problem`` rules are plain functions for that); these checks hold whichever settings module a
deployment uses."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.checks.security import base as django_security
from django.core.checks.security import csrf as django_csrf
from django.core.checks.security import sessions as django_sessions
from django.utils.module_loading import import_string

HTTP_SMS_BACKEND = "consent.identity.sms.backends.http.SmsBackend"


def sms_backend_class(path: str) -> type | None:
    """The class ``SMS_BACKEND`` names, or None when it names nothing importable."""
    try:
        found = import_string(path)
    except ImportError:
        return None
    return found if isinstance(found, type) else None


def sms_backend_problem(path: str) -> str | None:
    """Why ``path`` may not send production SMS, or None. Decided by what the class is, not by
    its name: an alias or a subclass of a development backend inherits its
    ``delivers_to_phones = False`` (the base class says False; only a provider's backend, such
    as the HTTP one, says True)."""
    if not path:
        return "SMS_BACKEND is not set"
    backend = sms_backend_class(path)
    if backend is None:
        return f"SMS_BACKEND={path} names no importable class"
    if getattr(backend, "delivers_to_phones", False) is not True:
        return (
            f"SMS_BACKEND={path} does not deliver to phones: it is a development backend, or "
            "built on one, and writes live codes and numbers to stdout, memory or files"
        )
    return None


def sms_url_problem(url: str) -> str | None:
    if urlsplit(url).scheme == "https":
        return None
    return (
        f"SMS_HTTP_BASE_URL={url} is not https: codes, numbers and the token would travel in clear"
    )


def public_base_url_problem(url: str) -> str | None:
    """Receipts, PDFs and the receipt page link to the site at this address: it must be the
    real one, over https (not the development default, not a loopback address)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or not host:
        return f"PUBLIC_BASE_URL={url} is not an https address: links in receipts would not work"
    if host == "localhost" or host.endswith(".localhost") or _is_loopback(host):
        return f"PUBLIC_BASE_URL={url} is a loopback address: links in receipts lead nowhere"
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def client_address_problem(*, header: str, behind_proxy: bool) -> str | None:
    """The per-address limits count the address the client cannot choose. A header no proxy of
    ours sets is the client's own choice (it escapes every per-address limit); a proxy without
    its header makes every client the proxy's one address (one client's sends use up everyone's
    limit, so sign-in stops for all): both are refused, neither is a matter of taste."""
    if header and not behind_proxy:
        return (
            f"CLIENT_IP_HEADER={header} without BEHIND_PROXY: clients set that header "
            "themselves and escape the per-address limits"
        )
    if behind_proxy and not header:
        return (
            "BEHIND_PROXY is set but CLIENT_IP_HEADER is not: every client counts as the "
            "proxy's address and the per-address limits become one limit for everyone"
        )
    return None


def allowed_hosts_problem(hosts: list[str]) -> str | None:
    if "*" in hosts:
        return "DJANGO_ALLOWED_HOSTS contains '*': name the hosts this site answers for"
    return None


def transport_problem(*, secret_key: str, ssl_redirect: bool, hsts_seconds: int) -> str | None:
    """What production refuses at start-up, not only in ``check --deploy``: every keyed digest
    of a phone number is keyed by the secret key, so a guessable one turns the digest tables
    back into numbers; and a site reachable over plain HTTP sends codes and sessions in clear."""
    # Django's own bounds for its security.W009, so the start-up and check --deploy agree.
    weak = len(secret_key) < django_security.SECRET_KEY_MIN_LENGTH
    weak |= len(set(secret_key)) < django_security.SECRET_KEY_MIN_UNIQUE_CHARACTERS
    if weak or secret_key.startswith(django_security.SECRET_KEY_INSECURE_PREFIX):
        return "DJANGO_SECRET_KEY is weak: use at least 50 random characters"
    if not ssl_redirect:
        return "DJANGO_SECURE_SSL_REDIRECT is off: plain HTTP would carry codes and sessions"
    if hsts_seconds <= 0:
        return "DJANGO_SECURE_HSTS_SECONDS is 0: browsers would not insist on HTTPS"
    return None


# Who answers for the processing, named on the record of processing (GDPR Art. 30(1)(a)), the
# privacy notice and every consent record; and the processors it names as recipients.
ACCOUNTABLE_SETTINGS = (
    "CONTROLLER_NAME",
    "CONTROLLER_ADDRESS",
    "CONTROLLER_EMAIL",
    "CONTROLLER_REPRESENTATIVE",
    "DPO_NAME",
    "DPO_EMAIL",
    "RECIPIENT_HOSTING",
    "RECIPIENT_SMS_GATEWAY",
)
_PLACEHOLDER_MARKS = ("not set:", "not a real", "(development)", ".invalid")
_COUNTRY = re.compile(r"[A-Z]{2}(-[A-Z0-9]{1,3})?")
# China's Cybersecurity Law Art. 21(3): network logs kept no less than six months.
MIN_LOG_RETENTION_DAYS = 183


def accountability_problem(values: dict[str, str]) -> str | None:
    """Why the controller, representative, DPO or recipients named in ``values`` (settings by
    name) cannot go on a record of processing: a development placeholder, an empty value, a
    jurisdiction that is no ISO 3166 code, or a transfer abroad with no safeguard named."""
    for name in ACCOUNTABLE_SETTINGS:
        value = str(values.get(name, "")).strip()
        if not value or any(mark in value.lower() for mark in _PLACEHOLDER_MARKS):
            return f"{name}={value!r} is a placeholder: name the real one"
    home = str(values.get("CONTROLLER_JURISDICTION", ""))
    if not _COUNTRY.fullmatch(home):
        return f"CONTROLLER_JURISDICTION={home!r} is not an ISO 3166 code (such as CN or GB)"
    for name in ("RECIPIENT_HOSTING", "RECIPIENT_SMS_GATEWAY"):
        country = str(values.get(f"{name}_COUNTRY", "")) or home
        if country != home and not str(values.get(f"{name}_SAFEGUARD", "")).strip():
            return (
                f"{name}_COUNTRY={country} is outside {home} but {name}_SAFEGUARD is empty: "
                "a transfer abroad needs its safeguard named"
            )
    return None


def _public_raw(pem: str) -> bytes | None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (
        Ed25519PrivateKey,
        Ed25519PublicKey,
    )

    raw = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    try:
        if "PRIVATE KEY" in pem:
            private = serialization.load_pem_private_key(pem.encode("ascii"), password=None)
            return (
                private.public_key().public_bytes(*raw)
                if isinstance(private, Ed25519PrivateKey)
                else None
            )
        public = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        return None
    return public.public_bytes(*raw) if isinstance(public, Ed25519PublicKey) else None


def signing_keys_problem(keys: dict[str, str], history: list) -> str | None:
    """A key per signing job: each set and an Ed25519 key, no key serving two jobs (a
    checkpoint signature must never pass for a receipt), and no retired key brought back."""
    seen: dict[bytes, str] = {}
    for job, pem in keys.items():
        name = f"AUDIT_{job.upper()}_KEY"
        public = _public_raw(pem or "")
        if public is None:
            return f"{name} is missing or not an Ed25519 private key (PEM)"
        if public in seen:
            return f"{name} is the same key as AUDIT_{seen[public].upper()}_KEY: one key per job"
        seen[public] = job
    for position, entry in enumerate(history):
        public = _public_raw(str(entry.get("public_key", ""))) if isinstance(entry, dict) else None
        if public is None:
            return f"AUDIT_KEY_HISTORY[{position}] has no Ed25519 public key (PEM)"
        if public in seen:
            return (
                f"AUDIT_KEY_HISTORY[{position}] is a retired key still in use for "
                f"{seen[public]}: a rotation needs a new key"
            )
    return None


def log_retention_problem(days: int) -> str | None:
    if days < MIN_LOG_RETENTION_DAYS:
        return (
            f"LOG_RETENTION_DAYS={days} is under six months: keep application and access logs "
            f"at least {MIN_LOG_RETENTION_DAYS} days"
        )
    return None


def accountable_values() -> dict[str, str]:
    names = [*ACCOUNTABLE_SETTINGS, "CONTROLLER_JURISDICTION"]
    for name in ("RECIPIENT_HOSTING", "RECIPIENT_SMS_GATEWAY"):
        names += [f"{name}_COUNTRY", f"{name}_SAFEGUARD"]
    return {name: getattr(settings, name, "") for name in names}


def _error(problem: str | None, hint: str, check_id: str) -> list[Error]:
    return [Error(problem, hint=hint, id=check_id)] if problem else []


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs) -> list[Error]:
    problem = sms_backend_problem(getattr(settings, "SMS_BACKEND", ""))
    hint = f"Set SMS_BACKEND to a provider's backend ({HTTP_SMS_BACKEND})."
    return _error(problem, hint, "faceledger.E001")


@register(Tags.security, deploy=True)
def check_forwarded_proto(app_configs, **kwargs) -> list[Error]:
    if not settings.SECURE_PROXY_SSL_HEADER or getattr(settings, "BEHIND_PROXY", False):
        return []
    return [
        Error(
            "SECURE_PROXY_SSL_HEADER is set but BEHIND_PROXY is not: any client can claim HTTPS "
            "with the forwarded header.",
            hint="Set BEHIND_PROXY=true only when a proxy in front sets that header.",
            id="faceledger.E004",
        )
    ]


@register(Tags.security, deploy=True)
def check_sms_gateway_url(app_configs, **kwargs) -> list[Error]:
    problem = sms_url_problem(settings.SMS_HTTP_BASE_URL)
    return _error(problem, "Use the provider's https:// address.", "faceledger.E005")


@register(Tags.security, deploy=True)
def check_client_address(app_configs, **kwargs) -> list[Error]:
    behind_proxy = getattr(settings, "BEHIND_PROXY", False)
    problem = client_address_problem(header=settings.CLIENT_IP_HEADER, behind_proxy=behind_proxy)
    hint = "Behind a proxy: BEHIND_PROXY=true and CLIENT_IP_HEADER=X-Forwarded-For; else neither."
    return _error(problem, hint, "faceledger.E007" if behind_proxy else "faceledger.E006")


@register(Tags.security, deploy=True)
def check_allowed_hosts(app_configs, **kwargs) -> list[Error]:
    problem = allowed_hosts_problem(list(settings.ALLOWED_HOSTS))
    return _error(problem, "List the site's host names.", "faceledger.E008")


@register(Tags.security, deploy=True)
def check_accountability(app_configs, **kwargs) -> list[Error]:
    problem = accountability_problem(accountable_values())
    hint = "Set the controller, representative, DPO and processors (README, Records)."
    return _error(problem, hint, "faceledger.E010")


@register(Tags.security, deploy=True)
def check_log_retention(app_configs, **kwargs) -> list[Error]:
    problem = log_retention_problem(getattr(settings, "LOG_RETENTION_DAYS", 0))
    return _error(problem, "Set LOG_RETENTION_DAYS=183 or more.", "faceledger.E011")


# Django reports these as warnings, which ``check --deploy`` lets pass (exit 0); each leaves
# sessions, codes or the signing of cookies open to an attacker, so here they fail it.
_DJANGO_WARNINGS_RAISED = (
    django_security.check_secret_key,
    django_security.check_ssl_redirect,
    django_security.check_sts,
    django_security.check_debug,
    django_security.check_allowed_hosts,
    django_sessions.check_session_cookie_secure,
    django_csrf.check_csrf_cookie_secure,
)


@register(Tags.security, deploy=True)
def check_django_security_warnings(app_configs, **kwargs) -> list[Error]:
    return [
        Error(f"{warning.id}: {warning.msg}", hint=warning.hint, id="faceledger.E009")
        for check in _DJANGO_WARNINGS_RAISED
        for warning in check(app_configs)
    ]


@register(Tags.security, deploy=True)
def check_signing_keys(app_configs, **kwargs) -> list[Error]:
    problem = signing_keys_problem(
        dict(getattr(settings, "AUDIT_SIGNING_KEYS", {})), list(settings.AUDIT_KEY_HISTORY)
    )
    hint = "Give each AUDIT_<JOB>_KEY its own Ed25519 key (manage.py audit_keys --rotate JOB)."
    return _error(problem, hint, "faceledger.E012")
