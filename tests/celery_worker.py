"""Start a real Celery worker process against the test database and the configured broker.

With ``CELERY_BROKER_URL`` set (CI: Redis) the worker uses it; otherwise the embedded
filesystem broker under the test run's ``FACELEDGER_VAR_DIR``. Use from a test marked
``@pytest.mark.django_db(transaction=True)`` so the worker sees committed rows.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import connection

from compliance_site.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


def _worker_env() -> dict[str, str]:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="compliance_site.settings.test")
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # SQLite: the worker opens the same file, found through the inherited FACELEDGER_VAR_DIR.
    return env


def wait_until(predicate, *, timeout: float = 30.0, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def log_after_success(worker, task_name: str, *, timeout: float = 30.0) -> str:
    """The worker's log once it has logged ``task_name`` succeeding.

    A task's own database writes commit a moment before the worker logs its end, so a test
    that saw the rows must still wait for the line.
    """

    def succeeded() -> bool:
        text = worker.log_path.read_text(errors="replace")
        return any(task_name in line and "succeeded" in line for line in text.splitlines())

    try:
        wait_until(succeeded, timeout=timeout)
    except TimeoutError:
        pass  # the caller's assertion shows the log
    return worker.log_path.read_text(errors="replace")


@contextlib.contextmanager
def running_worker(tmp_path: Path, *, ready_timeout: float = 60.0):
    """Yield a worker process; the test process stops running tasks eagerly meanwhile."""
    celery_app.control.purge()
    log_path = tmp_path / f"worker-{uuid.uuid4().hex[:8]}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "compliance_site", "worker",
        "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
        "-Q", "default,swap", "--without-heartbeat", "-n", f"test-{uuid.uuid4().hex[:8]}@%h",
    ]  # fmt: skip
    was_eager = celery_app.conf.task_always_eager
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603
            command, cwd=ROOT, env=_worker_env(), stdout=log, stderr=subprocess.STDOUT
        )
    try:
        try:
            wait_until(lambda: b" ready." in log_path.read_bytes(), timeout=ready_timeout)
        except TimeoutError:
            log = log_path.read_text(errors="replace")
            raise RuntimeError(f"worker did not start:\n{log}") from None
        celery_app.conf.task_always_eager = False
        process.log_path = log_path  # type: ignore[attr-defined]
        yield process
    finally:
        celery_app.conf.task_always_eager = was_eager
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
