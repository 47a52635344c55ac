"""Swap engine timings (classic): one 1280x720 still and a 10 s 720p clip. No database needed.

Run from the repository root: ``.venv/bin/python bench/swap_engine_bench.py``.

Inputs are made here: the astronaut portrait (scikit-image) placed in a 1280x720 frame is the
target; the clip animates it (head turns, a blink) with the liveness tests' mesh warp, at 30 fps,
with a sine tone as its sound. The source face is an LFW face (scikit-image).

- ``swap.classic_image_ms``: the bare ``engine.swap`` call on the 720p still (median).
- ``swap.image_job_ms``: the whole ``swap_image`` (decode, detect, swap, label, PNG with XMP),
  against the bare swap as baseline.
- ``swap.classic_video_fps``: ``swap_video`` frames per second on the clip, against a plain
  decode + label + H.264 encode of the same clip (no detection, no swap) as baseline.
- ``swap.classic_image_vs_before`` / ``swap.classic_video_fps_vs_before``: the same two figures
  against the classic engine as it was before the identity work (similarity alignment, tone
  transfer, pyramid blend), loaded from the repository's history (``BEFORE``) and run here, in
  the same run, on the same inputs. Target: no more than 1.5x its time a still, no less than
  1/1.5 of its frames per second. Skipped when the history is not there (a source archive).
  The figures this bench recorded for that engine at the time (its whole pipeline, before the
  watermark on every frame) were 28.7 ms and 14.9 fps on the development machine.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
import types
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrics.analysis import get_analyser  # noqa: E402
from swap.engines import get_engine  # noqa: E402
from swap.engines.label import burn_label, png_with_provenance  # noqa: E402
from swap.engines.video import _to_yuv420p, frame_to_bgr, swap_image, swap_video  # noqa: E402
from tests.biometrics import synth  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

SIZE = (1280, 720)
FPS = 30
SECONDS = 10.0
STEPS = ["turn_left", "blink", "turn_right", "blink"]
# The last commit whose classic engine is the one before the identity work (Delaunay warp to
# the target's landmarks, mean colour shift, seamlessClone).
BEFORE = "0261cab"
BEFORE_RECORDED = {"image_ms": 28.68, "video_fps": 14.92}  # bench/results.json at BEFORE


def engine_before():
    """The classic engine as it was at ``BEFORE``, or None without the repository's history."""
    try:
        source = subprocess.run(
            ["git", "show", f"{BEFORE}:swap/engines/classic.py"],
            cwd=ROOT,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = types.ModuleType("classic_before")
    exec(compile(source, "classic_before.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module.ClassicEngine()


def median_ms(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def make_clip(rig: synth.FaceRig) -> bytes:
    """10 s of the rig turning and blinking, H.264 + AAC, encoded frame by frame."""
    poses = synth.timeline(STEPS, FPS, SECONDS)
    shifts = synth.jitter(len(poses), 1.0)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=FPS, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = *SIZE, "yuv420p"
        audio = container.add_stream("aac", rate=48000, layout="mono")
        for number, (pose, shift) in enumerate(zip(poses, shifts, strict=True)):
            picture = _to_yuv420p(rig.pose(shift=shift, **pose))
            picture.pts, picture.time_base = number, Fraction(1, FPS)
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(48000 * SECONDS)) / 48000)).astype(
            np.float32
        )
        for start in range(0, len(tone), 1024):
            chunk = np.ascontiguousarray(tone[None, start : start + 1024])
            frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = 48000, start, Fraction(1, 48000)
            container.mux(audio.encode(frame))
        container.mux(audio.encode(None))
    return buffer.getvalue()


def plain_transcode_fps(clip: bytes) -> float:
    """Decode, label and encode every frame (the same encoder settings), nothing else."""
    started = time.perf_counter()
    count = 0
    with av.open(io.BytesIO(clip)) as source, av.open(io.BytesIO(), "w", format="mp4") as out:
        video = source.streams.video[0]
        stream = out.add_stream("libx264", rate=FPS, options={"preset": "veryfast", "crf": "20"})
        stream.width, stream.height, stream.pix_fmt = *SIZE, "yuv420p"
        for frame in source.decode(video):
            picture = _to_yuv420p(burn_label(frame_to_bgr(frame)))
            picture.pts, picture.time_base = frame.pts, frame.time_base
            out.mux(stream.encode(picture))
            count += 1
        out.mux(stream.encode(None))
    return count / (time.perf_counter() - started)


def measure() -> dict[str, tuple[float, str, float | None, str]]:
    analyser, engine = get_analyser(), get_engine()
    source = synth.other_person_bgr(3)
    source_face = analyser.detect(source)[0]
    rig = synth.FaceRig(synth.astronaut_bgr(), SIZE, scale=0.2)
    target = rig.frame
    target_png = cv2.imencode(".png", target)[1].tobytes()
    target_face = analyser.detect(target)[0]
    print(f"target face {target_face.width}x{target_face.height} px in {SIZE[0]}x{SIZE[1]}")

    swap_ms = median_ms(lambda: engine.swap(source, source_face, target, target_face), 15)
    detect_ms = median_ms(lambda: analyser.detect(target), 7)
    swapped = engine.swap(source, source_face, target, target_face)
    label_ms = median_ms(lambda: burn_label(swapped), 15)
    png_ms = median_ms(
        lambda: png_with_provenance(swapped, job_id="bench", engine="classic", created=_now()), 7
    )
    job_ms = median_ms(
        lambda: swap_image(source, source_face, target_png, engine, analyser, job_id="bench"), 7
    )
    print(
        f"still: swap {swap_ms:.1f} ms, detect {detect_ms:.1f} ms, label {label_ms:.1f} ms, "
        f"PNG {png_ms:.1f} ms, whole swap_image {job_ms:.1f} ms"
    )

    clip = make_clip(rig)
    frames = round(FPS * SECONDS)
    baseline_fps = plain_transcode_fps(clip)
    started = time.perf_counter()
    out = swap_video(
        source,
        source_face,
        clip,
        engine,
        analyser,
        job_id="bench",
        on_progress=lambda _: None,
        should_stop=lambda: False,
    )
    video_fps = frames / (time.perf_counter() - started)
    print(
        f"clip: {frames} frames, {len(clip) / 1e6:.1f} MB in, {len(out) / 1e6:.1f} MB out; "
        f"swap_video {video_fps:.2f} fps, plain decode+label+encode {baseline_fps:.1f} fps"
    )
    figures = {
        "swap.classic_image_ms": (swap_ms, "ms", None, "bare engine.swap, 1280x720, face ~290 px"),
        "swap.image_job_ms": (job_ms, "ms", swap_ms, "swap_image vs bare swap; < 1 s"),
        "swap.classic_video_fps": (video_fps, "fps", baseline_fps, "10 s 720p30 clip; ≥ 5 fps"),
    }
    before = engine_before()
    if before is None:
        print("the engine before the identity work is not in this checkout's history: skipped")
        return figures
    # Alternated, as the machine's load changes: medians of 5 rounds of 3 calls each.
    ours, theirs = [], []
    for _round in range(5):
        ours.append(median_ms(lambda: engine.swap(source, source_face, target, target_face), 3))
        theirs.append(median_ms(lambda: before.swap(source, source_face, target, target_face), 3))
    swap_ms, before_ms = statistics.median(ours), statistics.median(theirs)
    figures["swap.classic_image_ms"] = (swap_ms, *figures["swap.classic_image_ms"][1:])
    before_fps = frames / _seconds(
        lambda: swap_video(
            source,
            source_face,
            clip,
            before,
            analyser,
            job_id="bench",
            on_progress=lambda _: None,
            should_stop=lambda: False,
        )
    )
    print(f"engine before the identity work: {before_ms:.1f} ms a still, {before_fps:.2f} fps")
    recorded = BEFORE_RECORDED
    figures["swap.classic_image_vs_before"] = (
        swap_ms,  # the alternated median
        "ms",
        before_ms,
        f"ratio ≤ 1.5; baseline: the engine before the identity work, same run "
        f"({recorded['image_ms']} ms when it was current)",
    )
    figures["swap.classic_video_fps_vs_before"] = (
        video_fps,
        "fps",
        before_fps,
        f"ratio ≥ 0.667; baseline: the engine before the identity work in today's pipeline, "
        f"same run ({recorded['video_fps']} fps with its own pipeline when it was current)",
    )
    return figures


def _seconds(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def main() -> None:
    results = measure()
    if merge_results is None:
        for name, (value, unit, baseline, target) in results.items():
            print(f"{name}: {value:.4g} {unit} (baseline {baseline}) target {target}")
        return
    merge_results(
        {
            name: figure(value, unit, baseline, target)
            for name, (value, unit, baseline, target) in results.items()
        }
    )


if __name__ == "__main__":
    main()
