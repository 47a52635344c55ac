"""Screen or paper borders around the face: can they be told apart from a room's straight edges?

A photo or a phone held up to the camera often shows its edges: strong straight lines forming a
quadrilateral around the face that moves with it. This measures a detector of exactly that,
before anyone relies on it, on synthetic clips (``tests/biometrics/synth.py``; no recordings of
real people or rooms exist here):

- attack: the portrait on a phone (a dark bezel around it) held up in front of a room and
  tilted to act out a challenge of turns, looks and tilts (one homography a frame, a hand-held
  wobble of 2 px), 320 x 240 face region in a 480 x 360 frame;
- genuine, camera on a stand: the 3D head doing the same kind of challenge in a doorway (the
  door frame's two posts and lintel around the head, as a room has);
- genuine, hand-held camera: the same, with the whole frame wobbling by 2 px.

The detector, on every second frame: edges (Canny 60/160) in the face's surroundings, straight
segments (probabilistic Hough) at least 0.9 face widths long that do not cross the face box,
sorted into the four sides; a frame is framed when three or four sides have one. A side's line
"moves with the face" when, over the framed frames, its position follows the face box's centre
(slope of a least-squares fit >= 0.5) and the face moved at all (spread >= 2 px); a clip is
flagged when at least half its sampled frames are framed and at least two sides move with the
face.

Figures (``liveness.border_*``): the share of clips flagged, per kind, and the share of the
attack clips the landmark checks (``check_track``) already reject. README.md ("what the
liveness check stops") draws the conclusion.

Run from the repository root: ``.venv/bin/python bench/liveness_border_bench.py``
(``--quick``: 3 clips a kind, nothing written).
"""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from biometrics.analysis import get_analyser  # noqa: E402
from biometrics.analysis.liveness import (  # noqa: E402
    DEFAULT_CONFIG,
    challenge_draw,
    check_track,
    track_of,
)
from tests.biometrics import synth  # noqa: E402

try:  # the shared results file, when the benchmark helpers are there
    from _common import figure, merge_results
except ImportError:  # pragma: no cover - run on its own
    figure = merge_results = None

SIZE = (480, 360)
FPS = 10
SHAKE = 2.0
FLAT = ("turn_left", "turn_right", "look_up", "look_down", "tilt_left", "tilt_right")
MIN_LENGTH = 0.9  # face widths
FRAMED_SIDES = 3
FRAMED_SHARE = 0.5
FOLLOW_SLOPE = 0.5
MIN_FACE_SPREAD = 2.0  # px


def room() -> np.ndarray:
    """A wall with a shelf and a picture frame: straight edges away from the face."""
    wall = np.tile(np.linspace(150, 200, SIZE[0], dtype=np.float32), (SIZE[1], 1))
    image = cv2.merge([wall * 0.9, wall, wall * 1.05]).clip(0, 255).astype(np.uint8)
    cv2.rectangle(image, (20, 40), (90, 120), (60, 70, 90), 4)
    cv2.line(image, (0, 300), (SIZE[0], 300), (80, 90, 110), 6)
    return image


def doorway(frame: np.ndarray, cx: float, half: float, top: float) -> np.ndarray:
    """Door posts at ``cx`` +- ``half`` and a lintel at ``top``, drawn on a copy."""
    out = frame.copy()
    colour = (235, 235, 240)
    left, right = round(cx - half), round(cx + half)
    cv2.rectangle(out, (left - 10, round(top)), (left, SIZE[1]), colour, -1)
    cv2.rectangle(out, (right, round(top)), (right + 10, SIZE[1]), colour, -1)
    cv2.rectangle(out, (left - 10, round(top) - 10), (right + 10, round(top)), colour, -1)
    return out


def challenge(rng: random.Random) -> list[dict]:
    steps = challenge_draw(rng)
    out, before = [], None
    for step in steps:
        action = (
            step["step"] if step["step"] in FLAT else rng.choice([a for a in FLAT if a != before])
        )
        out.append({**step, "step": action})
        before = action
    return out


def phone_clip(rng: random.Random) -> tuple[list[np.ndarray], list[dict]]:
    """The portrait on a phone (a 12 px dark bezel) held up in the room, acting out a
    challenge of turns, looks and tilts; and that challenge."""
    rig = synth.FaceRig(synth.astronaut_bgr(), (320, 240), scale=0.36)
    screen = cv2.copyMakeBorder(rig.frame, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=(20, 20, 20))
    sh, sw = screen.shape[:2]
    background = room()
    steps = challenge(rng)
    poses = synth.timeline(steps, FPS)
    shifts = synth.jitter(len(poses), SHAKE, seed=rng.randrange(1000))
    frames = []
    for pose, (dx, dy) in zip(poses, shifts, strict=True):
        tilt = synth.plane_homography(
            (sw, sh), -pose["yaw_deg"] * 1.5, pose["pitch_deg"] * 2.5, pose["roll_deg"]
        )
        place = np.array(
            [
                [0.8, 0, (SIZE[0] - 0.8 * sw) / 2 + dx],
                [0, 0.8, (SIZE[1] - 0.8 * sh) / 2 + dy],
                [0, 0, 1],
            ]
        )
        matrix = place @ tilt
        warped = cv2.warpPerspective(screen, matrix, SIZE)
        inside = cv2.warpPerspective(np.full((sh, sw), 255, np.uint8), matrix, SIZE)
        frames.append(np.where(inside[..., None] > 127, warped, background))
    return frames, steps


def doorway_clip(rng: random.Random, shake: float) -> tuple[list[np.ndarray], list[dict]]:
    """The 3D head in a doorway (posts beyond the rig's moving part: they stay put)."""
    rig = synth.FaceRig(synth.astronaut_bgr(), SIZE, scale=0.24)
    jaw = rig.landmarks[[0, 16]]
    width = float(jaw[1, 0] - jaw[0, 0])
    rig.frame = doorway(rig.frame, rig.cx, 1.25 * width, rig.landmarks[19, 1] - 0.9 * width)
    steps = challenge(rng)
    poses = synth.timeline(steps, FPS)
    shifts = synth.jitter(len(poses), shake, seed=rng.randrange(1000)) if shake else None
    frames = [
        rig.pose(shift=(0.0, 0.0) if shifts is None else shifts[i], **pose)
        for i, pose in enumerate(poses)
    ]
    return frames, steps


def sides(frame: np.ndarray, box) -> dict[str, float]:
    """The nearest long straight segment on each side of the face box: its position (x for
    the left and right sides, y for the top and bottom), in pixels."""
    x0, y0, x1, y1 = box
    width = x1 - x0
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    edges = cv2.Canny(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), 60, 160)
    found = cv2.HoughLinesP(
        edges, 1, math.pi / 180, 40, minLineLength=round(MIN_LENGTH * width), maxLineGap=4
    )
    best: dict[str, float] = {}
    margin = 0.1 * width
    for xa, ya, xb, yb in [] if found is None else found.reshape(-1, 4):
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        if max(abs(mx - cx), abs(my - cy)) > 2.5 * width:
            continue
        crosses = not (
            max(xa, xb) < x0 - margin
            or min(xa, xb) > x1 + margin
            or max(ya, yb) < y0 - margin
            or min(ya, yb) > y1 + margin
        )
        if crosses:
            continue
        angle = abs(math.degrees(math.atan2(yb - ya, xb - xa))) % 180
        if abs(angle - 90) < 25:
            side, at, centre = ("left" if mx < cx else "right"), mx, cx
        elif angle < 25 or angle > 155:
            side, at, centre = ("top" if my < cy else "bottom"), my, cy
        else:
            continue
        if side not in best or abs(at - centre) < abs(best[side] - centre):
            best[side] = float(at)
    return best


def flagged(frames, faces) -> tuple[bool, float, int]:
    """(flagged, share of sampled frames framed, sides moving with the face)."""
    rows = []
    for frame, found in list(zip(frames, faces, strict=True))[::2]:
        if found:
            box = found[0].box
            rows.append((sides(frame, box), (box[0] + box[2]) / 2, (box[1] + box[3]) / 2))
    if not rows:
        return False, 0.0, 0
    framed = [row for row in rows if len(row[0]) >= FRAMED_SIDES]
    share = len(framed) / len(rows)
    moving = 0
    for side in ("left", "right", "top", "bottom"):
        seen = [
            (r[0][side], r[1] if side in ("left", "right") else r[2])
            for r in framed
            if side in r[0]
        ]
        if len(seen) < 4:
            continue
        line, face = np.array(seen).T
        if np.std(face) < MIN_FACE_SPREAD / 2:
            continue
        slope = float(np.polyfit(face, line, 1)[0])
        moving += slope >= FOLLOW_SLOPE
    return share >= FRAMED_SHARE and moving >= 2, share, moving


def measure(count: int) -> dict[str, tuple[float, str, float | None, str]]:
    started = time.perf_counter()
    analyser = get_analyser("classic")
    rng = random.Random(3010)
    kinds = {
        "attack_phone": lambda: phone_clip(rng),
        "genuine_doorway_stand": lambda: doorway_clip(rng, 0.0),
        "genuine_doorway_handheld": lambda: doorway_clip(rng, SHAKE),
    }
    shares: dict[str, float] = {}
    rejected = 0
    for kind, make in kinds.items():
        hits = 0
        for _ in range(count):
            frames, steps = make()
            faces = [analyser.detect(frame) for frame in frames]
            hit, share, moving = flagged(frames, faces)
            hits += hit
            track = track_of(faces, [f.shape[:2] for f in frames], DEFAULT_CONFIG)
            times = [i / FPS for i in range(len(frames))]
            code = check_track(track, times, steps).code or "passed"
            print(
                f"{kind:<26} framed {share:.2f}, {moving} sides move with the face: {hit}; {code}"
            )
            if kind == "attack_phone":
                rejected += code != "passed"
        shares[kind] = hits / count
    target = "share of clips flagged"
    return {
        "border_attack_phone_flagged": (shares["attack_phone"], "share", None, target),
        "border_genuine_doorway_stand_flagged": (
            shares["genuine_doorway_stand"],
            "share",
            None,
            target + "; a false alarm",
        ),
        "border_genuine_doorway_handheld_flagged": (
            shares["genuine_doorway_handheld"],
            "share",
            None,
            target + "; a false alarm",
        ),
        "border_attack_phone_rejected_anyway": (
            rejected / count,
            "share",
            None,
            "attack clips the landmark checks already reject (check_track)",
        ),
        "border_bench_seconds": (time.perf_counter() - started, "s", None, "bounded"),
    }


def main() -> None:
    quick = "--quick" in sys.argv
    rows = measure(3 if quick else 8)
    if merge_results is None or quick:
        for name, (value, unit, _, target) in rows.items():
            print(f"liveness.{name:<42} {value:>8.4g} {unit:<6} {target}")
        return
    merge_results(
        {
            f"liveness.{name}": figure(value, unit, baseline, target)
            for name, (value, unit, baseline, target) in rows.items()
        }
    )


if __name__ == "__main__":
    main()
