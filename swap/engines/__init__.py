"""Face-swap engines and output labelling. Pure: no Django, no project models.

``get_engine()`` returns the process-wide engine; ``swap_image`` and ``swap_video`` run the
whole job (detect, swap, label, provenance) on a still or a clip.
"""

from __future__ import annotations

import threading

from .base import SwapEngine
from .errors import SwapCancelled, SwapError

__all__ = ["ENGINES", "SwapCancelled", "SwapEngine", "SwapError", "get_engine"]

ENGINES = ("classic", "insightface")

_engines: dict[str, SwapEngine] = {}
_lock = threading.Lock()


def get_engine(name: str = "classic") -> SwapEngine:
    """The shared engine for ``name``, built once per process (thread-safe)."""
    engine = _engines.get(name)
    if engine is not None:
        return engine
    with _lock:
        if name not in _engines:
            _engines[name] = _build(name)
        return _engines[name]


def _build(name: str) -> SwapEngine:
    if name == "classic":
        from .classic import ClassicEngine

        return ClassicEngine()
    if name == "insightface":
        from biometrics.analysis import get_analyser, model_settings

        from .inswapper import InSwapperEngine

        # The swap takes its source embedding from the shared analyser: one set of models.
        return InSwapperEngine.from_settings(model_settings(), get_analyser("insightface"))
    raise ValueError(f"unknown swap engine {name!r}; known: {', '.join(ENGINES)}")
