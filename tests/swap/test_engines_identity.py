"""The classic engine carries the source's identity over: real faces, the analyser's own judge.

The faces ship inside installed packages: scikit-image's astronaut, insightface's ``t1.jpg``
(five people) and ``Tom_Hanks_54745.png``. ``bench/swap_quality_bench.py`` measures every pair;
these pin a few that failed before the engine aligned the source as a whole.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics.analysis import embedding_distance
from swap.engines import SwapError
from swap.engines.classic import ClassicEngine, similarity, yaw_degrees
from swap.engines.video import iter_frames, swap_video
from tests.swap.conftest import label_is_visible


def _packaged(name: str) -> np.ndarray:
    insightface = pytest.importorskip("insightface")
    image = cv2.imread(str(Path(insightface.__file__).parent / "data" / "images" / name))
    assert image is not None, name
    return image


@pytest.fixture(scope="module")
def people(analyser, astronaut, astronaut_face):
    """name → (image, face, embedding)."""
    found = {"astronaut": (astronaut, astronaut_face)}
    group = cv2.resize(_packaged("t1.jpg"), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    for number, face in enumerate(sorted(analyser.detect(group), key=lambda f: f.box[0]), 1):
        found[f"t1-{number}"] = (group, face)
    hanks = cv2.resize(_packaged("Tom_Hanks_54745.png"), None, fx=4, fy=4)
    hanks = cv2.copyMakeBorder(hanks, 64, 64, 64, 64, cv2.BORDER_REPLICATE)
    found["hanks"] = (hanks, analyser.detect(hanks)[0])
    return {
        name: (image, face, analyser.embed(image, face)) for name, (image, face) in found.items()
    }


def _embedding_near(analyser, image, face):
    x0, y0, x1, y1 = face.box
    pad = (x1 - x0) // 2
    crop = np.ascontiguousarray(image[max(0, y0 - pad) : y1 + pad, max(0, x0 - pad) : x1 + pad])
    found = analyser.detect(crop)
    assert found, "the swapped face is no longer a face"
    return analyser.embed(crop, found[0])


@pytest.mark.parametrize(
    ("source", "target"),
    # Before: source 0.47 / target 0.34; 0.46 / 0.28; 0.36 / 0.32 (closer to the target).
    [("astronaut", "t1-1"), ("hanks", "astronaut"), ("t1-5", "t1-1")],
)
def test_a_real_face_swapped_into_another_looks_like_the_source_not_the_target(
    engine, analyser, people, source, target
):
    source_image, source_face, source_embedding = people[source]
    target_image, target_face, target_embedding = people[target]

    result = engine.swap(source_image, source_face, target_image, target_face)
    embedding = _embedding_near(analyser, result, target_face)

    to_source = embedding_distance(embedding, source_embedding)
    to_target = embedding_distance(embedding, target_embedding)
    assert to_source < to_target, (to_source, to_target)
    assert to_source < analyser.embedding_threshold, to_source


def test_the_similarity_recovers_a_rotation_a_scale_and_a_shift():
    points = np.random.default_rng(1).uniform(0, 100, size=(13, 2))
    angle, scale = np.radians(20), 1.7
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    moved = points @ rotation.T + [30.0, -12.0]

    matrix = similarity(points, moved)

    assert np.allclose(matrix[:, :2], rotation, atol=1e-6)
    assert np.allclose(matrix[:, 2], [30.0, -12.0], atol=1e-6)


def _proportions(points: np.ndarray) -> float:
    """Eye distance over nose length: one of the ratios that make a face someone's."""
    eyes = np.linalg.norm(points[[42, 45]].mean(axis=0) - points[[36, 39]].mean(axis=0))
    return float(eyes / np.linalg.norm(points[33] - points[27]))


def test_the_source_features_keep_their_proportions_in_the_target(people):
    engine = ClassicEngine()
    _, source_face, _ = people["astronaut"]
    _, target_face, _ = people["t1-2"]  # facing the camera, other proportions
    src, dst = source_face.landmarks.astype(float), target_face.landmarks.astype(float)

    goal = engine._goal(src, dst)

    assert abs(_proportions(src) - _proportions(dst)) > 0.05
    assert _proportions(goal) == pytest.approx(_proportions(src), abs=0.02)
    assert np.allclose(goal[:17], dst[:17])  # the outline is the target's


def _turned(face, towards: int = 16):
    """The face with its nose moved onto one end of the jaw: a profile."""
    landmarks = face.landmarks.copy()
    landmarks[27:36] += landmarks[towards] - landmarks[30]
    return replace(face, landmarks=landmarks)


def test_a_target_turned_away_is_refused_with_a_clear_code(
    engine, astronaut, astronaut_face, other_person, other_face
):
    turned = _turned(other_face)
    assert yaw_degrees(turned.landmarks) > 60 > yaw_degrees(other_face.landmarks)

    with pytest.raises(SwapError) as refused:
        engine.swap(astronaut, astronaut_face, other_person, turned)

    assert refused.value.code == "face_turned_away"


def test_a_source_turned_away_is_refused_with_its_own_code(
    engine, astronaut, astronaut_face, other_person, other_face
):
    with pytest.raises(SwapError) as refused:
        engine.swap(astronaut, _turned(astronaut_face, 0), other_person, other_face)

    assert refused.value.code == "source_turned_away"


class _TurnsAway:
    """Delegates to the real engine, but every other frame's target is "turned away" (or, with
    ``source``, the source is, every time)."""

    name = "classic"

    def __init__(self, engine, *, source: bool = False):
        self.engine, self.source, self.calls = engine, source, 0

    def swap(self, *args):
        self.calls += 1
        if self.source:
            raise SwapError("source_turned_away", "turned")
        if self.calls % 2:
            raise SwapError("face_turned_away", "turned")
        return self.engine.swap(*args)


def _run_clip(engine, analyser, other_person, other_face, clip):
    return swap_video(
        other_person,
        other_face,
        clip,
        engine,
        analyser,
        job_id="job-turns",
        on_progress=lambda _: None,
        should_stop=lambda: False,
    )


def test_a_clip_passes_frames_turned_away_through_labelled_and_fails_a_turned_source(
    engine, analyser, other_person, other_face, clip_silent
):
    out = _run_clip(_TurnsAway(engine), analyser, other_person, other_face, clip_silent)

    frames = list(iter_frames(out))
    assert len(frames) == len(list(iter_frames(clip_silent)))
    assert all(label_is_visible(frame) for frame in frames)
    with pytest.raises(SwapError) as refused:
        _run_clip(_TurnsAway(engine, source=True), analyser, other_person, other_face, clip_silent)
    assert refused.value.code == "source_turned_away"
