"""Face engines, face-swap implementations and output labelling. Pure: no Django, no models.

``ENGINES`` is the one engine table: each ``FACE_ENGINE`` value names the analyser that finds
and embeds faces (a name in ``biometrics.analysis.ANALYSERS``), the factory of its swap
implementation, and the check that says, without loading a model, whether it can start.
``get_engine()`` returns the process-wide swap implementation; ``swap_image`` and
``swap_video`` (``.video``) run the whole job (detect, swap, label, provenance).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from biometrics.analysis import FaceAnalyser, get_analyser, model_settings, verify_analysis_models

from .base import SwapEngine
from .errors import SwapCancelled, SwapError

__all__ = [
    "ENGINES",
    "Engine",
    "SwapCancelled",
    "SwapEngine",
    "SwapError",
    "engine_named",
    "get_engine",
]


@dataclass(frozen=True)
class Engine:
    """One face engine. ``analyser``: a key of ``biometrics.analysis.ANALYSERS``, used for
    captures, templates and swaps alike; ``build``: makes its swap implementation (once per
    process) given that analyser; ``check``: raises ``EngineSetupError`` naming the setting to
    fix when the engine cannot start, loading nothing (the start-up check runs it)."""

    analyser: str
    build: Callable[[FaceAnalyser], SwapEngine]
    check: Callable[[], None]


def _classic(analyser: FaceAnalyser) -> SwapEngine:
    from .classic import ClassicEngine  # works on the 68 landmarks the analyser gave the faces

    return ClassicEngine()


def _nothing_to_check() -> None:
    """The classic engine's models ship inside an installed package: nothing to provide."""


def _insightface(analyser: FaceAnalyser) -> SwapEngine:
    from .inswapper import InSwapperEngine

    # The swap takes its source embedding from the shared analyser: one set of models.
    return InSwapperEngine.from_settings(model_settings(), analyser)


def _check_insightface() -> None:
    from .inswapper import verify_swap_model

    verify_analysis_models(model_settings())
    verify_swap_model(model_settings())


# FACE_ENGINE → engine. To add one: its analyser in biometrics.analysis.ANALYSERS, its swap
# implementation in a module here, and one entry below (README "Engines").
ENGINES: dict[str, Engine] = {
    "classic": Engine(analyser="classic", build=_classic, check=_nothing_to_check),
    "insightface": Engine(analyser="insightface", build=_insightface, check=_check_insightface),
}

_engines: dict[str, SwapEngine] = {}
_lock = threading.Lock()


def engine_named(name: str) -> Engine:
    """The table's entry for ``name``; ``ValueError`` listing the known names otherwise."""
    engine = ENGINES.get(name)
    if engine is None:
        raise ValueError(f"unknown face engine {name!r}; known: {', '.join(ENGINES)}")
    return engine


def get_engine(name: str = "classic") -> SwapEngine:
    """The shared swap implementation of engine ``name``, built once per process (thread-safe)
    with the process's analyser of that engine."""
    engine = _engines.get(name)
    if engine is not None:
        return engine
    entry = engine_named(name)
    analyser = get_analyser(entry.analyser)
    with _lock:
        if name not in _engines:
            _engines[name] = entry.build(analyser)
        return _engines[name]
