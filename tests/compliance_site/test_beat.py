"""Exactly one beat: two real ``celery beat`` processes started on the same database send each
periodic task once, not twice; when the sending one dies, the other takes over
(compliance_site/beat.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from compliance_site.beat import LOCK_RETRY
from compliance_site.celery import app as celery_app
from tests.celery_worker import ROOT, _worker_env, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

SENT = "Sending due task audit-seal"
INTERVAL = 0.5


def start_beat(tmp_path, name: str) -> subprocess.Popen:
    log = tmp_path / f"{name}.log"
    env = dict(_worker_env(), TEST_BEAT_INTERVAL=str(INTERVAL))
    command = [
        sys.executable, "-m", "celery", "-A", "compliance_site", "beat", "--loglevel=INFO",
        "--schedule", str(tmp_path / f"{name}.schedule"),
        "--pidfile", str(tmp_path / f"{name}.pid"),
    ]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    process.log_path = log  # type: ignore[attr-defined]
    return process


def sends(process) -> int:
    return process.log_path.read_text(errors="replace").count(SENT)


def test_two_beat_processes_send_each_periodic_task_once_and_one_takes_over(tmp_path):
    first = start_beat(tmp_path, "first")
    second = None
    try:
        wait_until(lambda: sends(first) >= 1, timeout=60)
        second = start_beat(tmp_path, "second")
        wait_until(lambda: "beat: Starting" in second.log_path.read_text(), timeout=60)
        time.sleep(3 * LOCK_RETRY / 2)
        before = sends(first)
        time.sleep(4.0)

        # One sender: the first keeps its pace (every INTERVAL s), the second sends nothing.
        assert sends(second) == 0, second.log_path.read_text()
        assert sends(first) - before >= 4.0 / INTERVAL / 2

        os.kill(first.pid, signal.SIGKILL)  # no goodbye: its database session just ends
        first.wait(timeout=10)
        wait_until(lambda: sends(second) >= 2, timeout=LOCK_RETRY + 30)
        assert "beat lock taken" in second.log_path.read_text()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=15)
        celery_app.control.purge()
