"""Prints each message: the default for development, where codes appear in the terminal."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

from consent.identity.sms import SmsMessage
from consent.identity.sms.backends.base import BaseSmsBackend


class SmsBackend(BaseSmsBackend):
    delivers_to_phones = False  # development only

    def __init__(self, *args, stream=None, **kwargs) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def write_message(self, message: SmsMessage) -> None:
        self.stream.write(f"SMS to {message.to}: {message.body}\n")

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        if not messages:
            return 0
        with self._lock:
            try:
                for message in messages:
                    self.write_message(message)
                self.stream.flush()
            except Exception:
                if not self.fail_silently:
                    raise
        return len(messages)
