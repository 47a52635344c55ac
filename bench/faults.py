"""`make faults`: fault drills on 127.0.0.1 with processes of our own (gunicorn, a Celery worker,
a private redis-server on a free port, a PostgreSQL database of its own).

1. `kill -9` of the worker while a swap job runs → after a new worker and the recovery sweep,
   the job is done, or failed with a reason; never left running.
2. The broker stopped → a swap request is answered (202, the job kept pending and audited, or a
   503 with nothing recorded), never a 5xx other than 503 and never a row without its event;
   broker back + the recovery sweep → the job completes.
After each: SWAP_JOB_REQUESTED audit events vs job rows, and no job left unfinished. Exit
non-zero on loss.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, _create_postgres_database
from load_bench import BIN, HOST, _free_port, request

DATABASE_URL = os.environ.get(
    "FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hardening_faults"
)
FAILURES: list[str] = []


def env_for(var_dir: Path, redis_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.local",
        "DJANGO_DEBUG": "0",
        "FACELEDGER_VAR_DIR": str(var_dir),
        "DATABASE_URL": DATABASE_URL,
        "CELERY_BROKER_URL": f"redis://{HOST}:{redis_port}/0",
        "PUBLIC_API_RATE": "1000000/min",
    }


def shell(env: dict[str, str], code: str) -> dict:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", code],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


PREPARE = """
import json, secrets
from datetime import timedelta
from django.utils import timezone
from consent.identity.models import ApiToken
from consent.identity.selectors import token_digest
from biometrics.services import capture_analyse, capture_store
from tests.erasure.kit import make_media
from tests.factories import UserFactory
from tests.swap.jobkit import make_template
from consent.ledger.models import ConsentRecord, PolicyText, Purpose
from consent.ledger.selectors import ClientEvidence
from consent.ledger.services import consent_grant

user = UserFactory(phone_number=f"+4474007{secrets.randbelow(100000):05d}")
for code in ("biometric_enrolment", "face_swap"):
    text = PolicyText.objects.get(policy=Purpose.objects.get(code=code).current_version,
                                  language="en")
    consent_grant(subject=user, purpose=code, version=text.policy.version, sha256=text.sha256,
                  evidence=ClientEvidence(method=ConsentRecord.Method.API))
media = make_media()
steps = ["turn_left", "blink"]
capture = capture_store(subject=user, analysis=capture_analyse(
    photo=media.photo, video=media.video(steps), steps=steps))
template = make_template("video")
key = secrets.token_urlsafe(32)
ApiToken.objects.create(user=user, key_digest=token_digest(key),
                        expires_at=timezone.now() + timedelta(hours=1))
print(json.dumps({"token": key, "capture": str(capture.pk), "template": str(template.pk),
                  "user": user.pk}))
"""

RECOVER = """
import json
from datetime import timedelta
from django.conf import settings
from django.utils import timezone
from compliance_site import jobs
later = timezone.now() + timedelta(seconds=settings.SWAP_STALE_AFTER + 1)
print(json.dumps(jobs.recover_all(now=later)["swap.jobs"]))  # what the beat task runs
"""


class Proc:
    """A process in its own group, stopped (or killed) by that group only."""

    def __init__(self, args: list[str], env: dict[str, str], log):
        self.popen = subprocess.Popen(
            args, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log
        )

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)
        self.popen.wait(timeout=30)


def redis(port: int, log) -> Proc:
    args = ["redis-server", "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"]
    return Proc(args, os.environ.copy(), log)


def worker(env, log) -> Proc:
    return Proc(
        [
            str(BIN / "celery"),
            "-A",
            "compliance_site",
            "worker",
            "--concurrency=1",
            "-l",
            "INFO",
            "-Q",
            "default,swap",
        ],
        env,
        log,
    )


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    FAILURES.append(f"timed out waiting for {what}")
    return None


def swap(port: int, world: dict) -> tuple[int, str | None]:
    body = {"capture": world["capture"], "template": world["template"]}
    status, seconds = request("POST", "/api/v1/swaps", port=port, body=body, token=world["token"])
    print(f"    POST /api/v1/swaps → {status} in {seconds * 1000:.0f} ms")
    jobs = shell_counts()["jobs"]
    new = sorted(set(jobs) - KNOWN)
    KNOWN.update(new)
    return status, (new[0] if new else None)


KNOWN: set[str] = set()
ENV: dict[str, str] = {}


def shell_counts() -> dict:
    """Job rows and request events, read straight from the database (fast enough to catch a
    job while it runs)."""
    import psycopg

    with psycopg.connect(DATABASE_URL.replace("postgres://", "postgresql://")) as conn:
        jobs = {
            str(pk): [status, error]
            for pk, status, error in conn.execute("SELECT id, status, error FROM swap_swapjob")
        }
        (requested,) = conn.execute(
            "SELECT count(*) FROM audit_auditevent WHERE action = %s", [SWAP_JOB_REQUESTED]
        ).fetchone()
    return {"jobs": jobs, "requested": requested}


SWAP_JOB_REQUESTED = 510  # audit.actions.AuditAction.SWAP_JOB_REQUESTED


def job_status(job: str) -> str:
    return shell_counts()["jobs"][job][0]


def drill_worker_killed(port: int, world: dict, env, log) -> Proc:
    print("drill 1: kill -9 the worker while a job runs")
    status, job = swap(port, world)
    if status != 202 or job is None:
        FAILURES.append(f"swap request answered {status}")
        return worker(env, log)
    wait_for(lambda: job_status(job) == "running", 60, "the job to start")
    WORKER[0].signal(signal.SIGKILL)
    print(f"    killed the worker with the job {job_status(job)}")
    fresh = worker(env, log)
    print(f"    recovery sweep: {shell(env, RECOVER)}")
    final = wait_for(lambda: job_status(job) in {"done", "failed"} and job_status(job), 180, "end")
    print(f"    job ended: {final} {shell_counts()['jobs'][job][1]}")
    return fresh


def drill_broker_down(port: int, world: dict, env, log, broker_port: int) -> None:
    print("drill 2: the broker stops, a swap is asked for, the broker comes back")
    BROKER[0].signal(signal.SIGTERM)
    status, job = swap(port, world)
    print(f"    with the broker down: HTTP {status}, job {job and job_status(job)}")
    if status >= 500 and status != 503:
        FAILURES.append(f"broker down answered {status}")
    if status == 503 and job is not None:
        FAILURES.append("a 503 left a job row behind")
    BROKER[0] = redis(broker_port, log)
    time.sleep(1.0)
    if job is not None:
        print(f"    recovery sweep: {shell(env, RECOVER)}")
        final = wait_for(
            lambda: job_status(job) in {"done", "failed"} and job_status(job), 180, "end"
        )
        print(f"    job ended: {final}")


def reconcile() -> None:
    counts = shell_counts()
    rows, events = len(counts["jobs"]), counts["requested"]
    stuck = [j for j, (status, _r) in counts["jobs"].items() if status in {"pending", "running"}]
    print(
        f"reconcile: {rows} job rows, {events} SWAP_JOB_REQUESTED events, {len(stuck)} unfinished"
    )
    if rows != events:
        FAILURES.append(f"{rows} job rows but {events} request events")
    if stuck:
        FAILURES.append(f"jobs left unfinished: {stuck}")


WORKER: list[Proc] = []
BROKER: list[Proc] = []


def main() -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="faceledger-faults-"))
    broker_port, port = _free_port(), _free_port()
    env = env_for(var_dir, broker_port)
    ENV.update(env)
    log = (var_dir / "processes.log").open("w")
    _create_postgres_database(DATABASE_URL)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    BROKER.append(redis(broker_port, log))
    world = shell(env, PREPARE)
    gunicorn = Proc(
        [str(BIN / "gunicorn"), "compliance_site.wsgi", "-w", "2", "-b", f"{HOST}:{port}"], env, log
    )
    WORKER.append(worker(env, log))
    KNOWN.update(shell_counts()["jobs"])  # jobs of earlier runs
    try:
        wait_for(lambda: _answers(port), 60, "gunicorn")
        WORKER[0] = drill_worker_killed(port, world, env, log)
        drill_broker_down(port, world, env, log, broker_port)
        reconcile()
    finally:
        for proc in (gunicorn, WORKER[0], BROKER[0]):
            proc.signal(signal.SIGTERM)
        log.close()
    print(f"logs: {var_dir / 'processes.log'}")
    for failure in FAILURES:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if FAILURES else 0


def _answers(port: int) -> bool:
    try:
        return request("GET", "/api/v1/health", port=port)[0] == 200
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
