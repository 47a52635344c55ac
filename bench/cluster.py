"""`make cluster`: the service on a small cluster of hosts made on this machine with network
namespaces (run as root; Linux `ip netns` and veth pairs).

Hosts (the table ``HOSTS``; a host is a namespace with one address on a private bridge, and it
reaches the others only over their addresses):
  services   PostgreSQL (a private instance on a temporary folder), Redis, the S3 endpoint
  web1, web2 gunicorn (docs/deploy.md "Web")
  swap1      a Celery worker on the `swap` queue, and a beat
  default1   a Celery worker on the `default` queue, and a beat (two beats on purpose: one sends)

The flow, through HTTP as a phone would: sign in on web1 (SMS code), the age step and consents,
a live capture, a swap (made on swap1), status and download on web2, the export on web2; then
the drills: the swap worker killed mid-job (the job finishes after a restart), Redis stopped
while a swap is asked (nothing lost once it is back); then erasure, a raw scan of every table
and every object version in the bucket for anything of the person's, and `audit_verify`.
Prints what it did; exits non-zero on any loss. Namespaces and processes are always removed.
"""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BIN = Path(sys.executable).parent
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PREFIX = "flc"  # namespaces flc-<host>, the bridge flc-br
NET = "10.77.0"
BRIDGE = f"{PREFIX}-br"
DRIVER_IP = f"{NET}.1"
BUCKET = "faceledger-media"
PHONE = f"+447400{random.SystemRandom().randrange(10**6):06d}"


@dataclass
class Host:
    """One machine of the cluster: a namespace, its address, and what runs on it."""

    name: str
    ip: str
    programs: list[str]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def ns(self) -> str:
        return f"{PREFIX}-{self.name}"


# Add a host by adding a row: its address and its programs (PROGRAMS below).
HOSTS = [
    Host("services", f"{NET}.10", ["postgres", "redis", "s3"]),
    Host("web1", f"{NET}.11", ["web"]),
    Host("web2", f"{NET}.12", ["web"]),
    Host("swap1", f"{NET}.13", ["worker-swap", "beat"]),
    Host("default1", f"{NET}.14", ["worker-default", "beat"]),
    # An audit witness (audit/witness.py) of its own: the sealer asks it to cosign each checkpoint.
    Host("witness1", f"{NET}.15", ["witness"]),
]
WITNESS: dict[str, str] = {}  # its vkey and URL, once made
# The audit log's signing jobs (settings AUDIT_SIGNING_JOBS), each with its own key.
SIGNING_JOBS = ("checkpoint", "receipt", "erasure", "manifest")
BY_NAME = {host.name: host for host in HOSTS}
SERVICES = BY_NAME["services"]
FAILURES: list[str] = []
STARTED: list[subprocess.Popen] = []
RESTARTS: list[str] = []
WORK = Path(tempfile.mkdtemp(prefix="faceledger-cluster-"))
WORK.chmod(0o711)  # PostgreSQL runs as its own user, its data folder is in here


def say(text: str) -> None:
    print(text, flush=True)


def fail(text: str) -> None:
    FAILURES.append(text)
    say(f"    FAILED: {text}")


def run(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True, **kwargs)  # noqa: S603


# --- the network ------------------------------------------------------------------------------


def network_up() -> None:
    run("ip", "link", "add", BRIDGE, "type", "bridge")
    run("ip", "addr", "add", f"{DRIVER_IP}/24", "dev", BRIDGE)
    run("ip", "link", "set", BRIDGE, "up")
    for index, host in enumerate(HOSTS):
        outside, inside = f"{PREFIX}{index}o", f"{PREFIX}{index}i"
        run("ip", "netns", "add", host.ns)
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        run("ip", "link", "set", outside, "master", BRIDGE)
        run("ip", "link", "set", outside, "up")
        run("ip", "link", "set", inside, "netns", host.ns)
        run("ip", "netns", "exec", host.ns, "ip", "addr", "add", f"{host.ip}/24", "dev", inside)
        run("ip", "netns", "exec", host.ns, "ip", "link", "set", inside, "up")
        run("ip", "netns", "exec", host.ns, "ip", "link", "set", "lo", "up")
    say(f"network: bridge {BRIDGE} {DRIVER_IP}/24; " + ", ".join(f"{h.name} {h.ip}" for h in HOSTS))


def network_down() -> None:
    for host in HOSTS:
        run("ip", "netns", "delete", host.ns, check=False)
    run("ip", "link", "delete", BRIDGE, check=False)


def stop_everything() -> None:
    for process in STARTED:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=30)


# --- processes ----------------------------------------------------------------------------------


def start(
    host: Host, program: str, args: list[str], env: dict[str, str], *, user: str = ""
) -> None:
    """Start ``args`` on ``host`` (inside its namespace), in a process group of its own."""
    log = open(WORK / f"{host.name}-{program}.log", "ab")  # noqa: SIM115 - kept by the child
    prefix = ["ip", "netns", "exec", host.ns]
    if user:
        prefix += ["runuser", "-u", user, "--"]
    process = subprocess.Popen(  # noqa: S603 - fixed programs
        [*prefix, *args], cwd=ROOT, env=env, stdout=log, stderr=log, start_new_session=True
    )
    STARTED.append(process)
    host.processes[program] = process


def stop(host: Host, program: str, sig: int = signal.SIGTERM) -> None:
    process = host.processes.pop(program)
    if process.poll() is None:
        os.killpg(process.pid, sig)
    process.wait(timeout=60)


def log_of(host: Host, program: str) -> str:
    path = WORK / f"{host.name}-{program}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def supervise() -> None:
    """What systemd's ``Restart=always`` does on a real host (docs/deploy.md): a program that
    exited by itself is started again. (A Celery worker exits with "Unrecoverable error" when
    Redis goes away while it acknowledges a message; restarted, it carries on.)"""
    for host in HOSTS:
        for program, process in list(host.processes.items()):
            if program in PROGRAMS and process.poll() is not None:
                if len(RESTARTS) >= 10:
                    raise RuntimeError(f"{program} on {host.name} keeps exiting")
                say(f"    supervisor: {program} on {host.name} exited ({process.returncode}), "
                    "started again")  # fmt: skip
                start_program(host, program)
                RESTARTS.append(f"{host.name} {program}")


def wait_for(what: str, predicate: Callable[[], object], seconds: float = 120.0) -> object:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervise()
        try:
            value = predicate()
        except Exception:  # noqa: BLE001 - not up yet
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


# --- the services host ------------------------------------------------------------------------


def services_up() -> None:
    data = WORK / "pgdata"
    data.mkdir()
    shutil.chown(data, "postgres", "postgres")
    run("runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust",
        "-U", "postgres")  # fmt: skip
    with open(data / "pg_hba.conf", "a") as hba:
        hba.write(f"host all all {NET}.0/24 trust\n")
    postgres = [str(PG_BIN / "postgres"), "-D", str(data), "-c", f"listen_addresses={SERVICES.ip}",
                "-c", f"unix_socket_directories={data}", "-c", "fsync=off",
                "-c", "max_connections=200"]  # fmt: skip
    start(SERVICES, "postgres", postgres, dict(os.environ), user="postgres")
    (WORK / "redis").mkdir()
    redis_args = redis_command()
    start(SERVICES, "redis", redis_args, dict(os.environ))
    start(SERVICES, "s3", [sys.executable, "-m", "moto.server", "-H", SERVICES.ip, "-p", "9000"],
          dict(os.environ))  # fmt: skip
    import psycopg

    wait_for(
        "PostgreSQL", lambda: psycopg.connect(f"host={SERVICES.ip} user=postgres").close() or 1
    )
    with psycopg.connect(f"host={SERVICES.ip} user=postgres", autocommit=True) as conn:
        conn.execute("CREATE DATABASE faceledger")
    wait_for("Redis", redis_up)
    s3 = s3_client()
    wait_for("the S3 endpoint", lambda: s3.list_buckets() is not None)
    s3.create_bucket(Bucket=BUCKET)
    say(f"services: PostgreSQL {SERVICES.ip}:5432, Redis {SERVICES.ip}:6379, "
        f"S3 http://{SERVICES.ip}:9000 bucket {BUCKET} (no versioning)")  # fmt: skip


def redis_command() -> list[str]:
    """Redis on the services host; its append-only file keeps queued messages over a restart."""
    return ["redis-server", "--bind", SERVICES.ip, "--port", "6379", "--dir", str(WORK / "redis"),
            "--appendonly", "yes", "--save", "", "--protected-mode", "no"]  # fmt: skip


def redis_up() -> bool:
    import redis

    return bool(redis.Redis(host=SERVICES.ip, port=6379, socket_timeout=2).ping())


def s3_client():
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=f"http://{SERVICES.ip}:9000",
        region_name="us-east-1",
        aws_access_key_id=(WORK / "secrets" / "s3_access_key").read_text(),
        aws_secret_access_key=(WORK / "secrets" / "s3_secret_key").read_text(),
    )


# --- secrets and each host's environment ------------------------------------------------------


def secrets_make() -> None:
    """What an operator hands every host: the same secrets, as files (``NAME_FILE``)."""
    from compliance_site import devkeys

    folder = WORK / "secrets"
    folder.mkdir(mode=0o700)
    devkeys.secret_key(folder)
    for job in SIGNING_JOBS:  # one signing key per job, the same on every host
        devkeys.ed25519_pem(folder, f"audit_{job}_key.pem")
    chain, key = devkeys.c2pa_dev_credentials(folder / "c2pa")
    (folder / "c2pa_chain.pem").write_text(chain)
    (folder / "c2pa_key.pem").write_text(key)
    (folder / "s3_access_key").write_text("cluster-access-key")
    (folder / "s3_secret_key").write_text("cluster-secret-key")
    (folder / "database_url").write_text(f"postgres://postgres@{SERVICES.ip}:5432/faceledger")
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o600)


def host_env(host: Host) -> dict[str, str]:
    secrets = WORK / "secrets"
    var = WORK / host.name / "var"  # each host's own disk: nothing shared through it
    var.mkdir(parents=True, exist_ok=True)
    webs = [h.ip for h in HOSTS if "web" in h.programs]
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(var),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "compliance_site.settings.local",
        "DJANGO_DEBUG": "0",
        "DJANGO_ALLOWED_HOSTS": ",".join(webs),
        "FACELEDGER_VAR_DIR": str(var),
        "DJANGO_SECRET_KEY_FILE": str(secrets / "django_secret_key"),
        "DATABASE_URL_FILE": str(secrets / "database_url"),
        "CELERY_BROKER_URL": f"redis://{SERVICES.ip}:6379/0",
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": f"http://{SERVICES.ip}:9000",
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID_FILE": str(secrets / "s3_access_key"),
        "S3_SECRET_ACCESS_KEY_FILE": str(secrets / "s3_secret_key"),
        **{
            f"AUDIT_{job.upper()}_KEY_FILE": str(secrets / f"audit_{job}_key.pem")
            for job in SIGNING_JOBS
        },
        "AUDIT_LOG_ID": "faceledger-cluster",
        "SWAP_C2PA_CERT_CHAIN_FILE": str(secrets / "c2pa_chain.pem"),
        "SWAP_C2PA_PRIVATE_KEY_FILE": str(secrets / "c2pa_key.pem"),
        # The master-key store: one volume mounted on every host (a secret store in production).
        "BIOMETRIC_KEY_STORE": str(secrets / "master-keys"),
        "SMS_BACKEND": "consent.identity.sms.backends.file.SmsBackend",
        "SMS_FILE_PATH": str(var / "sms"),
        "AUDIT_SEAL_INTERVAL": "2",
        "JOBS_RECOVER_INTERVAL": "5",
        **(
            {"AUDIT_WITNESSES": f"{WITNESS['vkey']} {WITNESS['url']}", "AUDIT_WITNESS_QUORUM": "1"}
            if WITNESS
            else {}
        ),
        # A job whose worker has not reported for this long is queued again (heartbeats come
        # with every frame); short here so the drill does not wait ten minutes.
        "SWAP_STALE_AFTER": "20",
    }


def manage(host: Host, *args: str) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` on ``host`` (docs/deploy.md)."""
    done = subprocess.run(  # noqa: S603
        ["ip", "netns", "exec", host.ns, str(BIN / "python"), "manage.py", *args],
        cwd=ROOT, env=host_env(host), capture_output=True, text=True,
    )  # fmt: skip
    return done


PROGRAMS: dict[str, Callable[[Host], list[str]]] = {
    "web": lambda host: [str(BIN / "gunicorn"), "compliance_site.wsgi", "--bind",
                         f"{host.ip}:8000", "--workers", "2", "--timeout", "120"],
    "worker-swap": lambda host: [str(BIN / "celery"), "-A", "compliance_site", "worker",
                                 "-Q", "swap", "--concurrency", "1", "-n", f"swap@{host.name}",
                                 "--loglevel", "INFO"],
    "worker-default": lambda host: [str(BIN / "celery"), "-A", "compliance_site", "worker",
                                    "-Q", "default", "--concurrency", "2",
                                    "-n", f"default@{host.name}", "--loglevel", "INFO"],
    "witness": lambda host: [sys.executable, "audit/witness.py", "serve", "--name",
                             f"{host.name}.cluster/w1", "--key", str(WORK / host.name / "w1.pem"),
                             "--state", str(WORK / host.name / "w1.json"),
                             "--log", WITNESS["log_vkey"], "--listen", f"{host.ip}:7380"],
    "beat": lambda host: [str(BIN / "celery"), "-A", "compliance_site", "beat",
                          "--loglevel", "INFO", "--schedule",
                          str(WORK / host.name / "var" / "beat-schedule")],
}  # fmt: skip


def shown(args: list[str]) -> str:
    """A command as docs/deploy.md writes it (program names without their folder)."""
    return " ".join([Path(args[0]).name, *(a.replace(str(WORK), "<work>") for a in args[1:])])


def start_program(host: Host, program: str) -> None:
    start(host, program, PROGRAMS[program](host), host_env(host))


def witness_make() -> None:
    """The witness's own key (made on its host) and the log's public key it will trust."""
    host = next(h for h in HOSTS if "witness" in h.programs)
    (WORK / host.name).mkdir(parents=True, exist_ok=True)
    made = run(sys.executable, "audit/witness.py", "keygen", "--name", f"{host.name}.cluster/w1",
               "--key", str(WORK / host.name / "w1.pem"), cwd=ROOT)  # fmt: skip
    code = "from audit import signing; print(signing.checkpoint_verifier().vkey)"
    log = manage(BY_NAME["web1"], "shell", "-c", code)
    WITNESS["log_vkey"] = log.stdout.strip().splitlines()[-1]
    WITNESS["vkey"] = made.stdout.strip().splitlines()[-1]
    WITNESS["url"] = f"http://{host.ip}:7380"
    say(f"{host.name}: python audit/witness.py keygen …; AUDIT_WITNESSES names it, quorum 1")


def app_hosts_up() -> None:
    web1 = BY_NAME["web1"]
    done = manage(web1, "migrate", "--noinput", "-v0")
    if done.returncode:
        raise RuntimeError(f"migrate failed: {done.stderr}")
    say("web1: python manage.py migrate --noinput (the schema, from one host)")
    done = manage(BY_NAME["default1"], "rotate_master_key")
    say(f"default1: python manage.py rotate_master_key → exit {done.returncode}")
    if done.returncode:
        fail(f"rotate_master_key failed: {done.stderr}")
    done = manage(web1, "check")
    say(f"web1: python manage.py check → {'ok' if done.returncode == 0 else done.stderr}")
    if done.returncode:
        fail("the system check failed")
    witness_make()
    for host in HOSTS:
        for program in host.programs:
            if program in PROGRAMS:
                start_program(host, program)
                say(f"{host.name}: {shown(PROGRAMS[program](host))}")
    for host in HOSTS:
        if "web" in host.programs:
            wait_for(
                f"{host.name} health", lambda h=host: http(h, "GET", "/api/v1/health")[0] == 200
            )
        for program in ("worker-swap", "worker-default"):
            if program in host.programs:
                wait_for(
                    f"{host.name} {program}", lambda h=host, p=program: " ready." in log_of(h, p)
                )
    say("all hosts up: GET /api/v1/health → 200 on web1 and web2; both workers ready")
    for name in ("swap@swap1", "default@default1"):
        ping = subprocess.run(  # noqa: S603 - the health check of docs/deploy.md
            ["ip", "netns", "exec", BY_NAME["web1"].ns, str(BIN / "celery"), "-A",
             "compliance_site", "inspect", "ping", "-d", name, "--timeout", "10"],
            cwd=ROOT, env=host_env(BY_NAME["web1"]), capture_output=True, text=True,
        )  # fmt: skip
        say(f"web1: celery -A compliance_site inspect ping -d {name} → exit {ping.returncode}")
        if ping.returncode:
            fail(f"{name} did not answer a ping: {ping.stdout[-500:]}{ping.stderr[-500:]}")


# --- a phone's HTTP client ----------------------------------------------------------------------


def http(host: Host, method: str, path: str, *, token: str = "", body=None, files=None, raw=False):
    import requests

    headers = {"Authorization": f"Token {token}"} if token else {}
    url = f"http://{host.ip}:8000{path}"
    if files is not None:
        response = requests.request(method, url, headers=headers, files=files, data=body,
                                    timeout=120)  # fmt: skip
    else:
        response = requests.request(method, url, headers=headers, json=body, timeout=120)
    if raw:
        return response.status_code, response.content, response.headers
    try:
        return response.status_code, response.json()
    except ValueError:
        return response.status_code, response.text


def sms_code(host: Host) -> str:
    folder = WORK / host.name / "var" / "sms"
    text = "".join(p.read_text() for p in sorted(folder.glob("*.log")))
    return re.findall(r"\b(\d{6})\b", text)[-1]


@dataclass
class Person:
    token: str = ""
    capture: str = ""
    photo: bytes = b""
    results: list[bytes] = field(default_factory=list)


def sign_in_and_capture(person: Person) -> None:
    web1 = BY_NAME["web1"]
    status, _ = http(web1, "POST", "/api/v1/auth/otp/request", body={"phone": PHONE})
    code = sms_code(web1)
    status2, body = http(
        web1, "POST", "/api/v1/auth/otp/verify", body={"phone": PHONE, "code": code}
    )
    person.token = body["token"]
    say(f"web1: POST /api/v1/auth/otp/request → {status}; the SMS code; otp/verify → {status2}")
    status, _ = http(web1, "POST", "/api/v1/consents/age", token=person.token,
                     body={"year_of_birth": 1990})  # fmt: skip
    _, purposes = http(web1, "GET", "/api/v1/purposes")
    granted = []
    for purpose in purposes:
        if purpose["code"] in {"biometric_enrolment", "face_swap"}:
            quote = {k: purpose[k] for k in ("version", "sha256")} | {"purpose": purpose["code"]}
            granted.append(
                http(web1, "POST", "/api/v1/consents", token=person.token, body=quote)[0]
            )
    say(f"web1: age step → {status}; consents biometric_enrolment, face_swap → {granted}")
    if granted != [201, 201]:
        fail(f"consents answered {granted}")
    import cv2

    from tests.biometrics import synth

    face = synth.astronaut_bgr()
    _ok, jpeg = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 92])
    person.photo = jpeg.tobytes()
    _, challenge = http(web1, "GET", "/api/v1/liveness/challenge", token=person.token)
    video = synth.make_challenge_video(face, list(challenge["steps"]), fps=10, size=(320, 240))
    files = {"photo": ("photo.jpg", person.photo), "video": ("video.mp4", video)}
    status, body = http(web1, "POST", "/api/v1/captures", token=person.token,
                        body={"challenge": challenge["id"]}, files=files)  # fmt: skip
    say(f"web1: GET /api/v1/liveness/challenge; POST /api/v1/captures → {status}")
    if status != 201:
        raise RuntimeError(f"capture refused: {body}")
    person.capture = body["id"]


def assessments_record() -> None:
    """A current impact assessment of every purpose: no one can consent to a purpose without
    one (PIPL Art. 55; README "Impact assessments"), so a new site records them before it opens."""
    code = (
        "from consent.ledger.models import Purpose; from tests.conftest import assessment_seed; "
        "print([assessment_seed(p).purpose.code for p in Purpose.objects.order_by('position')])"
    )
    done = manage(BY_NAME["web1"], "shell", "-c", code)
    if done.returncode:
        raise RuntimeError(done.stderr)
    say(f"web1: an impact assessment recorded for each purpose: {done.stdout.strip()}")


def template_add(kind: str) -> str:
    """A template, added as the DPO would (the real service; the file goes to the bucket)."""
    code = (
        "from tests.swap.jobkit import make_template; "
        f"print(make_template({kind!r}, title='Cluster {kind}').pk)"
    )
    done = manage(BY_NAME["web1"], "shell", "-c", code)
    if done.returncode:
        raise RuntimeError(done.stderr)
    return done.stdout.strip().splitlines()[-1]


def db(sql: str, args=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"host={SERVICES.ip} user=postgres dbname=faceledger") as conn:
        return conn.execute(sql, args).fetchall()


def job_status(job: str) -> str:
    rows = db("SELECT status FROM swap_swapjob WHERE id = %s", [job])
    return rows[0][0] if rows else "gone"


def swap(person: Person, template: str, *, on: str = "web1") -> tuple[int, str]:
    status, body = http(BY_NAME[on], "POST", "/api/v1/swaps", token=person.token,
                        body={"capture": person.capture, "template": template})  # fmt: skip
    return status, (body.get("id", "") if isinstance(body, dict) else "")


def made_swaps(host: Host, program: str) -> int:
    """How many swap tasks this worker finished (its log: Celery's 'Task … succeeded')."""
    return sum(
        "swap.tasks.swap_job_run" in line and "succeeded" in line
        for line in log_of(host, program).splitlines()
    )


def wait_done(person: Person, job: str, seconds: float = 300) -> str:
    web2 = BY_NAME["web2"]

    def ended() -> str:
        _, body = http(web2, "GET", f"/api/v1/swaps/{job}", token=person.token)
        return body["status"] if body["status"] not in {"pending", "running"} else ""

    try:
        return str(wait_for(f"job {job}", ended, seconds))
    except TimeoutError:
        return job_status(job)


def download(person: Person, job: str) -> bytes:
    status, content, headers = http(BY_NAME["web2"], "GET", f"/api/v1/swaps/{job}/result",
                                    token=person.token, raw=True)  # fmt: skip
    say(f"web2: GET /api/v1/swaps/{job[:8]}…/result → {status}, {len(content)} bytes "
        f"{headers.get('Content-Type')}")  # fmt: skip
    if status != 200 or int(headers.get("Content-Length", -1)) != len(content):
        fail(f"download answered {status}")
    person.results.append(content)
    return content


# --- the flow and the drills -------------------------------------------------------------------


def flow(person: Person, image: str) -> None:
    status, job = swap(person, image)
    say(f"web1: POST /api/v1/swaps (still) → {status}")
    final = wait_done(person, job)
    ran_on = [h.name for h in HOSTS for p in ("worker-swap", "worker-default")
              if p in h.programs and made_swaps(h, p)]  # fmt: skip
    say(f"web2: GET /api/v1/swaps/{job[:8]}… → {final}; made on {ran_on}")
    if final != "done" or ran_on != ["swap1"]:
        fail(f"the still's job ended {final} on {ran_on}")
    png = download(person, job)
    if not png.startswith(b"\x89PNG"):
        fail("the download is not the PNG")
    status, content, _ = http(BY_NAME["web2"], "GET", "/api/v1/me/export.zip",
                              token=person.token, raw=True)  # fmt: skip
    names = zipfile.ZipFile(io.BytesIO(content)).namelist() if status == 200 else []
    with_result = [n for n in names if n.endswith(".png")]
    say(f"web2: GET /api/v1/me/export.zip → {status}, {len(names)} entries, results {with_result}")
    if status != 200 or not with_result:
        fail("the export lacks the result")


def drill_swap_worker_killed(person: Person, clip: str) -> None:
    say("drill: the swap worker's process killed (SIGKILL) while it makes a clip")
    swap1 = BY_NAME["swap1"]
    status, job = swap(person, clip)
    wait_for("the clip's job to run", lambda: job_status(job) == "running", 180)
    stop(swap1, "worker-swap", signal.SIGKILL)
    say(f"    POST /api/v1/swaps (clip) → {status}; killed the worker while the job was "
        f"{job_status(job)}")  # fmt: skip
    start_program(swap1, "worker-swap")
    wait_for(
        "the restarted worker", lambda: log_of(swap1, "worker-swap").count(" ready.") >= 2, 300
    )
    say("    restarted the swap worker; the beat's jobs-recover queues the stale job again")
    final = wait_done(person, job, 420)
    say(f"    the job ended: {final}")
    if final != "done":
        fail(f"the killed job ended {final}")
    else:
        download(person, job)


def drill_redis_stopped(person: Person, image: str) -> None:
    say("drill: Redis stopped while a swap is asked")
    stop(SERVICES, "redis")
    status, job = swap(person, image, on="web2")
    kept = job_status(job) if job else "no row"
    say(f"    POST /api/v1/swaps with the broker down → {status} (job {kept})")
    if status not in {202, 503}:
        fail(f"the swap request answered {status} with the broker down")
    services = SERVICES
    redis_args = redis_command()
    start(services, "redis", redis_args, dict(os.environ))
    wait_for("Redis", redis_up)
    say("    Redis started again (append-only file kept what it held)")
    if status == 202:
        final = wait_done(person, job, 300)
        say(f"    the job asked meanwhile ended: {final}")
        if final != "done":
            fail(f"the job asked while Redis was down ended {final}")
    status, job = swap(person, image, on="web2")
    final = wait_done(person, job)
    say(f"    a swap after the restart → {status}, {final}")
    if final != "done":
        fail(f"a swap after Redis came back ended {final}")


def erase(person: Person) -> None:
    status, body = http(BY_NAME["web1"], "POST", "/api/v1/me/erasure", token=person.token)
    token = body["id"]

    def done() -> str:
        _, state = http(BY_NAME["web2"], "GET", f"/api/v1/me/erasure/{token}")
        return state["status"] if state["status"] in {"done", "failed"} else ""

    final = wait_for("the erasure", done, 300)
    say(f"web1: POST /api/v1/me/erasure → {status}; web2: GET /api/v1/me/erasure/… → {final}")
    if final != "done":
        fail(f"erasure ended {final}")


def phone_forms() -> list[bytes]:
    digits = PHONE.lstrip("+")
    national = "0" + PHONE[3:]
    return [f.encode() for f in (PHONE, digits, "00" + digits, national, PHONE[3:])]


def raw_scan(person: Person) -> None:
    """Every column of every table (as text, byte columns as hex) and every object version in
    the bucket, searched for the number in each form and runs of the photo and of each result."""

    def runs(data: bytes) -> list[bytes]:
        step = max(1, (len(data) - 48) // 4)
        return [data[step * i : step * i + 48] for i in (1, 2, 3)]

    person_needles = phone_forms() + runs(person.photo)
    needles = person_needles + [run for data in person.results for run in runs(data)]
    hex_needles = [n.hex().encode() for n in needles]
    hits = []
    tables = [r[0] for r in db("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    for table in tables:
        for (row,) in db(f'SELECT t::text FROM "{table}" t'):  # noqa: S608 - names from the catalog
            text = row.encode()
            if any(n in text for n in needles) or any(n in text for n in hex_needles):
                hits.append(f"table {table}")
    s3 = s3_client()
    versions = s3.list_object_versions(Bucket=BUCKET)
    objects = versions.get("Versions", [])
    for version in objects:
        blob = s3.get_object(Bucket=BUCKET, Key=version["Key"], VersionId=version["VersionId"])
        content = blob["Body"].read()
        # A template's own bytes (a clip's sound track) pass into results made from it: the
        # templates are searched for the person's number and photo, not for the results.
        searched = person_needles if version["Key"].startswith("swap_templates/") else needles
        if any(n in content or n in version["Key"].encode() for n in searched):
            hits.append(f"object {version['Key']}")
    left = sorted({v["Key"].split("/")[0] for v in objects})
    people = [k["Key"] for k in objects if k["Key"].split("/")[0] in {"captures", "swap_results",
                                                                     "reports"}]  # fmt: skip
    say(
        f"raw scan: {len(tables)} tables, {len(objects)} object versions (folders {left}), "
        f"delete markers {len(versions.get('DeleteMarkers', []))}: {hits or 'nothing personal'}"
    )
    if hits or people:
        fail(f"left after erasure: {hits + people}")


def backup_scanned() -> None:
    """A backup made now (pg_dump on the services host, as docs/deploy.md says) holds nothing
    of the erased person either."""
    dump = WORK / "backup.sql"
    done = subprocess.run(  # noqa: S603
        ["ip", "netns", "exec", SERVICES.ns, str(PG_BIN / "pg_dump"), "-h", SERVICES.ip,
         "-U", "postgres", "-f", str(dump), "faceledger"],
        capture_output=True, text=True,
    )  # fmt: skip
    content = dump.read_bytes() if dump.exists() else b""
    hits = [form.decode() for form in phone_forms() if form in content]
    say(f"services: pg_dump faceledger → exit {done.returncode}, {len(content)} bytes; "
        f"the number in it: {hits or 'nowhere'}")  # fmt: skip
    if done.returncode or hits:
        fail(f"the backup: exit {done.returncode}, {hits}")


def audit_verified() -> None:
    done = manage(BY_NAME["default1"], "audit_seal")
    done = manage(BY_NAME["default1"], "audit_verify", "--ask-witnesses")
    say(f"default1: python manage.py audit_verify --ask-witnesses → exit {done.returncode}: "
        f"{(done.stdout or done.stderr).strip().splitlines()[-1:]}")  # fmt: skip
    if done.returncode:
        fail(f"audit_verify failed: {(done.stdout + done.stderr)[-2000:]}")
    rows = db("SELECT count(*) FROM audit_auditnotesignature WHERE cosigned_at IS NOT NULL")
    say(f"witness1: {rows[0][0]} checkpoints cosigned by the witness")
    if not rows[0][0]:
        fail("the witness cosigned nothing")


def one_beat() -> None:
    sending = [
        h.name for h in HOSTS if "beat" in h.programs and "Sending due task" in log_of(h, "beat")
    ]
    say(f"beats: started on {[h.name for h in HOSTS if 'beat' in h.programs]}; sending: {sending}")
    if len(sending) != 1:
        fail(f"{len(sending)} beats sent periodic tasks")


def nothing_lost() -> None:
    jobs = db("SELECT status, count(*) FROM swap_swapjob GROUP BY status")
    requested = db("SELECT count(*) FROM audit_auditevent WHERE action = 510")[0][0]
    say(
        f"jobs by status after erasure: {dict(jobs) or '{}'}; SWAP_JOB_REQUESTED events {requested}"
    )


def main() -> int:
    if os.geteuid() != 0:
        print("make cluster needs root (network namespaces)", file=sys.stderr)
        return 2
    started = time.monotonic()
    network_down()  # what a killed earlier run may have left
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # cleaned up in `finally`
    try:
        network_up()
        secrets_make()
        services_up()
        app_hosts_up()
        assessments_record()
        person = Person()
        sign_in_and_capture(person)
        image, clip = template_add("image"), template_add("video")
        say("web1: two templates added by the DPO (a still and a clip), files in the bucket")
        flow(person, image)
        drill_swap_worker_killed(person, clip)
        drill_redis_stopped(person, image)
        one_beat()
        erase(person)
        nothing_lost()
        raw_scan(person)
        backup_scanned()
        audit_verified()
    except Exception as exc:  # noqa: BLE001 - reported, then cleaned up
        fail(f"{type(exc).__name__}: {exc}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not stop the cleanup
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_everything()
        network_down()
        keep = os.environ.get("CLUSTER_KEEP_LOGS")
        if keep:
            shutil.copytree(
                WORK, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("pgdata", "*.ctl")
            )
        shutil.rmtree(WORK, ignore_errors=True)
    say(f"cleaned up: namespaces, bridge, processes ({time.monotonic() - started:.0f} s)")
    say(f"restarted by the supervisor: {RESTARTS or 'nothing'}")
    if FAILURES:
        say("CLUSTER FAILED: " + "; ".join(FAILURES))
        return 1
    say("CLUSTER OK: nothing lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
