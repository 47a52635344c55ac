"""The master-key schedule: keys in a store outside the database, rotated every
BIOMETRIC_KEY_ROTATION_DAYS with every subject key re-wrapped, retired keys destroyed once
BACKUP_RETENTION_DAYS have passed, never while they still wrap a live key; and the system check
that fails when the store is unsafe or a retired key is kept too long."""

from __future__ import annotations

import base64
import os
import stat
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from biometrics.models import Capture, SubjectKey
from biometrics.services import MasterKeyInUse, capture_decrypt, master_key_destroy
from biometrics.services import master_key_schedule as schedule
from biometrics.tasks import master_key_schedule_task
from compliance_site import keystore

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def _ids(keys) -> list[str]:
    return [k.key_id for k in keys]


def test_keys_live_in_their_own_folder_readable_only_by_the_service(key_store):
    schedule(force=True)

    assert stat.S_IMODE(key_store.stat().st_mode) == 0o700
    files = sorted(key_store.glob("*.key"))
    assert len(files) == 2
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    assert not list(key_store.glob("*.tmp")) and not list(key_store.glob(".*.tmp"))


def test_nothing_rotates_before_the_key_is_due_and_a_second_run_changes_nothing(
    alice, enrolled, settings, time_machine, audit_events
):
    enrolled(alice)
    [first] = keystore.all_keys()
    time_machine.move_to(first.created_at + settings.BIOMETRIC_KEY_ROTATION_DAYS * DAY - DAY)
    start = len(audit_events())

    assert schedule() == {"created": 0, "rewrapped": 0, "destroyed": 0}
    assert schedule() == {"created": 0, "rewrapped": 0, "destroyed": 0}
    assert _ids(keystore.all_keys()) == ["test1"]
    assert audit_events(names_only=True)[start:] == ["MASTER_KEY_ROTATED"] * 2


def test_a_due_rotation_rewraps_every_key_retires_the_old_one_and_is_idempotent(
    alice, bob, enrolled, settings, time_machine, audit_events, capfd
):
    [capture] = enrolled(alice)
    enrolled(bob)
    before = {row.pk: bytes(row.wrapped_key) for row in SubjectKey.objects.all()}
    time_machine.move_to(timezone.now() + settings.BIOMETRIC_KEY_ROTATION_DAYS * DAY, tick=False)
    start = len(audit_events())

    call_command("rotate_master_key")
    result = master_key_schedule_task.delay()  # the beat task runs the same schedule

    old, new = keystore.all_keys()
    assert old.key_id == "test1" and old.retired_at == timezone.now()
    assert new.retired_at is None and keystore.current() == new
    rows = list(SubjectKey.objects.all())
    assert {row.key_id for row in rows} == {new.key_id}
    assert all(bytes(row.wrapped_key) != before[row.pk] for row in rows)
    assert audit_events()[start:] == [
        ("MASTER_KEY_CREATED", {"key_id": new.key_id}),
        ("MASTER_KEY_ROTATED", {"key_id": new.key_id, "rewrapped": 2}),
        ("MASTER_KEY_RETIRED", {"key_id": "test1"}),
        ("MASTER_KEY_ROTATED", {"key_id": new.key_id, "rewrapped": 0}),
    ]
    assert result.get() == {"created": 0, "rewrapped": 0, "destroyed": 0}
    assert "1 created, 2 subject key(s) re-wrapped" in capfd.readouterr().out
    assert capture_decrypt(Capture.objects.get(pk=capture.pk)).photo_jpeg


def test_a_rotation_killed_half_way_is_finished_by_the_next_run(alice, enrolled, audit_events):
    """The new key was made but the run died before re-wrapping: two keys not retired."""
    [capture] = enrolled(alice)
    new = keystore.create()

    assert schedule() == {"created": 0, "rewrapped": 1, "destroyed": 0}

    assert SubjectKey.objects.get().key_id == new.key_id
    assert keystore.get("test1").retired_at is not None
    assert capture_decrypt(capture).embedding.shape == (128,)


def test_retired_keys_are_destroyed_once_the_backup_retention_has_passed(
    alice, enrolled, settings, time_machine, audit_events
):
    [capture] = enrolled(alice)
    schedule(force=True)
    retired = keystore.get("test1")
    file = keystore.folder() / "test1.key"

    time_machine.move_to(retired.retired_at + settings.BACKUP_RETENTION_DAYS * DAY - DAY)
    assert schedule()["destroyed"] == 0 and file.exists()
    time_machine.move_to(retired.retired_at + settings.BACKUP_RETENTION_DAYS * DAY)
    assert schedule()["destroyed"] == 1

    assert not file.exists() and keystore.get("test1") is None
    assert (
        "MASTER_KEY_DESTROYED",
        {"key_id": "test1", "retired_at": retired.retired_at.isoformat()},
    ) in audit_events()
    assert capture_decrypt(Capture.objects.get(pk=capture.pk)).photo_jpeg  # live data still opens


def test_a_key_still_wrapping_a_live_subject_key_is_never_destroyed(
    alice, enrolled, settings, time_machine, audit_events
):
    [capture] = enrolled(alice)
    keystore.create()
    keystore.retire("test1")  # retired without re-wrapping: alice's key is still under it
    time_machine.move_to(timezone.now() + (settings.BACKUP_RETENTION_DAYS + 1) * DAY)

    with pytest.raises(MasterKeyInUse, match="still wraps"):
        master_key_destroy(key_id="test1")

    assert keystore.get("test1") is not None
    assert "MASTER_KEY_DESTROYED" not in audit_events(names_only=True)
    # The scheduled run re-wraps first, and only then destroys.
    assert schedule() == {"created": 1, "rewrapped": 1, "destroyed": 1}
    assert capture_decrypt(Capture.objects.get(pk=capture.pk)).photo_jpeg


def test_a_key_not_retired_or_not_due_is_not_destroyed(db):
    with pytest.raises(MasterKeyInUse, match="not retired"):
        master_key_destroy(key_id="test1")
    keystore.create()
    keystore.retire("test1")
    with pytest.raises(MasterKeyInUse, match="not retired past"):
        master_key_destroy(key_id="test1")
    assert keystore.get("test1") is not None


def test_an_empty_store_gets_its_first_key_from_the_command(key_store, capfd):
    keystore.destroy("test1")

    call_command("rotate_master_key")

    assert len(keystore.all_keys()) == 1 and keystore.current().key_id.startswith("mk-")
    assert "1 created" in capfd.readouterr().out


def test_the_beat_schedule_runs_the_key_schedule():
    from compliance_site.settings import base

    entry = base.CELERY_BEAT_SCHEDULE["master-key-schedule"]
    assert entry["task"] == master_key_schedule_task.name
    assert entry["schedule"] == base.BIOMETRIC_KEY_SCHEDULE_INTERVAL


# --- the system check ---------------------------------------------------------------------------


def _check_ids() -> list[str]:
    return [message.id for message in keystore.check_key_store()]


def test_a_sound_store_passes_the_check(key_store):
    assert _check_ids() == []


def test_the_check_fails_for_a_missing_store(settings, tmp_path):
    settings.BIOMETRIC_KEY_STORE = str(tmp_path / "nowhere")
    assert _check_ids() == ["faceledger.E101"]
    settings.BIOMETRIC_KEY_STORE = ""
    assert _check_ids() == ["faceledger.E101"]


def test_the_check_fails_when_others_can_read_the_store(key_store):
    key_store.chmod(0o755)
    (key_store / "test1.key").chmod(0o644)

    assert _check_ids() == ["faceledger.E102", "faceledger.E102"]


def test_the_check_fails_for_an_unreadable_key_file_or_no_current_key(key_store):
    keystore.retire("test1")
    assert _check_ids() == ["faceledger.E103"]
    (key_store / "broken.key").write_text("{not json")
    (key_store / "broken.key").chmod(0o600)
    assert _check_ids() == ["faceledger.E103"]


def test_the_check_fails_when_a_retired_key_is_kept_past_the_retention(settings, time_machine):
    schedule(force=True)
    retired = keystore.get("test1")
    time_machine.move_to(retired.destroy_after() + keystore.schedule_slack() - DAY)
    assert _check_ids() == []

    time_machine.move_to(retired.destroy_after() + keystore.schedule_slack() + DAY)

    [error] = [m for m in keystore.check_key_store() if m.is_serious()]
    assert error.id == "faceledger.E104" and "'test1'" in error.msg
    schedule()  # what the hint says to run
    assert _check_ids() == []


def test_the_check_warns_when_the_current_key_is_overdue_for_rotation(settings, time_machine):
    current = keystore.current()
    time_machine.move_to(current.created_at + settings.BIOMETRIC_KEY_ROTATION_DAYS * DAY + DAY)

    assert _check_ids() == ["faceledger.W105"]
    schedule()
    assert _check_ids() == []


def test_the_check_is_registered_and_fails_manage_py_check(key_store):
    from django.core.management.base import SystemCheckError

    key_store.chmod(0o750)
    with pytest.raises(SystemCheckError, match="faceledger.E102"):
        call_command("check")


def test_a_store_that_is_not_there_or_is_broken_is_never_made_anew(settings, tmp_path, key_store):
    (key_store / "broken.key").write_text("{not json")

    with pytest.raises(keystore.KeyStoreError, match="broken.key"):
        schedule(force=True)
    assert sorted(p.name for p in key_store.glob("*.key")) == ["broken.key", "test1.key"]

    settings.BIOMETRIC_KEY_STORE = str(tmp_path / "not-mounted")
    with pytest.raises(keystore.KeyStoreError):
        schedule()
    assert not (tmp_path / "not-mounted").exists()


# --- a process killed part-way through a write or a destruction ---------------------------------


class Killed(BaseException):
    """The process dies here: nothing after this line runs, not even a ``finally``'s work."""


def _kill_at(monkeypatch, name: str, *, when=lambda *args: True, after: bool = False) -> None:
    """Kill the process at ``os.<name>`` (where ``when`` holds): before the call, or just after
    it has done its work."""
    real = getattr(os, name)

    def killed(*args, **kwargs):
        if not when(*args):
            return real(*args, **kwargs)
        if after:
            real(*args, **kwargs)
        raise Killed(name)

    monkeypatch.setattr(os, name, killed)


def _copies_of(key: bytes, store) -> list[str]:
    """Every file left in the store that holds ``key`` in clear (as its files store it)."""
    encoded = base64.b64encode(key)
    return sorted(f.name for f in store.iterdir() if encoded in f.read_bytes())


def test_a_key_copy_left_by_a_write_killed_before_its_cleanup_does_not_outlive_the_key(
    key_store, monkeypatch, settings, time_machine
):
    """Killed after the temporary file is written, before it is renamed or removed: the
    temporary file holds the key in clear, under a name that is not ``*.key``."""
    test1 = keystore.get("test1")
    _kill_at(monkeypatch, "replace")
    _kill_at(monkeypatch, "unlink", when=lambda path, *_: ".test1." in str(path))
    with pytest.raises(Killed):
        schedule(force=True)  # the new key is made; killed while retiring test1
    monkeypatch.undo()
    [stray] = key_store.glob(".test1.*.tmp")
    assert _copies_of(test1.key, key_store) == sorted(["test1.key", stray.name])

    [error] = keystore.check_key_store()
    assert error.id == "faceledger.E106" and stray.name in error.msg
    assert "rotate_master_key" in error.hint

    schedule()  # the next run clears the stray copy under the lock, and retires test1
    assert not list(key_store.glob(".*.tmp")) and _check_ids() == []
    time_machine.move_to(keystore.get("test1").destroy_after())
    assert schedule()["destroyed"] == 1
    assert _copies_of(test1.key, key_store) == []


def test_a_copy_left_by_a_killed_creation_goes_without_harming_the_key_it_names(
    key_store, monkeypatch
):
    """``create`` links its temporary file into place: killed before the cleanup, both names
    are one file, and overwriting the stray name would overwrite the new key."""
    _kill_at(monkeypatch, "unlink", when=lambda path, *_: str(path).endswith(".tmp"))
    with pytest.raises(Killed):
        schedule(force=True)  # killed right after the new key is linked into place
    monkeypatch.undo()
    [stray] = key_store.glob(".*.tmp")
    new = keystore.current()
    assert stray.name.startswith(f".{new.key_id}.")

    schedule()

    assert not list(key_store.glob(".*.tmp")) and keystore.current() == new
    assert keystore.get("test1").retired_at is not None and _check_ids() == []
    assert SubjectKey.objects.exclude(key_id=new.key_id).count() == 0


def test_destroying_a_key_also_removes_a_stray_temporary_copy_of_it(key_store, monkeypatch):
    test1 = keystore.get("test1")
    _kill_at(monkeypatch, "replace")
    _kill_at(monkeypatch, "unlink", when=lambda path, *_: str(path).endswith(".tmp"))
    with pytest.raises(Killed):
        keystore.retire("test1")  # killed before the rename and the cleanup
    with pytest.raises(Killed):
        keystore.create(key_id="other")  # linked into place, killed before the cleanup
    monkeypatch.undo()
    assert len(list(key_store.glob(".*.tmp"))) == 2

    assert keystore.destroy("test1")

    assert _copies_of(test1.key, key_store) == []
    assert [p.name for p in key_store.glob(".*.tmp")][0].startswith(".other.")
    # other.key and its stray name are one file: destroying the key overwrites it all the same.
    other = keystore.get("other")
    with open(key_store / "other.key", "rb") as still_open:
        assert keystore.destroy("other")
        assert base64.b64encode(other.key) not in still_open.read()
    assert list(key_store.iterdir()) == []


def _retired_and_due(time_machine):
    """test1 retired and due for destruction, with the rotation due then already done."""
    test1 = keystore.get("test1")
    schedule(force=True)
    due = keystore.get("test1").destroy_after()
    time_machine.move_to(due - timedelta(minutes=1))
    schedule()
    time_machine.move_to(due)
    return test1


def test_a_destruction_killed_after_the_overwrite_leaves_a_store_that_still_works(
    key_store, monkeypatch, time_machine, audit_events
):
    """Killed between the zero-overwrite and the unlink: no zeroed ``.key`` file may stay, or
    every read of the store (and so every capture and the rotation itself) fails."""
    test1 = _retired_and_due(time_machine)
    _kill_at(monkeypatch, "unlink", when=lambda path, *_: "test1" in str(path))
    with pytest.raises(Killed):
        schedule()
    monkeypatch.undo()

    left = keystore.all_keys()
    assert "test1" not in _ids(left) and len(left) == 2 and keystore.current() == left[-1]
    assert [m.id for m in keystore.check_key_store()] == ["faceledger.E106"]

    assert schedule() == {"created": 0, "rewrapped": 0, "destroyed": 0}
    files = sorted(p.name for p in key_store.iterdir())
    assert files == sorted([".lock", *(f"{k.key_id}.key" for k in left)])
    assert _copies_of(test1.key, key_store) == [] and _check_ids() == []
    # The kill rolled the destruction's event back; the run that finished it records it.
    destroyed = [data for name, data in audit_events() if name == "MASTER_KEY_DESTROYED"]
    assert destroyed == [{"key_id": "test1", "resumed": True}]


def test_a_destruction_killed_before_the_overwrite_is_finished_by_the_next_run(
    key_store, monkeypatch, time_machine
):
    test1 = _retired_and_due(time_machine)
    # Killed just after the key's file is renamed aside, before it is overwritten.
    _kill_at(monkeypatch, "replace", when=lambda src, *_: "test1" in str(src), after=True)
    with pytest.raises(Killed):
        schedule()
    monkeypatch.undo()
    assert keystore.get("test1") is None

    schedule()

    assert _copies_of(test1.key, key_store) == [] and _check_ids() == []
    assert not [p for p in key_store.iterdir() if "test1" in p.name]


# --- a key neither current nor retired ----------------------------------------------------------


def test_the_check_fails_for_a_superseded_key_that_is_never_retired(
    alice, enrolled, settings, time_machine
):
    """A newer key exists but re-wrapping keeps failing, so the old key is never retired: the
    certificates' date assumed it retires on time."""
    enrolled(alice)
    test1 = keystore.get("test1")
    time_machine.move_to(test1.created_at + settings.BIOMETRIC_KEY_ROTATION_DAYS * DAY - DAY)
    keystore.create()  # the run that made it died before re-wrapping, and so every run since
    late = test1.created_at + keystore.rotation_period() + keystore.schedule_slack()
    time_machine.move_to(late - DAY)
    assert _check_ids() == []

    time_machine.move_to(late + DAY)

    [error] = keystore.check_key_store()
    assert error.id == "faceledger.E107" and "'test1'" in error.msg
    assert "rotate_master_key" in error.hint
    schedule()  # what the hint says to run: re-wraps, then retires test1
    assert keystore.get("test1").retired_at is not None and _check_ids() == []
