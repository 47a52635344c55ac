"""The liveness check: a random, timed challenge seen on the video's landmarks, plus passive checks.

``check_liveness(frames, times, photo_bgr, steps, analyser)`` takes the sampled video frames and
their times (seconds since the first frame), the face photo of the same capture, the
challenge's steps and an analyser that gives the 68 landmarks (the ``classic`` one). It is
deterministic: the same input always gives the same result. It enforces invariant
"live-person", docs/ARCHITECTURE.md.

A challenge (``challenge_draw``) is ``ACTIONS_PER_CHALLENGE`` actions drawn from ``ACTIONS``,
each with a window ``[start, end]`` in seconds from the start of the recording: the capture page
shows each prompt at its ``start``, and the action must begin (cross its threshold) inside its
window. Four actions go into four of five evenly spaced slots, so which slot stays empty shifts
every later prompt by a whole slot; the first slot also moves by up to 0.4 s.

Checks, in the order their failure is reported (cheap ones first: the embeddings cost the most):

1. ``no_face`` / ``multiple_faces``: exactly one face in (almost) every frame.
2. ``no_motion``: a still replayed (or held up) does not move its face non-rigidly. Measured as
   the spread of head yaw, the drop of the eye aspect ratio and the landmarks' motion after
   removing translation, rotation and scale, relative to the eye distance — spreads, not
   "moved between two frames" counts, which codec flicker alone triggers.
3. ``challenge_failed``: each asked action begins inside its window, and no action other than a
   blink is made anywhere else (a pre-recorded clip doing other moves, or the right moves at
   other times, does not pass). Blinks outside the blink window are allowed: people blink.
4. ``flat_motion``: while the head is turned or raised, its 68 landmarks are NOT explained by
   one plane projective transform (homography) of the landmarks at rest. A photo or a screen
   held up and tilted moves every point by one homography; a head does not, because the nose
   stands out of the cheeks. The residual is measured in eye distances.
5. ``no_face`` / ``multiple_faces`` for the photo, then ``face_mismatch``: the photo and the
   video frames (including the frame where each step was seen) are one person by embedding
   distance, and so are the frames among themselves.

Directions: frames are as the camera recorded them (un-mirrored; a browser's preview may be
mirrored, the recorded stream is not). ``turn_left`` = the subject turns to their OWN left, so
the nose moves toward the image's RIGHT; ``tilt_left`` = their own left ear toward their left
shoulder, so the eye on the image's right goes down. Yaw here is positive when the nose points
to the image's right, pitch when the face points up.

Limits (see README.md): this stops replayed photos, photos held up and tilted, and clips that do
not follow the challenge in time. It does not stop face re-enactment in real time, an injected
camera stream or a mask.
"""

from __future__ import annotations

import math
import random
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import cv2
import numpy as np

from .types import Face, FaceAnalyser, embedding_distance

# The channel each action moves, and which way: yaw and pitch in degrees, roll (the eye line's
# angle) in degrees, mouth as the inner-lip opening ratio.
_CHANNELS: dict[str, tuple[str, int]] = {
    "turn_left": ("yaw", 1),  # nose toward the image's right
    "turn_right": ("yaw", -1),
    "look_up": ("pitch", 1),
    "look_down": ("pitch", -1),
    "tilt_left": ("roll", 1),  # the eye on the image's right goes down
    "tilt_right": ("roll", -1),
    "open_mouth": ("mouth", 1),
    "smile": ("smile", 1),  # the mouth widens
}
ACTIONS = (*_CHANNELS, "blink")
STEPS = ACTIONS  # the name the rest of the code base knows them by
# A flat picture can make none of these: the planar check needs at least one in a challenge.
OUT_OF_PLANE = ("turn_left", "turn_right", "look_up", "look_down")

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
# The upper face only (nose, eye corners, nose bridge and base): an open jaw does not move it.
_UPPER_INDEX = [30, 36, 45, 39, 42, 27, 33, 31, 35]
_UPPER_POINTS = np.array(
    [
        (0.0, 0.0, 0.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-80.0, -165.0, 125.0),
        (80.0, -165.0, 125.0),
        (0.0, -165.0, 95.0),
        (0.0, 55.0, 75.0),
        (-55.0, 40.0, 85.0),
        (55.0, 40.0, 85.0),
    ],
    dtype=np.float64,
)
# Rigid points for the planar check: jaw line, brows, nose, eye corners (not lids or lips).
_RIGID = [*range(0, 17), *range(17, 27), *range(27, 36), 36, 39, 42, 45]


# ---------------------------------------------------------------- the challenge's layout


@dataclass(frozen=True)
class ChallengeLayout:
    """How challenges are drawn. README.md explains the numbers; the bench measures them."""

    actions: int = 4
    slots: int = 5  # one slot stays empty: where, is part of the secret
    slot_seconds: float = 1.7  # between two prompts
    window_seconds: float = 1.5  # the action must begin within this of its prompt
    lead_seconds: float = 0.6  # looking at the camera before the first slot...
    lead_jitter_steps: int = 4  # ...plus 0 to 4 tenths of a second
    tail_seconds: float = 0.5  # recording after the last window closes


DEFAULT_LAYOUT = ChallengeLayout()


def challenge_draw(rng: random.Random, layout: ChallengeLayout = DEFAULT_LAYOUT) -> list[dict]:
    """Random steps ``{"step", "start", "end"}`` in time order (``rng`` should be a
    ``secrets.SystemRandom`` in production). No action twice in a row, at most one blink, and
    at least one action a flat picture cannot make."""
    while True:
        actions = [rng.choice(ACTIONS)]
        while len(actions) < layout.actions:
            action = rng.choice(ACTIONS)
            if action != actions[-1] and not (action == "blink" and "blink" in actions):
                actions.append(action)
        if any(action in OUT_OF_PLANE for action in actions):
            break
    slots = sorted(rng.sample(range(layout.slots), layout.actions))
    first = layout.lead_seconds + rng.randint(0, layout.lead_jitter_steps) / 10
    steps = []
    for action, slot in zip(actions, slots, strict=True):
        start = round(first + slot * layout.slot_seconds, 2)
        steps.append(
            {"step": action, "start": start, "end": round(start + layout.window_seconds, 2)}
        )
    return steps


def challenge_seconds(steps: Sequence[dict], layout: ChallengeLayout = DEFAULT_LAYOUT) -> float:
    """How long to record for ``steps``: until the last window closes, plus a little."""
    return round(max(step["end"] for step in steps) + layout.tail_seconds, 2)


def check_steps(steps: Any) -> list[dict]:
    """``steps`` as a list of ``{"step", "start", "end"}`` or ``ValueError``."""
    if not isinstance(steps, list) or not steps:
        raise ValueError("steps must be a non-empty list")
    out = []
    for step in steps:
        name = step.get("step") if isinstance(step, dict) else None
        start, end = (step.get("start"), step.get("end")) if name else (None, None)
        if (
            name not in ACTIONS
            or not isinstance(start, int | float)
            or not isinstance(end, int | float)
        ):
            raise ValueError(
                f"each step must be {{'step', 'start', 'end'}} with a step from {ACTIONS}"
            )
        if not 0 <= start < end:
            raise ValueError("a step's window must have 0 <= start < end")
        out.append({"step": name, "start": float(start), "end": float(end)})
    return out


# ---------------------------------------------------------------- thresholds and results


@dataclass(frozen=True)
class LivenessConfig:
    """Thresholds. Defaults measured on synthetic and replayed clips (see README.md)."""

    turn_degrees: float = 15.0  # yaw must move this far the asked way...
    return_degrees: float = 7.0  # ...and come back within this of the rest pose
    look_degrees: float = 12.0  # pitch, likewise
    look_return_degrees: float = 6.0
    tilt_degrees: float = 12.0  # roll of the eye line, likewise
    tilt_return_degrees: float = 6.0
    mouth_open: float = 0.2  # inner-lip opening ratio above rest...
    mouth_floor: float = 0.3  # ...and above this at all
    mouth_return: float = 0.1
    smile_wider: float = 0.08  # mouth width over eye width above rest (0.74 -> 0.90 smiling)
    smile_return: float = 0.04
    blink_ceiling: float = 0.20  # eyes shut: EAR below min(ceiling, ratio x open baseline)
    blink_ratio: float = 0.7
    reopen_ratio: float = 0.85  # and open again: EAR above this x baseline
    max_bad_fraction: float = 0.2  # frames allowed without exactly one face
    # A face besides the best one counts from this detector score up: dlib's HOG gives real
    # faces 0.5-2.5 (frontal) and stray detections on clothing up to ~0.15.
    extra_face_score: float = 0.3
    min_frames: int = 8
    still_yaw_degrees: float = 6.0  # below all four of these the clip is "still"
    still_pitch_degrees: float = 6.0
    still_ear_drop: float = 0.2
    still_shape: float = 0.03
    # Planar check: frames turned or raised at least this far are compared with the rest pose;
    # the median over them of the homography residual (eye distances) per degree of the turn
    # must reach ``planar_per_degree``: 0.003-0.006 for the 3D head, 0.0011-0.0021 for a photo
    # tilted 20-50 degrees (README.md, "the planar check").
    planar_degrees: float = 10.0
    planar_per_degree: float = 0.0025
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
    series: dict[str, np.ndarray]  # yaw, pitch, roll, mouth, ear
    scores: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    kind: str  # an action name
    onset: int  # the first frame past the threshold
    peak: int  # the frame of the peak (or of the most shut eyes)


def check_liveness(
    frames: Sequence[np.ndarray],
    times: Sequence[float],
    photo_bgr: np.ndarray,
    steps: Sequence[dict],
    analyser: FaceAnalyser,
    config: LivenessConfig = DEFAULT_CONFIG,
) -> LivenessResult:
    """Run every check on sampled ``frames`` (at ``times``) against the challenge ``steps``:
    the landmarks of every frame (``observe``), the checks on them (``check_track``), then
    the identity of the face against the photo."""
    steps = check_steps(list(steps))
    if len(times) != len(frames):
        raise ValueError("one time per frame")
    if len(frames) < config.min_frames:
        return _fail("video_too_short", "too few frames to check", _blank_report(steps), {})
    track = observe(frames, analyser, config)
    result = check_track(track, times, steps, config)
    if not result.passed:
        return result
    failure = _check_identity(frames, photo_bgr, track, result.steps, analyser, config)
    if failure:
        return _fail(*failure, result.steps, track.scores)
    return LivenessResult(True, None, result.steps, _rounded(track.scores))


def check_track(
    track: _Track,
    times: Sequence[float],
    steps: Sequence[dict],
    config: LivenessConfig = DEFAULT_CONFIG,
) -> LivenessResult:
    """Every check that needs only the landmarks (``observe``): one face, motion, the
    challenge in time, the planar motion. ``passed`` here means those passed; the identity
    check against the photo (embeddings) is ``check_liveness``'s. The benchmark runs this on
    the tracks of many clips, as the service does after the landmarks of one."""
    steps = check_steps(list(steps))
    if len(times) != len(track.counts):
        raise ValueError("one time per frame")
    report = _blank_report(steps)
    if len(track.counts) < config.min_frames:
        return _fail("video_too_short", "too few frames to check", report, {})
    failure = _check_presence(track, config)
    if failure:
        return _fail(*failure, report, track.scores)
    failure = _check_motion(track, config)
    if failure:
        return _fail(*failure, report, track.scores)
    report, problem = match_steps(steps, events(track, config), times)
    if problem:
        return _fail("challenge_failed", problem, report, track.scores)
    failure = _check_planar(track, config)
    if failure:
        return _fail(*failure, report, track.scores)
    return LivenessResult(True, None, report, _rounded(track.scores))


def _blank_report(steps: list[dict]) -> list[dict[str, Any]]:
    return [{**step, "seen": False, "frame": None, "onset": None, "at": None} for step in steps]


def _fail(code: str, detail: str, report: list[dict], scores: dict) -> LivenessResult:
    return LivenessResult(False, code, report, _rounded(scores), detail)


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(float(value), 4) for key, value in scores.items()}


# ---------------------------------------------------------------- per-frame observations


def observe(frames: Sequence[np.ndarray], analyser: FaceAnalyser, config: LivenessConfig) -> _Track:
    """Detect the face in every frame and measure the pose, mouth and eyes."""
    found = [analyser.detect(frame) for frame in frames]
    for faces in found:
        if faces and faces[0].landmarks is None:
            raise ValueError(f"the {analyser.name!r} analyser gives no 68 landmarks")
    return track_of(found, [frame.shape[:2] for frame in frames], config)


def track_of(
    found: Sequence[list[Face]], shapes: Sequence[tuple[int, ...]], config: LivenessConfig
) -> _Track:
    """The track of frames whose faces were found (best first), each frame's (height, width):
    the main face's pose, mouth and eyes per frame, NaN where there is no face."""
    counts, faces = [], []
    series = {
        name: np.full(len(found), np.nan)
        for name in ("yaw", "pitch", "roll", "mouth", "smile", "ear")
    }
    for index, (candidates, shape) in enumerate(zip(found, shapes, strict=True)):
        counts.append(_count_faces(list(candidates), config))
        face = candidates[0] if candidates else None
        faces.append(face)
        if face is None or face.landmarks is None:
            continue
        yaw, pitch = head_pose(face.landmarks, shape[1], shape[0])
        series["yaw"][index], series["pitch"][index] = yaw, pitch
        series["roll"][index] = head_roll(face.landmarks)
        series["mouth"][index] = mouth_opening(face.landmarks)
        series["smile"][index] = mouth_width(face.landmarks)
        series["ear"][index] = eye_aspect_ratio(face.landmarks)
    return _Track(counts=counts, faces=faces, series=series)


def _count_faces(faces: list[Face], config: LivenessConfig) -> int:
    """The best face, plus any other that is clearly a face."""
    return min(1, len(faces)) + sum(1 for f in faces[1:] if f.score >= config.extra_face_score)


def _forward(model: np.ndarray, points: np.ndarray, width: int, height: int) -> np.ndarray | None:
    """Where the face points, in the camera's axes, by a PnP fit of ``model`` to ``points``."""
    focal = float(max(width, height))
    camera = np.array([[focal, 0, width / 2], [0, focal, height / 2], [0, 0, 1]], np.float64)
    ok, rvec, _ = cv2.solvePnP(model, points, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rvec)
    # The face looks along the model's -z axis.
    return -rotation[:, 2]


def head_yaw(landmarks: np.ndarray, width: int, height: int) -> float:
    """Head yaw in degrees from 6 of the 68 points; > 0 when the nose points to image right."""
    forward = _forward(
        _MODEL_POINTS, np.asarray(landmarks, np.float64)[_MODEL_INDEX], width, height
    )
    return math.nan if forward is None else math.degrees(math.atan2(forward[0], -forward[2]))


def head_pose(landmarks: np.ndarray, width: int, height: int) -> tuple[float, float]:
    """(yaw, pitch) in degrees; pitch > 0 when the face points up.

    Pitch is the mean of two fits: the 6-point one (with the chin) also rises when the jaw
    drops (+13 degrees for a wide-open mouth on the synthetic head), the upper-face one also
    rises in a 30-degree turn (+7); their mean follows a look up or down (+-17 to +-29) and
    neither of the others much (+7 and +5)."""
    pts = np.asarray(landmarks, np.float64)
    whole = _forward(_MODEL_POINTS, pts[_MODEL_INDEX], width, height)
    upper = _forward(_UPPER_POINTS, pts[_UPPER_INDEX], width, height)
    if whole is None or upper is None:
        return math.nan, math.nan
    yaw = math.degrees(math.atan2(whole[0], -whole[2]))
    pitches = [math.degrees(math.atan2(-f[1], -f[2])) for f in (whole, upper)]
    return yaw, float(np.mean(pitches))


def head_roll(landmarks: np.ndarray) -> float:
    """The eye line's angle in degrees; > 0 when the eye on the image's right is lower."""
    pts = np.asarray(landmarks, np.float64)
    left, right = pts[36:42].mean(axis=0), pts[42:48].mean(axis=0)
    return math.degrees(math.atan2(right[1] - left[1], right[0] - left[0]))


def mouth_opening(landmarks: np.ndarray) -> float:
    """Inner-lip opening over the mouth's inner width: ~0.1 closed, over 0.4 wide open."""
    pts = np.asarray(landmarks, np.float64)
    gaps = sum(np.linalg.norm(pts[a] - pts[b]) for a, b in ((61, 67), (62, 66), (63, 65)))
    width = np.linalg.norm(pts[60] - pts[64])
    return float(gaps / (3 * width)) if width else 0.0


def mouth_width(landmarks: np.ndarray) -> float:
    """Mouth corner to corner over outer eye corner to corner: ~0.75 at rest, wider smiling.
    Both shrink alike in a turn or a look; an open mouth narrows it."""
    pts = np.asarray(landmarks, np.float64)
    eyes = np.linalg.norm(pts[36] - pts[45])
    return float(np.linalg.norm(pts[48] - pts[54]) / eyes) if eyes else 0.0


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
    ear = _known(track.series["ear"])
    # solvePnP practically always converges; a frame where it did not just has no pose.
    yaw = _known(track.series["yaw"])
    baseline = float(np.median(ear))
    track.scores.update(
        yaw_rest=float(np.median(yaw)),
        pitch_rest=float(np.median(_known(track.series["pitch"]))),
        roll_rest=float(np.median(_known(track.series["roll"]))),
        mouth_rest=float(np.median(_known(track.series["mouth"]))),
        smile_rest=float(np.median(_known(track.series["smile"]))),
        yaw_min=float(yaw.min()),
        yaw_max=float(yaw.max()),
        yaw_range=float(np.percentile(yaw, 95) - np.percentile(yaw, 5)),
        pitch_range=_spread(_known(track.series["pitch"])),
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
        and s["pitch_range"] < config.still_pitch_degrees
        and s["ear_drop"] < config.still_ear_drop
        and s["motion"] < config.still_shape
    ):
        return "no_motion", "the face does not move: a still picture?"
    return None


def _spread(values: np.ndarray) -> float:
    return float(np.percentile(values, 95) - np.percentile(values, 5))


def _known(values: np.ndarray) -> np.ndarray:
    """The values that are not NaN (a single 0 if none: only ever with no face at all)."""
    known = values[~np.isnan(values)]
    return known if known.size else np.zeros(1)


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
    spread, onsets = _frames_to_embed(track, report, config.embed_frames)
    # Every chosen frame has a face (one face, or a step seen on its landmarks).
    embedded = {i: analyser.embed(frames[i], cast(Face, track.faces[i])) for i in spread | onsets}
    to_photo = max(embedding_distance(reference, e) for e in embedded.values())
    # Among themselves, only the frames near the rest pose: a face turned one way and the same
    # face raised are further apart than either is from the frontal photo.
    near_rest = [embedded[i] for i in sorted(spread)]
    between = max(
        (embedding_distance(a, b) for n, a in enumerate(near_rest) for b in near_rest[n + 1 :]),
        default=0.0,
    )
    track.scores.update(embedding_distance_photo=to_photo, embedding_distance_frames=between)
    track.scores["embedding_distance_max"] = max(to_photo, between)
    if to_photo > analyser.embedding_threshold:
        return "face_mismatch", "the face in the video is not the one in the photo"
    if between > analyser.embedding_threshold:
        return "face_mismatch", "the face changes during the video"
    return None


def _frames_to_embed(track: _Track, report: list[dict], count: int) -> tuple[set[int], set[int]]:
    """Evenly spread frames with one face near the rest pose, plus the frame where each step
    began: the person doing the challenge must be the person in the photo. (Frames of the
    peak of a turn or look embed worst, and prove no more.)"""
    s = track.scores
    near_rest = (
        np.nan_to_num(
            np.maximum(
                np.abs(track.series["yaw"] - s["yaw_rest"]),
                np.abs(track.series["pitch"] - s["pitch_rest"]),
            ),
            nan=np.inf,
        )
        < 10.0
    )
    usable = [i for i, n in enumerate(track.counts) if n == 1 and near_rest[i]]
    if not usable:
        usable = [i for i, face in enumerate(track.faces) if face is not None]
    picks = np.linspace(0, len(usable) - 1, num=min(count, len(usable))).round().astype(int)
    onsets = {item["onset"] for item in report if item["onset"] is not None}
    return {usable[p] for p in picks}, onsets


# ---------------------------------------------------------------- the challenge


def events(track: _Track, config: LivenessConfig = DEFAULT_CONFIG) -> list[Event]:
    """Every action seen (turns, looks, tilts, mouth openings, blinks), in time order."""
    s = track.scores
    found = _excursions(
        track.series["yaw"],
        s["yaw_rest"],
        config.turn_degrees,
        config.return_degrees,
        ("turn_left", "turn_right"),
    )
    found += _excursions(
        track.series["pitch"],
        s["pitch_rest"],
        config.look_degrees,
        config.look_return_degrees,
        ("look_up", "look_down"),
    )
    found += _excursions(
        track.series["roll"],
        s["roll_rest"],
        config.tilt_degrees,
        config.tilt_return_degrees,
        ("tilt_left", "tilt_right"),
    )
    mouth = np.maximum(track.series["mouth"] - s["mouth_rest"], 0)
    mouth[track.series["mouth"] < config.mouth_floor] = 0.0
    found += _excursions(mouth, 0.0, config.mouth_open, config.mouth_return, ("open_mouth", ""))
    # A smile is held: a one-frame spike is not one. And the width is read facing the camera
    # only: in a 25-degree turn the far eye corner's landmark slips and the ratio jumps +0.09.
    smile = np.maximum(_median3(track.series["smile"]) - s["smile_rest"], 0)
    smile[np.nan_to_num(np.abs(track.series["yaw"] - s["yaw_rest"])) > config.planar_degrees] = 0
    found += _excursions(smile, 0.0, config.smile_wider, config.smile_return, ("smile", ""))
    found += _blinks(track.series["ear"], s["ear_baseline"], config)
    return sorted(found, key=lambda event: (event.onset, event.kind))


def _median3(values: np.ndarray) -> np.ndarray:
    """Each value replaced by the median of it and its neighbours (NaN-aware)."""
    padded = np.concatenate([values[:1], values, values[-1:]])
    stacked = np.stack([padded[:-2], padded[1:-1], padded[2:]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all three NaN: the result is NaN
        return np.asarray(np.nanmedian(stacked, axis=0), np.float64)


def _excursions(
    values: np.ndarray, rest: float, enter: float, leave: float, kinds: tuple[str, str]
) -> list[Event]:
    """Excursions of ``values`` beyond ``enter`` from ``rest`` (positive: ``kinds[0]``), over
    once they come back within ``leave`` or swing through rest to the other side. One still
    open when the clip ends counts: the recording may stop before the head is back."""
    found: list[Event] = []
    onset: int | None = None
    peak = 0  # read only while an excursion is open
    for index, value in enumerate(values):
        if math.isnan(value):
            continue
        offset = value - rest
        if onset is None:
            if abs(offset) > enter:
                onset, peak = index, index
            continue
        sign = math.copysign(1, values[peak] - rest)
        if offset * sign > (values[peak] - rest) * sign:
            peak = index
        if abs(offset) <= leave or offset * sign < 0:
            found.append(Event(kinds[0] if sign > 0 else kinds[1], onset, peak))
            onset = None
            if abs(offset) > enter:  # swung straight to the other side
                onset, peak = index, index
    if onset is not None:
        sign = math.copysign(1, values[peak] - rest)
        found.append(Event(kinds[0] if sign > 0 else kinds[1], onset, peak))
    return [event for event in found if event.kind]


def _blinks(ear: np.ndarray, baseline: float, config: LivenessConfig) -> list[Event]:
    """Eyes shut (EAR under the threshold) and then open again."""
    shut = min(config.blink_ceiling, config.blink_ratio * baseline)
    reopen = config.reopen_ratio * baseline
    found: list[Event] = []
    onset: int | None = None
    lowest = 0
    for index, value in enumerate(ear):
        if math.isnan(value):
            continue
        if value < shut and (onset is None or value < ear[lowest]):
            onset, lowest = (index if onset is None else onset), index
        elif onset is not None and value > reopen:
            found.append(Event("blink", onset, lowest))
            onset = None
    return found


def match_steps(
    steps: list[dict], seen: list[Event], times: Sequence[float]
) -> tuple[list[dict], str]:
    """Each step needs an action of its kind beginning inside its window; any other action,
    blinks aside, fails the challenge. Returns the report and a problem ('' if none)."""
    report = _blank_report(steps)
    used: set[int] = set()
    for number, step in enumerate(steps):
        for index, event in enumerate(seen):
            at = float(times[event.onset])
            if (
                index not in used
                and event.kind == step["step"]
                and step["start"] <= at <= step["end"]
            ):
                used.add(index)
                report[number].update(
                    seen=True, frame=event.peak, onset=event.onset, at=round(at, 2)
                )
                break
    for index, event in enumerate(seen):
        if index not in used and event.kind != "blink":
            at = float(times[event.onset])
            return (
                report,
                f"the challenge was not followed: {event.kind} at {at:.1f} s was not asked for",
            )
    missing = next((step for step in report if not step["seen"]), None)
    if missing:
        window = f"{missing['start']:.1f}-{missing['end']:.1f} s"
        return report, f"{missing['step']} was not seen in its window ({window})"
    return report, ""


# ---------------------------------------------------------------- flat pictures


def _check_planar(track: _Track, config: LivenessConfig) -> tuple[str, str] | None:
    """A head turned or raised is not one homography of the head at rest (see the module).

    The residual grows with the angle for a head (the nose's parallax) and only a little for a
    flat picture (the landmark fit bends a strongly foreshortened face toward a face-like
    shape), so it is compared per degree of the measured turn or look."""
    s = track.scores
    angle = np.nan_to_num(
        np.maximum(
            np.abs(track.series["yaw"] - s["yaw_rest"]),
            np.abs(track.series["pitch"] - s["pitch_rest"]),
        )
    )
    shapes = track.faces
    still = [i for i, face in enumerate(shapes) if face is not None and angle[i] < 4.0]
    turned = [
        i for i, face in enumerate(shapes) if face is not None and angle[i] >= config.planar_degrees
    ]
    if not still or not turned:
        return None  # no turn or look in the challenge: nothing to compare
    rest = np.median([cast(Face, shapes[i]).landmarks for i in still], axis=0)
    ratios = [
        planar_residual(rest, cast(np.ndarray, cast(Face, shapes[i]).landmarks)) / angle[i]
        for i in turned
    ]
    s["planar_residual"] = float(np.median(ratios))
    if s["planar_residual"] < config.planar_per_degree:
        return "flat_motion", "the face moves like a flat picture: a photo or a screen?"
    return None


def planar_residual(rest: np.ndarray, moved: np.ndarray) -> float:
    """RMS distance of the rigid landmarks from the best homography of ``rest`` onto
    ``moved`` (least squares over all of them), in units of the eye distance."""
    src = np.asarray(rest, np.float64)[_RIGID]
    dst = np.asarray(moved, np.float64)[_RIGID]
    matrix, _ = cv2.findHomography(src, dst, 0)
    if matrix is None:
        return math.inf
    mapped = cv2.perspectiveTransform(src.reshape(-1, 1, 2), matrix).reshape(-1, 2)
    pts = np.asarray(moved, np.float64)
    eye_gap = np.linalg.norm(pts[36:42].mean(0) - pts[42:48].mean(0)) or 1.0
    return float(np.sqrt(np.mean(np.sum((mapped - dst) ** 2, axis=1))) / eye_gap)
