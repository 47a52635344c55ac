from __future__ import annotations

import base64
import io
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from consent.identity import sms
from consent.identity.models import SendWindow, SmsDevice
from consent.identity.sms import SmsDeliveryError, SmsMessage, get_connection, send_sms
from tests.consent.conftest import NEW_NUMBER, request_code, verify_code

HTTP_BACKEND = "consent.identity.sms.backends.http.SmsBackend"


class _Gateway(BaseHTTPRequestHandler):
    """A stand-in SMS provider: answers as configured on the server, records what it got."""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        self.server.received.append(
            {"path": self.path, "auth": self.headers["Authorization"], "form": parse_qs(body)}
        )
        if self.server.delay:
            time.sleep(self.server.delay)
        status, answer = self.server.answer
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the timeout test)

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway(settings):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    server.received = []
    server.delay = 0.0
    server.answer = (201, {"sid": "SM123", "status": "queued"})
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    settings.SMS_BACKEND = HTTP_BACKEND
    settings.SMS_HTTP_BASE_URL = f"http://127.0.0.1:{server.server_port}"
    settings.SMS_HTTP_ACCOUNT_SID = "AC0123456789"
    settings.SMS_HTTP_AUTH_TOKEN = "test-auth-token"
    settings.SMS_HTTP_FROM = "+15005550006"
    settings.SMS_HTTP_TIMEOUT = 0.5
    yield server
    server.shutdown()
    server.server_close()


def test_the_http_backend_posts_twilio_style_with_basic_auth(gateway):
    sent = send_sms("+447400123456", "Your Faceledger code is 123456")

    assert sent == 1
    (request,) = gateway.received
    assert request["path"] == "/2010-04-01/Accounts/AC0123456789/Messages.json"
    expected = base64.b64encode(b"AC0123456789:test-auth-token").decode()
    assert request["auth"] == f"Basic {expected}"
    assert request["form"] == {
        "To": ["+447400123456"],
        "From": ["+15005550006"],
        "Body": ["Your Faceledger code is 123456"],
    }


def test_the_http_backend_raises_on_a_provider_error(gateway):
    gateway.answer = (503, {"code": 20503, "message": "Service unavailable"})

    with pytest.raises(SmsDeliveryError, match="503"):
        send_sms("+447400123456", "hello")
    assert send_sms("+447400123456", "hello", fail_silently=True) == 0


def test_the_http_backend_gives_up_after_its_timeout(gateway):
    gateway.delay = 2.0
    started = time.monotonic()

    with pytest.raises(SmsDeliveryError):
        send_sms("+447400123456", "hello")

    assert time.monotonic() - started < 1.5


@pytest.mark.django_db
def test_a_code_sent_through_the_http_gateway_signs_in(api, gateway):
    assert request_code(api, NEW_NUMBER).status_code == 202

    body = gateway.received[0]["form"]["Body"][0]
    code = re.search(r"\b\d{6}\b", body).group()
    assert verify_code(api, NEW_NUMBER, code).status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("failure", ["5xx", "timeout"])
def test_a_gateway_failure_is_a_503_and_neither_stores_a_code_nor_counts(
    api, gateway, settings, audit_log, failure
):
    if failure == "5xx":
        gateway.answer = (500, {"code": 20500, "message": "Internal error"})
    else:
        gateway.delay = 2.0

    response = request_code(api, NEW_NUMBER)

    assert response.status_code == 503
    assert response.json()["code"] == "sms_unavailable"
    assert not SmsDevice.objects.filter(token__isnull=False).exists()
    assert all(window.hits == [] for window in SendWindow.objects.all())
    assert audit_log(with_data=True) == [("OTP_SEND_FAILED", {"counted": False})]
    # The user retries once the gateway is back: all three sends are still available.
    gateway.answer, gateway.delay = (201, {"sid": "SM1"}), 0.0
    assert [request_code(api, NEW_NUMBER).status_code for _ in range(4)] == [202, 202, 202, 429]


@pytest.mark.django_db
def test_a_failed_send_leaves_the_previous_code_usable(api, gateway):
    request_code(api, NEW_NUMBER)
    first_code = re.search(r"\b\d{6}\b", gateway.received[0]["form"]["Body"][0]).group()
    gateway.answer = (502, {"message": "Bad gateway"})

    assert request_code(api, NEW_NUMBER).status_code == 503

    assert verify_code(api, NEW_NUMBER, first_code).status_code == 200


def test_the_console_backend_prints_the_message():
    stream = io.StringIO()
    connection = get_connection("consent.identity.sms.backends.console.SmsBackend", stream=stream)

    send_sms("+447400123456", "Your Faceledger code is 123456", connection=connection)

    assert stream.getvalue() == "SMS to +447400123456: Your Faceledger code is 123456\n"


def test_the_locmem_backend_collects_messages_in_the_outbox(outbox):
    send_sms("+447400123456", "one")

    assert outbox == [SmsMessage(to="+447400123456", body="one")]
    assert sms.outbox is outbox


def test_the_file_backend_writes_messages_under_sms_file_path(settings, tmp_path):
    settings.SMS_FILE_PATH = str(tmp_path / "sms")
    connection = get_connection("consent.identity.sms.backends.file.SmsBackend")

    with connection:
        connection.send_messages(
            [SmsMessage("+447400123456", "one"), SmsMessage("+4915123456789", "two")]
        )

    (written,) = (tmp_path / "sms").iterdir()
    assert written.read_text() == "SMS to +447400123456: one\nSMS to +4915123456789: two\n"
