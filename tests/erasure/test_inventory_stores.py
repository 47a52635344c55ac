"""Every store of personal data is in the inventory, in the right erasure order, and each one
locates, exports (JSON-safe, never biometric bytes) and erases one subject's data only."""

from __future__ import annotations

import json
import os
import time

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from compliance_site import inventory
from consent.identity import stores as identity_stores
from tests.erasure.kit import challenge_for, client_for

pytestmark = pytest.mark.django_db


def _store(name: str) -> inventory.Store:
    return next(store for store in inventory.stores() if store.name == name)


def test_every_expected_store_is_registered_in_erasure_order():
    names = [store.name for store in inventory.stores()]

    for name in (
        "biometrics.captures",
        "biometrics.challenges",
        "biometrics.subject_key",
        "consent.sessions",
        "consent.session_numbers",
        "consent.api_tokens",
        "consent.sms_devices",
        "consent.send_windows",
        "consent.celery_results",
        "consent.upload_temp_files",
        "consent.ledger",
        "consent.erasure_requests",
        "consent.subject",
        "audit.pseudonyms",
    ):
        assert name in names
    position = names.index
    assert position("biometrics.captures") < position("biometrics.subject_key")
    assert position("biometrics.subject_key") < position("consent.subject")
    assert position("consent.sms_devices") < position("consent.subject")  # they need the number
    assert position("consent.session_numbers") < position("consent.subject")
    assert position("consent.ledger") < position("consent.subject")
    assert names[-1] == "audit.pseudonyms"
    assert {s.name for s in inventory.stores_for_purpose("biometric_enrolment")} == {
        "biometrics.captures",
        "biometrics.challenges",
        "consent.reports",  # stored reports hold thumbnails of the photos
        "swap.jobs",  # every result is made from the person's captures
        "swap.stored_results",
        "swap.access_links",  # every withdrawal ends the person's share links
    }
    # The record of processing covers every subject's store and the service's own (the people
    # templates depict).
    assert {row["store"] for row in inventory.record_of_processing()} == set(names) | {
        "swap.templates"
    }


def test_exports_are_json_safe_and_never_hold_biometric_bytes(alice, enrolled, capture_analysis):
    [capture] = enrolled(alice)
    challenge_for(client_for(alice))

    exported = inventory.export_all(alice.pk)

    text = json.dumps(exported)
    [entry] = exported["biometrics.captures"]
    assert set(entry) == {
        "id",
        "created_at",
        "last_used_at",
        "retention_expires_at",
        "engine",
        "liveness",
    }
    assert entry["id"] == str(capture.pk) and entry["liveness"]["passed"] is True
    assert exported["biometrics.subject_key"]["master_key_id"] == "test1"
    assert exported["consent.subject"]["phone_number"] == str(alice.phone_number)
    assert len(exported["biometrics.challenges"]) == 1
    assert exported["audit.pseudonyms"]["pseudonym"]
    for secret in (capture_analysis.embedding.tobytes(), capture_analysis.photo_jpeg[100:140]):
        assert secret.hex() not in text and secret.decode("latin-1") not in text


def test_the_sessions_store_finds_and_erases_only_the_subjects_sessions(alice, bob):
    for user in (alice, bob, alice):
        Client().force_login(user)
    store = _store("consent.sessions")

    assert len(store.locate(alice.pk)) == 2 and len(store.locate(bob.pk)) == 1
    assert store.export(alice.pk) == {"signed_in_sessions": 2}
    assert store.erase(alice.pk) == 2
    assert store.locate(alice.pk) == [] and Session.objects.count() == 1


def test_numbers_held_for_portal_sessions_are_found_by_the_number_and_by_the_child(
    alice, bob, policies, _sms_outbox
):
    """Alice's number typed in a stranger's browser; Bob's typed by Alice, a child, asking him
    to be her guardian. Each is found through the number's digest, never a session scan."""
    Client().post("/login/", {"phone": str(alice.phone_number)})  # never finished
    child = Client()
    child.force_login(alice)
    child.post("/consent/under-14/", {"lang": "en"})
    child.post(
        "/consent/guardian/request/", {"purpose": "face_swap", "phone": str(bob.phone_number)}
    )
    store = _store("consent.session_numbers")

    assert len(store.locate(alice.pk)) == 2  # her number, and the guardian number she typed
    assert len(store.locate(bob.pk)) == 1
    assert [row["for"] for row in store.export(bob.pk)] == ["guardian"]
    assert str(bob.phone_number) not in json.dumps(store.export(bob.pk))
    assert store.erase(bob.pk) == 1
    assert store.locate(bob.pk) == [] and len(store.locate(alice.pk)) == 1
    assert store.erase(alice.pk) == 1 and store.erase(alice.pk) == 0


def test_numbers_that_sessions_held_before_are_taken_out_of_them(alice):
    """The migration that moved numbers out of sessions cleans sessions stored before it."""
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connection

    old = SessionStore()
    old.update({"consent.login.phone": "+447400100001", "consent.login.next": "/consent/"})
    old.create()
    child = SessionStore()
    child.update({"consent.guardian": {"phone": "+447400100002", "purpose": "face_swap"}})
    child.create()
    migration = import_module("consent.migrations.0009_session_numbers")

    # The function reads only the editor's connection (a schema editor cannot open inside the
    # test's transaction on SQLite).
    migration.strip_numbers_from_sessions(apps, SimpleNamespace(connection=connection))

    assert SessionStore(old.session_key).load() == {"consent.login.next": "/consent/"}
    assert SessionStore(child.session_key).load() == {}


def test_sign_in_devices_and_send_windows_are_found_by_the_number(alice, bob, _sms_outbox):
    from tests.consent.conftest import request_code, verify_code

    api = client_for(bob)
    request_code(api, str(alice.phone_number))  # a code sent, not yet used
    verify_code(api, str(alice.phone_number), "000000", REMOTE_ADDR="203.0.113.9")  # a guess
    devices, windows = _store("consent.sms_devices"), _store("consent.send_windows")
    attempts = _store("consent.code_attempts")

    assert len(devices.locate(alice.pk)) == 1 and devices.locate(bob.pk) == []
    # Sends asked from one network and from all; wrong codes from one network and from all.
    assert len(windows.locate(alice.pk)) == 2 and windows.locate(bob.pk) == []
    assert len(attempts.locate(alice.pk)) == 2 and attempts.locate(bob.pk) == []
    assert sorted(attempts.export(alice.pk), key=str) == [
        {"from_one_network": False, "wrong_codes_recently": 1},
        {"from_one_network": True, "wrong_codes_recently": 1},
    ]
    assert devices.erase(alice.pk) == 1 and windows.erase(alice.pk) == 2
    assert attempts.erase(alice.pk) == 2
    assert devices.locate(alice.pk) == windows.locate(alice.pk) == attempts.locate(alice.pk) == []


def test_no_task_results_are_kept_and_a_result_backend_would_fail_the_proof(alice, settings):
    store = _store("consent.celery_results")

    assert settings.CELERY_TASK_IGNORE_RESULT is True and not settings.CELERY_RESULT_BACKEND
    assert store.locate(alice.pk) == []
    settings.CELERY_RESULT_BACKEND = "django-db"
    assert store.locate(alice.pk) != []


def test_leftover_upload_temp_files_are_found_and_erased(alice, _upload_temp_dir):
    stale = _upload_temp_dir / "tmpab12cd.upload.webm"
    fresh = _upload_temp_dir / "tmpef34gh.upload.mp4"
    unrelated = _upload_temp_dir / "notes.txt"
    for path in (stale, fresh, unrelated):
        path.write_bytes(b"x")
    hour_ago = time.time() - 3600
    os.utime(stale, (hour_ago, hour_ago))
    store = _store("consent.upload_temp_files")

    assert store.locate(alice.pk) == [f"upload_temp_file:{stale.name}"]
    assert store.erase(alice.pk) == 1
    assert not stale.exists() and fresh.exists() and unrelated.exists()


def test_the_pseudonym_store_exports_the_pseudonym_and_forgets_it(alice, grant_consent):
    grant_consent(alice, "face_swap")  # an audit event, so a pseudonym
    store = _store("audit.pseudonyms")
    exported = store.export(alice.pk)

    assert len(exported["pseudonym"]) == 32
    assert store.erase(alice.pk) == 1
    assert store.locate(alice.pk) == [] and store.export(alice.pk) is None
    assert store.erase(alice.pk) == 0


def test_the_account_row_cannot_go_while_biometric_rows_point_at_it(alice, enrolled):
    from django.db.models import ProtectedError

    enrolled(alice)

    with pytest.raises(ProtectedError):
        identity_stores.subject_erase(alice.pk)
