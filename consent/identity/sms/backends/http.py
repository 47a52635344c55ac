"""Sends through an HTTP gateway speaking Twilio's Messages API (stdlib only).

``POST {SMS_HTTP_BASE_URL}/2010-04-01/Accounts/{SMS_HTTP_ACCOUNT_SID}/Messages.json`` with
basic auth (account SID, auth token) and the form fields ``To``, ``From``, ``Body``. Any
non-2xx answer, network error or timeout (``SMS_HTTP_TIMEOUT``) raises ``SmsDeliveryError``.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Sequence
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode, urlsplit
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from consent.identity.sms import SmsDeliveryError, SmsMessage
from consent.identity.sms.backends.base import BaseSmsBackend

logger = logging.getLogger(__name__)

# A provider's answer is small; never read an unbounded body from the network.
_MAX_ANSWER_BYTES = 64 * 1024


class SmsBackend(BaseSmsBackend):
    delivers_to_phones = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = kwargs.get("base_url", settings.SMS_HTTP_BASE_URL).rstrip("/")
        self.account_sid = kwargs.get("account_sid", settings.SMS_HTTP_ACCOUNT_SID)
        self.auth_token = kwargs.get("auth_token", settings.SMS_HTTP_AUTH_TOKEN)
        self.sender = kwargs.get("sender", settings.SMS_HTTP_FROM)
        self.timeout = float(kwargs.get("timeout", settings.SMS_HTTP_TIMEOUT))
        if urlsplit(self.base_url).scheme not in {"http", "https"}:
            raise ImproperlyConfigured("SMS_HTTP_BASE_URL must be an http(s) URL.")
        if not (self.account_sid and self.auth_token and self.sender):
            raise ImproperlyConfigured(
                "Set SMS_HTTP_ACCOUNT_SID, SMS_HTTP_AUTH_TOKEN and SMS_HTTP_FROM."
            )

    def send_messages(self, messages: Sequence[SmsMessage]) -> int:
        sent = 0
        for message in messages:
            try:
                self._post(message)
            except SmsDeliveryError:
                if not self.fail_silently:
                    raise
            else:
                sent += 1
        return sent

    def _post(self, message: SmsMessage) -> None:
        account = quote(self.account_sid, safe="")
        url = f"{self.base_url}/2010-04-01/Accounts/{account}/Messages.json"
        form = urlencode({"To": message.to, "From": self.sender, "Body": message.body})
        credentials = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = Request(  # noqa: S310 - the scheme is checked to be http(s) in __init__
            url,
            data=form.encode(),
            method="POST",
            headers={
                "Authorization": f"Basic {credentials}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urlopen(request, timeout=self.timeout) as response:  # noqa: S310 - as above
                answer = response.read(_MAX_ANSWER_BYTES)
        except HTTPError as exc:
            # The provider's own error code helps the operator; the message holds the number.
            logger.warning("SMS gateway answered HTTP %s (%s)", exc.code, _error_code(exc))
            raise SmsDeliveryError(f"gateway answered HTTP {exc.code}") from exc
        except (URLError, TimeoutError, OSError) as exc:
            logger.warning("SMS gateway unreachable: %s", type(exc).__name__)
            raise SmsDeliveryError("gateway unreachable or too slow") from exc
        logger.info("SMS accepted by the gateway (%d bytes answered)", len(answer))


def _error_code(exc: HTTPError) -> object:
    try:
        return json.loads(exc.read(_MAX_ANSWER_BYTES) or b"{}").get("code")
    except (ValueError, AttributeError, OSError):
        return None
