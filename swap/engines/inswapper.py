"""The ``insightface`` swap engine: ``inswapper_128.onnx`` on onnxruntime, pasted back.

The model lives in its own file (``FACE_SWAP_MODEL_PATH``), apart from the analysis models:
insightface's ``FaceAnalysis`` would take an inswapper lying in its folder for a recogniser.
Its SHA-256 is checked before it is loaded, and the operator's licence acknowledgement is
required, as for the analysis models (``biometrics.analysis``' insightface analyser).

insightface's ``INSwapper`` aligns the target face on its 5 key points (128x128), runs the
model with the source's ArcFace embedding (float32, mapped through the model's ``emap``), and
pastes the result back with a soft mask. It prints its input shape when built; that print is
swallowed. The source embedding comes from the insightface analyser; the same source face is
swapped into every frame of a clip, so its embedding is computed once per ``Face`` object.
"""

from __future__ import annotations

import contextlib
import io
import threading
import weakref
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from biometrics.analysis import (
    EngineSetupError,
    Face,
    FaceAnalyser,
    ModelSettings,
    check_licence,
    load_model,
    select_providers,
    verify_file,
)

from .classic import _check_image  # the same checks as the classic engine's

EMBEDDING_SIZE = 512
_print_lock = threading.Lock()


class InSwapperEngine:
    """Paints the source identity onto the target face with inswapper. Thread-safe."""

    name = "insightface"

    def __init__(
        self,
        *,
        model_path: str,
        sha256: str,
        licence_accepted: str,
        analyser: FaceAnalyser,
        providers: Sequence[str] | None = None,
    ):
        self.licence = check_licence(licence_accepted)
        path = _verified_model(model_path, sha256)
        self.providers = select_providers(providers)
        self.analyser = analyser
        self._swapper = _quietly(lambda: load_model(path, self.providers))
        if type(self._swapper).__name__ != "INSwapper":
            raise EngineSetupError(f"{path.name} is not an inswapper model (by its signature)")
        self._embeddings: weakref.WeakKeyDictionary[Face, np.ndarray] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: ModelSettings, analyser: FaceAnalyser) -> InSwapperEngine:
        return cls(
            model_path=settings.swap_model,
            sha256=settings.swap_sha256,
            licence_accepted=settings.licence,
            analyser=analyser,
            providers=settings.providers,
        )

    def swap(
        self,
        source_image_bgr: np.ndarray,
        source_face: Face,
        target_bgr: np.ndarray,
        target_face: Face,
    ) -> np.ndarray:
        from insightface.app.common import Face as InsightFace

        _check_image(source_image_bgr, "source")
        _check_image(target_bgr, "target")
        if target_face.area <= 0 or np.shape(target_face.kps) != (5, 2):
            return target_bgr.copy()  # nothing of the face is in the picture
        latent = self._source_embedding(source_image_bgr, source_face)
        kps = np.asarray(target_face.kps, np.float32)
        x0, y0, x1, y1 = _work_rect(kps, self._swapper.input_size[0], target_bgr.shape)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return target_bgr.copy()
        # INSwapper pastes back over the whole image it is given (three full-size warps, an
        # erosion and two blurs); given only the crop its aligned face can reach, it does the
        # same work on a fraction of a video frame; the result differs by rounding only.
        crop = target_bgr[y0:y1, x0:x1]
        target = InsightFace(kps=kps - np.array([x0, y0], np.float32))
        pasted = self._swapper.get(crop, target, InsightFace(embedding=latent), paste_back=True)
        out = target_bgr.copy()
        out[y0:y1, x0:x1] = pasted
        return out

    def _source_embedding(self, image: np.ndarray, face: Face) -> np.ndarray:
        """The source's 512-d float32 ArcFace embedding: the face's own, or computed once."""
        given = face.embedding
        if given is not None and np.shape(given) == (EMBEDDING_SIZE,):
            return np.asarray(given, dtype=np.float32)
        with self._lock:
            cached = self._embeddings.get(face)
        if cached is None:
            cached = self.analyser.embed(image, face)
            with self._lock:
                self._embeddings[face] = cached
        return cached


def verify_swap_model(settings: ModelSettings) -> Path:
    """What ``InSwapperEngine`` checks before it loads the model, without loading it: the
    licence acknowledgement, the path and the file's SHA-256 (``EngineSetupError`` otherwise)."""
    check_licence(settings.licence)
    return _verified_model(settings.swap_model, settings.swap_sha256)


def _verified_model(model_path: str, sha256: str) -> Path:
    path = Path(model_path)
    if not model_path or not path.is_absolute():
        raise EngineSetupError(
            f"FACE_SWAP_MODEL_PATH must be an absolute path to a file, not {model_path!r}"
        )
    return verify_file(path, sha256, "FACE_SWAP_MODEL_SHA256")


def _work_rect(kps: np.ndarray, size: int, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """The part of the image that the aligned ``size`` x ``size`` face maps back onto, with a
    margin, clipped to the image: outside it INSwapper's paste-back mask is zero."""
    import cv2
    from insightface.utils import face_align

    inverse = cv2.invertAffineTransform(face_align.estimate_norm(kps, size))
    corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
    mapped = corners @ inverse.T
    margin = 0.1 * float(np.ptp(mapped, axis=0).max()) + 4
    low = np.floor(mapped.min(axis=0) - margin).astype(int)
    high = np.ceil(mapped.max(axis=0) + margin).astype(int)
    height, width = shape[:2]
    return (
        max(0, int(low[0])),
        max(0, int(low[1])),
        min(width, int(high[0])),
        min(height, int(high[1])),
    )


def _quietly(build):
    """``build()`` with stdout swallowed: ``INSwapper`` prints its shape when constructed.
    The redirect is process-wide while it lasts, hence the lock (it happens once per process)."""
    with _print_lock, contextlib.redirect_stdout(io.StringIO()):
        return build()
