from __future__ import annotations

from collections.abc import Sequence

from consent.identity.sms import SmsMessage


class BaseSmsBackend:
    """Base class for SMS backends, as ``django.core.mail.backends.base.BaseEmailBackend``.

    Subclasses implement ``send_messages``. ``open``/``close`` let a backend keep a
    connection across several messages; the context manager calls them.
    """

    delivers_to_phones = False  # only a provider's backend says True; production requires it

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        self.fail_silently = fail_silently

    def open(self) -> bool | None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self):
        try:
            self.open()
        except Exception:
            self.close()
            raise
        return self

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        self.close()

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        raise NotImplementedError("subclasses of BaseSmsBackend must implement send_messages()")
