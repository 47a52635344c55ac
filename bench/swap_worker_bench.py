"""One swap worker's throughput: jobs per minute for a 720p still and for a 10 s 720p clip, made
by a real Celery worker process on the `swap` queue (`--concurrency 1`: one core), fed through
the API and a broker of its own.

    .venv/bin/python bench/swap_worker_bench.py

Each figure is the number of jobs sent at once divided by the time from the first request to the
last job done (so queueing, claims, progress writes, storage and the hand-over through the broker
are all in it). The baseline is the bare engine call on the same input in this process, as
`swap_bench.py` measures it: the ratio is the worker's cost per job against the engine's.
`docs/deploy.md` turns these into the swap tier of the capacity plan.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, figure, merge_results, setup_django
from swap_bench import _bare, _capture, _source, _subject, _template

STILLS = int(os.environ.get("SWAP_WORKER_STILLS", "12"))
CLIPS = int(os.environ.get("SWAP_WORKER_CLIPS", "2"))
CLIP = {"fps": 30, "seconds": 10.0, "size": (1280, 720)}
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_swap_worker"


def _drop_database(url: str) -> None:
    from urllib.parse import urlsplit

    import psycopg

    parts = urlsplit(url)
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')


def _media() -> dict[str, bytes]:
    import cv2

    from tests.biometrics import synth

    rig = synth.FaceRig(synth.astronaut_bgr(), (1280, 720), scale=0.22)
    still = cv2.imencode(".png", rig.frame)[1].tobytes()
    clip_rig = synth.FaceRig(synth.astronaut_bgr(), CLIP["size"], scale=0.22)
    poses = synth.timeline(["turn_left", "blink"], CLIP["fps"], CLIP["seconds"])
    frames = [clip_rig.pose(**pose) for pose in poses]
    return {"image": still, "video": synth.encode(frames, fps=CLIP["fps"])}


def _worker(log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "celery", "-A", "compliance_site", "worker", "-Q", "swap",
               "--concurrency", "1", "--loglevel", "INFO", "--without-gossip",
               "--without-mingle", "--without-heartbeat"]  # fmt: skip
    with open(log, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command, cwd=ROOT, env=dict(os.environ), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while b" ready." not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the worker did not start: {log.read_text()}")
        time.sleep(0.2)
    return process


def _throughput(api, capture, template, count: int) -> float:
    """Jobs per minute: ``count`` jobs asked at once, until the last is done."""
    from swap.models import SwapJob

    start = time.perf_counter()
    ids = []
    for _ in range(count):
        response = api.post(
            "/api/v1/swaps",
            {"capture": str(capture.pk), "template": str(template.pk)},
            format="json",
        )
        if response.status_code != 202:
            raise RuntimeError(f"swap refused: {response.status_code} {response.content[:200]}")
        ids.append(response.json()["id"])
    deadline = time.monotonic() + 60 + 120 * count
    while SwapJob.objects.filter(pk__in=ids, status__in=SwapJob.ACTIVE).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the worker did not finish in time")
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    failed = list(
        SwapJob.objects.filter(pk__in=ids).exclude(status="done").values("status", "error")
    )
    if failed:
        raise RuntimeError(f"jobs did not finish: {failed}")
    for pk in ids:
        api.delete(f"/api/v1/swaps/{pk}")
    return count / elapsed * 60


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="faceledger-swap-worker-"))
    # A fresh folder (files, keys, the broker the worker shares) and a fresh database each run.
    os.environ["FACELEDGER_VAR_DIR"] = str(folder)
    os.environ.setdefault("DATABASE_URL", DATABASE_URL)
    _drop_database(os.environ["DATABASE_URL"])
    setup_django()
    from rest_framework.test import APIClient

    from compliance_site.celery import app

    app.conf.task_always_eager = False
    subject = _subject()
    capture = _capture(subject)
    source, face = _source(capture)
    api = APIClient(HTTP_HOST="localhost")
    api.force_authenticate(subject)
    media = _media()
    templates = {kind: _template(f"{kind} 720p", media[kind]) for kind in ("image", "video")}
    app.control.purge()
    worker = _worker(folder / "worker.log")
    try:
        _throughput(api, capture, templates["image"], 1)  # warm up: models loaded
        stills = _throughput(api, capture, templates["image"], STILLS)
        clips = _throughput(api, capture, templates["video"], CLIPS)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
    still_bare = min(_bare("image", source, face, media["image"]) for _ in range(3))
    clip_bare = _bare("video", source, face, media["video"])
    merge_results(
        {
            "capacity.swap_worker_still_per_min": figure(
                stills, "jobs/min", 60 / still_bare,
                f"one worker process (-Q swap --concurrency 1), {STILLS} 720p stills; "
                "baseline: bare engine calls/min",
            ),
            "capacity.swap_worker_clip_per_min": figure(
                clips, "jobs/min", 60 / clip_bare,
                f"one worker process, {CLIPS} clips of 10 s 720p30; baseline: bare engine/min",
            ),
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
