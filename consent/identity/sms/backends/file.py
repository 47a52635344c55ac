"""Writes messages to a file in ``SMS_FILE_PATH``: one file per backend instance."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from consent.identity.sms import SmsMessage
from consent.identity.sms.backends.console import SmsBackend as ConsoleSmsBackend


class SmsBackend(ConsoleSmsBackend):
    delivers_to_phones = False  # development only

    def __init__(self, *args, file_path: str | None = None, **kwargs) -> None:
        self.file_path = Path(file_path or settings.SMS_FILE_PATH).resolve()
        try:
            self.file_path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            message = f"SMS_FILE_PATH {self.file_path} is unusable: {exc}"
            raise ImproperlyConfigured(message) from exc
        if not os.access(self.file_path, os.W_OK):
            raise ImproperlyConfigured(f"SMS_FILE_PATH {self.file_path} is not writable.")
        kwargs["stream"] = None
        super().__init__(*args, **kwargs)
        self.stream = None
        self._name: Path | None = None

    def open(self) -> bool:
        if self.stream is None:
            self.stream = open(self._file_name(), "a", encoding="utf-8")  # noqa: SIM115
            return True
        return False

    def close(self) -> None:
        try:
            if self.stream is not None:
                self.stream.close()
        finally:
            self.stream = None

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        opened = self.open()
        try:
            return super().send_messages(messages)
        finally:
            if opened:
                self.close()

    def _file_name(self) -> Path:
        if self._name is None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            self._name = self.file_path / f"{stamp}-{id(self)}.log"
        return self._name
