"""Face analysis: detection, landmarks, embeddings and the liveness check. Pure: no Django.

``get_analyser()`` returns the process-wide analyser; the models load on first use.
"""

from __future__ import annotations

import threading

from .errors import AnalysisError
from .types import Face, FaceAnalyser, embedding_distance

__all__ = ["ENGINES", "AnalysisError", "Face", "FaceAnalyser", "embedding_distance", "get_analyser"]

ENGINES = ("classic",)

_analysers: dict[str, FaceAnalyser] = {}
_lock = threading.Lock()


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
    raise ValueError(f"unknown face engine {name!r}; known: {', '.join(ENGINES)}")
