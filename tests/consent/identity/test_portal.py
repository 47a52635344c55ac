from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from consent.identity.models import SessionNumber, SmsDevice, User
from tests.consent.conftest import NEW_NUMBER, last_code, wrong

pytestmark = pytest.mark.django_db

LOGIN = reverse("consent:login")
VERIFY = reverse("consent:login_verify")
DASHBOARD = reverse("consent:dashboard")
LOGOUT = reverse("consent:logout")


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def _csrf(client: Client, url: str) -> str:
    page = client.get(url)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())
    assert match, "the form has no CSRF token"
    return match.group(1)


def _post(client: Client, url: str, data: dict, *, form_url: str | None = None):
    data = {**data, "csrfmiddlewaretoken": _csrf(client, form_url or url)}
    return client.post(url, data)


def test_the_whole_portal_sign_in_rotates_the_session(browser, outbox, audit_log):
    response = _post(browser, LOGIN, {"phone": NEW_NUMBER})
    assert response.status_code == 302
    assert response["Location"] == VERIFY
    session_before = browser.cookies["sessionid"].value

    response = _post(browser, VERIFY, {"code": last_code(outbox)})

    assert response.status_code == 302
    assert response["Location"] == DASHBOARD
    assert browser.cookies["sessionid"].value != session_before
    page = browser.get(DASHBOARD)
    assert page.status_code == 200
    assert "+44 7400 155555" in page.content.decode()
    assert "You are signed in." in page.content.decode()
    assert User.objects.filter(phone_number=NEW_NUMBER).exists()
    assert "consent.login.phone" not in browser.session
    assert not SessionNumber.objects.exists()  # the number held for the sign-in is released
    assert audit_log(with_data=True) == [
        ("OTP_REQUESTED", {"valid_seconds": 300}),
        ("SUBJECT_CREATED", {}),
        ("OTP_VERIFIED", {}),
        ("LOGIN", {"channel": "portal"}),
    ]


def test_logout_is_a_post_that_ends_the_session(browser, alice, outbox, audit_log):
    _post(browser, LOGIN, {"phone": str(alice.phone_number)})
    _post(browser, VERIFY, {"code": last_code(outbox)})

    assert browser.get(LOGOUT).status_code == 405
    response = _post(browser, LOGOUT, {}, form_url=DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert browser.get(DASHBOARD).status_code == 302
    assert audit_log(with_data=True)[-1] == ("LOGOUT", {"channel": "portal"})


def test_the_dashboard_sends_strangers_to_the_login_page(browser):
    response = browser.get(DASHBOARD)

    assert response.status_code == 302
    assert response["Location"] == f"{LOGIN}?next={DASHBOARD}"


def test_after_sign_in_the_user_returns_to_the_page_they_asked_for(browser, alice, outbox):
    page = browser.get(f"{LOGIN}?next={DASHBOARD}")
    assert f'name="next" value="{DASHBOARD}"' in page.content.decode()  # carried by the form
    _post(browser, LOGIN, {"phone": str(alice.phone_number), "next": DASHBOARD})

    response = _post(browser, VERIFY, {"code": last_code(outbox)})

    assert response["Location"] == DASHBOARD


def test_an_offsite_next_is_ignored(browser, alice, outbox):
    page = browser.get(f"{LOGIN}?next=https://evil.example/")
    assert "evil.example" not in page.content.decode()
    _post(browser, LOGIN, {"phone": str(alice.phone_number), "next": "https://evil.example/"})

    response = _post(browser, VERIFY, {"code": last_code(outbox)})

    assert response["Location"] == DASHBOARD


def test_the_forms_refuse_a_post_without_csrf_token(browser, outbox):
    assert browser.post(LOGIN, {"phone": NEW_NUMBER}).status_code == 403
    assert outbox == []


def test_a_bad_number_is_explained_next_to_the_field(browser, outbox):
    response = _post(browser, LOGIN, {"phone": "+44 20 7183 8750"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "This number cannot receive sign-in codes. Use a mobile number." in html
    assert 'aria-invalid="true"' in html
    assert outbox == []


def test_an_empty_number_is_explained(browser):
    response = _post(browser, LOGIN, {"phone": ""})

    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_a_wrong_code_is_explained_and_the_user_can_try_again(browser, outbox, settings):
    settings.OTP_SMS_THROTTLE_FACTOR = 0  # no back-off: this test is about the message
    _post(browser, LOGIN, {"phone": NEW_NUMBER})
    code = last_code(outbox)

    response = _post(browser, VERIFY, {"code": wrong(code)})

    assert response.status_code == 400
    assert "This code is wrong or has expired." in response.content.decode()
    assert _post(browser, VERIFY, {"code": code}).status_code == 302


def test_a_code_that_is_not_six_digits_is_explained(browser, outbox):
    _post(browser, LOGIN, {"phone": NEW_NUMBER})

    response = _post(browser, VERIFY, {"code": "12ab"})

    assert response.status_code == 400
    assert "The code is 6 digits." in response.content.decode()
    assert SmsDevice.objects.get().throttling_failure_count == 0


def test_back_off_is_explained_with_the_wait(browser, outbox):
    _post(browser, LOGIN, {"phone": NEW_NUMBER})
    _post(browser, VERIFY, {"code": wrong(last_code(outbox))})

    response = _post(browser, VERIFY, {"code": last_code(outbox)})

    assert response.status_code == 429
    assert "Too many attempts. Try again in 1 second." in response.content.decode()


def test_too_many_codes_requested_is_explained(browser, outbox):
    for _ in range(3):
        _post(browser, LOGIN, {"phone": NEW_NUMBER})

    response = _post(browser, LOGIN, {"phone": NEW_NUMBER})

    assert response.status_code == 429
    assert "Too many attempts. Try again in 10 minutes." in response.content.decode()


def test_the_verify_page_without_a_pending_number_goes_back_to_login(browser):
    response = browser.get(VERIFY)

    assert response.status_code == 302
    assert response["Location"] == LOGIN


def test_pages_are_accessible_and_mobile_first(browser):
    html = browser.get(LOGIN).content.decode()

    assert '<html lang="en">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert '<label for="id_phone">Mobile number</label>' in html
    assert 'aria-describedby="id_phone_helptext"' in html
    assert 'autocomplete="tel"' in html
    assert 'href="#main"' in html
    assert "/static/faceledger/site.css" in html
    assert "http://" not in html and "https://" not in html  # no CDN or remote resource


def test_a_staff_member_signed_in_by_sms_is_not_let_into_the_admin(outbox, staff):
    browser = Client()
    browser.post(LOGIN, {"phone": str(staff.phone_number)})
    browser.post(VERIFY, {"code": last_code(outbox)})
    assert browser.get(DASHBOARD).status_code == 200

    response = browser.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
