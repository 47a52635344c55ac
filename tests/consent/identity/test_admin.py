from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse
from django_otp import devices_for_user
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from consent.identity.models import SmsDevice, User
from tests.consent.conftest import last_code
from tests.factories import STAFF_PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = reverse("admin:login")
ADMIN_INDEX = reverse("admin:index")
USERS = reverse("admin:consent_user_changelist")


def current_totp(device: TOTPDevice) -> str:
    token = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
    return f"{token:0{device.digits}d}"


def admin_login(client: Client, user: User, *, password=STAFF_PASSWORD, device=None, token=None):
    """Submit the real admin login form (username, password, device, TOTP code)."""
    data = {"username": str(user.phone_number), "password": password, "next": ADMIN_INDEX}
    if device is not None:
        data["otp_device"] = device.persistent_id
        data["otp_token"] = token if token is not None else current_totp(device)
    return client.post(ADMIN_LOGIN, data)


def test_the_admin_accepts_staff_with_a_valid_totp_code(staff, audit_log):
    client = Client()

    response = admin_login(client, staff, device=staff.totp_device)

    assert response.status_code == 302
    assert response["Location"] == ADMIN_INDEX
    assert client.get(ADMIN_INDEX).status_code == 200
    assert audit_log(with_data=True) == [
        ("STAFF_LOGIN", {"channel": "admin", "second_factor": True})
    ]


def test_the_admin_signs_in_in_one_step_without_choosing_a_device(staff, audit_log):
    """The form shows no device to choose before the first submit: the staff member's one
    authenticator app is used, never "Please select a device"."""
    client = Client()

    response = client.post(
        ADMIN_LOGIN,
        {
            "username": str(staff.phone_number),
            "password": STAFF_PASSWORD,
            "otp_token": current_totp(staff.totp_device),
            "next": ADMIN_INDEX,
        },
    )

    assert response.status_code == 302 and response["Location"] == ADMIN_INDEX
    assert audit_log() == ["STAFF_LOGIN"]


def test_a_one_step_sign_in_with_a_wrong_code_is_refused(staff):
    client = Client()
    token = f"{(int(current_totp(staff.totp_device)) + 1) % 1_000_000:06d}"

    response = client.post(
        ADMIN_LOGIN,
        {"username": str(staff.phone_number), "password": STAFF_PASSWORD, "otp_token": token},
    )

    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "Please select a device" not in response.content.decode()


def test_the_admin_refuses_staff_without_a_second_factor(audit_log):
    no_device = StaffFactory(totp_device=False)
    assert not TOTPDevice.objects.filter(user=no_device).exists()
    client = Client()

    response = admin_login(client, no_device)
    response_with_code = client.post(
        ADMIN_LOGIN,
        {
            "username": str(no_device.phone_number),
            "password": STAFF_PASSWORD,
            "otp_token": "123456",
        },
    )

    assert response.status_code == 200  # the form again, with an error
    assert response_with_code.status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.get(ADMIN_INDEX).status_code == 302
    assert audit_log() == []


def test_the_admin_stays_closed_with_an_unconfirmed_totp_device(staff, audit_log):
    TOTPDevice.objects.filter(user=staff).update(confirmed=False)
    client = Client()

    # django-otp accepts the code of a device named in the POST even if unconfirmed, but its
    # middleware does not count that device as a second factor: the admin stays closed.
    admin_login(client, staff, device=staff.totp_device)

    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(ADMIN_LOGIN)
    assert audit_log(with_data=True) == [
        ("STAFF_LOGIN", {"channel": "admin", "second_factor": False})
    ]


def test_the_admin_refuses_a_wrong_totp_code(staff):
    client = Client()
    right = current_totp(staff.totp_device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    response = admin_login(client, staff, device=staff.totp_device, token=wrong)

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_the_admin_refuses_a_wrong_password_even_with_a_valid_code(staff):
    client = Client()

    admin_login(client, staff, password="not-the-password", device=staff.totp_device)

    assert "_auth_user_id" not in client.session


def test_a_staff_session_without_otp_verification_does_not_open_the_admin(staff):
    client = Client()
    client.force_login(staff)  # a password-only session

    response = client.get(ADMIN_INDEX)

    assert response.status_code == 302
    assert response["Location"].startswith(ADMIN_LOGIN)


@pytest.fixture
def superstaff():
    user = StaffFactory(is_superuser=True)
    client = Client()
    assert admin_login(client, user, device=user.totp_device).status_code == 302
    return client


def test_the_user_list_masks_phone_numbers(superstaff, alice, bob):
    response = superstaff.get(USERS)

    html = response.content.decode()
    assert response.status_code == 200
    assert "+44 •••••••001" in html and "+44 •••••••002" in html
    assert "7400100001" not in html and "7400100002" not in html


def test_staff_find_a_person_by_their_exact_number_through_a_post(superstaff, alice, bob):
    found = superstaff.post(reverse("admin:consent_user_find"), {"phone": "+447400100001"})
    by_url = superstaff.get(USERS, {"q": "+447400100001"})

    assert found.status_code == 302
    assert found["Location"] == reverse("admin:consent_user_change", args=[alice.pk])
    assert by_url.status_code == 400  # a number in a URL is refused, not searched


def test_opening_a_persons_record_is_read_only_masked_and_audited(superstaff, alice, audit_log):
    response = superstaff.get(reverse("admin:consent_user_change", args=[alice.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "+44 •••••••001" in html and "7400100001" not in html
    assert 'name="phone_number"' not in html  # shown, not editable
    assert audit_log() == ["STAFF_VIEWED_SUBJECT"]


def test_the_admin_cannot_add_change_or_delete_accounts(superstaff, alice):
    add = superstaff.get(reverse("admin:consent_user_add"))
    post = superstaff.post(
        reverse("admin:consent_user_change", args=[alice.pk]), {"phone_number": "+447400100009"}
    )
    delete = superstaff.post(reverse("admin:consent_user_delete", args=[alice.pk]), {"post": "yes"})

    assert add.status_code == 403
    assert post.status_code == 403
    assert delete.status_code == 403
    alice.refresh_from_db()
    assert str(alice.phone_number) == "+447400100001"


def test_admin_logout_is_audited(superstaff, audit_log):
    response = superstaff.post(reverse("admin:logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in superstaff.session
    assert audit_log(with_data=True) == [("LOGOUT", {"channel": "admin"})]


def test_the_sms_code_is_never_a_second_factor_for_the_admin(staff, outbox):
    portal = Client()
    portal.post(reverse("consent:login"), {"phone": str(staff.phone_number)})
    portal.post(reverse("consent:login_verify"), {"code": last_code(outbox)})
    sms_device = SmsDevice.objects.get(user=staff)
    assert list(devices_for_user(staff)) == [staff.totp_device]

    # A hand-made admin login naming the SMS device, with a fresh SMS code and the password.
    portal.post(reverse("consent:logout"))
    portal.post(reverse("consent:login"), {"phone": str(staff.phone_number)})
    client = Client()
    admin_login(client, staff, device=sms_device, token=last_code(outbox))
    # The code was sent for signing in to the portal, so django-otp's form refuses it (and, were
    # it accepted, the device is not confirmed: the middleware would not count it either).
    assert "otp_device_id" not in client.session
    assert SmsDevice.objects.get(pk=sms_device.pk).throttling_failure_count == 1

    response = client.get(ADMIN_INDEX)
    assert response.status_code == 302
    assert response["Location"].startswith(ADMIN_LOGIN)


def test_admin_labels_read_as_words_with_real_plurals(superstaff):
    from django.apps import apps

    index = superstaff.get(ADMIN_INDEX).content.decode()

    assert "policys" not in index and "Otp_Totp" not in index
    naive = re.compile(r"(?:[^aeiou]ys|ss|\ds|overs|-ins|eds|fs)$")  # a name + "s"
    for app in ("consent", "audit", "biometrics", "swap", "otp_totp"):
        for model in apps.get_app_config(app).get_models():
            assert not naive.search(str(model._meta.verbose_name_plural)), model
