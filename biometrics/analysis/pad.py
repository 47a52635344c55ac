"""An optional passive presentation-attack detector (PAD): an ONNX model the operator provides.

Off by default. The liveness check's challenge and planar check judge how the face moves; a
trained PAD model judges how it looks (print texture, screen moiré, borders). None ships here:
the operator provides one, with the same gate as the face engines (``insight.py``): the
licence they hold for it (``LIVENESS_PAD_LICENSE_ACCEPTED``), an absolute path
(``LIVENESS_PAD_MODEL_PATH``) and its SHA-256 (``LIVENESS_PAD_MODEL_SHA256``), checked before
onnxruntime opens it; nothing is ever downloaded.

Signature (that of the MiniFASNet anti-spoofing models, e.g. "2.7_80x80_MiniFASNetV2"): one
float32 input ``(N, 3, H, W)`` — a BGR face crop, ``crop_scale`` times the face box, resized to
H×W, values 0-255 — and one output ``(N, K)`` of logits, K ≥ 2, with the "real" class at
``real_index`` (1 for MiniFASNet: 0 is a print or screen, 2 a 3D mask). The score is the
softmax probability of "real"; a capture needs every scored face at ``threshold`` or above.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .insight import EngineSetupError, check_licence, select_providers, verify_file

# The settings this module reads (README "Engines"); also FACE_ONNX_PROVIDERS.
SETTING_NAMES = (
    "LIVENESS_PAD_MODEL_PATH",
    "LIVENESS_PAD_MODEL_SHA256",
    "LIVENESS_PAD_LICENSE_ACCEPTED",
    "LIVENESS_PAD_THRESHOLD",
    "LIVENESS_PAD_REAL_INDEX",
    "LIVENESS_PAD_CROP_SCALE",
)


@dataclass(frozen=True)
class PadSettings:
    """The ``LIVENESS_PAD_*`` settings; ``enabled`` when a model path is set."""

    model_path: str = ""
    sha256: str = ""
    licence: str = ""
    threshold: float = 0.5
    real_index: int = 1
    crop_scale: float = 2.7
    providers: tuple[str, ...] | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.model_path)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PadSettings:
        providers = config.get("FACE_ONNX_PROVIDERS") or None
        return cls(
            model_path=str(config.get("LIVENESS_PAD_MODEL_PATH") or ""),
            sha256=str(config.get("LIVENESS_PAD_MODEL_SHA256") or "").strip().lower(),
            licence=str(config.get("LIVENESS_PAD_LICENSE_ACCEPTED") or ""),
            threshold=float(_given(config, "LIVENESS_PAD_THRESHOLD", cls.threshold)),
            real_index=int(_given(config, "LIVENESS_PAD_REAL_INDEX", cls.real_index)),
            crop_scale=float(_given(config, "LIVENESS_PAD_CROP_SCALE", cls.crop_scale)),
            providers=tuple(providers) if providers else None,
        )


def _given(config: Mapping[str, Any], name: str, default: Any) -> Any:
    value = config.get(name)
    return default if value is None or value == "" else value


class PadModel:
    """A checked, loaded PAD model. ``score(image, box)`` → probability that the face is real."""

    def __init__(self, settings: PadSettings):
        import onnxruntime

        check_licence_pad(settings.licence)
        path = Path(settings.model_path)
        if not path.is_absolute():
            raise EngineSetupError(f"LIVENESS_PAD_MODEL_PATH must be absolute, not {path}")
        verify_file(path, settings.sha256, "LIVENESS_PAD_MODEL_SHA256")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=select_providers(settings.providers)
            )
        except Exception as exc:  # onnxruntime raises its own types for a file it cannot read
            raise EngineSetupError(
                f"LIVENESS_PAD_MODEL_PATH: {path} is not a model: {exc}"
            ) from exc
        self.settings = settings
        self.input_name, self.size = self._check_signature(settings.real_index)

    def _check_signature(self, real_index: int) -> tuple[str, tuple[int, int]]:
        inputs, outputs = self.session.get_inputs(), self.session.get_outputs()
        shape = list(inputs[0].shape) if len(inputs) == 1 else []
        if len(shape) != 4 or shape[1] != 3 or not all(isinstance(d, int) for d in shape[2:]):
            raise EngineSetupError(
                "LIVENESS_PAD_MODEL_PATH: the model must take one (N, 3, H, W) image input"
            )
        classes = outputs[0].shape[-1] if len(outputs) == 1 and outputs[0].shape else None
        if not isinstance(classes, int) or classes < 2 or not 0 <= real_index < classes:
            raise EngineSetupError(
                "LIVENESS_PAD_MODEL_PATH: the model must give one (N, K) output of class "
                f"logits with K >= 2 and the real class {real_index} among them"
            )
        return inputs[0].name, (int(shape[3]), int(shape[2]))

    def score(self, image_bgr: np.ndarray, box: Sequence[float]) -> float:
        crop = _crop(image_bgr, box, self.settings.crop_scale, self.size)
        batch = np.ascontiguousarray(crop.transpose(2, 0, 1)[None], dtype=np.float32)
        logits = np.asarray(self.session.run(None, {self.input_name: batch})[0], np.float64)[0]
        exp = np.exp(logits - logits.max())
        return float(exp[self.settings.real_index] / exp.sum())


def check_licence_pad(licence: str) -> str:
    try:
        return check_licence(licence)
    except EngineSetupError:
        raise EngineSetupError(
            "set LIVENESS_PAD_LICENSE_ACCEPTED to the id of the licence you hold for the "
            "presentation-attack model file"
        ) from None


def _crop(image: np.ndarray, box: Sequence[float], scale: float, size: tuple[int, int]):
    """The face box grown ``scale`` times about its centre (clipped to the image), resized."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    h, w = image.shape[:2]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side_w, side_h = (x2 - x1) * scale, (y2 - y1) * scale
    left, right = max(0, int(cx - side_w / 2)), min(w, int(cx + side_w / 2))
    top, bottom = max(0, int(cy - side_h / 2)), min(h, int(cy + side_h / 2))
    region = image[top:bottom, left:right]
    if region.size == 0:
        region = image
    return cv2.resize(region, size, interpolation=cv2.INTER_LINEAR)
