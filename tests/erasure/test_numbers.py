"""A phone number does not outlive its erasure, whatever flow took it: the certificate's
``verified_empty`` and a raw scan of every table, session and file (``kit.raw_scan``) for the
number in every form must agree, for each flow that takes a number. Every erasure here runs
through HTTP (the API or the portal), the worker eagerly when the request commits."""

from __future__ import annotations

from datetime import timedelta

import phonenumbers
import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from compliance_site import inventory
from consent.erasure import services as erasure_services
from consent.erasure.services import erasure_requeue_stale
from consent.identity.models import ErasedNumber, SmsDevice, User
from consent.identity.selectors import phone_digest
from tests.consent.conftest import NEW_NUMBER, last_code, quote, request_code, verify_code
from tests.consent.identity.test_admin import admin_login
from tests.erasure.kit import (
    ERASURE_URL,
    client_for,
    database_hits,
    phone_forms,
    portal_erase,
    raw_scan,
)
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Audit events name people by pseudonym (kept by design); their other columns are scanned.
AUDIT_PSEUDONYMS = {"audit_auditevent": {"subject", "actor"}}
LOGIN, VERIFY = reverse("consent:login"), reverse("consent:login_verify")
PARENT = NEW_NUMBER


def _erase_through_api(user: User) -> dict:
    response = client_for(user).post(ERASURE_URL)
    assert response.status_code == 202, response.content
    status = APIClient().get(f"{ERASURE_URL}/{response.json()['id']}").json()
    assert status["status"] == "done", status
    return status["certificate"]


def _assert_certificate_and_scan_agree(certificate: dict, number: str) -> None:
    assert certificate["verified_empty"] is True
    assert raw_scan(phone_forms(number), skip=AUDIT_PSEUDONYMS) == []
    # Nor is the keyed digest that finds the number (devices, send windows, held numbers) left.
    assert database_hits([phone_digest(phonenumbers.parse(number)).encode()]) == []


def _sign_in_started(number: str) -> Client:
    """A browser that asked the portal for a sign-in code and went no further."""
    browser = Client()
    response = browser.post(LOGIN, {"phone": number})
    assert response.status_code == 302 and response["Location"] == VERIFY
    return browser


def test_the_scan_sees_every_form_of_the_number(alice):
    forms = {form.decode() for form in phone_forms(str(alice.phone_number))}

    assert {"+447400100001", "07400 100001", "07400100001", "447400100001"} <= forms
    assert {"00447400100001", "+44 7400 100001"} <= forms
    assert raw_scan(phone_forms(str(alice.phone_number))) == ["consent_user.phone_number"]


def test_a_portal_sign_in_then_erasure_in_the_portal_leaves_no_trace(policies, _sms_outbox):
    browser = _sign_in_started(PARENT)
    assert browser.post(VERIFY, {"code": last_code(_sms_outbox)}).status_code == 302

    erased = portal_erase(browser, _sms_outbox)
    certificate = browser.get("/account/delete/certificate.json").json()

    assert erased.status_code == 302
    assert not User.objects.filter(phone_number=PARENT).exists()
    _assert_certificate_and_scan_agree(certificate, PARENT)


def test_a_sign_in_started_and_never_finished_is_erased_with_the_account(
    alice, policies, _sms_outbox
):
    stranger = _sign_in_started(str(alice.phone_number))  # another browser, left half-way
    # Held where erasure can find it by the number, not inside the session.
    assert raw_scan(phone_forms(str(alice.phone_number))) == [
        "consent_sessionnumber.phone_number",
        "consent_user.phone_number",
    ]

    certificate = _erase_through_api(alice)

    _assert_certificate_and_scan_agree(certificate, str(alice.phone_number))
    # The abandoned browser starts again from the number.
    assert stranger.get(VERIFY)["Location"] == LOGIN


def _child_asks_a_guardian(child: User, guardian_number: str, *, declare: bool = True) -> Client:
    browser = Client()
    browser.force_login(child)
    if declare:
        assert browser.post("/consent/under-14/", {"lang": "en"}).status_code == 302
    sent = browser.post(
        "/consent/guardian/request/", {"purpose": "face_swap", "phone": guardian_number}
    )
    assert sent.status_code == 302 and sent["Location"].startswith("/consent/guardian/")
    return browser


def test_the_guardians_erasure_takes_their_number_out_of_the_childs_session(
    alice, bob, policies, _sms_outbox
):
    child = _child_asks_a_guardian(alice, str(bob.phone_number))

    certificate = _erase_through_api(bob)

    _assert_certificate_and_scan_agree(certificate, str(bob.phone_number))
    assert child.get("/consent/guardian/")["Location"] == reverse("consent:centre")


def test_the_childs_erasure_takes_the_guardians_number_with_it(alice, policies, _sms_outbox):
    """The guardian's number in the child's session was typed by the child for the child's
    consent: it is the child's data and goes with the child's account."""
    _child_asks_a_guardian(alice, PARENT)  # a parent with no account here

    certificate = _erase_through_api(alice)

    _assert_certificate_and_scan_agree(certificate, str(alice.phone_number))
    assert raw_scan(phone_forms(PARENT), skip=AUDIT_PSEUDONYMS) == []
    # Only the keyed digest of the parent's number is kept, by the code's device and its
    # send window: both expire with the code (tests/consent/identity/test_prune.py).
    assert SmsDevice.objects.filter(user=None).count() == 1


def test_a_guardian_who_granted_and_asked_for_codes_is_erased_without_trace(
    alice, policies, _sms_outbox
):
    child = _child_asks_a_guardian(alice, PARENT)
    code = last_code(_sms_outbox)
    body = {**quote("face_swap"), "code": code, "relationship": "parent", "lang": "en"}
    assert child.post("/consent/guardian/", body).status_code == 302
    assert not User.objects.filter(phone_number=PARENT).exists()  # granting makes no account
    _child_asks_a_guardian(alice, PARENT, declare=False)  # and again, left half-way
    anonymous = APIClient()
    request_code(anonymous, PARENT)  # the guardian signs in themselves: now an account
    verify_code(anonymous, PARENT, last_code(_sms_outbox))
    guardian = User.objects.get(phone_number=PARENT)

    certificate = _erase_through_api(guardian)

    _assert_certificate_and_scan_agree(certificate, PARENT)


def test_staff_lookups_of_a_number_leave_no_trace_after_erasure(alice, policies):
    staff = StaffFactory(phone_number="+447911000002", is_superuser=True)
    desk = Client()
    admin_login(desk, staff, device=staff.totp_device)
    # Staff find a person by number through a POST (no number in any URL), then open them.
    found = desk.post(reverse("admin:consent_user_find"), {"phone": str(alice.phone_number)})
    assert found.status_code == 302
    assert found["Location"] == reverse("admin:consent_user_change", args=[alice.pk])
    assert desk.get(found["Location"]).status_code == 200

    certificate = _erase_through_api(alice)

    _assert_certificate_and_scan_agree(certificate, str(alice.phone_number))


def test_a_get_of_the_sign_in_page_makes_no_session(db):
    browser = Client()

    page = browser.get(f"{LOGIN}?next=/consent/")

    assert page.status_code == 200
    assert not Session.objects.exists() and "sessionid" not in browser.cookies
    assert 'name="next" value="/consent/"' in page.content.decode()  # the form carries it


@pytest.mark.parametrize("when", ["after every store", "between sign-in stores and account"])
def test_a_sign_in_started_while_the_erasure_runs_is_erased_before_the_certificate(
    alice, policies, _sms_outbox, monkeypatch, when
):
    """Another browser types the person's number after the stores that find sign-in data by
    it ran: the held number, its device and send windows must still be found by the number
    (the account row, which held it, may be gone) and erased before the proof."""
    number, run_stores, strangers = str(alice.phone_number), erasure_services._erase_stores, []

    def a_browser_asks_for_a_code_meanwhile(claim, stores):
        cut = len(stores) if when == "after every store" else _account_band_start(stores)
        run_stores(claim, stores[:cut])
        strangers.append(_sign_in_started(number))
        run_stores(claim, stores[cut:])
        assert not User.objects.filter(pk=alice.pk).exists()

    monkeypatch.setattr(erasure_services, "_erase_stores", a_browser_asks_for_a_code_meanwhile)

    certificate = _erase_through_api(alice)

    assert len(strangers) == 1
    _assert_certificate_and_scan_agree(certificate, number)
    assert not ErasedNumber.objects.exists()  # the digest kept for the last check went with it
    assert strangers[0].get(VERIFY)["Location"] == LOGIN


def test_an_erasure_stopped_after_the_account_went_still_finds_the_number_when_it_resumes(
    alice, policies, _sms_outbox, monkeypatch, time_machine
):
    number, prove = str(alice.phone_number), erasure_services._erase_last_and_prove

    def killed(claim, stores):
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(erasure_services, "_erase_last_and_prove", killed)
    started = client_for(alice).post(ERASURE_URL)
    assert started.status_code == 202
    assert not User.objects.filter(pk=alice.pk).exists()
    assert ErasedNumber.objects.filter(subject_ref=alice.pk).count() == 1  # a digest, no number
    stranger = _sign_in_started(number)  # while the request waits for its retry
    monkeypatch.setattr(erasure_services, "_erase_last_and_prove", prove)
    time_machine.move_to(timezone.now() + timedelta(minutes=11))

    assert erasure_requeue_stale() == 1

    status = APIClient().get(f"{ERASURE_URL}/{started.json()['id']}").json()
    assert status["status"] == "done"
    _assert_certificate_and_scan_agree(status["certificate"], number)
    assert not ErasedNumber.objects.exists()
    assert stranger.get(VERIFY)["Location"] == LOGIN


def _account_band_start(stores: list[inventory.Store]) -> int:
    return next(i for i, store in enumerate(stores) if store.band >= inventory.Band.ACCOUNT)
