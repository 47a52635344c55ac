"""The insightface engines, end to end through the real insightface + onnxruntime code, on small
synthetic models with buffalo_l's and inswapper's signatures (see ``tests/onnx_models.py``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from biometrics.analysis import FaceAnalyser, embedding_distance
from biometrics.analysis.insight import InsightFaceAnalyser
from swap.engines import SwapEngine
from swap.engines.inswapper import InSwapperEngine
from tests import onnx_models
from tests.onnx_models import FACE_SIZE, scene

ROOT = Path(__file__).resolve().parents[2]
# insightface's alignment calls a scikit-image method deprecated in 0.26 (still working).
pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")

PROVIDERS = ["CPUExecutionProvider"]
SOURCE_AT = (160, 224, 1)  # x, y, pattern seed, in a 480x640 portrait
TARGET_AT = (96, 128, 2)  # in a 640x480 landscape
OTHER_AT = (384, 64, 3)


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("face-models")
    return onnx_models.write_models(root / "buffalo_l", root / "inswapper")


@pytest.fixture(scope="session")
def insight(models):
    return InsightFaceAnalyser(
        model_dir=str(models.analysis_dir),
        sha256=models.analysis_sha256,
        licence_accepted="insightface-non-commercial",
        providers=PROVIDERS,
    )


@pytest.fixture(scope="session")
def swapper(models, insight):
    return InSwapperEngine(
        model_path=str(models.swap_model),
        sha256=models.swap_sha256,
        licence_accepted="insightface-non-commercial",
        analyser=insight,
        providers=PROVIDERS,
    )


@pytest.fixture(scope="session")
def source_image():
    return scene([SOURCE_AT], size=(480, 640))


@pytest.fixture(scope="session")
def target_image():
    return scene([TARGET_AT, OTHER_AT])


def _box_of(x: int, y: int, _seed: int) -> tuple[int, int, int, int]:
    return (x, y, x + FACE_SIZE, y + FACE_SIZE)


def test_the_models_run_through_insightfaces_own_classes(insight, swapper):
    from insightface.model_zoo.arcface_onnx import ArcFaceONNX
    from insightface.model_zoo.inswapper import INSwapper
    from insightface.model_zoo.scrfd import SCRFD

    assert isinstance(insight._detector, SCRFD)
    assert isinstance(insight._recogniser, ArcFaceONNX)
    assert isinstance(swapper._swapper, INSwapper)
    assert isinstance(insight, FaceAnalyser) and insight.name == "insightface"
    assert isinstance(swapper, SwapEngine) and swapper.name == "insightface"
    assert insight.providers == PROVIDERS


def test_detection_finds_each_planted_face_with_its_key_points(insight, target_image):
    faces = insight.detect(target_image)

    assert sorted(face.box for face in faces) == sorted([_box_of(*TARGET_AT), _box_of(*OTHER_AT)])
    for face in faces:
        assert face.score > 0.9
        assert face.landmarks is None  # no 68 points: liveness stays on the classic engine
        assert face.embedding is None
        assert face.kps.shape == (5, 2) and face.kps.dtype == np.float32
        x0, y0, x1, y1 = face.box
        assert np.all((face.kps >= (x0, y0)) & (face.kps <= (x1, y1)))
        left_eye, right_eye, nose, mouth_left, mouth_right = face.kps
        assert left_eye[0] < nose[0] < right_eye[0]
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


@pytest.mark.parametrize("side", [96, 224, 352])
def test_faces_of_other_sizes_are_found_with_their_own_box(insight, side):
    faces = insight.detect(scene([(64, 96, 4, side)]))

    assert [face.box for face in faces] == [(64, 96, 64 + side, 96 + side)]


def test_a_picture_without_a_face_gives_no_detection(insight):
    assert insight.detect(scene([])) == []


def test_detection_maps_boxes_back_from_the_detectors_input_size(insight):
    big = np.repeat(np.repeat(scene([TARGET_AT]), 2, axis=0), 2, axis=1)  # 1280x960

    faces = insight.detect(big)

    assert [face.box for face in faces] == [tuple(2 * v for v in _box_of(*TARGET_AT))]


def test_embeddings_are_unit_float32_vectors_of_512(insight, target_image):
    face = insight.detect(target_image)[0]

    embedding = insight.embed(target_image, face)

    assert embedding.shape == (512,) and embedding.dtype == np.float32
    assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-5


def test_the_same_face_elsewhere_matches_and_another_does_not(insight, target_image):
    moved = scene([(416, 288, TARGET_AT[2])])
    faces = {face.box: face for face in insight.detect(target_image)}
    here = insight.embed(target_image, faces[_box_of(*TARGET_AT)])
    other = insight.embed(target_image, faces[_box_of(*OTHER_AT)])
    there = insight.embed(moved, insight.detect(moved)[0])

    assert embedding_distance(here, there) < 0.05
    assert embedding_distance(here, other) > insight.embedding_threshold


def test_the_swap_changes_the_target_face_and_nothing_far_from_it(
    insight, swapper, source_image, target_image
):
    source_face = insight.detect(source_image)[0]
    target_face = next(f for f in insight.detect(target_image) if f.box == _box_of(*TARGET_AT))
    before = target_image.copy()

    out = swapper.swap(source_image, source_face, target_image, target_face)

    assert out.shape == target_image.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(target_image, before)  # the input is left alone
    x0, y0, x1, y1 = target_face.box
    change = np.abs(out.astype(int) - target_image.astype(int)).mean(axis=2)
    assert change[y0 + 40 : y1 - 40, x0 + 40 : x1 - 40].mean() > 20
    far = np.ones(change.shape, bool)
    far[max(0, y0 - 40) : y1 + 40, max(0, x0 - 40) : x1 + 40] = False
    assert change[far].max() == 0  # the other face and the background are untouched


def test_the_swapped_face_depends_on_the_source_identity(
    insight, swapper, source_image, target_image
):
    target_face = insight.detect(target_image)[0]
    other_source = scene([(160, 224, 9)], size=(480, 640))

    first = swapper.swap(source_image, insight.detect(source_image)[0], target_image, target_face)
    second = swapper.swap(other_source, insight.detect(other_source)[0], target_image, target_face)

    x0, y0, x1, y1 = target_face.box
    inner = (slice(y0 + 40, y1 - 40), slice(x0 + 40, x1 - 40))
    assert np.abs(first[inner].astype(int) - second[inner].astype(int)).mean() > 10


def test_a_given_embedding_and_one_computed_by_the_analyser_swap_the_same(
    insight, swapper, source_image, target_image
):
    from dataclasses import replace

    source_face = insight.detect(source_image)[0]
    with_embedding = replace(source_face, embedding=insight.embed(source_image, source_face))
    target_face = insight.detect(target_image)[0]

    computed = swapper.swap(source_image, source_face, target_image, target_face)
    given = swapper.swap(source_image, with_embedding, target_image, target_face)

    np.testing.assert_array_equal(computed, given)


@pytest.mark.parametrize("shift", [(0, 0), (-160, -160), (448, 256), (520, -100)])
def test_pasting_back_around_the_face_matches_insightfaces_whole_image_paste(
    insight, swapper, source_image, target_image, shift
):
    """The engine hands INSwapper only the part of the frame the face can reach; the result is
    insightface's own whole-frame paste, up to rounding, also for faces cut by the frame."""
    from dataclasses import replace

    from insightface.app.common import Face as InsightFace

    source_face = insight.detect(source_image)[0]
    latent = insight.embed(source_image, source_face)
    face = next(f for f in insight.detect(target_image) if f.box == _box_of(*TARGET_AT))
    kps = face.kps + np.array(shift, np.float32)
    x0, y0, x1, y1 = (v + d for v, d in zip(face.box, shift * 2, strict=True))
    box = (max(0, x0), max(0, y0), min(640, x1), min(480, y1))
    moved = replace(face, kps=kps, box=box)
    noise = np.random.default_rng(5).integers(0, 256, target_image.shape, dtype=np.uint8)

    ours = swapper.swap(source_image, source_face, noise, moved)
    whole = swapper._swapper.get(
        noise, InsightFace(kps=kps), InsightFace(embedding=latent), paste_back=True
    )

    assert np.abs(ours.astype(int) - whole.astype(int)).max() <= 2
    assert not np.array_equal(ours, noise)


def test_a_face_with_nothing_in_the_picture_is_left_as_it_is(insight, swapper, source_image):
    from dataclasses import replace

    target = scene([])
    source_face = insight.detect(source_image)[0]
    gone = replace(source_face, box=(0, 0, 0, 0))

    assert np.array_equal(swapper.swap(source_image, source_face, target, gone), target)


def test_a_still_swap_job_runs_on_the_insightface_pair_and_is_labelled(
    insight, swapper, source_image
):
    import cv2

    from swap.engines.label import read_png_provenance
    from swap.engines.video import swap_image

    target_image = scene([TARGET_AT])  # swap_image takes the best face: let there be one
    ok, png = cv2.imencode(".png", target_image)
    source_face = insight.detect(source_image)[0]

    out = swap_image(
        source_image, source_face, png.tobytes(), swapper, insight, job_id="job-insight"
    )

    picture = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape == target_image.shape
    x0, y0, x1, y1 = _box_of(*TARGET_AT)
    inner = (slice(y0 + 40, y1 - 40), slice(x0 + 40, x1 - 40))
    assert np.abs(picture[inner].astype(int) - target_image[inner].astype(int)).mean() > 20
    provenance = read_png_provenance(out)
    assert provenance["engine"] == "insightface" and provenance["job_id"] == "job-insight"


def test_a_clip_swap_job_tracks_the_face_with_the_insightface_analyser(
    insight, swapper, source_image
):
    from swap.engines.video import iter_frames, swap_video
    from tests.swap.conftest import encode_clip

    frames = [scene([(96 + 32 * i, 128, TARGET_AT[2])]) for i in range(6)]  # moving right
    progress: list[int] = []

    out = swap_video(
        source_image,
        insight.detect(source_image)[0],
        encode_clip(frames),
        swapper,
        insight,
        job_id="clip-insight",
        on_progress=progress.append,
        should_stop=lambda: False,
    )

    swapped = list(iter_frames(out))
    assert len(swapped) == len(frames) and progress[-1] == 100
    for i, (before, after) in enumerate(zip(frames, swapped, strict=True)):
        x0, y0 = 96 + 32 * i + 40, 128 + 40
        inner = (slice(y0, y0 + FACE_SIZE - 80), slice(x0, x0 + FACE_SIZE - 80))
        assert np.abs(after[inner].astype(int) - before[inner].astype(int)).mean() > 20


def test_the_insightface_modules_import_no_django_and_load_insightface_only_when_used():
    code = (
        "import sys, biometrics.analysis.insight, swap.engines.inswapper\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'compliance_site', 'consent', 'audit', 'insightface', "
        "'onnxruntime'})\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == ""


def test_the_gui_build_of_opencv_is_not_installed_next_to_the_headless_one():
    from importlib import metadata

    names = {dist.metadata["Name"].lower() for dist in metadata.distributions()}

    assert "opencv-python-headless" in names
    assert "insightface" in names
    assert not names & {"opencv-python", "opencv-contrib-python"}
