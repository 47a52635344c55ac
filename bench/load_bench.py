"""`make load`: gunicorn (2 workers) + a Celery worker on 127.0.0.1 with a PostgreSQL database of
its own, driven by a small threaded client (http.client, loopback only, bounded in requests and
seconds).

Two measurements:
1. Capacity: 8 client threads as fast as the server answers, for a few seconds each, on the bare
   `GET /api/v1/health` and on `GET /api/v1/consents` (token, database, serializer) →
   `load.consent_list_ratio` = consents/s ÷ health/s (target ≥ 0.5).
2. A mix at rising request rates (open loop): OTP request, OTP verify (a wrong code: 400 is the
   expected answer), consent list, report-job status, audit checkpoint → p50/p99 and error rate
   per rate; `load.p99_ms` is the mix's p99 at the highest rate.

Exits non-zero on any 5xx, on an unexpected status, or when the ratio misses its target.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import ROOT, _create_postgres_database, figure, merge_results

HOST = "127.0.0.1"
DATABASE_URL = os.environ.get(
    "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/hardening_dev"
)
RATES = [int(r) for r in os.environ.get("LOAD_RATES", "20,40,80").split(",")]
# Then the saturation search: the rate rises by this factor from the last of RATES until the
# mix's p99 passes SATURATION_P99_MS, the first error or 5xx appears, or the client cannot send
# that fast; at most SATURATION_STEPS steps (bounded: a few seconds each).
SATURATION_FACTOR = float(os.environ.get("LOAD_SATURATION_FACTOR", "1.5"))
SATURATION_STEPS = int(os.environ.get("LOAD_SATURATION_STEPS", "8"))
SATURATION_P99_MS = 100.0
# The knee: the highest rate (of RATES, in a row from the first) whose median stays within this
# factor of the first rate's median, i.e. before requests start to queue. On a machine shared
# with other work the p99 rule above measures the neighbours; the median does not.
KNEE_FACTOR = 2.0


def rate_before(rate: int) -> float:
    index = RATES.index(rate)
    return float(RATES[index - 1]) if index else 0.0


SECONDS_PER_RATE = float(os.environ.get("LOAD_SECONDS", "5"))
CAPACITY_SECONDS = 4.0
SUBJECTS = 20
RATIO_TARGET = 0.5
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def server_env(var_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.local",
        "DJANGO_DEBUG": "0",
        "FACELEDGER_VAR_DIR": str(var_dir),
        "DATABASE_URL": DATABASE_URL,
        # Persistent connections, as a production deployment with sync workers would use.
        "DATABASE_CONN_MAX_AGE": "60",
        "SMS_BACKEND": "consent.identity.sms.backends.file.SmsBackend",
        "SMS_FILE_PATH": str(var_dir / "sms"),
        # One client address sends everything: lift the per-address limits for this run only.
        "PUBLIC_API_RATE": "1000000/min",
        "OTP_SEND_LIMIT_PER_IP": "1000000",
        "OTP_SEND_LIMIT_PER_PREFIX": "1000000",
    }


def prepare(env: dict[str, str]) -> dict:
    """Migrate, then make subjects with API tokens, consents and a report job each (in a
    subprocess with the server's settings); return their tokens and job ids."""
    _create_postgres_database(DATABASE_URL)
    manage = [str(BIN / "python"), "manage.py"]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [*manage, "shell", "-c", PREPARE.replace("SUBJECTS", str(SUBJECTS))],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(made.stdout.strip().splitlines()[-1])


PREPARE = """
import json, secrets
from datetime import timedelta
from django.utils import timezone
from audit.services import audit_seal
from consent.identity.models import ApiToken, User
from consent.ledger.models import ConsentRecord, PolicyText, Purpose
from consent.reports.services import report_job_request
from consent.identity.selectors import token_digest
from consent.ledger.selectors import ClientEvidence, age_stated
from consent.ledger.services import age_state, consent_grant

out = []
for n in range(SUBJECTS):
    user, _ = User.objects.get_or_create(phone_number=f"+4474009{n:05d}")
    if not age_stated(user):  # the age step comes before any grant
        age_state(subject=user, birth_year=1990,
                  evidence=ClientEvidence(method=ConsentRecord.Method.API))
    key = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, key_digest=token_digest(key),
                            expires_at=timezone.now() + timedelta(hours=1))
    text = PolicyText.objects.get(
        policy=Purpose.objects.get(code="output_storage").current_version, language="en")
    try:
        consent_grant(subject=user, purpose="output_storage", version=text.policy.version,
                      sha256=text.sha256, evidence=ClientEvidence(method=ConsentRecord.Method.API))
    except Exception:
        pass  # granted in an earlier run
    job = report_job_request(subject=user, language="en", events=10_000)
    out.append({"token": key, "job": str(job.pk)})
audit_seal()
print(json.dumps(out))
"""


class Servers:
    """gunicorn (2 workers) and one Celery worker, stopped by their own process groups."""

    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.port = port
        self.log = log.open("w")  # each expected 4xx is logged as a warning: keep them aside
        gunicorn = [str(BIN / "gunicorn"), "compliance_site.wsgi", "-w", "2", "-b"]
        celery = [str(BIN / "celery"), "-A", "compliance_site", "worker", "--concurrency=1"]
        celery += ["-Q", "default,swap"]
        self.procs = [
            subprocess.Popen(
                [*gunicorn, f"{HOST}:{port}", "--log-level", "warning"],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stderr=self.log,
            ),
            subprocess.Popen(
                [*celery, "--loglevel=WARNING"],
                cwd=ROOT,
                env=env,
                start_new_session=True,
                stdout=subprocess.DEVNULL,
                stderr=self.log,
            ),
        ]

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if request("GET", "/api/v1/health", port=self.port)[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.log.close()


_local = threading.local()


def request(method: str, path: str, *, port: int, body=None, token: str | None = None):
    """(status, seconds) of one request on this thread's keep-alive connection."""
    conn = getattr(_local, "conn", None)
    if conn is None:
        conn = _local.conn = http.client.HTTPConnection(HOST, port, timeout=30)
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = json.dumps(body).encode() if body is not None else None
    started = time.perf_counter()
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        _local.conn = None
        raise
    return response.status, time.perf_counter() - started


def capacity(port: int, path: str, token: str | None) -> float:
    """Requests per second with 8 threads in a closed loop for CAPACITY_SECONDS."""
    deadline = time.monotonic() + CAPACITY_SECONDS
    counts, statuses = [], []

    def loop() -> None:
        done = 0
        while time.monotonic() < deadline:
            status, _ = request("GET", path, port=port, token=token)
            statuses.append(status)
            done += 1
        counts.append(done)
        _local.conn = None

    threads = [threading.Thread(target=loop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    check_statuses({path: statuses}, {path: {200}})
    return sum(counts) / CAPACITY_SECONDS


def mix(subjects: list[dict]):
    """The next request of the mix: (name, method, path, body, token, expected statuses)."""
    numbers = itertools.count()
    while True:
        who = random.choice(subjects)
        n = next(numbers)
        phone = f"+4474008{n % 100000:05d}"
        yield random.choice(
            [
                ("otp_request", "POST", "/api/v1/auth/otp/request", {"phone": phone}, None, {202}),
                (
                    "otp_verify",
                    "POST",
                    "/api/v1/auth/otp/verify",
                    {"phone": phone, "code": "000000"},
                    None,
                    {400},
                ),
                ("consent_list", "GET", "/api/v1/consents", None, who["token"], {200}),
                ("job_status", "GET", f"/api/v1/me/report/{who['job']}", None, who["token"], {200}),
                ("checkpoint", "GET", "/api/v1/audit/checkpoint", None, None, {200}),
            ]
        )


def at_rate(port: int, subjects: list[dict], rate: int) -> dict:
    """Send ``rate`` requests per second for SECONDS_PER_RATE (open loop, 16 threads)."""
    results: dict[str, list] = {}
    expected: dict[str, set] = {}
    total = int(rate * SECONDS_PER_RATE)
    requests = mix(subjects)
    start = time.perf_counter()

    def one(item) -> None:
        name, method, path, body, token, ok = item
        status, seconds = request(method, path, port=port, body=body, token=token)
        results.setdefault(name, []).append((status, seconds))
        expected[name] = ok

    with ThreadPoolExecutor(max_workers=16) as pool:
        for i in range(total):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, next(requests))
    elapsed = time.perf_counter() - start
    return {"results": results, "expected": expected, "achieved": total / elapsed}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def check_statuses(statuses: dict[str, list[int]], expected: dict[str, set]) -> None:
    for name, seen in statuses.items():
        server_errors = [s for s in seen if s >= 500]
        unexpected = [s for s in seen if s not in expected[name]]
        if server_errors:
            FAILURES.append(f"{name}: {len(server_errors)} answers >= 500")
        if unexpected:
            FAILURES.append(f"{name}: unexpected statuses {sorted(set(unexpected))}")


FAILURES: list[str] = []


def report_rate(rate: int, run: dict) -> float:
    every = [s for rows in run["results"].values() for _status, s in rows]
    statuses = {name: [st for st, _ in rows] for name, rows in run["results"].items()}
    check_statuses(statuses, run["expected"])
    bad = sum(st not in run["expected"][n] for n, rows in statuses.items() for st in rows)
    p99 = percentile(every, 0.99)
    print(
        f"rate {rate:>4}/s (achieved {run['achieved']:.0f}/s): n={len(every)} "
        f"p50={percentile(every, 0.5):.1f} ms p99={p99:.1f} ms errors={bad / len(every):.2%}"
    )
    for name, rows in sorted(run["results"].items()):
        times = [s for _st, s in rows]
        print(
            f"    {name:<13} n={len(rows):>4} p50={percentile(times, 0.5):7.1f} ms "
            f"p99={percentile(times, 0.99):7.1f} ms"
        )
    return p99


def saturation(port: int, subjects: list[dict], start: int) -> tuple[float, str]:
    """The highest mixed-traffic rate one web host (gunicorn, 2 workers) serves with a p99 under
    SATURATION_P99_MS and no error, and why the next step failed."""
    served, rate = 0.0, float(start)
    for _ in range(SATURATION_STEPS):
        rate *= SATURATION_FACTOR
        run = at_rate(port, subjects, int(rate))
        every = [s for rows in run["results"].values() for _status, s in rows]
        errors = sum(
            status not in run["expected"][name]
            for name, rows in run["results"].items()
            for status, _s in rows
        )
        p99 = percentile(every, 0.99)
        print(
            f"saturation: {int(rate):>4}/s (achieved {run['achieved']:.0f}/s) "
            f"p99={p99:.1f} ms errors={errors}"
        )
        if errors:
            return served, f"{errors} errors at {int(rate)}/s"
        if p99 > SATURATION_P99_MS:
            return served, f"p99 {p99:.0f} ms at {int(rate)}/s"
        if run["achieved"] < 0.9 * rate:
            return run["achieved"], f"the client sent only {run['achieved']:.0f}/s"
        served = rate
    return served, f"not reached by {int(rate)}/s"


def main() -> int:
    var_dir = Path(tempfile.mkdtemp(prefix="faceledger-load-"))
    env = server_env(var_dir)
    subjects = prepare(env)
    port = _free_port()
    servers = Servers(env, port, var_dir / "servers.log")
    try:
        servers.wait_ready()
        health = capacity(port, "/api/v1/health", None)
        consents = capacity(port, "/api/v1/consents", subjects[0]["token"])
        print(f"capacity: health {health:.0f}/s, consent list {consents:.0f}/s")
        p99 = 0.0
        saturated, why = 0.0, ""
        knee, first_p50 = 0.0, 0.0
        for rate in RATES:
            failures = len(FAILURES)
            run = at_rate(port, subjects, rate)
            p99 = report_rate(rate, run)
            p50 = percentile([t for rows in run["results"].values() for _s, t in rows], 0.5)
            first_p50 = first_p50 or p50
            if knee == rate_before(rate) and p50 <= KNEE_FACTOR * first_p50:
                knee = float(rate)  # still answering at the unloaded pace: no queue yet
            if not why and (p99 > SATURATION_P99_MS or len(FAILURES) > failures):
                why = f"p99 {p99:.0f} ms at {rate}/s" if p99 > SATURATION_P99_MS else "errors"
            elif not why:
                saturated = float(rate)
        if not why:
            saturated, why = saturation(port, subjects, RATES[-1])
        print(f"one web host serves {saturated:.0f} req/s of the mix ({why})")
    finally:
        servers.stop()
    print(f"server logs: {var_dir / 'servers.log'}")
    ratio = consents / health
    merge_results(
        {
            "load.consent_list_ratio": figure(
                consents, "req/s", health, f">= {RATIO_TARGET} of the bare health view"
            ),
            "load.p99_ms": figure(p99, "ms", None, f"mix p99 at {RATES[-1]} req/s; no 5xx"),
            "load.web_host_knee_rps": figure(
                knee,
                "req/s",
                None,
                f"one web host (gunicorn -w 2), mixed traffic: last rate of {RATES} whose p50 "
                f"stays within {KNEE_FACTOR:.0f}x of the first rate's (no queueing yet)",
            ),
            "load.web_host_saturation_rps": figure(
                saturated,
                "req/s",
                None,
                f"one web host (gunicorn -w 2), mixed traffic, p99 <= {SATURATION_P99_MS:.0f} ms "
                f"and no error; next step: {why}",
            ),
        }
    )
    if ratio < RATIO_TARGET:
        FAILURES.append(f"consent list ratio {ratio:.2f} < {RATIO_TARGET}")
    for failure in FAILURES:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
