"""The liveness check: a random challenge seen on the video's landmarks, plus passive checks.

``check_liveness(frames, photo_bgr, steps, analyser)`` takes the sampled video frames, the face
photo of the same capture, the challenge's steps and an analyser that gives the 68 landmarks
(the ``classic`` one). It is deterministic: the same input always gives the same result.

Checks, in the order their failure is reported (cheap ones first: the embeddings cost the most):

1. ``no_face`` / ``multiple_faces``: exactly one face in (almost) every frame.
2. ``no_motion``: a still replayed (or held up) does not move its face non-rigidly. Measured as
   the spread of head yaw, the drop of the eye aspect ratio and the landmarks' motion after
   removing translation, rotation and scale, relative to the eye distance — spreads, not
   "moved between two frames" counts, which codec flicker alone triggers.
3. ``challenge_failed``: each requested step is seen, in order, and no head turn was made that
   was not asked for (a pre-recorded clip that turns both ways must not pass any challenge).
   Blinks that were not asked for are allowed: people blink.
4. ``no_face`` / ``multiple_faces`` for the photo, then ``face_mismatch``: the photo and the
   video frames (including the frame where each step was seen) are one person by embedding
   distance, and so are the frames among themselves.

Directions: frames are as the camera recorded them (un-mirrored; a browser's preview may be
mirrored, the recorded stream is not). ``turn_left`` = the subject turns to their OWN left, so
the nose moves toward the image's RIGHT. Yaw here is positive when the nose points to the
image's right.

Limits (see README.md): this stops replayed photos and clips that do not follow the challenge.
It does not stop a warped photo, face re-enactment, an injected camera stream or a mask.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np

from .types import Face, FaceAnalyser, embedding_distance

STEPS = ("turn_left", "turn_right", "blink")
TURN_SIGN = {"turn_left": 1, "turn_right": -1}  # sign of the yaw change (nose to image right)

# A generic head, in the camera's axes (x right, y down, z away from the camera), arbitrary
# units: nose tip, chin, outer eye corners, mouth corners (dlib points 30, 8, 36, 45, 48, 54).
_MODEL_INDEX = [30, 8, 36, 45, 48, 54]
_MODEL_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ],
    dtype=np.float64,
)


@dataclass(frozen=True)
class LivenessConfig:
    """Thresholds. Defaults measured on synthetic and replayed clips (see README.md)."""

    turn_degrees: float = 15.0  # yaw must move this far the asked way...
    return_degrees: float = 7.0  # ...and come back within this of the rest pose
    blink_ceiling: float = 0.20  # eyes shut: EAR below min(ceiling, ratio x open baseline)
    blink_ratio: float = 0.7
    reopen_ratio: float = 0.85  # and open again: EAR above this x baseline
    max_bad_fraction: float = 0.2  # frames allowed without exactly one face
    # A face besides the best one counts from this detector score up: dlib's HOG gives real
    # faces 0.5-2.5 (frontal) and stray detections on clothing up to ~0.15.
    extra_face_score: float = 0.3
    min_frames: int = 8
    still_yaw_degrees: float = 6.0  # below all three of these the clip is "still"
    still_ear_drop: float = 0.2
    still_shape: float = 0.03
    embed_frames: int = 6  # evenly spread frames embedded, besides each step's frame


DEFAULT_CONFIG = LivenessConfig()


@dataclass(frozen=True)
class LivenessResult:
    passed: bool
    code: str | None
    steps: list[dict]
    scores: dict[str, float]
    detail: str = ""

    def as_dict(self) -> dict:
        return {
            "passed": self.passed,
            "code": self.code,
            "steps": self.steps,
            "scores": self.scores,
            "detail": self.detail,
        }


@dataclass
class _Track:
    """Per-frame observations of the main (best-scoring) face; NaN where there is none."""

    counts: list[int]
    faces: list[Face | None]
    yaw: np.ndarray
    ear: np.ndarray
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class _Event:
    kind: str  # a step name, or "turn_incomplete"
    frame: int  # the frame of the peak (turn) or of the shut eyes (blink)


def check_liveness(
    frames: Sequence[np.ndarray],
    photo_bgr: np.ndarray,
    steps: Sequence[str],
    analyser: FaceAnalyser,
    config: LivenessConfig = DEFAULT_CONFIG,
) -> LivenessResult:
    """Run every check on sampled ``frames`` against the challenge ``steps``."""
    steps = list(steps)
    if not steps or any(step not in STEPS for step in steps):
        raise ValueError(f"steps must be a non-empty list drawn from {STEPS}")
    report = [{"step": step, "seen": False, "frame": None} for step in steps]
    if len(frames) < config.min_frames:
        return _fail("video_too_short", "too few frames to check", report, {})
    track = _observe(frames, analyser, config)
    failure = _check_presence(track, config)
    if failure:
        return _fail(*failure, report, track.scores)
    failure = _check_motion(track, config)
    if failure:
        return _fail(*failure, report, track.scores)
    report, problem = _match(steps, _events(track, config))
    if problem:
        return _fail("challenge_failed", problem, report, track.scores)
    failure = _check_identity(frames, photo_bgr, track, report, analyser, config)
    if failure:
        return _fail(*failure, report, track.scores)
    return LivenessResult(True, None, report, _rounded(track.scores))


def _fail(code: str, detail: str, report: list[dict], scores: dict) -> LivenessResult:
    return LivenessResult(False, code, report, _rounded(scores), detail)


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(float(value), 4) for key, value in scores.items()}


# ---------------------------------------------------------------- per-frame observations


def _observe(
    frames: Sequence[np.ndarray], analyser: FaceAnalyser, config: LivenessConfig
) -> _Track:
    counts, faces = [], []
    yaw = np.full(len(frames), np.nan)
    ear = np.full(len(frames), np.nan)
    for index, frame in enumerate(frames):
        found = analyser.detect(frame)
        counts.append(_count_faces(found, config))
        face = found[0] if found else None
        faces.append(face)
        if face is None:
            continue
        if face.landmarks is None:
            raise ValueError(f"the {analyser.name!r} analyser gives no 68 landmarks")
        yaw[index] = head_yaw(face.landmarks, frame.shape[1], frame.shape[0])
        ear[index] = eye_aspect_ratio(face.landmarks)
    return _Track(counts=counts, faces=faces, yaw=yaw, ear=ear)


def _count_faces(faces: list[Face], config: LivenessConfig) -> int:
    """The best face, plus any other that is clearly a face."""
    return min(1, len(faces)) + sum(1 for f in faces[1:] if f.score >= config.extra_face_score)


def head_yaw(landmarks: np.ndarray, width: int, height: int) -> float:
    """Head yaw in degrees from 6 of the 68 points; > 0 when the nose points to image right."""
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float64)
    image_points = np.asarray(landmarks, np.float64)[_MODEL_INDEX]
    ok, rvec, _ = cv2.solvePnP(_MODEL_POINTS, image_points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return math.nan
    rotation, _ = cv2.Rodrigues(rvec)
    # The face looks along the model's -z axis; where does that point in the camera's axes?
    forward = -rotation[:, 2]
    return math.degrees(math.atan2(forward[0], -forward[2]))


def eye_aspect_ratio(landmarks: np.ndarray) -> float:
    """Mean eye aspect ratio (Soukupova & Cech 2016) of both eyes: ~0.3 open, ~0 shut."""
    pts = np.asarray(landmarks, np.float64)
    ratios: list[float] = []
    for eye in (pts[36:42], pts[42:48]):
        vertical = np.linalg.norm(eye[1] - eye[5]) + np.linalg.norm(eye[2] - eye[4])
        horizontal = 2.0 * np.linalg.norm(eye[0] - eye[3])
        ratios.append(float(vertical / horizontal) if horizontal else 0.0)
    return float(np.mean(ratios))


# ---------------------------------------------------------------- passive checks


def _check_presence(track: _Track, config: LivenessConfig) -> tuple[str, str] | None:
    total = len(track.counts)
    none = sum(1 for count in track.counts if count == 0)
    many = sum(1 for count in track.counts if count > 1)
    track.scores["face_fraction"] = (total - none - many) / total
    allowed = config.max_bad_fraction * total
    if many > allowed:
        return "multiple_faces", f"more than one face in {many} of {total} frames"
    if none + many > allowed:
        return "no_face", f"no face in {none} of {total} frames"
    return None


def _check_motion(track: _Track, config: LivenessConfig) -> tuple[str, str] | None:
    ear = track.ear[~np.isnan(track.ear)]
    # solvePnP practically always converges; a frame where it did not just has no yaw.
    yaw = track.yaw[~np.isnan(track.yaw)] if not np.isnan(track.yaw).all() else np.zeros(1)
    baseline = float(np.median(ear))
    track.scores.update(
        yaw_rest=float(np.median(yaw)),
        yaw_min=float(yaw.min()),
        yaw_max=float(yaw.max()),
        yaw_range=float(np.percentile(yaw, 95) - np.percentile(yaw, 5)),
        ear_baseline=baseline,
        ear_min=float(ear.min()),
        ear_drop=1.0 - float(np.percentile(ear, 3)) / baseline if baseline else 0.0,
        motion=_shape_motion(
            [f.landmarks for f in track.faces if f is not None and f.landmarks is not None]
        ),
    )
    s = track.scores
    if (
        s["yaw_range"] < config.still_yaw_degrees
        and s["ear_drop"] < config.still_ear_drop
        and s["motion"] < config.still_shape
    ):
        return "no_motion", "the face does not move: a still picture?"
    return None


def _shape_motion(shapes: list[np.ndarray]) -> float:
    """How much the face changes shape: the 90th-percentile landmark residual after a
    similarity alignment to the median shape, in units of the eye-to-eye distance. Moving or
    tilting a photo as a whole gives ~0; turning a head or blinking does not."""
    stack = np.asarray(shapes, np.float64)
    reference = np.median(stack, axis=0)
    eye_gap = np.linalg.norm(reference[36:42].mean(0) - reference[42:48].mean(0)) or 1.0
    residuals = [float(_aligned_residual(shape, reference) / eye_gap) for shape in stack]
    return float(np.percentile(residuals, 90))


def _aligned_residual(shape: np.ndarray, reference: np.ndarray) -> float:
    """RMS distance between ``shape`` and ``reference`` after the best similarity transform."""
    a = shape - shape.mean(axis=0)
    b = reference - reference.mean(axis=0)
    # Least-squares rotation + scale as a complex factor: b ~ z * a.
    za, zb = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    denom = np.vdot(za, za).real
    z = np.vdot(za, zb) / denom if denom else 0.0
    return float(np.sqrt(np.mean(np.abs(zb - z * za) ** 2)))


def _check_identity(
    frames: Sequence[np.ndarray],
    photo_bgr: np.ndarray,
    track: _Track,
    report: list[dict],
    analyser: FaceAnalyser,
    config: LivenessConfig,
) -> tuple[str, str] | None:
    photo_faces = analyser.detect(photo_bgr)
    if not photo_faces:
        return "no_face", "no face in the photo"
    if _count_faces(photo_faces, config) > 1:
        return "multiple_faces", "more than one face in the photo"
    reference = analyser.embed(photo_bgr, photo_faces[0])
    indices = _frames_to_embed(track, report, config.embed_frames)
    # Every chosen frame has a face (one face, or a step seen on its landmarks).
    embeddings = [analyser.embed(frames[i], cast(Face, track.faces[i])) for i in indices]
    to_photo = max(embedding_distance(reference, e) for e in embeddings)
    between = max(
        (embedding_distance(a, b) for n, a in enumerate(embeddings) for b in embeddings[n + 1 :]),
        default=0.0,
    )
    track.scores.update(embedding_distance_photo=to_photo, embedding_distance_frames=between)
    track.scores["embedding_distance_max"] = max(to_photo, between)
    if to_photo > analyser.embedding_threshold:
        return "face_mismatch", "the face in the video is not the one in the photo"
    if between > analyser.embedding_threshold:
        return "face_mismatch", "the face changes during the video"
    return None


def _frames_to_embed(track: _Track, report: list[dict], count: int) -> list[int]:
    """Evenly spread frames with one face, plus each step's frame: the person doing the
    challenge must be the person in the photo."""
    usable = [i for i, n in enumerate(track.counts) if n == 1]
    if not usable:
        usable = [i for i, face in enumerate(track.faces) if face is not None]
    picks = np.linspace(0, len(usable) - 1, num=min(count, len(usable))).round().astype(int)
    chosen = {usable[p] for p in picks}
    chosen.update(item["frame"] for item in report if item["frame"] is not None)
    return sorted(chosen)


# ---------------------------------------------------------------- the challenge


def _events(track: _Track, config: LivenessConfig) -> list[_Event]:
    """Head turns and blinks, in time order, found in the yaw and EAR series."""
    events = _turns(track.yaw, track.scores["yaw_rest"], config)
    events += _blinks(track.ear, track.scores["ear_baseline"], config)
    return sorted(events, key=lambda event: (event.frame, event.kind))


def _turns(yaw: np.ndarray, rest: float, config: LivenessConfig) -> list[_Event]:
    """Excursions of the yaw beyond ``turn_degrees`` from rest; complete once it comes back
    within ``return_degrees`` (or swings through rest to the other side)."""
    events: list[_Event] = []
    start: int | None = None
    peak = 0  # read only while an excursion is open (start is set)
    for index, value in enumerate(yaw):
        if math.isnan(value):
            continue
        offset = value - rest
        if start is None:
            if abs(offset) > config.turn_degrees:
                start, peak = index, index
            continue
        sign = math.copysign(1, yaw[peak] - rest)
        if offset * sign > (yaw[peak] - rest) * sign:
            peak = index
        if abs(offset) <= config.return_degrees or offset * sign < 0:
            kind = "turn_left" if sign > 0 else "turn_right"
            events.append(_Event(kind, peak))
            start = None
            if abs(offset) > config.turn_degrees:  # swung straight to the other side
                start, peak = index, index
    if start is not None:
        events.append(_Event("turn_incomplete", peak))
    return events


def _blinks(ear: np.ndarray, baseline: float, config: LivenessConfig) -> list[_Event]:
    """Eyes shut (EAR under the threshold) and then open again."""
    shut = min(config.blink_ceiling, config.blink_ratio * baseline)
    reopen = config.reopen_ratio * baseline
    events: list[_Event] = []
    lowest: int | None = None
    for index, value in enumerate(ear):
        if math.isnan(value):
            continue
        if value < shut and (lowest is None or value < ear[lowest]):
            lowest = index
        elif lowest is not None and value > reopen:
            events.append(_Event("blink", lowest))
            lowest = None
    return events


def _match(steps: list[str], events: list[_Event]) -> tuple[list[dict], str]:
    """Match events to the steps in order. Returns the report and a problem ('' if none)."""
    report: list[dict[str, Any]] = [{"step": step, "seen": False, "frame": None} for step in steps]
    position = 0
    for event in events:
        expected = steps[position] if position < len(steps) else None
        if event.kind == expected:
            report[position].update(seen=True, frame=event.frame)
            position += 1
        elif event.kind != "blink":
            name = "a head turn that was not completed" if expected else "an extra head turn"
            if event.kind != "turn_incomplete":
                name = f"{event.kind} when {expected or 'nothing more'} was asked"
            return report, f"the challenge was not followed: {name}"
    if position < len(steps):
        return report, f"{steps[position]} was not seen"
    return report, ""
