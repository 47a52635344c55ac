"""Keeps messages in ``consent.sms.outbox`` (the test settings use it)."""

from __future__ import annotations

from collections.abc import Sequence

from consent import sms
from consent.sms import SmsMessage
from consent.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    delivers_to_phones = False  # development only

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        sms.outbox.extend(messages)
        return len(messages)
