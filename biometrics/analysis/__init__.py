"""Face analysis: detection, landmarks, embeddings and the liveness check. Pure: no Django.

``get_analyser()`` returns the process-wide analyser; the models load on first use. Engines
that need settings (``insightface``: model files, checksums, licence) get them from
``configure()``, which the Django side calls at start-up with the ``SETTING_NAMES`` values.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .errors import AnalysisError
from .insight import SETTING_NAMES, EngineSetupError, ModelSettings
from .types import Face, FaceAnalyser, embedding_distance

__all__ = [
    "ENGINES",
    "SETTING_NAMES",
    "AnalysisError",
    "EngineSetupError",
    "Face",
    "FaceAnalyser",
    "configure",
    "configuration",
    "embedding_distance",
    "get_analyser",
    "model_settings",
]

ENGINES = ("classic", "insightface")

_analysers: dict[str, FaceAnalyser] = {}
_lock = threading.Lock()
_config: dict[str, Any] = {}


def configure(config: Mapping[str, Any]) -> None:
    """Hand over the engines' settings (``SETTING_NAMES`` → value), read when an engine is
    first built. This package imports no Django; its Django app calls this in ``ready()``."""
    _config.clear()
    _config.update({name: config.get(name) for name in SETTING_NAMES})


def configuration() -> dict[str, Any]:
    """A copy of what ``configure`` was given."""
    return dict(_config)


def model_settings() -> ModelSettings:
    """The insightface engines' settings, parsed (``EngineSetupError`` on a malformed one)."""
    return ModelSettings.from_config(_config)


def get_analyser(name: str = "classic") -> FaceAnalyser:
    """The shared analyser for ``name``, built once per process (thread-safe)."""
    analyser = _analysers.get(name)
    if analyser is not None:
        return analyser
    with _lock:
        if name not in _analysers:
            _analysers[name] = _build(name)
        return _analysers[name]


def _build(name: str) -> FaceAnalyser:
    if name == "classic":
        from .classic import ClassicAnalyser  # dlib loads only when first asked for

        return ClassicAnalyser()
    if name == "insightface":
        from .insight import InsightFaceAnalyser  # onnxruntime loads only when first asked for

        return InsightFaceAnalyser.from_settings(model_settings())
    raise ValueError(f"unknown face engine {name!r}; known: {', '.join(ENGINES)}")
