"""Swap job overhead (PostgreSQL by default): the whole job against the bare engine call.

    .venv/bin/python bench/swap_bench.py

The job is measured from ``POST /api/v1/swaps`` to a labelled, encrypted result: request
checks (gate, capture, template), the job row and its audit events, then the task — claim,
gate and template again, the capture opened (gate, last use, audit, decryption), the engine,
progress writes and stop checks every few frames, encryption under the subject's key, the done
row and event. The task runs in **eager mode** (in the request's process, when its transaction
commits, as ``make test`` runs it): the broker's hand-over to a worker (a few ms to ~100 ms
with the embedded filesystem broker's polling) is not in the figure, only the work. The
baseline is the bare engine call on the same input (``swap_video`` / ``swap_image`` with the
source face found beforehand), timed in the same run, alternating with the job; each figure
is the fastest of its rounds (``SWAP_BENCH_ROUNDS``, 4 for the clip, 9 for the still).

- ``swap.overhead_ratio``: a 3 s 640x360 30 fps clip (target ≤ 1.10).
- ``swap.image_overhead_ratio``: a 1280x720 still (informational: the fixed cost of a job,
  a few database round trips and one AES-GCM pass, against ~0.2 s of engine work).

``swap.classic_image_ms`` and ``swap.classic_video_fps`` are measured by
``swap_engine_bench.py``.
"""

from __future__ import annotations

import os
import time

from _common import figure, merge_results, setup_django

PHONE = "+447700900557"  # the benchmark's own subject
ROUNDS = int(os.environ.get("SWAP_BENCH_ROUNDS", "4"))
STILL_ROUNDS = 2 * ROUNDS + 1
CLIP = {"fps": 30, "seconds": 3.0, "size": (640, 360)}


def _age_stated(subject) -> None:
    """The age step comes before any grant (an adult's year of birth)."""
    from consent.ledger.models import ConsentRecord
    from consent.ledger.selectors import ClientEvidence, age_stated
    from consent.ledger.services import age_state

    if not age_stated(subject):
        evidence = ClientEvidence(method=ConsentRecord.Method.API)
        age_state(subject=subject, birth_year=1990, evidence=evidence)


def _subject():
    from consent.identity.models import User
    from consent.ledger.gate import GRANTED, consent_state
    from consent.ledger.models import ConsentRecord, PolicyText, Purpose
    from consent.ledger.selectors import ClientEvidence
    from consent.ledger.services import consent_grant

    subject, _ = User.objects.get_or_create(phone_number=PHONE)
    _age_stated(subject)
    for code in ("biometric_enrolment", "face_swap"):
        if consent_state(subject=subject, purpose=code) != GRANTED:
            text = PolicyText.objects.get(
                policy=Purpose.objects.get(code=code).current_version, language="en"
            )
            consent_grant(
                subject=subject,
                purpose=code,
                version=text.policy.version,
                sha256=text.sha256,
                evidence=ClientEvidence(method=ConsentRecord.Method.API),
            )
    return subject


def _capture(subject):
    """A real capture (liveness passed) of the synthetic astronaut clip, made once."""
    import cv2

    from biometrics.models import Capture
    from biometrics.services import capture_analyse, capture_store
    from tests.biometrics import synth

    existing = Capture.objects.filter(subject=subject).first()
    if existing is not None:
        return existing
    face = synth.astronaut_bgr()
    photo = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, 92])[1].tobytes()
    steps = synth.layout(["turn_left", "blink"])  # windowed steps, as a challenge has them
    video = synth.make_challenge_video(face, steps, fps=10, size=(320, 240))
    analysis = capture_analyse(photo=photo, video=video, steps=steps)
    return capture_store(subject=subject, analysis=analysis)


def _target_media() -> dict[str, bytes]:
    """The astronaut placed in a 720p still, and a clip of her turning and blinking."""
    import cv2

    from tests.biometrics import synth

    rig = synth.FaceRig(synth.astronaut_bgr(), (1280, 720), scale=0.22)
    still = cv2.imencode(".png", rig.frame)[1].tobytes()
    clip_rig = synth.FaceRig(synth.astronaut_bgr(), CLIP["size"], scale=0.25)
    poses = synth.timeline(["turn_left", "blink"], CLIP["fps"], CLIP["seconds"])
    frames = [clip_rig.pose(**pose) for pose in poses]
    return {"image": still, "video": synth.encode(frames, fps=CLIP["fps"])}


def _template(kind: str, data: bytes):
    from datetime import timedelta

    from django.utils import timezone

    from swap.models import SwapTemplate
    from swap.selectors import template_refusal
    from swap.services import (
        DepictedConsentTerms,
        LicenceTerms,
        check_template_file,
        swap_template_add,
    )

    title = f"Benchmark {kind}"
    existing = SwapTemplate.objects.filter(title=title).first()
    if existing is not None and template_refusal(existing, timezone.now()) is None:
        return existing
    return swap_template_add(
        title=f"{title} {timezone.now():%Y%m%d%H%M%S}" if existing else title,
        media=check_template_file(data),
        licence=LicenceTerms("skimage.data.astronaut() (NASA)", "Public domain", None),
        consent=DepictedConsentTerms(
            person="benchmark placeholder",
            document=b"%PDF-1.4\n% benchmark placeholder, not a consent\n%%EOF\n",
            scope="Benchmarks on a development machine only",
            expires_at=timezone.now() + timedelta(days=30),
        ),
        actor=None,
    )


def _bare(kind: str, source, face, data: bytes) -> float:
    from biometrics.analysis import get_analyser
    from swap.engines import get_engine
    from swap.engines.video import swap_image, swap_video

    engine, analyser = get_engine(), get_analyser()
    start = time.perf_counter()
    if kind == "image":
        swap_image(source, face, data, engine, analyser, job_id="bench")
    else:
        swap_video(
            source,
            face,
            data,
            engine,
            analyser,
            job_id="bench",
            on_progress=lambda percent: None,
            should_stop=lambda: False,
        )
    return time.perf_counter() - start


def _job(api, capture, template) -> float:
    from swap.models import SwapJob

    start = time.perf_counter()
    response = api.post(
        "/api/v1/swaps", {"capture": str(capture.pk), "template": str(template.pk)}, format="json"
    )
    elapsed = time.perf_counter() - start
    job = SwapJob.objects.get(pk=response.json()["id"])
    if job.status != "done":
        raise RuntimeError(f"the job ended {job.status}: {job.error}")
    api.delete(f"/api/v1/swaps/{job.pk}")
    return elapsed


def _source(capture):
    """The source image and face, as the bare call gets them (found before timing)."""
    from biometrics.analysis import get_analyser
    from biometrics.analysis.images import decode_image
    from biometrics.services import capture_decrypt

    source = decode_image(capture_decrypt(capture).photo_jpeg)
    return source, get_analyser().detect(source)[0]


def main() -> None:
    setup_django()
    from rest_framework.test import APIClient

    from compliance_site.celery import app

    app.conf.task_always_eager = True  # see the module docstring
    subject = _subject()
    capture = _capture(subject)
    source, face = _source(capture)
    api = APIClient(HTTP_HOST="localhost")
    api.force_authenticate(subject)
    media = _target_media()
    results = {}
    for kind, rounds in (("video", ROUNDS), ("image", STILL_ROUNDS)):
        template = _template(kind, media[kind])
        _job(api, capture, template)  # warm up: models loaded, caches filled
        jobs, bares = [], []
        for _ in range(rounds):
            jobs.append(_job(api, capture, template))
            bares.append(_bare(kind, source, face, media[kind]))
        # The fastest of each: on shared cores the slow runs measure the neighbours.
        results[kind] = (min(jobs), min(bares))
    job, bare = results["video"]
    still_job, still_bare = results["image"]
    merge_results(
        {
            "swap.overhead_ratio": figure(job, "s", bare, "ratio ≤ 1.10 (3 s 360p clip, eager)"),
            "swap.image_overhead_ratio": figure(
                still_job * 1000, "ms", still_bare * 1000, "informational (720p still, eager)"
            ),
        }
    )


if __name__ == "__main__":
    main()
