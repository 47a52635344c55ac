"""The attack: keep a database backup (and a copy of the ciphertext files) from before an
erasure, and decrypt the erased person's photo and embedding with it afterwards.

A backup holds the person's data key wrapped by a master key. Master keys are kept outside the
database, rotated on schedule, and each retired one is destroyed BACKUP_RETENTION_DAYS after
its retirement: up to the date the erasure certificate states, the backup still opens (that is
what keeping backups means); after it, no key the service has can open it.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import datetime, timedelta

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from biometrics import vault
from biometrics.models import Capture, SubjectKey
from biometrics.services import capture_decrypt
from biometrics.tasks import master_key_schedule_task
from compliance_site import crypto, keystore
from compliance_site.dates import datetime_text
from tests.erasure.kit import ERASURE_URL, client_for
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db(transaction=True)

DAY = timedelta(days=1)


def _stored_bytes(name: str) -> bytes:
    """A copy of one stored file, as a backup of the folder or the bucket would hold it."""
    from django.core.files.storage import default_storage

    with default_storage.open(name, "rb") as fh:
        return fh.read()


def _backup(subject, settings) -> dict:
    """What a database dump plus a copy of the media bucket holds of ``subject``."""
    [capture] = Capture.objects.filter(subject=subject)
    row = SubjectKey.objects.get(subject=subject)
    return {
        "subject_id": subject.pk,
        "capture_id": capture.pk,
        "wrapped_key": bytes(row.wrapped_key),
        "photo": _stored_bytes(capture.photo),
        "embedding": bytes(capture.embedding),
    }


def _restore(backup: dict) -> bytes:
    """The photo, decrypted from the backup with the keys the service has now."""
    data_key = crypto.unwrap_data_key(
        backup["wrapped_key"], context=vault.key_context(backup["subject_id"])
    )
    crypto.decrypt(
        data_key, backup["embedding"], aad=f"capture:{backup['capture_id']}:embedding".encode()
    )
    return crypto.decrypt(
        data_key, backup["photo"], aad=f"capture:{backup['capture_id']}:photo".encode()
    )


def _any_key_opens(wrapped: bytes, subject_id: int) -> bool:
    """Try every master key left in the store on the backed-up wrapped key, whatever id it names."""
    length = wrapped[4]
    key_id = wrapped[5 : 5 + length]
    nonce, sealed = wrapped[5 + length : 17 + length], wrapped[17 + length :]
    aad = b"FLK1" + key_id + vault.key_context(subject_id)
    for master in keystore.all_keys():
        try:
            AESGCM(master.key).decrypt(nonce, sealed, aad)
            return True
        except InvalidTag:
            continue
    return False


def _erase(subject) -> dict:
    answer = client_for(subject).post(ERASURE_URL)
    assert answer.status_code == 202, answer.content
    status = APIClient().get(f"{ERASURE_URL}/{answer.json()['id']}").json()
    assert status["status"] == "done"
    return status["certificate"]


def test_a_backup_from_before_erasure_is_unreadable_after_the_certified_date(
    alice, bob, enrolled, settings, time_machine
):
    settings.BIOMETRIC_KEY_SCHEDULE_INTERVAL = DAY.total_seconds()  # beat runs daily here
    time_machine.move_to(timezone.now(), tick=False)
    enrolled(alice)
    [bobs] = enrolled(bob)
    backup = _backup(alice, settings)

    certificate = _erase(alice)

    assert not SubjectKey.objects.filter(subject_id=alice.pk).exists()
    # Until the horizon the backup opens: that is what keeping a backup means.
    assert _restore(backup).startswith(b"\xff\xd8\xff")
    horizon = datetime.fromisoformat(certificate["backups_unreadable_after"])
    current = keystore.current()
    assert horizon == (
        current.created_at
        + timedelta(days=settings.BIOMETRIC_KEY_ROTATION_DAYS + settings.BACKUP_RETENTION_DAYS)
        + 2 * DAY
    )

    now = timezone.now()
    while now < horizon:  # the beat task, once a day, until the certified date
        now += DAY
        time_machine.move_to(now, tick=False)
        master_key_schedule_task.delay()
        assert keystore.check_key_store() == []

    with pytest.raises(crypto.DecryptionError, match="not in the key store"):
        _restore(backup)
    assert not _any_key_opens(backup["wrapped_key"], alice.pk)
    assert keystore.get(crypto.wrapped_key_id(backup["wrapped_key"])) is None
    # Bob's data, re-wrapped at each rotation, still opens.
    assert capture_decrypt(Capture.objects.get(pk=bobs.pk)).photo_jpeg.startswith(b"\xff\xd8\xff")


def test_the_certificate_states_the_date_in_its_pdf(alice, enrolled):
    enrolled(alice)
    answer = client_for(alice).post(ERASURE_URL)
    token = answer.json()["id"]
    certificate = APIClient().get(f"{ERASURE_URL}/{token}").json()["certificate"]

    pdf = APIClient().get(f"{ERASURE_URL}/{token}/certificate.pdf")

    horizon = datetime.fromisoformat(certificate["backups_unreadable_after"])
    flat = "".join(pdf_text(pdf.content).split())
    assert certificate["version"] == 2
    assert horizon > timezone.now() + timedelta(days=59)
    assert "Nobackupcandecryptitafter" in flat
    assert "".join(datetime_text(horizon, language="en").split()) in flat


def test_a_backup_kept_past_any_horizon_never_opens_again(alice, enrolled, settings, time_machine):
    """The attack as reported, with nothing but the operator's command run daily: on the code
    before the key store this backup still opened after 100 days (and forever)."""
    time_machine.move_to(timezone.now(), tick=False)
    enrolled(alice)
    backup = _backup(alice, settings)
    _erase(alice)

    now = timezone.now()
    for _ in range(100):
        now += DAY
        time_machine.move_to(now, tick=False)
        call_command("rotate_master_key")

    with pytest.raises(crypto.DecryptionError):
        _restore(backup)


class Killed(BaseException):
    """The process dies here: nothing after this line runs, not even a ``finally``'s work."""


def _every_key_in_the_store_folder() -> list[bytes]:
    """What an attacker with the store's folder finds: every file that parses as a key file,
    whatever its name (a temporary copy or a key renamed aside included)."""
    found = []
    for file in keystore.folder().iterdir():
        try:
            found.append(base64.b64decode(json.loads(file.read_text())["key"]))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue
    return found


def test_a_copy_left_by_a_killed_key_write_does_not_open_the_backup_after_the_date(
    alice, enrolled, settings, time_machine, monkeypatch
):
    """The rotation's retirement of the key that wraps the backup is killed after its temporary
    file is written: that file holds the key in clear under a name no destruction looked at."""
    settings.BIOMETRIC_KEY_SCHEDULE_INTERVAL = DAY.total_seconds()
    time_machine.move_to(timezone.now(), tick=False)
    enrolled(alice)
    backup = _backup(alice, settings)
    certificate = _erase(alice)
    horizon = datetime.fromisoformat(certificate["backups_unreadable_after"])

    wrapping = crypto.wrapped_key_id(backup["wrapped_key"])
    real_unlink = os.unlink

    def killed(*args):
        raise Killed()

    def unlink_unless_wrapping(path, *args, **kwargs):
        if f".{wrapping}." in str(path):
            raise Killed()
        return real_unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "replace", killed)
    monkeypatch.setattr(os, "unlink", unlink_unless_wrapping)
    with pytest.raises(Killed):
        call_command("rotate_master_key", force=True)  # killed while retiring that key
    monkeypatch.undo()
    assert list(keystore.folder().glob(f".{wrapping}.*.tmp"))

    now = timezone.now()
    while now < horizon:
        now += DAY
        time_machine.move_to(now, tick=False)
        master_key_schedule_task.delay()

    wrapped = backup["wrapped_key"]
    length = wrapped[4]
    nonce, sealed = wrapped[5 + length : 17 + length], wrapped[17 + length :]
    aad = b"FLK1" + wrapped[5 : 5 + length] + vault.key_context(alice.pk)
    for key in _every_key_in_the_store_folder():
        with pytest.raises(InvalidTag):
            AESGCM(key).decrypt(nonce, sealed, aad)
    assert keystore.check_key_store() == []
