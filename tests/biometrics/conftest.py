"""Shared, session-scoped test faces and synthetic clips: each clip is made once per run."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pytest

from biometrics.analysis import get_analyser
from biometrics.analysis.video import decode_video
from tests.biometrics import synth

# Small frames and 10 fps keep the suite fast; the face is still ~115 px wide.
CLIP_SIZE = (320, 240)
CLIP_FPS = 10
# An LFW face (frontal, found by dlib, far from the astronaut by embedding).
OTHER_PERSON = 3


class Clip(NamedTuple):
    """Sampled frames of a decoded clip and their times (seconds since the first frame)."""

    frames: list[np.ndarray]
    times: list[float]


class Clips:
    """Synthetic clips, encoded and decoded again like an upload, cached by their recipe."""

    def __init__(self, faces: dict):
        self.faces = faces
        self._cache: dict[tuple, Clip] = {}

    def challenge(
        self, steps, *, codec="libx264", face="astronaut", seconds=4.0, reaction=synth.REACTION
    ) -> Clip:
        key = ("challenge", repr(steps), codec, face, seconds, repr(reaction))
        return self._get(
            key,
            lambda: synth.challenge_frames(
                self.faces[face],
                steps,
                fps=CLIP_FPS,
                seconds=seconds,
                size=CLIP_SIZE,
                reaction=reaction,
            ),
        )

    def planar(self, steps, *, gain=(1.5, 1.0)) -> Clip:
        """The still photo held up and tilted through ``steps`` (one homography a frame)."""
        return self._get(
            ("planar", repr(steps), repr(gain)),
            lambda: synth.planar_frames(
                self.faces["astronaut"], steps, fps=CLIP_FPS, size=CLIP_SIZE, gain=gain
            ),
        )

    def replay(self, *, codec="libx264", shake=0.0) -> Clip:
        return self._get(
            ("replay", codec, shake),
            lambda: synth.replay_frames(
                self.faces["astronaut"], fps=CLIP_FPS, size=CLIP_SIZE, shake=shake
            ),
        )

    def two_faces(self, steps) -> Clip:
        def make():
            face = self.faces["astronaut"]
            left = synth.challenge_frames(face, steps, fps=CLIP_FPS, size=CLIP_SIZE)
            right = synth.replay_frames(face, fps=CLIP_FPS, size=CLIP_SIZE)
            return synth.side_by_side(left, right)

        return self._get(("two", repr(steps)), make)

    def spliced(self, steps) -> Clip:
        def make():
            first = synth.challenge_frames(
                self.faces["astronaut"], steps, fps=CLIP_FPS, size=CLIP_SIZE
            )
            second = synth.challenge_frames(
                self.faces["other"], steps, fps=CLIP_FPS, size=CLIP_SIZE
            )
            return synth.spliced(first, second)

        return self._get(("spliced", repr(steps)), make)

    def _get(self, key: tuple, make) -> Clip:
        """Decoded sampled frames of the clip: through a real encode and decode."""
        if key not in self._cache:
            codec = next((part for part in key if part in synth.CODECS), "libx264")
            data = synth.encode(make(), fps=CLIP_FPS, codec=codec)
            video = decode_video(data)
            self._cache[key] = Clip(video.frames, video.times)
        return self._cache[key]


@pytest.fixture(scope="session")
def analyser():
    return get_analyser()


@pytest.fixture(scope="session")
def astronaut():
    return synth.astronaut_bgr()


@pytest.fixture(scope="session")
def other_person():
    return synth.other_person_bgr(OTHER_PERSON)


@pytest.fixture(scope="session")
def clips(astronaut, other_person):
    return Clips({"astronaut": astronaut, "other": other_person})
