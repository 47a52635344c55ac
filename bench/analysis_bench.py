"""Face analysis timings (classic engine): model load, detection, landmarks, embedding, and a
whole liveness check on a 4 s synthetic 640x480 clip. No database needed.

Run from the repository root: ``.venv/bin/python bench/analysis_bench.py``.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import dlib  # noqa: E402

from biometrics.analysis.classic import (  # noqa: E402
    EMBEDDING_FILE,
    LANDMARKS_FILE,
    ClassicAnalyser,
    models_dir,
)
from biometrics.analysis.liveness import check_liveness  # noqa: E402
from biometrics.analysis.video import decode_video  # noqa: E402
from tests.biometrics import synth  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

STEPS = synth.layout(["turn_left", "blink"])


def median_seconds(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure() -> dict[str, tuple[float, str, float | None, str]]:
    """name -> (value, unit, baseline or None, target)."""
    started = time.perf_counter()
    analyser = ClassicAnalyser()
    load = time.perf_counter() - started
    folder = models_dir()
    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
    encoder = dlib.face_recognition_model_v1(str(folder / EMBEDDING_FILE))

    face = synth.astronaut_bgr()
    frame = synth.FaceRig(face, (640, 480)).frame
    big = cv2.resize(frame, (1280, 960), interpolation=cv2.INTER_CUBIC)
    rgb = frame[:, :, ::-1].copy()
    rect = hog(rgb, 0)[0]
    shape = predictor(rgb, rect)

    clip = synth.make_challenge_video(face, STEPS, fps=15, seconds=4.0, size=(640, 480))
    decoded = decode_video(clip)
    frames, times = decoded.frames, decoded.times
    result = check_liveness(frames, times, face, STEPS, analyser)
    if not result.passed:
        raise SystemExit(f"the benchmark clip did not pass: {result}")

    return {
        "model_load": (load, "s", None, "once per process; < 3 s"),
        "detect_640x480": (
            median_seconds(lambda: hog(rgb, 0), 10) * 1000,
            "ms",
            None,
            "HOG, no upsampling",
        ),
        "landmarks_68": (
            median_seconds(lambda: predictor(rgb, rect), 50) * 1000,
            "ms",
            None,
            "per face",
        ),
        "embedding_128d": (
            median_seconds(lambda: encoder.compute_face_descriptor(rgb, shape), 5) * 1000,
            "ms",
            None,
            "per face",
        ),
        "detect_1280x960_downscaled": (
            median_seconds(lambda: analyser.detect(big), 5) * 1000,
            "ms",
            median_seconds(lambda: hog(big[:, :, ::-1].copy(), 0), 5) * 1000,
            "baseline: HOG at full size; ratio < 1",
        ),
        "video_decode_4s_640x480": (
            median_seconds(lambda: decode_video(clip), 3) * 1000,
            "ms",
            None,
            "H.264, sampled",
        ),
        "liveness_check_4s_clip": (
            median_seconds(lambda: check_liveness(frames, times, face, STEPS, analyser), 3),
            "s",
            decoded.duration,
            f"{len(frames)} frames; baseline: the clip's length; ratio < 1",
        ),
    }


def main() -> None:
    rows = measure()
    if merge_results is None:
        print(f"{'figure':<40} {'value':>10} {'unit':<5} {'baseline':>10}  target")
        for name, (value, unit, baseline, target) in rows.items():
            base = "" if baseline is None else f"{baseline:.4g}"
            print(f"biometrics.{name:<29} {value:>10.4g} {unit:<5} {base:>10}  {target}")
        return
    merge_results(
        {
            f"biometrics.{name}": figure(value, unit, baseline, target)
            for name, (value, unit, baseline, target) in rows.items()
        }
    )


if __name__ == "__main__":
    main()
