"""Swap quality (classic engine) on real faces: is the result the person who asked for it?

Run from the repository root: ``.venv/bin/python bench/swap_quality_bench.py``. No database.

The faces are the real portraits that ship inside installed packages, never downloaded:
scikit-image's astronaut, the five faces of insightface's ``data/images/t1.jpg`` (upscaled x2,
as dlib's detector wants faces of ~80 px and more) and its ``Tom_Hanks_54745.png`` (a 112 px
crop, upscaled x4). Every ordered pair of different people is swapped (both directions), and
the result is judged by the analyser's own embeddings: the face is found again in the result
and embedded, then compared with the source's and the original target's embeddings.

- ``swap.identity_gain``: share of pairs whose result is closer to the source than to the
  original target (target >= 0.9).
- ``swap.identity_match``: share of pairs whose result is within the analyser's same-person
  threshold of the source (target >= 0.6).
- ``swap.identity_refused``: pairs the engine refuses (a source turned past 45 degrees, a
  target past 60), left out of the two shares above.
- ``swap.flicker_ratio``: synthetic clips made from the faces (a face rig held still, or turning
  slowly, that wobbles by a pixel as a hand-held phone does), swapped frame by frame with the
  clip tracker; the mean frame-to-frame change inside the face region, swapped clip over
  original clip, averaged over the clips (target <= 1.2). A still face is the hard case: its
  own frames barely change, so any shimmer of the swap shows.

- ``swap.watermark_survival_<transform>``: share of marked outputs whose job id is still read
  after JPEG quality 70, a resize to 50 %, a 10 % crop (5 % off each side), and, for clips
  made by ``swap_video``, an H.264 re-encode at 400 kbit/s (target >= 0.95 each).
- ``swap.watermark_psnr``: the lowest PSNR of a marked still against the unmarked result
  (target >= 40 dB).

A contact sheet is written next to the figures (``swap_quality_sheet.png``): sources down the
side, targets along the top, each cell the result with its distances to the source (s) and to
the original target (t), green when it is closer to the source.
"""

from __future__ import annotations

import io
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrics.analysis import Face, get_analyser  # noqa: E402
from swap.engines import SwapError, get_engine, watermark  # noqa: E402
from swap.engines.video import FaceTracker, read_video_mark, swap_video  # noqa: E402
from tests.biometrics import synth  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

_FONT = cv2.FONT_HERSHEY_SIMPLEX
SHEET = Path(__file__).resolve().parent / "swap_quality_sheet.png"
CELL = 128
CLIP_SIZE = (640, 480)
CLIP_FPS = 15
CLIP_SECONDS = 3.0


@dataclass
class Person:
    name: str
    image: np.ndarray
    face: Face
    embedding: np.ndarray


def _insightface_image(name: str) -> np.ndarray:
    import insightface

    path = Path(insightface.__file__).parent / "data" / "images" / name
    image = cv2.imread(str(path))
    if image is None:
        raise SystemExit(f"{name} is missing from the installed insightface package")
    return image


def real_people(analyser) -> list[Person]:
    """The astronaut, the five people of t1.jpg, Tom Hanks: each with the image it sits in."""
    people = []
    astronaut = synth.astronaut_bgr()
    people.append(_person("astronaut", astronaut, analyser.detect(astronaut)[0], analyser))
    group = cv2.resize(
        _insightface_image("t1.jpg"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC
    )
    faces = sorted(analyser.detect(group), key=lambda f: f.box[0])
    for number, face in enumerate(faces, 1):
        people.append(_person(f"t1-{number}", group, face, analyser))
    hanks = cv2.resize(
        _insightface_image("Tom_Hanks_54745.png"), None, fx=4, fy=4, interpolation=cv2.INTER_CUBIC
    )
    hanks = cv2.copyMakeBorder(hanks, 64, 64, 64, 64, cv2.BORDER_REPLICATE)
    people.append(_person("hanks", hanks, analyser.detect(hanks)[0], analyser))
    return people


def _person(name: str, image: np.ndarray, face: Face, analyser) -> Person:
    return Person(name, image, face, analyser.embed(image, face))


def _around(face: Face, shape, margin: float = 0.6) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = face.box
    pad = round(margin * max(x1 - x0, y1 - y0))
    return max(0, x0 - pad), max(0, y0 - pad), min(shape[1], x1 + pad), min(shape[0], y1 + pad)


def embed_again(result: np.ndarray, where: Face, analyser) -> np.ndarray | None:
    """The embedding of the face found again in ``result`` near ``where`` (None if none)."""
    x0, y0, x1, y1 = _around(where, result.shape)
    crop = np.ascontiguousarray(result[y0:y1, x0:x1])
    faces = analyser.detect(crop)
    if not faces:
        return None
    centre = np.array(
        [(where.box[0] + where.box[2]) / 2 - x0, (where.box[1] + where.box[3]) / 2 - y0]
    )
    face = min(
        faces, key=lambda f: np.hypot(*(np.array(f.box[:2]) + np.array(f.box[2:])) / 2 - centre)
    )
    return analyser.embed(crop, face)


def _centre(face: Face) -> np.ndarray:
    x0, y0, x1, y1 = face.box
    return np.array([(x0 + x1) / 2, (y0 + y1) / 2])


def _distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b))


def measure_pairs(people: list[Person], engine, analyser):
    """Per ordered pair (source, target): the result and its distances (None if lost); a pair
    the engine refuses (a face turned too far) is (None, the refusal's code)."""
    rows = {}
    for source in people:
        for target in people:
            if source is target:
                continue
            try:
                result = engine.swap(source.image, source.face, target.image, target.face)
            except SwapError as refused:
                rows[source.name, target.name] = (None, refused.code)
                continue
            embedding = embed_again(result, target.face, analyser)
            distances = None
            if embedding is not None:
                distances = (
                    _distance(embedding, source.embedding),
                    _distance(embedding, target.embedding),
                )
            rows[source.name, target.name] = (result, distances)
    return rows


def identity_figures(rows, threshold: float) -> tuple[float, float, int, str]:
    """Shares of the swapped pairs (refused ones apart: refusing is the engine's answer to a
    face it cannot swap, counted on its own), and the number refused."""
    gain = match = refused = 0
    lines = []
    for (source, target), (result, distances) in rows.items():
        if result is None:
            refused += 1
            lines.append(f"  {source:>9} -> {target:<9} refused: {distances}")
            continue
        if distances is None:
            lines.append(f"  {source:>9} -> {target:<9} face lost")
            continue
        to_source, to_target = distances
        gain += to_source < to_target
        match += to_source < threshold
        lines.append(f"  {source:>9} -> {target:<9} source {to_source:.3f}  target {to_target:.3f}")
    swapped = len(rows) - refused
    return gain / swapped, match / swapped, refused, "\n".join(lines)


def _thumb(image: np.ndarray, face: Face) -> np.ndarray:
    x0, y0, x1, y1 = _around(face, image.shape, 0.35)
    return cv2.resize(image[y0:y1, x0:x1], (CELL, CELL), interpolation=cv2.INTER_AREA)


def contact_sheet(people: list[Person], rows, threshold: float) -> np.ndarray:
    """Sources down the left, targets along the top, results in the cells."""
    n = len(people)
    sheet = np.full(((n + 1) * CELL, (n + 1) * CELL, 3), 255, np.uint8)
    for i, person in enumerate(people, 1):
        thumb = _thumb(person.image, person.face)
        sheet[i * CELL : (i + 1) * CELL, :CELL] = thumb
        sheet[:CELL, i * CELL : (i + 1) * CELL] = thumb
    cv2.putText(sheet, "src \\ tgt", (8, CELL // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1)
    for i, source in enumerate(people, 1):
        for j, target in enumerate(people, 1):
            if source is target:
                continue
            result, distances = rows[source.name, target.name]
            if result is None:
                cell = np.full((CELL, CELL, 3), 235, np.uint8)
                cv2.putText(cell, "refused", (8, CELL // 2), _FONT, 0.5, (0, 0, 160), 1)
                cv2.putText(cell, str(distances), (4, CELL // 2 + 18), _FONT, 0.33, (0, 0, 0), 1)
                sheet[i * CELL : (i + 1) * CELL, j * CELL : (j + 1) * CELL] = cell
                continue
            cell = _thumb(result, target.face)
            text, colour = "lost", (0, 0, 255)
            if distances is not None:
                text = f"s{distances[0]:.2f} t{distances[1]:.2f}"
                colour = (0, 160, 0) if distances[0] < distances[1] else (0, 0, 220)
                if distances[0] < threshold:
                    cv2.rectangle(cell, (0, 0), (CELL - 1, CELL - 1), (0, 200, 0), 3)
            cv2.rectangle(cell, (0, CELL - 16), (CELL, CELL), (255, 255, 255), -1)
            cv2.putText(cell, text, (3, CELL - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, colour, 1)
            sheet[i * CELL : (i + 1) * CELL, j * CELL : (j + 1) * CELL] = cell
    return sheet


# ---------------------------------------------------------------- flicker


FLICKER_PLAN = [
    ("astronaut", "hanks"),
    ("astronaut", "t1-2"),
    ("hanks", "astronaut"),
    ("hanks", "t1-5"),
]


def clip_frames(person: Person, turn: bool) -> tuple[list[np.ndarray], np.ndarray]:
    """A face held still, or turning slowly, with a hand-held wobble of a pixel; and the face
    region's mask in frame 0."""
    x0, y0, x1, y1 = _around(person.face, person.image.shape, 0.5)
    rig = synth.FaceRig(np.ascontiguousarray(person.image[y0:y1, x0:x1]), CLIP_SIZE, scale=0.3)
    poses = synth.timeline(["turn_left"], CLIP_FPS, CLIP_SECONDS)
    shifts = synth.jitter(len(poses), 1.0)
    frames = [
        rig.pose(pose["yaw_deg"] / 2 if turn else 0.0, 0.0, shift)
        for pose, shift in zip(poses, shifts, strict=True)
    ]
    mask = np.zeros(frames[0].shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(rig.landmarks).astype(np.int32)), 255)
    return frames, mask


def frame_change(frames: list[np.ndarray], mask: np.ndarray) -> float:
    """Mean absolute grey-level change between consecutive frames inside ``mask``."""
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in frames]
    inside = mask > 0
    return float(
        np.mean([np.abs(b - a)[inside].mean() for a, b in zip(grey, grey[1:], strict=False)])
    )


def swapped_clip(frames, source: Person, engine, analyser) -> list[np.ndarray]:
    tracker = FaceTracker(analyser)
    out = []
    for frame in frames:
        face = tracker.find(frame)
        out.append(engine.swap(source.image, source.face, frame, face) if face else frame)
    return out


def flicker_ratio(people: list[Person], engine, analyser) -> tuple[float, float, str]:
    """Clips of the astronaut and of Hanks, each swapped with two other people."""
    by_name = {p.name: p for p in people}
    plan = FLICKER_PLAN
    ratios, still, lines = [], [], []
    for target_name, source_name in plan:
        for turn in (False, True):
            frames, mask = clip_frames(by_name[target_name], turn)
            original = frame_change(frames, mask)
            swapped = frame_change(
                swapped_clip(frames, by_name[source_name], engine, analyser), mask
            )
            ratios.append(swapped / original)
            still += [] if turn else [swapped / original]
            ratio = swapped / original
            lines.append(
                f"  {'turning' if turn else 'still':<7} {target_name:<9} swapped with "
                f"{source_name:<9} change {swapped:.2f} vs {original:.2f}: x{ratio:.2f}"
            )
    return float(np.mean(ratios)), float(max(still)), "\n".join(lines)


# ---------------------------------------------------------------- the watermark


def _jpeg70(image: np.ndarray) -> np.ndarray:
    data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 70])[1]
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def _half(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return cv2.resize(image, (w // 2, h // 2), interpolation=cv2.INTER_AREA)


def _crop10(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    return np.ascontiguousarray(image[h // 20 : h - h // 20, w // 20 : w - w // 20])


STILL_TRANSFORMS = {"jpeg70": _jpeg70, "resize50": _half, "crop10": _crop10}


def watermark_stills(rows) -> tuple[dict[str, float], float]:
    """Every swap result marked with an id of its own, then transformed and read."""
    kept = dict.fromkeys(STILL_TRANSFORMS, 0)
    worst_psnr = float("inf")
    results = [result for result, _ in rows.values() if result is not None]
    for result in results:
        job_id = str(uuid.uuid4())
        marked = watermark.embed(result, job_id)
        worst_psnr = min(worst_psnr, watermark.psnr(result, marked))
        for name, transform in STILL_TRANSFORMS.items():
            kept[name] += watermark.read(transform(marked)) == watermark.mark_of(job_id)
    return {name: count / len(results) for name, count in kept.items()}, worst_psnr


def reencode(data: bytes, bitrate: int = 400_000) -> bytes:
    """The clip through H.264 again at a lower bitrate, as a messaging app does."""
    buffer = io.BytesIO()
    with av.open(io.BytesIO(data)) as source, av.open(buffer, "w", format="mp4") as out:
        stream = None
        for frame in source.decode(video=0):
            if stream is None:
                stream = out.add_stream("libx264", rate=CLIP_FPS)
                stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, "yuv420p"
                stream.bit_rate = bitrate
            out.mux(stream.encode(frame.reformat(format="yuv420p")))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def watermark_clips(people: list[Person], engine, analyser) -> float:
    """Clips made by ``swap_video``, re-encoded at 400 kbit/s, read."""
    by_name = {p.name: p for p in people}
    kept = total = 0
    for target_name, source_name in FLICKER_PLAN:
        frames, _ = clip_frames(by_name[target_name], False)
        job_id = str(uuid.uuid4())
        source = by_name[source_name]
        made = swap_video(
            source.image,
            source.face,
            synth.encode(frames, fps=CLIP_FPS),
            engine,
            analyser,
            job_id=job_id,
            on_progress=lambda _: None,
            should_stop=lambda: False,
        )
        kept += read_video_mark(reencode(made)) == watermark.mark_of(job_id)
        total += 1
    return kept / total


def measure() -> dict[str, tuple[float, str, float | None, str]]:
    analyser, engine = get_analyser(), get_engine()
    threshold = analyser.embedding_threshold
    people = real_people(analyser)
    print(f"{len(people)} people: {', '.join(p.name for p in people)}")
    rows = measure_pairs(people, engine, analyser)
    gain, match, refused, lines = identity_figures(rows, threshold)
    print(lines)
    cv2.imwrite(str(SHEET), contact_sheet(people, rows, threshold))
    print(f"contact sheet: {SHEET.relative_to(ROOT)}")
    flicker, worst_still, lines = flicker_ratio(people, engine, analyser)
    print(lines)
    survival, worst_psnr = watermark_stills(rows)
    survival["h264"] = watermark_clips(people, engine, analyser)
    print(f"watermark: {survival}, PSNR ≥ {worst_psnr:.1f} dB")
    pairs = f"{len(rows) - refused} swapped of {len(rows)} ordered pairs of {len(people)} faces"
    marks = {
        f"swap.watermark_survival_{name}": (share, "share", None, "≥ 0.95 id read after it")
        for name, share in survival.items()
    }
    return {
        "swap.identity_gain": (gain, "share", None, f"≥ 0.9 closer to source; {pairs}"),
        "swap.identity_match": (match, "share", None, f"≥ 0.6 under {threshold}; {pairs}"),
        "swap.identity_refused": (refused, "pairs", None, "a face turned too far: refused"),
        "swap.flicker_ratio": (flicker, "ratio", None, "≤ 1.2 swapped vs original clip"),
        "swap.flicker_ratio_still_worst": (
            worst_still,
            "ratio",
            None,
            "informational: worst clip of a face held still",
        ),
        "swap.watermark_psnr": (worst_psnr, "dB", None, "≥ 40 dB, worst marked still"),
        **marks,
    }


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
