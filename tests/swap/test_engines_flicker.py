"""A swapped face held still does not shimmer: the tracker's landmarks are filtered over time."""

from __future__ import annotations

import cv2
import numpy as np

from swap.engines.video import FaceTracker
from tests.biometrics import synth


def _change_inside(frames: list[np.ndarray], mask: np.ndarray) -> float:
    grey = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).astype(np.float32) for f in frames]
    return float(
        np.mean([np.abs(b - a)[mask].mean() for a, b in zip(grey, grey[1:], strict=False)])
    )


def test_a_face_held_still_in_a_shaking_hand_is_swapped_without_shimmer(
    engine, analyser, astronaut, other_person, other_face
):
    rig = synth.FaceRig(astronaut, (480, 360), scale=0.3)
    frames = [rig.pose(shift=shift) for shift in synth.jitter(20, 1.0)]
    mask = np.zeros(frames[0].shape[:2], np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.round(rig.landmarks).astype(np.int32)), 255)
    tracker = FaceTracker(analyser)

    swapped = [engine.swap(other_person, other_face, f, tracker.find(f)) for f in frames]

    # Measured: 0.96 with the One-Euro filter; 1.54 with the filter before it.
    ratio = _change_inside(swapped, mask > 0) / _change_inside(frames, mask > 0)
    assert ratio < 1.2, ratio
