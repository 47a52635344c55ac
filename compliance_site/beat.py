"""Exactly one beat: however many ``celery beat`` processes are started (two hosts configured
alike, a restart that overlaps), only the one holding the beat lock sends periodic tasks; the
others wait, and the first to see the lock free takes over.

The lock is a PostgreSQL session advisory lock held on a connection of the scheduler's own
(released by the server when that process dies or loses its connection, so a standby takes
over within ``LOCK_RETRY`` seconds). On SQLite, which serves one host only, it is an exclusive
lock on a file next to the database. The sealer has its own lock besides
(``audit.services._take_sealer_lock``): sealing is serialised even when it is run by hand.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from django.conf import settings

logger = logging.getLogger(__name__)

BEAT_LOCK_KEY = 0x62656174  # "beat"; the sealer's is "audt"
LOCK_RETRY = 5.0


class BeatLock:
    """The beat lock, tried without waiting; ``held()`` says whether this process has it now."""

    def __init__(self) -> None:
        self._connection: Any = None
        self._file: int | None = None

    def held(self) -> bool:
        database = settings.DATABASES["default"]
        if database["ENGINE"].endswith("postgresql"):
            return self._held_postgresql(database)
        return self._held_file(Path(str(database["NAME"])).with_suffix(".beat-lock"))

    def _held_postgresql(self, database: dict[str, Any]) -> bool:
        import psycopg

        if self._connection is not None:
            try:
                self._connection.execute("SELECT 1")
                return True
            except psycopg.Error:
                logger.warning("beat lock: connection lost, leadership given up")
                self._drop()
        try:
            connection = psycopg.connect(
                host=database["HOST"] or None,
                port=database["PORT"] or None,
                dbname=database["NAME"],
                user=database["USER"] or None,
                password=database["PASSWORD"] or None,
                autocommit=True,
                connect_timeout=5,
                application_name="faceledger-beat",
            )
        except psycopg.Error as exc:
            logger.warning("beat lock: database unreachable (%s)", exc)
            return False
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", [BEAT_LOCK_KEY]).fetchone()
        if row and row[0]:
            self._connection = connection
            logger.info("beat lock taken: this process sends the periodic tasks")
            return True
        connection.close()
        return False

    def _held_file(self, path: Path) -> bool:
        if self._file is not None:
            return True
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            return False
        self._file = descriptor
        logger.info("beat lock taken: this process sends the periodic tasks")
        return True

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except Exception:  # noqa: BLE001 - already broken; closing is best effort
                logger.debug("beat lock: closing a broken connection failed", exc_info=True)
            self._connection = None

    def release(self) -> None:
        self._drop()
        if self._file is not None:
            os.close(self._file)
            self._file = None


class LeaderScheduler(PersistentScheduler):
    """Celery's persistent scheduler, sending only while this process holds the beat lock."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.beat_lock = BeatLock()
        self._leading = False
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        leading = self.beat_lock.held()
        if leading != self._leading:
            self._leading = leading
            if not leading:
                logger.warning("beat lock lost: this process stops sending periodic tasks")
        # mutant: delete — tests/compliance_site/test_beat.py
        #   test_two_beat_processes_send_each_periodic_task_once_and_one_takes_over
        if not leading:
            return min(LOCK_RETRY, self.max_interval)
        return super().tick(*args, **kwargs)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.beat_lock.release()
