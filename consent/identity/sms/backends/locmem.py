"""Keeps messages in ``consent.identity.sms.outbox`` (the test settings use it)."""

from __future__ import annotations

from collections.abc import Sequence

from consent.identity import sms
from consent.identity.sms import SmsMessage
from consent.identity.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    delivers_to_phones = False  # development only

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        sms.outbox.extend(messages)
        return len(messages)
