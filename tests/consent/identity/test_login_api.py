from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from consent.identity.models import ApiToken, SmsDevice, User
from consent.identity.selectors import token_digest
from tests.consent.conftest import (
    LOGOUT_URL,
    NEW_NUMBER,
    last_code,
    request_code,
    verify_code,
)

pytestmark = pytest.mark.django_db


def test_a_new_number_signs_in_through_the_api_and_gets_an_account_at_verification(
    api, outbox, audit_log
):
    response = request_code(api, NEW_NUMBER)

    assert response.status_code == 202
    assert [m.to for m in outbox] == [NEW_NUMBER]
    assert outbox[0].body == (
        f"Faceledger: {last_code(outbox)} is your code to sign in. Do not share it."
    )
    assert not User.objects.filter(phone_number=NEW_NUMBER).exists()

    response = verify_code(api, NEW_NUMBER, last_code(outbox))

    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    user = User.objects.get(phone_number=NEW_NUMBER)
    assert not user.has_usable_password()
    assert SmsDevice.objects.get().user == user
    assert audit_log() == [
        "OTP_REQUESTED",
        "SUBJECT_CREATED",
        "OTP_VERIFIED",
        "LOGIN",
    ]


def test_an_existing_subject_signs_in_without_a_second_account(api, alice, outbox, audit_log):
    request_code(api, str(alice.phone_number))
    response = verify_code(api, str(alice.phone_number), last_code(outbox))

    assert response.status_code == 200
    assert User.objects.count() == 1
    assert ApiToken.objects.get().user == alice
    assert audit_log(with_data=True) == [
        ("OTP_REQUESTED", {"valid_seconds": 300}),
        ("OTP_VERIFIED", {}),
        ("LOGIN", {"channel": "api"}),
    ]


def test_the_token_authenticates_and_only_its_sha256_is_stored(api, alice, outbox):
    request_code(api, str(alice.phone_number))
    key = verify_code(api, str(alice.phone_number), last_code(outbox)).json()["token"]

    stored = ApiToken.objects.get()
    assert stored.key_digest == token_digest(key)
    assert key not in stored.key_digest
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.post(LOGOUT_URL).status_code == 204


def test_logout_revokes_the_token(api, alice, outbox, audit_log):
    request_code(api, str(alice.phone_number))
    key = verify_code(api, str(alice.phone_number), last_code(outbox)).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.post(LOGOUT_URL).status_code == 204

    assert not ApiToken.objects.exists()
    again = client.post(LOGOUT_URL)
    assert again.status_code == 401
    assert again.json()["code"] == "authentication_failed"
    assert again["WWW-Authenticate"] == "Token"
    assert audit_log()[-1] == "LOGOUT"


def test_logout_without_credentials_is_refused(api):
    response = api.post(LOGOUT_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token not-a-real-key", "Token " + "x" * 500, "Token \u00e9t\u00e9"],
)
def test_a_malformed_or_unknown_token_is_refused_with_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.encode("utf-8").decode("latin-1"))

    response = client.post(LOGOUT_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "authentication_failed"


def test_an_expired_token_is_refused(api, alice, outbox, settings):
    request_code(api, str(alice.phone_number))
    key = verify_code(api, str(alice.phone_number), last_code(outbox)).json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    later = timezone.now() + timedelta(seconds=settings.API_TOKEN_TTL + 1)
    with time_machine.travel(later, tick=False):
        response = client.post(LOGOUT_URL)

    assert response.status_code == 401
    assert ApiToken.objects.count() == 1


def test_a_disabled_account_cannot_use_its_token(api, alice, outbox):
    request_code(api, str(alice.phone_number))
    key = verify_code(api, str(alice.phone_number), last_code(outbox)).json()["token"]
    User.objects.filter(pk=alice.pk).update(is_active=False)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    assert client.post(LOGOUT_URL).status_code == 401


def test_a_known_and_an_unknown_number_get_byte_identical_answers(api, alice):
    known = request_code(api, str(alice.phone_number))
    unknown = request_code(api, NEW_NUMBER)

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content

    def headers(response):
        return {k: v for k, v in response.items() if k != "X-Request-ID"}

    assert headers(known) == headers(unknown)
    assert not known.cookies and not unknown.cookies


def test_the_sign_in_endpoints_need_no_csrf_token_even_with_a_session_cookie(alice, outbox):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)  # a browser that also holds a portal session

    assert request_code(client, NEW_NUMBER).status_code == 202
    assert verify_code(client, NEW_NUMBER, last_code(outbox)).status_code == 200


def test_a_session_client_must_send_its_csrf_token_to_log_out(alice):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)

    response = client.post(LOGOUT_URL)

    assert response.status_code == 403
    assert client.session.get("_auth_user_id") == str(alice.pk)


def test_a_portal_session_can_log_out_through_the_api_with_its_csrf_token(alice, audit_log):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(alice)
    client.get("/dashboard/")  # sets the CSRF cookie, as the page would
    csrf = client.cookies["csrftoken"].value

    response = client.post(LOGOUT_URL, HTTP_X_CSRFTOKEN=csrf)

    assert response.status_code == 204
    assert "_auth_user_id" not in client.session
    assert audit_log(with_data=True) == [("LOGOUT", {"channel": "portal"})]
