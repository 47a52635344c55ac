"""The ``classic`` engine: dlib's HOG detector, 68-point landmarks and 128-d ResNet embeddings.

The model files come with the ``face-recognition-models`` wheel. That package imports
``pkg_resources`` when imported (which newer setuptools no longer ships), so its folder is found
with ``importlib.util.find_spec`` and the package itself is never imported.

Loading the models takes about a second; build one ``ClassicAnalyser`` per process (see
``biometrics.analysis.get_analyser``). The dlib objects are not documented as thread-safe, so
each call holds the instance's lock.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import cv2
import dlib
import numpy as np

from .types import Face, keypoints_from_68, normalise

MODELS_PACKAGE = "face_recognition_models"
LANDMARKS_FILE = "shape_predictor_68_face_landmarks.dat"
EMBEDDING_FILE = "dlib_face_recognition_resnet_model_v1.dat"


def models_dir() -> Path:
    """The folder holding the dlib model files, located without importing their package."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the {MODELS_PACKAGE} package is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "models"
    for name in (LANDMARKS_FILE, EMBEDDING_FILE):
        if not (folder / name).is_file():
            raise RuntimeError(f"{MODELS_PACKAGE} is missing {name}")
    return folder


class ClassicAnalyser:
    """dlib face analysis. Thread-safe; build once per process.

    ``max_side``: larger images are downscaled for the detector only (its boxes are mapped
    back; landmarks and embeddings use the full image). ``upsample``: HOG pyramid upsampling
    (each step halves the smallest face found, ~80 px at 0, and quadruples the time).
    ``retry_upsample``: when nothing is found, try once more with one more upsampling step.
    ``min_score``: detections scoring below it are dropped. dlib's own cut-off of 0 is the
    default: frontal faces score 0.5-2.5 but a head turned 35 degrees can score 0.15, and false
    detections (on clothing, say) score up to ~0.15 too. Faces come best score first; callers
    that count faces should ignore weak extra ones (the liveness check does).
    """

    name = "classic"
    # dlib's raw 128-d descriptors have a norm of about 1.38 (measured: 1.26-1.52), not 1;
    # its documented same-person threshold of 0.6 on raw vectors is about 0.44 on unit ones.
    embedding_threshold = 0.44

    def __init__(
        self,
        *,
        max_side: int = 800,
        upsample: int = 0,
        retry_upsample: bool = True,
        min_score: float = 0.0,
        models: Path | None = None,
    ):
        folder = models or models_dir()
        self.max_side = max_side
        self.upsample = upsample
        self.retry_upsample = retry_upsample
        self.min_score = min_score
        self._lock = threading.Lock()
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(folder / LANDMARKS_FILE))
        self._encoder = dlib.face_recognition_model_v1(str(folder / EMBEDDING_FILE))

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        rgb = _to_rgb(image_bgr)
        small, scale = self._downscaled(rgb)
        with self._lock:
            found = self._run_detector(small, self.upsample)
            if not found and self.retry_upsample:
                found = self._run_detector(small, self.upsample + 1)
            # Landmarks at full resolution: the eyes are small and EAR needs every pixel.
            rects = [(_scaled_rect(rect, 1 / scale), score) for rect, score in found]
            shapes = [(rect, score, self._predictor(rgb, rect)) for rect, score in rects]
        height, width = rgb.shape[:2]
        faces = [_face(rect, score, shape, width, height) for rect, score, shape in shapes]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    def embed(self, image_bgr: np.ndarray, face: Face) -> np.ndarray:
        rgb = _to_rgb(image_bgr)
        with self._lock:
            shape = self._shape_for(rgb, face)
            descriptor = self._encoder.compute_face_descriptor(rgb, shape)
        return normalise(np.array(descriptor, dtype=np.float32))

    def _downscaled(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """The image for the detector: its longer side at most ``max_side``."""
        longest = max(rgb.shape[:2])
        if longest <= self.max_side:
            return rgb, 1.0
        scale = self.max_side / longest
        size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), scale

    def _run_detector(self, rgb: np.ndarray, upsample: int) -> list[tuple[dlib.rectangle, float]]:
        rects, scores, _ = self._detector.run(rgb, upsample, 0.0)
        return [(r, float(s)) for r, s in zip(rects, scores, strict=True) if s >= self.min_score]

    def _shape_for(self, rgb: np.ndarray, face: Face) -> dlib.full_object_detection:
        """A dlib shape at full resolution: from the face's landmarks, or predicted again."""
        x0, y0, x1, y1 = face.box
        rect = dlib.rectangle(int(x0), int(y0), int(x1), int(y1))
        if face.landmarks is None:
            return self._predictor(rgb, rect)
        points = [dlib.point(round(float(x)), round(float(y))) for x, y in face.landmarks]
        return dlib.full_object_detection(rect, points)


def _to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError("expected a BGR uint8 image of shape (h, w, 3)")
    return np.ascontiguousarray(image_bgr[:, :, ::-1])


def _scaled_rect(rect: dlib.rectangle, factor: float) -> dlib.rectangle:
    if factor == 1:
        return rect
    return dlib.rectangle(
        round(rect.left() * factor),
        round(rect.top() * factor),
        round(rect.right() * factor),
        round(rect.bottom() * factor),
    )


def _face(rect, score: float, shape, width: int, height: int) -> Face:
    landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float32)
    box = (
        max(0, rect.left()),
        max(0, rect.top()),
        min(width, rect.right() + 1),
        min(height, rect.bottom() + 1),
    )
    return Face(
        box=box,
        kps=keypoints_from_68(landmarks),
        landmarks=landmarks,
        embedding=None,
        score=score,
    )
