"""Synthetic clips made from one still face, for the tests and the benchmarks only (a spoofing
tool: it lives outside the production apps). Pure: no Django.

Nothing here is a real recording. A still portrait is animated by a piecewise-affine warp over a
triangle mesh: dlib's 68 landmarks plus forehead, eyelid-crease, head-ring and frame-border
points. A head turn rotates the points on a cylinder head model (the nose sticks out of it); a
blink slides the upper-lid points onto the lower ones; a ~1 px hand-held jitter moves the frame.
Such clips pass a landmark-based liveness check: that is the point of the helper, and the reason
the liveness README says warped photos are NOT stopped.

Conventions: frames are BGR uint8; ``turn_left`` means the subject turns to their own left, so
in the (un-mirrored) frames the nose moves toward the image's right.

Test faces are read from installed packages at run time (never committed): the public-domain
astronaut portrait shipped with scikit-image, and for "another person" a face from the small
Labeled Faces in the Wild subset that scikit-image also ships.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from biometrics.analysis import get_analyser

__all__ = [
    "CODECS",
    "TURN_DEGREES",
    "FaceRig",
    "astronaut_bgr",
    "challenge_frames",
    "encode",
    "jitter",
    "layout",
    "make_challenge_video",
    "make_replay_video",
    "make_two_faces_video",
    "other_person_bgr",
    "plane_homography",
    "planar_frames",
    "replay_frames",
    "side_by_side",
    "spliced",
    "timeline",
    "write_y4m",
]

# codec -> (container format, PyAV encoder name, encoder options)
CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    "libx264": ("mp4", "libx264", {"preset": "veryfast", "crf": "23"}),
    "vp8": ("webm", "libvpx", {"crf": "10", "b": "1M", "deadline": "good", "cpu-used": "5"}),
    "vp9": ("webm", "libvpx-vp9", {"crf": "32", "b": "0", "deadline": "good", "cpu-used": "8"}),
    "mp4v": ("mp4", "mpeg4", {"qscale": "4"}),
}

TURN_DEGREES = 30.0
LOOK_DEGREES = 16.0
TILT_DEGREES = 22.0
# A person begins moving this long after the prompt appears (a choice reaction time).
REACTION = 0.45
# Seconds: a turn goes out, holds, comes back; a blink closes, stays shut, opens.
TURN_OUT, TURN_HOLD, TURN_BACK = 0.45, 0.3, 0.45
BLINK_CLOSE, BLINK_SHUT, BLINK_OPEN = 0.1, 0.1, 0.15
LEAD, GAP, TAIL = 0.5, 0.4, 0.5

# How far each nose point stands out of the cylinder, as a fraction of the head radius.
_NOSE_DEPTH = {27: 0.10, 28: 0.16, 29: 0.24, 30: 0.34, 31: 0.16, 32: 0.22, 33: 0.26, 34: 0.22}
_NOSE_DEPTH[35] = 0.16
# Upper-lid points and the lower-lid points they close onto; brow points above each.
_LIDS = {37: (41, 19), 38: (40, 20), 43: (47, 23), 44: (46, 24)}
_LASH = 0.2  # the lash line: this share of the way from the upper lid to the brow


# ---------------------------------------------------------------- test faces


def astronaut_bgr() -> np.ndarray:
    """The public-domain astronaut portrait from scikit-image, as BGR."""
    from skimage import data

    return cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)


def other_person_bgr(index: int = 0, size: int = 200) -> np.ndarray:
    """A face of someone else: an upscaled 25x25 grey face from scikit-image's LFW subset.

    The astronaut is the only public-domain portrait scikit-image ships; its LFW subset holds
    100 tiny face crops of real (public) people, read here from the installed package and never
    stored. Upscaled and set on a blurred surround (the crop ends at the brows), dlib finds
    them, and their embeddings are far from the astronaut's.
    """
    from skimage import data

    grey = (data.lfw_subset()[index] * 255).astype(np.uint8)
    face = cv2.resize(grey, (size, size), interpolation=cv2.INTER_CUBIC)
    pad = size
    canvas = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    canvas = cv2.GaussianBlur(canvas, (0, 0), size / 8)
    inner = np.zeros(canvas.shape, np.float32)
    inner[pad + 8 : pad + size - 8, pad + 8 : pad + size - 8] = 1.0
    inner = cv2.GaussianBlur(inner, (0, 0), 6)
    face_on_canvas = cv2.copyMakeBorder(face, pad, pad, pad, pad, cv2.BORDER_CONSTANT)
    mixed = inner * face_on_canvas + (1 - inner) * canvas
    return cv2.cvtColor(mixed.astype(np.uint8), cv2.COLOR_GRAY2BGR)


# ---------------------------------------------------------------- the rig


class FaceRig:
    """A still face placed in a frame of ``size``, ready to be posed (turned, blinking)."""

    def __init__(
        self, face_bgr: np.ndarray, size: tuple[int, int] = (480, 360), scale: float = 0.36
    ):
        self.size = size
        self.frame, landmarks = _place_face(face_bgr, size, scale)
        self.src = _control_points(landmarks, size)
        self.n_moving = len(self.src) - _N_FIXED
        self.triangles = _triangulate(self.src, size)
        self.landmarks = landmarks
        jaw = landmarks[[0, 16]]
        self.cx = float(jaw[:, 0].mean())
        self.radius = float(abs(jaw[1, 0] - jaw[0, 0]) / 2)
        self.cy = float((landmarks[36:48, 1].mean() + landmarks[8, 1]) / 2)
        self.mouth_width = float(np.linalg.norm(landmarks[54] - landmarks[48]))
        self.mouth_drop = 0.45 * self.mouth_width

    def pose(
        self,
        yaw_deg: float = 0.0,
        blink: float = 0.0,
        shift=(0.0, 0.0),
        *,
        pitch_deg: float = 0.0,
        roll_deg: float = 0.0,
        mouth: float = 0.0,
        smile: float = 0.0,
    ) -> np.ndarray:
        """The frame with the head turned by ``yaw_deg`` (> 0: nose toward the image's right),
        raised by ``pitch_deg`` (> 0: looking up), tilted by ``roll_deg`` (> 0: toward the
        subject's own left shoulder), the eyes ``blink`` closed and the mouth ``mouth`` open
        (0 to 1), and the whole frame moved by ``shift`` px."""
        dst = self.src.copy()
        if blink:
            dst = _close_lids(dst, blink)
        if mouth:
            dst = self._open_mouth(dst, mouth)
        if smile:
            dst = self._smile(dst, smile)
        if yaw_deg or pitch_deg:
            dst[: self.n_moving] = self._rotate(
                dst[: self.n_moving], math.radians(yaw_deg), math.radians(pitch_deg)
            )
        if roll_deg:
            dst[: self.n_moving] = self._roll(dst[: self.n_moving], math.radians(roll_deg))
        frame = _warp(self.frame, self.src, dst, self.triangles, shift)
        if mouth:
            _paint_mouth(frame, dst[60:68] + np.asarray(shift), mouth)
        return frame

    def _depth(self, pts: np.ndarray) -> np.ndarray:
        """How far each point stands toward the camera: a vertical cylinder through the head,
        rounded off above and below (an ellipsoid-ish skull), plus the nose."""
        r = self.radius * 1.05
        dx = np.clip(pts[:, 0] - self.cx, -r, r)
        dy = np.clip((pts[:, 1] - self.cy) / (1.6 * r), -0.95, 0.95)
        depth = np.sqrt(r * r - dx * dx) * np.sqrt(1 - dy * dy)
        for index, extra in _NOSE_DEPTH.items():
            depth[index] += extra * r
        return depth

    def _rotate(self, pts: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
        """Rotate the head's points in 3D (yaw about the vertical axis, then pitch about the
        horizontal one, both through the head's centre) and project them orthographically:
        points at different depths move by different amounts, as on a real head."""
        r = self.radius * 1.05
        x = np.clip(pts[:, 0] - self.cx, -r, r)
        y = pts[:, 1] - self.cy
        z = self._depth(pts)
        x, z = x * math.cos(yaw) + z * math.sin(yaw), z * math.cos(yaw) - x * math.sin(yaw)
        # Pitch about an axis at the face's mean depth: the face tips in place (the skull
        # behind it does not show) while the nose still moves more than the cheeks.
        y = y * math.cos(pitch) - (z - np.median(z[:68])) * math.sin(pitch)
        out = pts.copy()
        out[:, 0] = self.cx + np.clip(x, -r, r)
        out[:, 1] = self.cy + y
        return out

    def _roll(self, pts: np.ndarray, angle: float) -> np.ndarray:
        """Tilt in the image plane about the chin-to-brow middle. The subject's own left eye is
        on the image's right; tilting to their left lowers it: clockwise on screen."""
        c, s = math.cos(angle), math.sin(angle)
        d = pts - (self.cx, self.cy)
        return np.stack(
            [self.cx + c * d[:, 0] - s * d[:, 1], self.cy + s * d[:, 0] + c * d[:, 1]], 1
        )

    def _smile(self, pts: np.ndarray, amount: float) -> np.ndarray:
        """Pull the mouth corners out and up (a broad smile), the lips along with them."""
        out = pts.copy()
        mid = (pts[48] + pts[54]) / 2
        reach = amount * self.mouth_width
        for index, share in _SMILE.items():
            side = math.copysign(1.0, pts[index, 0] - mid[0])
            out[index, 0] += side * reach * 0.16 * share
            out[index, 1] -= reach * 0.07 * share
        return out

    def _open_mouth(self, pts: np.ndarray, amount: float) -> np.ndarray:
        """Drop the lower lip, the chin and the lower jaw: the jaw hinges below the ears."""
        out = pts.copy()
        drop = amount * self.mouth_drop
        for index, share in _JAW_DROP.items():
            out[index, 1] += drop * share
        return out


def _paint_mouth(frame: np.ndarray, inner: np.ndarray, amount: float) -> None:
    """The dark inside of an open mouth, between the inner lip lines."""
    if amount < 0.15:
        return
    polygon = np.round(inner * 16).astype(np.int32)
    layer = frame.copy()
    cv2.fillPoly(layer, [polygon], (40, 30, 45), cv2.LINE_AA, 4)
    alpha = min(1.0, amount * 1.5)
    cv2.addWeighted(layer, alpha, frame, 1 - alpha, 0, dst=frame)


# How much of the mouth's drop each point takes: the lower lips all of it, the chin nearly all,
# the jaw less and less toward the ears.
# How much of a smile's pull each mouth point takes: the corners all of it.
_SMILE = {48: 1.0, 54: 1.0, 60: 0.9, 64: 0.9, 49: 0.5, 53: 0.5, 59: 0.5, 55: 0.5}
_SMILE.update({61: 0.35, 63: 0.35, 67: 0.35, 65: 0.35, 50: 0.2, 52: 0.2, 58: 0.2, 56: 0.2})
_JAW_DROP = {i: 1.0 for i in (55, 56, 57, 58, 59, 64, 65, 66, 67)}
_JAW_DROP.update({48: 0.35, 54: 0.35, 60: 0.35, 64: 0.35})
_JAW_DROP.update({8: 0.95, 7: 0.9, 9: 0.9, 6: 0.75, 10: 0.75, 5: 0.55, 11: 0.55, 4: 0.3, 12: 0.3})
_JAW_DROP.update({3: 0.12, 13: 0.12})


# Control points: 68 landmarks, 20 forehead, 4 lash-line and 4 lid-crease points (these move),
# then 16 head-ring and 8 frame-border points (these stay put).
_FIRST_LASH = 68 + 20
_N_FIXED = 16 + 8


def _place_face(face_bgr: np.ndarray, size: tuple[int, int], scale: float):
    """Scale and centre the face so its box is ``scale`` of the frame's width."""
    faces = get_analyser().detect(face_bgr)
    if not faces:
        raise ValueError("no face found in the still")
    face = faces[0]
    width, height = size
    factor = scale * width / face.width
    cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
    matrix = np.array(
        [[factor, 0, width / 2 - factor * cx], [0, factor, height * 0.52 - factor * cy]],
        dtype=np.float64,
    )
    frame = cv2.warpAffine(
        face_bgr, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    landmarks = face.landmarks @ matrix[:, :2].T + matrix[:, 2]
    return frame, landmarks.astype(np.float64)


def _control_points(landmarks: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """68 landmarks, forehead and eyelid-crease points (moving), then ring and border (fixed)."""
    chin = landmarks[8]
    eyes = landmarks[36:48].mean(axis=0)
    up = (eyes - chin) / np.linalg.norm(eyes - chin)
    face_h = float(np.linalg.norm(eyes - chin))
    brows = landmarks[17:27]
    forehead = np.vstack([brows + up * face_h * 0.25, brows + up * face_h * 0.55])
    creases = np.array(
        [
            landmarks[lid] + (landmarks[brow] - landmarks[lid]) * share
            for share in (_LASH, 0.45)
            for lid, (_, brow) in _LIDS.items()
        ]
    )
    centre = landmarks[list(range(17)) + list(range(17, 27))].mean(axis=0)
    angles = np.linspace(0, 2 * math.pi, 16, endpoint=False)
    reach = face_h * 1.45
    ring = centre + reach * np.stack([np.cos(angles) * 0.85, np.sin(angles)], axis=1)
    w, h = size[0] - 1, size[1] - 1
    border = np.array(
        [[0, 0], [w / 2, 0], [w, 0], [w, h / 2], [w, h], [w / 2, h], [0, h], [0, h / 2]]
    )
    ring[:, 0] = np.clip(ring[:, 0], 1, w - 1)
    ring[:, 1] = np.clip(ring[:, 1], 1, h - 1)
    return np.vstack([landmarks, forehead, creases, ring, border]).astype(np.float64)


def _triangulate(points: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Delaunay triangles over the points, as index triples."""
    subdiv = cv2.Subdiv2D((-1, -1, size[0] + 2, size[1] + 2))
    for x, y in points:
        subdiv.insert((float(x), float(y)))
    triangles = []
    for tri in subdiv.getTriangleList().reshape(-1, 3, 2):
        dist = np.linalg.norm(points[None, :, :] - tri[:, None, :], axis=2)
        index = dist.argmin(axis=1)
        if dist[np.arange(3), index].max() < 1e-3 and len(set(index)) == 3:
            triangles.append(index)
    return np.array(triangles, dtype=np.int32)


def _close_lids(points: np.ndarray, amount: float) -> np.ndarray:
    """Slide each upper-lid point, and the lash line just above it, onto the lower lid: the
    lid skin above stretches down over the eye and the dark lashes fold into a thin line."""
    out = points.copy()
    for number, (upper, (lower, _)) in enumerate(_LIDS.items()):
        lash = _FIRST_LASH + number
        out[upper] = points[upper] + (points[lower] - points[upper]) * amount
        out[lash] = points[lash] + (points[lower] - points[lash]) * amount
    return out


def _warp(image, src, dst, triangles, shift) -> np.ndarray:
    """Piecewise-affine warp: each destination triangle samples its source triangle."""
    h, w = image.shape[:2]
    owner = np.full((h, w), -1, dtype=np.int32)
    affines = np.zeros((len(triangles), 2, 3), dtype=np.float64)
    for t, tri in enumerate(triangles):
        d, s = dst[tri].astype(np.float32), src[tri].astype(np.float32)
        area = (d[1, 0] - d[0, 0]) * (d[2, 1] - d[0, 1]) - (d[2, 0] - d[0, 0]) * (d[1, 1] - d[0, 1])
        if abs(area) < 0.5:
            continue  # collapsed (a shut eyelid): nothing to draw
        affines[t] = cv2.getAffineTransform(d, s)
        cv2.fillConvexPoly(owner, np.round(d * 16).astype(np.int32), t, cv2.LINE_8, 4)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    xs -= shift[0]
    ys -= shift[1]
    a = affines[np.maximum(owner, 0)]
    map_x = a[..., 0, 0] * xs + a[..., 0, 1] * ys + a[..., 0, 2]
    map_y = a[..., 1, 0] * xs + a[..., 1, 1] * ys + a[..., 1, 2]
    uncovered = owner < 0
    map_x[uncovered], map_y[uncovered] = xs[uncovered], ys[uncovered]
    return cv2.remap(
        image,
        map_x.astype(np.float32),
        map_y.astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REFLECT,
    )


# ---------------------------------------------------------------- timelines

# Each action: the pose parameter it moves, how far, and its out / hold / back seconds.
ACTION_MOTION = {
    "turn_left": ("yaw_deg", TURN_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "turn_right": ("yaw_deg", -TURN_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "look_up": ("pitch_deg", LOOK_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "look_down": ("pitch_deg", -LOOK_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "tilt_left": ("roll_deg", TILT_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "tilt_right": ("roll_deg", -TILT_DEGREES, TURN_OUT, TURN_HOLD, TURN_BACK),
    "open_mouth": ("mouth", 1.0, 0.25, 0.4, 0.3),
    "smile": ("smile", 1.0, 0.3, 0.4, 0.3),
    "blink": ("blink", 1.0, BLINK_CLOSE, BLINK_SHUT, BLINK_OPEN),
}
POSE_KEYS = ("yaw_deg", "pitch_deg", "roll_deg", "mouth", "smile", "blink")


def layout(steps: Sequence[str], *, first: float = 0.6, slot: float = 1.7, window: float = 1.5):
    """Windowed steps for ``steps`` in consecutive slots, as the server lays out a challenge
    (without its randomness): for tests that need a fixed one."""
    return [
        {
            "step": step,
            "start": round(first + n * slot, 2),
            "end": round(first + n * slot + window, 2),
        }
        for n, step in enumerate(steps)
    ]


def timeline(steps: Sequence, fps: float, seconds: float | None = None, *, reaction=REACTION):
    """Per frame pose keyword arguments (``FaceRig.pose``) for performing ``steps``.

    Windowed steps (``{"step", "start", "end"}``) begin ``reaction`` seconds after their
    ``start``, as a person reacts to the prompt (a list of reactions gives one per step);
    plain names are done one after another (``LEAD``, then ``GAP`` between)."""
    starts = _start_times(steps, reaction)
    tracks: dict[str, list] = {key: [(0.0, 0.0)] for key in POSE_KEYS}
    end = 0.0
    for step, t in zip(steps, starts, strict=True):
        name = step["step"] if isinstance(step, dict) else step
        if name not in ACTION_MOTION:
            raise ValueError(f"unknown step {step!r}")
        key, amount, out, hold, back = ACTION_MOTION[name]
        tracks[key] += [(t, 0.0), (t + out, amount), (t + out + hold, amount)]
        tracks[key].append((t + out + hold + back, 0.0))
        end = max(end, t + out + hold + back)
    windowed = bool(steps) and isinstance(steps[0], dict)
    # A windowed clip lasts as long as the capture page records (until the last window
    # closes, plus half a second); a late action runs past that.
    last = max(step["end"] for step in steps) + 0.5 if windowed else end + TAIL
    total = max(seconds or 0.0, last, end + 0.1)
    return [
        {key: _at(keys, i / fps) for key, keys in tracks.items()} for i in range(round(total * fps))
    ]


def _start_times(steps: Sequence, reaction) -> list[float]:
    if steps and isinstance(steps[0], dict):
        reactions = reaction if isinstance(reaction, list | tuple) else [reaction] * len(steps)
        return [step["start"] + r for step, r in zip(steps, reactions, strict=True)]
    starts, t = [], LEAD
    for name in steps:
        starts.append(t)
        key, _, out, hold, back = ACTION_MOTION[name]
        t += out + hold + back + GAP
    return starts


def _at(keys, t: float) -> float:
    """The eased value of key frames ``(time, value)`` at ``t``."""
    for (t0, v0), (t1, v1) in zip(keys, keys[1:], strict=False):
        if t0 <= t <= t1 and t1 > t0:
            ease = (1 - math.cos(math.pi * (t - t0) / (t1 - t0))) / 2
            return v0 + (v1 - v0) * ease
    return keys[-1][1]


def jitter(count: int, amplitude: float = 1.0, seed: int = 7) -> np.ndarray:
    """A smooth hand-held wobble of about ``amplitude`` px, deterministic."""
    rng = np.random.default_rng(seed)
    walk = np.cumsum(rng.normal(0, 0.35, size=(count, 2)), axis=0)
    walk = cv2.GaussianBlur(walk.reshape(-1, 1, 2), (1, 5), 0).reshape(-1, 2) if count > 4 else walk
    walk -= walk.mean(axis=0)
    peak = float(np.abs(walk).max()) or 1.0
    return walk * (amplitude / peak)


# ---------------------------------------------------------------- frames


def challenge_frames(
    face_bgr, steps, *, fps=15, seconds=4.0, size=(480, 360), shake=1.0, reaction=REACTION
):
    """Frames of the still ``face_bgr`` performing ``steps`` (names in order, or windowed)."""
    rig = FaceRig(face_bgr, size)
    poses = timeline(steps, fps, seconds, reaction=reaction)
    shifts = jitter(len(poses), shake)
    return [rig.pose(shift=shift, **pose) for pose, shift in zip(poses, shifts, strict=True)]


def replay_frames(face_bgr, *, fps=15, seconds=4.0, size=(480, 360), shake=0.0):
    """The still, unchanged (or only moved as a whole by ``shake`` px), for ``seconds``."""
    rig = FaceRig(face_bgr, size)
    count = round(seconds * fps)
    if not shake:
        return [rig.frame.copy() for _ in range(count)]
    return [rig.pose(shift=shift) for shift in jitter(count, shake)]


def plane_homography(size, yaw_deg=0.0, pitch_deg=0.0, roll_deg=0.0, *, distance=1.0):
    """The homography that shows a flat picture filling a frame of ``size`` as if held up and
    turned by these angles about its centre (the camera's focal length = the frame's long side,
    the picture ``distance`` focal lengths away)."""
    w, h = size
    f = float(max(w, h))
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
    pts = np.column_stack([corners[:, 0] - w / 2, corners[:, 1] - h / 2, np.zeros(4)])
    a, b, c = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    yaw = np.array([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    pitch = np.array([[1, 0, 0], [0, math.cos(b), math.sin(b)], [0, -math.sin(b), math.cos(b)]])
    roll = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    moved = pts @ (yaw @ pitch @ roll).T + [0, 0, f * distance]
    projected = moved[:, :2] / moved[:, 2:] * f + [w / 2, h / 2]
    return cv2.getPerspectiveTransform(corners.astype(np.float32), projected.astype(np.float32))


def planar_frames(
    face_bgr, steps, *, fps=15, seconds=4.0, size=(480, 360), shake=1.0, gain=(1.0, 1.0)
):
    """A photo held up to the camera and tilted to act out ``steps``: each frame is one
    homography of the still (turns and looks as out-of-plane tilts of the picture, tilts as
    in-plane turns; a flat picture cannot blink or open its mouth). A flat face reads as
    less turned than it is tilted: ``gain`` (yaw, pitch) exaggerates the tilts."""
    rig = FaceRig(face_bgr, size)
    poses = timeline(steps, fps, seconds)
    shifts = jitter(len(poses), shake)
    frames = []
    for pose, (dx, dy) in zip(poses, shifts, strict=True):
        matrix = plane_homography(
            size, -pose["yaw_deg"] * gain[0], pose["pitch_deg"] * gain[1], pose["roll_deg"]
        )
        matrix = np.array([[1, 0, dx], [0, 1, dy], [0, 0, 1]]) @ matrix
        frames.append(cv2.warpPerspective(rig.frame, matrix, size, borderMode=cv2.BORDER_REPLICATE))
    return frames


def side_by_side(left: Sequence[np.ndarray], right: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Two clips next to each other in one frame (two faces in view)."""
    return [np.hstack([a, b]) for a, b in zip(left, right, strict=False)]


def spliced(first: Sequence[np.ndarray], second: Sequence[np.ndarray], at: float = 0.5):
    """The first part of one clip followed by the rest of another (a person swapped mid-clip)."""
    cut = round(len(first) * at)
    return list(first[:cut]) + list(second[cut:])


# ---------------------------------------------------------------- encoding


def encode(frames: Sequence[np.ndarray], *, fps: float = 15, codec: str = "libx264") -> bytes:
    """Encode BGR frames in memory: H.264 or mp4v in MP4, VP8 or VP9 in WebM."""
    container_format, encoder, options = CODECS[codec]
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(buffer, mode="w", format=container_format) as container:
        stream = container.add_stream(encoder, rate=rate, options=options)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for frame in frames:
            picture = av.VideoFrame.from_ndarray(frame, format="bgr24")
            container.mux(stream.encode(picture))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def make_challenge_video(
    face_bgr, steps, *, fps=15, seconds=4.0, codec="libx264", size=(480, 360), shake=1.0
) -> bytes:
    """An encoded clip of the still face performing ``steps`` in order."""
    frames = challenge_frames(face_bgr, steps, fps=fps, seconds=seconds, size=size, shake=shake)
    return encode(frames, fps=fps, codec=codec)


def make_replay_video(
    face_bgr, *, fps=15, seconds=4.0, codec="libx264", size=(480, 360), shake=0.0
):
    """An encoded clip of the still photo shown unchanged: only encoder noise moves."""
    frames = replay_frames(face_bgr, fps=fps, seconds=seconds, size=size, shake=shake)
    return encode(frames, fps=fps, codec=codec)


def make_two_faces_video(face_bgr, steps, *, fps=15, seconds=4.0, codec="libx264", size=(320, 360)):
    """Two faces in view: the face performing ``steps`` next to a still copy of it."""
    left = challenge_frames(face_bgr, steps, fps=fps, seconds=seconds, size=size)
    right = replay_frames(face_bgr, fps=fps, seconds=seconds, size=size)
    return encode(side_by_side(left, right), fps=fps, codec=codec)


def write_y4m(frames: Iterable[np.ndarray], path: str | Path, fps: int = 15) -> Path:
    """Write BGR frames as a YUV4MPEG2 (4:2:0) file, the format a fake camera reads."""
    path = Path(path)
    frames = iter(frames)
    first = next(frames)
    height, width = first.shape[:2]
    if width % 2 or height % 2:
        raise ValueError("y4m 4:2:0 needs an even width and height")
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for frame in _chain(first, frames):
            out.write(b"FRAME\n")
            # swscale's BT.601 studio-range conversion, as players expect, not OpenCV's.
            picture = av.VideoFrame.from_ndarray(frame, format="bgr24").reformat(format="yuv420p")
            out.write(picture.to_ndarray().tobytes())
    return path


def _chain(first, rest):
    yield first
    yield from rest
