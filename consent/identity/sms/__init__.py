"""Text messages, shaped like Django's e-mail API: pick a backend with ``SMS_BACKEND``.

``send_sms(to, body)`` sends one message through ``get_connection()``. Backends raise
``SmsDeliveryError`` when the gateway cannot take the message (unless ``fail_silently``).
Tests use the locmem backend, which collects messages in ``consent.identity.sms.outbox``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str


class SmsDeliveryError(Exception):
    """The gateway refused the message, failed, or did not answer in time."""


# Filled by consent.identity.sms.backends.locmem; emptied before each test.
outbox: list[SmsMessage] = []


def get_connection(backend: str | None = None, fail_silently: bool = False, **kwargs):
    """A backend instance: ``backend`` is a dotted path, ``SMS_BACKEND`` by default."""
    klass = import_string(backend or settings.SMS_BACKEND)
    return klass(fail_silently=fail_silently, **kwargs)


def send_sms(to: str, body: str, *, fail_silently: bool = False, connection=None) -> int:
    """Send one message to ``to`` (E.164); returns how many were sent (0 or 1)."""
    connection = connection or get_connection(fail_silently=fail_silently)
    return connection.send_messages([SmsMessage(to=to, body=body)])
