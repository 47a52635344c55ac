"""The insightface engines' per-frame cost against the bare ``session.run`` of their models.

Runs on the small synthetic models of ``tests/onnx_models.py`` (the real buffalo_l and
inswapper are not shipped): the same insightface + onnxruntime code path with tiny networks, so
the ratio shows the pipeline's own overhead at its worst — letterboxing, decoding, NMS,
alignment and pasting back cost the same with the real models, whose inference is 100x longer.

Per frame (1280x720, one face): detect + embed + swap + paste back, as a swap job does with a
still (``swap_image``: the analyser's ``detect``, the engine's ``swap``) plus the target's
embedding (what a capture computes). Baseline: one ``session.run`` of each of the three models
on inputs prepared beforehand. No database needed.

Run from the repository root: ``.venv/bin/python bench/insightface_bench.py``.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrics.analysis.insight import InsightFaceAnalyser  # noqa: E402
from swap.engines.inswapper import InSwapperEngine  # noqa: E402
from tests import onnx_models  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

PROVIDERS = ["CPUExecutionProvider"]
LICENCE = "insightface-non-commercial"
REPEAT = 30


def median_seconds(call, repeat: int = REPEAT) -> float:
    call()  # warm
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _frames() -> tuple[np.ndarray, np.ndarray]:
    """A 480x640 source portrait and a 1280x720 target frame, one planted face each."""
    source = onnx_models.scene([(160, 224, 1)], size=(480, 640))
    small = onnx_models.scene([(224, 96, 2)], size=(640, 360))
    return source, cv2.resize(small, (1280, 720), interpolation=cv2.INTER_NEAREST)


def _bare_runs(analyser, engine) -> float:
    """Seconds for one ``session.run`` of each model, inputs ready."""
    det, rec, swap = analyser._detector, analyser._recogniser, engine._swapper
    det_session = det._session_for_input_size(analyser.det_size)
    det_blob = np.zeros((1, 3, analyser.det_size[1], analyser.det_size[0]), np.float32)
    rec_blob = np.zeros((1, 3, 112, 112), np.float32)
    swap_blob = np.zeros((1, 3, 128, 128), np.float32)
    latent = np.full((1, 512), 1 / np.sqrt(512), np.float32)

    def run_all():
        det_session.run(det.output_names, {det.input_name: det_blob})
        rec.session.run(rec.output_names, {rec.input_name: rec_blob})
        swap.session.run(
            swap.output_names, {swap.input_names[0]: swap_blob, swap.input_names[1]: latent}
        )

    return median_seconds(run_all)


def measure() -> dict[str, tuple[float, str, float | None, str]]:
    """name -> (value, unit, baseline or None, target)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _measure_in(Path(tmp))


def _measure_in(tmp: Path) -> dict[str, tuple[float, str, float | None, str]]:
    models = onnx_models.write_models(tmp / "buffalo_l", tmp / "inswapper")
    started = time.perf_counter()
    analyser = InsightFaceAnalyser(
        model_dir=str(models.analysis_dir),
        sha256=models.analysis_sha256,
        licence_accepted=LICENCE,
        providers=PROVIDERS,
    )
    engine = InSwapperEngine(
        model_path=str(models.swap_model),
        sha256=models.swap_sha256,
        licence_accepted=LICENCE,
        analyser=analyser,
        providers=PROVIDERS,
    )
    load = time.perf_counter() - started
    source, frame = _frames()
    source_face = analyser.detect(source)[0]

    def one_frame():
        face = analyser.detect(frame)[0]
        analyser.embed(frame, face)
        return engine.swap(source, source_face, frame, face)

    if one_frame().shape != frame.shape:
        raise SystemExit("the swap did not return a frame of the target's size")
    face = analyser.detect(frame)[0]
    bare = _bare_runs(analyser, engine)
    return {
        "insightface_load": (load, "s", None, "synthetic models, checksums included; once"),
        "insightface_frame_ms": (
            median_seconds(one_frame) * 1000,
            "ms",
            bare * 1000,
            "1280x720, detect+embed+swap+paste; baseline: bare session.run of the 3 models",
        ),
        "insightface_detect_ms": (
            median_seconds(lambda: analyser.detect(frame)) * 1000,
            "ms",
            None,
            "1280x720 letterboxed to 640x640",
        ),
        "insightface_swap_ms": (
            median_seconds(lambda: engine.swap(source, source_face, frame, face)) * 1000,
            "ms",
            None,
            "align + inswapper + paste back, source embedding cached",
        ),
    }


def main() -> None:
    warnings.filterwarnings("ignore", message="`estimate` is deprecated", category=FutureWarning)
    rows = measure()
    if merge_results is None:
        for name, (value, unit, baseline, target) in rows.items():
            base = "" if baseline is None else f"{baseline:.4g}"
            print(f"swap.{name:<30} {value:>10.4g} {unit:<3} {base:>10}  {target}")
        return
    merge_results(
        {
            f"swap.{name}": figure(value, unit, baseline, target)
            for name, (value, unit, baseline, target) in rows.items()
        }
    )


if __name__ == "__main__":
    main()
