"""Session-scoped faces, engine and small clips for the swap engine tests (no database)."""

from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
import pytest

from biometrics.analysis import get_analyser
from swap.engines import get_engine
from swap.engines.label import LABEL_TEXT, burn_label, label_box
from tests.biometrics import synth

CLIP_SIZE = (320, 240)
CLIP_FPS = 10
OTHER_PERSON = 3  # an LFW face dlib finds, far from the astronaut by embedding


def encode_clip(
    frames: list[np.ndarray],
    *,
    fps: int = CLIP_FPS,
    audio_hz: float | None = None,
    rotation: int = 0,
) -> bytes:
    """H.264 MP4 of ``frames``; with ``audio_hz``, plus a mono AAC sine tone as long as them;
    with ``rotation``, a display matrix telling players to turn the frames by that much."""
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(buffer, mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        audio = container.add_stream("aac", rate=16000, layout="mono") if audio_hz else None
        for number, frame in enumerate(frames):
            picture = av.VideoFrame.from_ndarray(frame, format="bgr24")
            picture.pts, picture.time_base = number, Fraction(1, fps)
            container.mux(video.encode(picture))
        container.mux(video.encode(None))
        if audio is not None:
            _write_tone(container, audio, audio_hz, seconds=len(frames) / fps)
    return buffer.getvalue()


def _write_tone(container, stream, hz: float, seconds: float) -> None:
    rate = stream.rate
    samples = np.arange(round(rate * seconds))
    tone = (0.3 * np.sin(2 * np.pi * hz * samples / rate)).astype(np.float32)
    for start in range(0, len(tone), 1024):
        chunk = np.ascontiguousarray(tone[None, start : start + 1024])
        frame = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def label_is_visible(
    image: np.ndarray, text: str = LABEL_TEXT, *, white: int = 200, dark: int = 90
) -> bool:
    """The label box holds bright text pixels (2-50 %) on an otherwise dark background."""
    x0, y0, x1, y1 = label_box(image.shape[1], image.shape[0], text)
    grey = image[y0:y1, x0:x1].astype(np.float32).mean(axis=2)
    text = grey >= white
    share = text.mean()
    return 0.02 < share < 0.5 and float(np.median(grey[~text])) < dark


def label_reads(image: np.ndarray, text: str) -> bool:
    """The label box holds exactly ``text``: white where its letters are drawn, darkened where
    none is (the ink is the label burnt on black). For lossless stills."""
    x0, y0, x1, y1 = label_box(image.shape[1], image.shape[0], text)
    ink = burn_label(np.zeros_like(image), text)[y0:y1, x0:x1].max(axis=2)
    box = image[y0:y1, x0:x1].astype(int)
    letters = (box.min(axis=2)[ink >= 250] >= 250).mean()
    between = (box.max(axis=2)[ink == 0] <= 78).mean()  # 30 % of white, at most
    return bool(letters > 0.95 and between > 0.95)


@pytest.fixture(scope="session")
def analyser():
    return get_analyser()


@pytest.fixture(scope="session")
def engine():
    return get_engine()


@pytest.fixture(scope="session")
def astronaut():
    return synth.astronaut_bgr()


@pytest.fixture(scope="session")
def other_person():
    return synth.other_person_bgr(OTHER_PERSON)


@pytest.fixture(scope="session")
def astronaut_face(analyser, astronaut):
    return analyser.detect(astronaut)[0]


@pytest.fixture(scope="session")
def other_face(analyser, other_person):
    return analyser.detect(other_person)[0]


@pytest.fixture(scope="session")
def clip_frames(astronaut):
    """2 s of the astronaut turning her head, small: 20 frames of 320x240."""
    return synth.challenge_frames(
        astronaut, ["turn_left"], fps=CLIP_FPS, seconds=2.0, size=CLIP_SIZE
    )


@pytest.fixture(scope="session")
def clip_with_audio(clip_frames):
    return encode_clip(clip_frames, audio_hz=440.0)


@pytest.fixture(scope="session")
def clip_silent(clip_frames):
    return encode_clip(clip_frames)


# --- swap jobs ---------------------------------------------------------------------------------


@pytest.fixture
def ready(alice, enrolled, grant_consent):
    """Alice, enrolled (one capture), consenting to face swaps, with her API client."""
    from tests.erasure.kit import client_for

    [capture] = enrolled(alice)
    grant_consent(alice, "face_swap")
    return client_for(alice), capture


@pytest.fixture
def image_template(db):
    from tests.swap.jobkit import make_template

    return make_template("image", sharing=True)  # its results may be shared by link


@pytest.fixture
def clip_template(db):
    from tests.swap.jobkit import make_template

    return make_template("video", sharing=True)
