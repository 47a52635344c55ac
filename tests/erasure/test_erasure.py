"""Verified erasure: the inventory walked, every trace gone (checked by raw scans, not only by the
stores' own word), the data key destroyed, the log still verifying, a signed certificate whose
audit event anyone can check, a status that outlives the account, and resumption after a crash.

Transactional tests: the erasure task runs (eagerly) when the request's transaction commits.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit import signing
from audit.models import SubjectPseudonym
from audit.verification import audit_log_verify
from biometrics import vault
from biometrics.models import Capture, SubjectKey
from biometrics.services import capture_decrypt
from compliance_site import inventory, jobs
from compliance_site.crypto import DecryptionError
from consent.erasure import services as erasure_services
from consent.erasure.models import ErasureRequest
from consent.erasure.services import (
    ERASURE_JOBS,
    ErasureIncomplete,
    erasure_request,
    erasure_requeue_stale,
    erasure_run,
)
from consent.identity.models import User
from tests.audit.helpers import verify_inclusion
from tests.consent.conftest import last_code, request_code, verify_code
from tests.erasure.kit import (
    ACCOUNT_DELETE_URL,
    ERASE_WORDS,
    ERASURE_URL,
    cache_hits,
    challenge_for,
    client_for,
    database_hits,
    folder_hits,
    phone_forms,
    portal_erase,
    raw_scan,
    subject_reference_hits,
)

pytestmark = pytest.mark.django_db(transaction=True)

# Audit events hold pseudonyms by design (invariant 4): the log keeps them, the mapping goes.
AUDIT_PSEUDONYM_COLUMNS = {"audit_auditevent": {"subject", "actor"}}


@pytest.fixture
def lived_in(alice, bob, enrolled, grant_consent, _sms_outbox):
    """Alice with everything a subject leaves behind: captures, a live challenge, consents
    with receipts, an SMS device and send window (she signed in by code), an API token, a
    portal session. Bob, enrolled too, must come through untouched."""
    enrolled(alice, captures=2)
    grant_consent(alice, "face_swap")
    enrolled(bob)
    anonymous = APIClient()
    request_code(anonymous, str(alice.phone_number))
    token = verify_code(anonymous, str(alice.phone_number), last_code(_sms_outbox)).json()["token"]
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    challenge_for(api)
    Client().force_login(alice)
    return api


def _erase(api: APIClient) -> dict:
    response = api.post(ERASURE_URL)
    assert response.status_code == 202, response.content
    return response.json()


def test_after_erasure_no_store_holds_anything_and_raw_scans_find_no_trace(
    lived_in, alice, bob, settings, _upload_temp_dir, _media_root
):
    pseudonym = SubjectPseudonym.objects.get(subject_id=alice.pk).pseudonym.encode()
    before = inventory.locate_all(alice.pk)
    assert {name for name, refs in before.items() if refs} >= {
        "biometrics.captures",
        "biometrics.challenges",
        "biometrics.subject_key",
        "consent.sessions",
        "consent.api_tokens",
        "consent.sms_devices",
        "consent.send_windows",
        "consent.ledger",
        "consent.subject",
        "audit.pseudonyms",
    }

    body = _erase(lived_in)

    assert body["status"] == "done"
    assert all(refs == [] for refs in inventory.locate_all(alice.pk).values())
    identifiers = phone_forms(str(alice.phone_number)) + [pseudonym]
    assert database_hits(identifiers, skip=AUDIT_PSEUDONYM_COLUMNS) == []
    assert raw_scan(identifiers, skip=AUDIT_PSEUDONYM_COLUMNS) == []  # and sessions decoded
    assert subject_reference_hits(alice.pk) == []
    assert folder_hits(_media_root, identifiers) == []
    left = {str(p.relative_to(_media_root)) for p in _media_root.rglob("*.*")}
    assert left == {Capture.objects.get(subject=bob).photo}  # only bob's capture remains
    assert folder_hits(_upload_temp_dir, identifiers) == [] and not any(_upload_temp_dir.iterdir())
    assert cache_hits(identifiers) == []
    # Bob is untouched.
    assert capture_decrypt(Capture.objects.get(subject=bob)).embedding.shape == (128,)
    assert SubjectPseudonym.objects.filter(subject_id=bob.pk).exists()


def test_a_ciphertext_copied_aside_before_erasure_cannot_be_decrypted_after(
    lived_in, alice, settings, _media_root
):
    capture = Capture.objects.filter(subject=alice).first()
    photo = (_media_root / capture.photo).read_bytes()
    embedding = bytes(capture.embedding)
    assert vault.unseal(alice.pk, embedding, aad=f"capture:{capture.pk}:embedding")

    _erase(lived_in)

    assert not SubjectKey.objects.filter(subject_id=alice.pk).exists()
    with pytest.raises(DecryptionError):
        vault.unseal(alice.pk, photo, aad=f"capture:{capture.pk}:photo")
    with pytest.raises(DecryptionError):
        vault.unseal(alice.pk, embedding, aad=f"capture:{capture.pk}:embedding")


def test_erasure_is_audited_store_by_store_and_the_log_still_verifies(
    lived_in, alice, audit_events, capfd
):
    body = _erase(lived_in)

    events = audit_events()
    names = [name for name, _ in events]
    stores = [s.name for s in inventory.stores()]
    assert names == ["ERASURE_REQUESTED"] + ["ERASURE_STORE_ERASED"] * len(stores) + [
        "ERASURE_COMPLETED"
    ]
    assert events[0][1] == {
        "consent": {
            "biometric_enrolment": "granted",
            "face_swap": "granted",
            "output_storage": "consent_required",
            "ephemeral_swap": "consent_required",
        }
    }
    erased = {data["store"]: data["erased"] for name, data in events[1:-1]}
    assert [data["store"] for _, data in events[1:-1]] == stores
    held = {
        "biometrics.captures": 2,
        "biometrics.challenges": 1,
        "consent.sessions": 1,
        "consent.api_tokens": 1,
        "consent.sms_devices": 1,
        # The number's sends asked from one network and from all; its attempt counts likewise.
        "consent.send_windows": 2,
        "consent.code_attempts": 2,
        "biometrics.subject_key": 1,
        "consent.ledger": 3,  # two consent records and the statement of 14 or over
        "consent.subject": 1,
        "audit.pseudonyms": 1,
    }
    assert erased == {**dict.fromkeys(stores, 0), **held}
    assert events[-1][1] == {"stores": len(stores), "erased": sum(erased.values())}
    assert all(set(data) == {"store", "erased"} for _, data in events[1:-1])  # no identifiers
    assert audit_log_verify().ok
    call_command("audit_verify")
    assert "OK" in capfd.readouterr().out.upper()
    certificate = APIClient().get(f"{ERASURE_URL}/{body['id']}").json()["certificate"]
    assert certificate["stores"] == [{"store": name, "erased": erased[name]} for name in stores]


def test_the_certificate_is_signed_and_cites_an_event_with_a_checkable_inclusion_proof(
    lived_in, alice
):
    token = _erase(lived_in)["id"]

    answer = APIClient().get(f"{ERASURE_URL}/{token}")

    assert answer.status_code == 200
    certificate = answer.json()["certificate"]
    assert signing.verify("erasure", certificate)
    assert certificate["key_id"] == signing.current_key_id("erasure")
    request = ErasureRequest.objects.get()
    assert certificate["erasure_request"] == str(request.pk)
    assert certificate["verified_empty"] is True
    checkpoint = certificate["checkpoint"]
    assert signing.verify("checkpoint", checkpoint)
    leaf = certificate["audit_event"]
    proof = APIClient().get(certificate["inclusion_proof"]).json()
    assert proof["leaf_hash"] == leaf["leaf_hash"]
    assert verify_inclusion(
        bytes.fromhex(leaf["leaf_hash"]),
        leaf["leaf_index"],
        checkpoint["tree_size"],
        [bytes.fromhex(h) for h in proof["audit_path"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    assert str(alice.phone_number) not in json.dumps(certificate)


def test_the_status_endpoint_outlives_the_account_and_refuses_a_wrong_token(lived_in, alice):
    token = _erase(lived_in)["id"]

    assert not User.objects.filter(pk=alice.pk).exists()
    assert lived_in.get("/api/v1/consents").status_code == 401  # the account's token is gone
    good = APIClient().get(f"{ERASURE_URL}/{token}")
    wrong = APIClient().get(f"{ERASURE_URL}/{token[:-2]}xx")
    assert good.status_code == 200 and good.json()["status"] == "done"
    assert wrong.status_code == 404 and wrong.json()["code"] == "erasure_not_found"
    assert APIClient().get(f"{ERASURE_URL}/{'x' * 500}").status_code == 404
    # Only the token's hash is kept.
    assert not ErasureRequest.objects.filter(token_digest=token).exists()
    assert database_hits([token.encode()]) == []


def test_an_erasure_killed_half_way_completes_on_retry(
    alice, enrolled, monkeypatch, time_machine, audit_events
):
    enrolled(alice)
    ledger = inventory._stores["consent.ledger"]
    calls = []

    def killed_once(subject_id: int) -> int:
        calls.append(subject_id)
        if len(calls) == 1:
            raise RuntimeError("the worker was killed")
        return ledger.erase(subject_id)

    monkeypatch.setitem(
        inventory._stores, "consent.ledger", dataclasses.replace(ledger, erase=killed_once)
    )

    request, _token = erasure_request(subject=alice)  # runs (eagerly) and dies at the ledger

    request.refresh_from_db()
    assert request.status == "running" and request.certificate == ""
    assert "biometrics.subject_key" in request.progress and "consent.ledger" not in request.progress
    assert not Capture.objects.filter(subject=alice).exists()
    assert User.objects.filter(pk=alice.pk).exists()
    assert erasure_requeue_stale() == 0  # a live run may still hold it
    time_machine.move_to(timezone.now() + timedelta(minutes=11))

    assert erasure_requeue_stale() == 1

    request.refresh_from_db()
    assert request.status == "done" and request.subject_ref is None
    assert all(refs == [] for refs in inventory.locate_all(alice.pk).values())
    stores = [data["store"] for name, data in audit_events() if name == "ERASURE_STORE_ERASED"]
    assert stores == [s.name for s in inventory.stores()]  # each store once, none twice
    assert erasure_requeue_stale() == 0 and erasure_run(request_id=request.pk) is None


def test_an_erasure_that_cannot_prove_emptiness_is_not_certified(alice, enrolled, monkeypatch):
    enrolled(alice)
    stubborn = inventory.Store(
        name="tests.stubborn",
        what="a store whose erase does not erase",
        why="testing the proof",
        retention="forever",
        legal_basis="none",
        locate=lambda subject_id: ["tests.stubborn:1"],
        export=lambda subject_id: None,
        erase=lambda subject_id: 0,
        band=inventory.Band.SIGN_IN,
    )
    monkeypatch.setitem(inventory._stores, stubborn.name, stubborn)

    request, _token = erasure_request(subject=alice)

    request.refresh_from_db()
    assert request.status == "running" and not request.certificate
    assert request.completed_event_id is None and request.subject_ref == alice.pk
    # The rolled-back final step kept the pseudonym: the retry can still write its events.
    assert SubjectPseudonym.objects.filter(subject_id=alice.pk).exists()


def test_a_lost_task_message_is_queued_again_and_a_second_request_is_refused(
    alice, policies, monkeypatch, time_machine
):
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)  # the broker lost it
    request, token = erasure_request(subject=alice)
    api = client_for(alice)  # a new token: the account is disabled, so it is refused

    assert api.post(ERASURE_URL).status_code == 401
    assert User.objects.get(pk=alice.pk).is_active is False
    monkeypatch.undo()
    time_machine.move_to(timezone.now() + timedelta(minutes=11))

    assert erasure_requeue_stale() == 1

    request.refresh_from_db()
    assert request.status == "done"
    assert APIClient().get(f"{ERASURE_URL}/{token}").json()["status"] == "done"


def test_a_second_erasure_request_while_one_runs_is_refused(alice, policies, monkeypatch):
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)
    erasure_request(subject=alice)

    from compliance_site.errors import Conflict

    with pytest.raises(Conflict) as refused:
        erasure_request(subject=User.objects.get(pk=alice.pk))
    assert refused.value.code == "erasure_in_progress"


def test_the_portal_erases_with_a_fresh_code_and_typed_words_then_shows_the_certificate(
    alice, enrolled, _sms_outbox
):
    enrolled(alice)
    browser = Client()
    browser.force_login(alice)

    page = browser.get(ACCOUNT_DELETE_URL)
    erased = portal_erase(browser, _sms_outbox)
    status = browser.get(erased["Location"])
    certificate = browser.get("/account/delete/certificate.json")

    assert page.status_code == 200 and b'action="/account/delete/"' in page.content
    assert "to erase your account" in _sms_outbox[-1].body  # says what the code is for
    assert erased.status_code == 302 and erased["Location"] == "/account/delete/status/"
    assert status.status_code == 200
    assert "Your account is erased" in status.content.decode()
    body = json.loads(certificate.content)
    assert signing.verify("erasure", body)
    assert not User.objects.filter(pk=alice.pk).exists()
    assert browser.get("/dashboard/").status_code == 302  # signed out
    assert Client().get("/account/delete/status/").status_code == 404  # no token, nothing shown


def test_the_erasure_page_names_what_will_be_erased_before_anything_is_sent(
    alice, enrolled, grant_consent, _sms_outbox
):
    enrolled(alice)
    grant_consent(alice, "face_swap")
    browser = Client()
    browser.force_login(alice)

    page = browser.get(ACCOUNT_DELETE_URL).content.decode()

    assert "1 face capture" in page and 'data-store="consent.ledger"' in page
    assert 'name="step" value="send"' in page and 'name="code"' not in page
    assert _sms_outbox == []


@pytest.mark.parametrize(
    "posted",
    [
        {"step": "erase"},  # one tap: no code, no words
        {"step": "erase", "confirm": ERASE_WORDS},  # no code
        {"step": "erase", "code": "123456", "confirm": ERASE_WORDS},  # no code was sent
    ],
    ids=["nothing", "no_code", "code_never_sent"],
)
def test_the_portal_never_erases_without_a_fresh_code(alice, policies, posted):
    browser = Client()
    browser.force_login(alice)

    refused = browser.post(ACCOUNT_DELETE_URL, posted)

    assert 400 <= refused.status_code < 500
    assert User.objects.get(pk=alice.pk).is_active
    assert not ErasureRequest.objects.exists()


def test_a_right_code_without_the_typed_words_erases_nothing(alice, policies, _sms_outbox):
    browser = Client()
    browser.force_login(alice)

    refused = portal_erase(browser, _sms_outbox, words="yes")

    assert refused.status_code == 400
    assert "erase my account" in refused.content.decode()
    assert User.objects.get(pk=alice.pk).is_active and not ErasureRequest.objects.exists()


def test_a_sign_in_code_cannot_erase_the_account(alice, policies, _sms_outbox):
    """The code is bound to this erasure: a sign-in code (say, one a phishing page asked
    for) is refused as a wrong one."""
    request_code(APIClient(), str(alice.phone_number))
    browser = Client()
    browser.force_login(alice)

    refused = browser.post(
        ACCOUNT_DELETE_URL,
        {"step": "erase", "code": last_code(_sms_outbox), "confirm": ERASE_WORDS},
    )

    assert refused.status_code in (400, 401, 403)
    assert User.objects.get(pk=alice.pk).is_active and not ErasureRequest.objects.exists()


def test_a_stalled_run_whose_request_was_handed_to_a_new_run_stops_and_completes_nothing(
    alice, enrolled, monkeypatch, audit_events
):
    enrolled(alice)
    monkeypatch.setattr("compliance_site.jobs._send", lambda kind, pk: None)  # the test runs it
    request, _token = erasure_request(subject=alice)
    stalled = jobs.claim(ERASURE_JOBS, request.pk)
    later = timezone.now() + timedelta(minutes=11)
    assert jobs.recover(ERASURE_JOBS, now=later)["requeued"] == 1
    taken = jobs.claim(ERASURE_JOBS, request.pk)
    assert stalled is not None and taken is not None

    assert not jobs.heartbeat(stalled)
    with pytest.raises(ErasureIncomplete):
        erasure_services._run(stalled)  # its first store's step rolls back
    with pytest.raises(ErasureIncomplete):
        erasure_services._erase_last_and_prove(stalled, inventory.stores())

    request.refresh_from_db()
    assert request.progress == {} and request.completed_event_id is None
    assert not any(name.startswith("ERASURE_STORE") for name, _data in audit_events())
    erasure_services._run(taken)
    request.refresh_from_db()
    assert request.status == "done" and request.certificate
    completed = [name for name, _data in audit_events() if name == "ERASURE_COMPLETED"]
    assert completed == ["ERASURE_COMPLETED"]
