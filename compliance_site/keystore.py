"""The master-key store: a folder outside the database, one file per master key.

Each person's data key is stored in the database only wrapped by a master key, so a database
backup is only as readable as the master keys that still exist. Keeping the master keys out of
the database (and out of its backups) and destroying each one a known time after it stops being
used is what gives a backup a finite life: ``backup_horizon`` is the latest moment any master key
that exists now will be destroyed, so a backup taken now is unreadable after it.

A key file ``<key_id>.key`` holds JSON: ``key_id``, ``key`` (base64, 32 bytes), ``created_at``
and, once retired, ``retired_at``. The current key is the newest one not retired; retired keys
only unwrap until the rotation has re-wrapped everything under the current one. The folder is
0700 and every file 0600; every write goes to a temporary file that is synced and then renamed
into place, so a crash leaves either the old file or the new one. A key is destroyed by first
renaming its file aside (``.<key_id>.destroying``), then overwriting and unlinking it, so a crash
never leaves a ``.key`` file that cannot be read. What a crash can leave (a temporary copy, a key
renamed aside) is named ``.<key_id>.*``, never read as a key, and may hold a key in clear: the
next scheduled run removes it (``leftovers``/``shred``) and the system check reports it.

The lifecycle (creation on schedule, re-wrapping, retirement, destruction) is run by
``biometrics.services.master_key_schedule``; this module only keeps the files.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

_SUFFIX = ".key"
_TEMP, _DESTROYING = ".tmp", ".destroying"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DIR_MODE, _FILE_MODE = 0o700, 0o600


class KeyStoreError(ImproperlyConfigured):
    """The key store is missing, unreadable, malformed or has no current key."""


@dataclass(frozen=True)
class MasterKey:
    key_id: str
    key: bytes
    created_at: datetime
    retired_at: datetime | None = None

    def destroy_after(self) -> datetime | None:
        """When a retired key is due for destruction: no backup still kept can need it."""
        if self.retired_at is None:
            return None
        return self.retired_at + retention()


def rotation_period() -> timedelta:
    return timedelta(days=settings.BIOMETRIC_KEY_ROTATION_DAYS)


def retention() -> timedelta:
    return timedelta(days=settings.BACKUP_RETENTION_DAYS)


def schedule_slack() -> timedelta:
    """How late the scheduled run may act on a deadline: one beat interval."""
    return timedelta(seconds=settings.BIOMETRIC_KEY_SCHEDULE_INTERVAL)


def folder() -> Path:
    if not settings.BIOMETRIC_KEY_STORE:
        raise KeyStoreError("Set BIOMETRIC_KEY_STORE (a folder outside the database backups).")
    return Path(settings.BIOMETRIC_KEY_STORE)


def ensure_folder(path: Path) -> Path:
    """Create the store folder (and its parents) with mode 0700."""
    path.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, _DIR_MODE)
    return path


# --- reading ------------------------------------------------------------------------------------


def all_keys(path: Path | None = None) -> list[MasterKey]:
    """Every key in the store, oldest first."""
    path = path or folder()
    try:
        names = sorted(p for p in path.iterdir() if p.name.endswith(_SUFFIX))
    except OSError as exc:
        raise KeyStoreError(f"the key store {path} cannot be read: {exc}") from exc
    keys = [_read(p) for p in names]
    return sorted(keys, key=lambda k: (k.created_at, k.key_id))


def current(path: Path | None = None) -> MasterKey:
    """The key that wraps new data keys: the newest one not retired."""
    live = [k for k in all_keys(path) if k.retired_at is None]
    if not live:
        raise KeyStoreError(
            "The key store has no current master key: run `manage.py rotate_master_key`."
        )
    return live[-1]


def get(key_id: str, path: Path | None = None) -> MasterKey | None:
    """The key ``key_id`` if the store still has it (None once destroyed)."""
    if not _KEY_ID.match(key_id):
        return None
    file = (path or folder()) / f"{key_id}{_SUFFIX}"
    return _read(file) if file.exists() else None


def _read(file: Path) -> MasterKey:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        key = base64.b64decode(data["key"], validate=True)
        retired = data.get("retired_at")
        entry = MasterKey(
            key_id=data["key_id"],
            key=key,
            created_at=datetime.fromisoformat(data["created_at"]),
            retired_at=datetime.fromisoformat(retired) if retired else None,
        )
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise KeyStoreError(f"the master key file {file} cannot be read: {exc}") from exc
    if len(key) != 32 or f"{entry.key_id}{_SUFFIX}" != file.name:
        raise KeyStoreError(f"the master key file {file} is malformed")
    return entry


# --- writing ------------------------------------------------------------------------------------


def create(
    *,
    now: datetime | None = None,
    key_id: str | None = None,
    key: bytes | None = None,
    path: Path | None = None,
) -> MasterKey:
    """Add a new key, which becomes the current one. ``key_id``/``key`` only for fixed test
    keys; otherwise both are random. Refuses to replace an existing key; the folder must
    exist."""
    now = now or timezone.now()
    entry = MasterKey(
        key_id=key_id or f"mk-{secrets.token_hex(6)}",
        key=key if key is not None else secrets.token_bytes(32),
        created_at=now,
    )
    if not _KEY_ID.match(entry.key_id) or len(entry.key) != 32:
        raise KeyStoreError("a master key needs a short id ([A-Za-z0-9_-]) and 32 bytes")
    _write(path or folder(), entry, replace=False)
    return entry


def retire(key_id: str, *, now: datetime | None = None, path: Path | None = None) -> MasterKey:
    """Mark a key retired: it no longer wraps, and is destroyed after the backup retention."""
    path = path or folder()
    entry = get(key_id, path)
    if entry is None:
        raise KeyStoreError(f"no master key {key_id!r} to retire")
    if entry.retired_at is not None:
        return entry
    retired = MasterKey(entry.key_id, entry.key, entry.created_at, now or timezone.now())
    _write(path, retired, replace=True)
    return retired


def destroy(key_id: str, *, path: Path | None = None) -> bool:
    """Rename the key's file aside, then overwrite it with zeros, sync and unlink it, with any
    temporary copy of it a killed write left. ``True`` if the key existed.

    The rename comes first so that a kill at any point leaves no unreadable ``.key`` file
    (which would stop every read of the store) but a leftover the next run finishes. The
    overwrite is best effort: flash, copy-on-write and journaling file systems may keep old
    blocks, and the atomic rewrite at retirement left the earlier copy in freed blocks. What
    makes the key unrecoverable is that the store is never copied into a backup."""
    path = path or folder()
    if not _KEY_ID.match(key_id):
        return False
    file = path / f"{key_id}{_SUFFIX}"
    existed = file.exists()
    if existed:
        os.replace(file, path / f".{key_id}{_DESTROYING}")
        _sync_dir(path)
    for leftover in leftovers(path, key_id=key_id):
        shred(leftover)
    return existed


def leftovers(path: Path | None = None, *, key_id: str = "*") -> list[Path]:
    """What a killed write or destruction left (of ``key_id``, or of any key): temporary copies
    (``.<id>.<hex>.tmp``) and keys renamed aside to be destroyed (``.<id>.destroying``). Only
    remove them under ``locked``: a write in progress has its temporary file too."""
    path = path or folder()
    return sorted([*path.glob(f".{key_id}.*{_TEMP}"), *path.glob(f".{key_id}{_DESTROYING}")])


def leftover_key_id(file: Path) -> str:
    """The key a leftover file belongs to."""
    return file.name.split(".")[1]


def is_destroying(file: Path) -> bool:
    """Whether the leftover is a key whose destruction was cut short (not a temporary copy)."""
    return file.name.endswith(_DESTROYING)


def shred(file: Path) -> None:
    """Overwrite the file with zeros, sync it, unlink it and sync the folder (best effort, as
    in ``destroy``). A file that is one of several links (``create`` links its temporary file
    into place) is only unlinked: overwriting it would overwrite the key it is a name of."""
    with open(file, "r+b") as fh:
        if os.fstat(fh.fileno()).st_nlink == 1:
            fh.write(b"\0" * max(os.fstat(fh.fileno()).st_size, 1))
            fh.flush()
            os.fsync(fh.fileno())
    os.unlink(file)
    _sync_dir(file.parent)


def _write(path: Path, entry: MasterKey, *, replace: bool) -> None:
    body = {
        "key_id": entry.key_id,
        "key": base64.b64encode(entry.key).decode(),
        "created_at": entry.created_at.isoformat(),
        "retired_at": entry.retired_at.isoformat() if entry.retired_at else None,
    }
    final = path / f"{entry.key_id}{_SUFFIX}"
    temp = path / f".{entry.key_id}.{secrets.token_hex(4)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(body, fh)
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(temp, final)
        else:
            os.link(temp, final)  # fails if the key id exists: never overwrite a key
    finally:
        temp.unlink(missing_ok=True)
    _sync_dir(path)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def locked(path: Path | None = None) -> Iterator[None]:
    """One lifecycle run at a time on this store (an exclusive ``flock`` on ``.lock``). The
    folder must exist: a store whose volume is not mounted is never silently made anew."""
    path = path or folder()
    try:
        fd = os.open(path / ".lock", os.O_RDWR | os.O_CREAT, _FILE_MODE)
    except OSError as exc:
        raise KeyStoreError(f"the key store {path} cannot be used: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


# --- what the store promises ---------------------------------------------------------------------


def backup_horizon(now: datetime | None = None) -> datetime:
    """The latest moment at which every master key that exists now is destroyed.

    A key not yet retired retires when it is ``BIOMETRIC_KEY_ROTATION_DAYS`` old (or, if that
    is already past, at the next run); a retired key is destroyed ``BACKUP_RETENTION_DAYS``
    after retirement; each scheduled run may come up to one beat interval late. So anything a
    backup taken before ``now`` holds wrapped is unreadable after this moment."""
    now = now or timezone.now()
    latest = now
    for entry in all_keys():
        retires = entry.retired_at or max(entry.created_at + rotation_period(), now)
        latest = max(latest, retires + retention())
    return latest + 2 * schedule_slack()


def check_key_store(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System check: the store exists with its modes, holds nothing a killed run left, has a
    current key, retires every superseded key and keeps no retired key past
    ``BACKUP_RETENTION_DAYS`` (each plus one scheduled run's lateness)."""
    try:
        path = folder()
        mode = path.stat().st_mode
    except (KeyStoreError, OSError) as exc:
        return [_error("E101", f"The master-key store is missing or unreadable: {exc}")]
    found: list[checks.CheckMessage] = []
    if not stat.S_ISDIR(mode) or stat.S_IMODE(mode) & 0o077:
        found.append(_error("E102", f"The master-key store {path} must be a folder, mode 0700."))
    found += [
        _error("E102", f"The master-key file {file} must have mode 0600.")
        for file in sorted(path.glob(f"*{_SUFFIX}"))
        if stat.S_IMODE(file.stat().st_mode) & 0o077
    ]
    found += [
        _error(
            "E106",
            f"The master-key store holds {file.name}, left by a write or destruction killed "
            "part-way: it may hold a master key in clear that no scheduled destruction reaches.",
        )
        for file in leftovers(path)
    ]
    try:
        keys = all_keys(path)
        live = current(path)
    except KeyStoreError as exc:
        return [*found, _error("E103", str(exc))]
    now = timezone.now()
    if live.created_at + rotation_period() + schedule_slack() < now:
        found.append(
            checks.Warning(
                f"The current master key {live.key_id!r} is overdue for rotation: the schedule "
                "is not running, and erasure certificates' backup dates count from now.",
                hint=_HINTS["E104"],
                id="faceledger.W105",
            )
        )
    found += _superseded_not_retired(keys, live, now)
    return found + [
        _error(
            "E104",
            f"Retired master key {k.key_id!r} is kept past BACKUP_RETENTION_DAYS (it was due "
            f"for destruction at {k.destroy_after():%Y-%m-%d %H:%M} UTC): backups older than "
            "the retention can still be decrypted.",
        )
        for k in keys
        if (due := k.destroy_after()) is not None and due + schedule_slack() < now
    ]


def _superseded_not_retired(
    keys: list[MasterKey], live: MasterKey, now: datetime
) -> list[checks.CheckMessage]:
    # An Error, not a Warning like W105: a newer key exists, so the schedule has run and is
    # failing to re-wrap, and the dates already certified assumed this key retires on time.
    return [
        _error(
            "E107",
            f"Master key {k.key_id!r} is neither current nor retired, and older than "
            "BIOMETRIC_KEY_ROTATION_DAYS: re-wrapping under the current key keeps failing, so "
            "it is not destroyed by the date erasure certificates state for backups.",
        )
        for k in keys
        if k.retired_at is None
        and k.key_id != live.key_id
        and k.created_at + rotation_period() + schedule_slack() < now
    ]


_HINTS = {
    "E101": "Set BIOMETRIC_KEY_STORE to a folder on a volume outside the database backups, "
    "then run `manage.py rotate_master_key` to make its first key.",
    "E102": "chmod 700 the folder and 600 its files; only the service's user may read them.",
    "E103": "Run `manage.py rotate_master_key` to make the first master key.",
    "E104": "Run `manage.py rotate_master_key` and make sure Celery beat runs "
    "biometrics.tasks.master_key_schedule.",
    "E106": "Run `manage.py rotate_master_key`: it overwrites and removes what a killed run "
    "left, under the store's lock.",
    "E107": "Run `manage.py rotate_master_key` and fix what its error reports: it re-wraps every "
    "subject key under the current key, then retires the old one.",
}


def _error(code: str, message: str) -> checks.Error:
    return checks.Error(message, hint=_HINTS[code], id=f"faceledger.{code}")
