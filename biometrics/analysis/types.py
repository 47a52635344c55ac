"""Engine-neutral face types: what every face analyser returns.

Two engines sit behind :class:`FaceAnalyser`: ``classic`` (dlib, the default) and
``insightface`` (SCRFD + ArcFace on onnxruntime). Only ``classic`` gives the 68 landmarks
(``Face.landmarks``); an engine without them returns ``None`` there. The liveness check needs
the 68 points (eye aspect ratio and head pose), so it always runs on the classic analyser,
whatever engine computes the embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

Box = tuple[int, int, int, int]

# Order of the 5 key points, as insightface orders them; "left" and "right" are the image's, so
# the first point is the subject's own right eye.
KEYPOINT_NAMES = (
    "eye_image_left",
    "eye_image_right",
    "nose_tip",
    "mouth_image_left",
    "mouth_image_right",
)


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face, in the coordinates of the image it was found in.

    ``box`` is ``(x0, y0, x1, y1)`` clipped to the image; ``kps`` is (5, 2) float32;
    ``landmarks`` is (68, 2) float32 or ``None``; ``embedding`` is a unit-length float32 vector
    or ``None`` until :meth:`FaceAnalyser.embed` is called; ``score`` is the detector's score.
    """

    box: Box
    kps: np.ndarray
    landmarks: np.ndarray | None
    embedding: np.ndarray | None
    score: float

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)


@runtime_checkable
class FaceAnalyser(Protocol):
    """Finds faces and turns one into an embedding. Implementations are thread-safe."""

    name: str
    # Two embeddings closer than this (see ``embedding_distance``) are the same person.
    embedding_threshold: float

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        """Boxes, key points and (when the engine has them) landmarks; best score first."""
        ...

    def embed(self, image_bgr: np.ndarray, face: Face) -> np.ndarray:
        """The unit-length float32 embedding of ``face`` (found in ``image_bgr``)."""
        ...


def normalise(vector: np.ndarray) -> np.ndarray:
    """Unit-length float32 copy of ``vector``."""
    vector = np.asarray(vector, dtype=np.float32).ravel()
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise ValueError("cannot normalise a zero vector")
    return vector / norm


def embedding_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two unit embeddings: 0 (same) to 2 (opposite)."""
    return float(np.linalg.norm(np.asarray(a, np.float32) - np.asarray(b, np.float32)))


def keypoints_from_68(landmarks: np.ndarray) -> np.ndarray:
    """The 5 key points derived from dlib's 68: eye centres, nose tip, mouth corners."""
    pts = np.asarray(landmarks, dtype=np.float32)
    return np.stack(
        [pts[36:42].mean(axis=0), pts[42:48].mean(axis=0), pts[30], pts[48], pts[54]]
    ).astype(np.float32)
