"""Face analysis: detection, landmarks, embeddings and the liveness check. Pure: no Django.

This package's public surface is this module and its ``__all__``; other apps import nothing
else from it (its submodules are its own).

``ANALYSERS`` holds the factory of each analyser by name; ``get_analyser(name)`` returns the
process-wide analyser of that name, built on first use. Which one is in use is not decided
here: the app that owns the face engine table plugs its choice in at start-up
(``choose_analyser``), and ``analyser_in_use()`` answers with it. Analysers that need
settings (``insightface``: model files, checksums, licence) get them from ``configure()``, which
the Django side calls at start-up with the ``SETTING_NAMES`` values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from .errors import AnalysisError
from .images import decode_image, sniff_image
from .insight import SETTING_NAMES as ENGINE_SETTING_NAMES
from .insight import (
    EngineSetupError,
    ModelSettings,
    check_licence,
    load_model,
    select_providers,
    verify_analysis_models,
    verify_file,
)
from .pad import SETTING_NAMES as PAD_SETTING_NAMES
from .pad import PadModel, PadSettings
from .types import Face, FaceAnalyser, embedding_distance, keypoints_from_68
from .video import CODECS as VIDEO_CODECS
from .video import DecodedVideo, VideoLimits, decode_video, sniff_video

__all__ = [
    "ANALYSERS",
    "SETTING_NAMES",
    "VIDEO_CODECS",
    "AnalysisError",
    "DecodedVideo",
    "EngineSetupError",
    "Face",
    "FaceAnalyser",
    "ModelSettings",
    "PadModel",
    "VideoLimits",
    "analyser_in_use",
    "check_licence",
    "choose_analyser",
    "configuration",
    "configure",
    "decode_image",
    "decode_video",
    "embedding_distance",
    "get_analyser",
    "get_pad",
    "keypoints_from_68",
    "load_model",
    "model_settings",
    "select_providers",
    "sniff_image",
    "sniff_video",
    "verify_analysis_models",
    "verify_file",
]

DEFAULT_ANALYSER = "classic"
# Every setting ``configure`` takes: the face engines' and the optional PAD model's.
SETTING_NAMES = ENGINE_SETTING_NAMES + PAD_SETTING_NAMES

_analysers: dict[str, FaceAnalyser] = {}
_lock = threading.Lock()
_config: dict[str, Any] = {}
_choice: list[Callable[[], str]] = [lambda: DEFAULT_ANALYSER]
_pad: list[PadModel | None] = []  # [] until first asked for; [None] when off


def configure(config: Mapping[str, Any]) -> None:
    """Hand over the analysers' settings (``SETTING_NAMES`` → value), read when an analyser is
    first built. This package imports no Django; its Django app calls this in ``ready()``."""
    _config.clear()
    _config.update({name: config.get(name) for name in SETTING_NAMES})
    with _lock:
        _pad.clear()  # read again with these settings


def configuration() -> dict[str, Any]:
    """A copy of what ``configure`` was given."""
    return dict(_config)


def model_settings() -> ModelSettings:
    """The insightface models' settings, parsed (``EngineSetupError`` on a malformed one)."""
    return ModelSettings.from_config(_config)


def _classic() -> FaceAnalyser:
    from .classic import ClassicAnalyser  # dlib loads only when first asked for

    return ClassicAnalyser()


def _insightface() -> FaceAnalyser:
    from .insight import InsightFaceAnalyser  # onnxruntime loads only when first asked for

    return InsightFaceAnalyser.from_settings(model_settings())


# Each analyser's factory by name: the only list of analysers there is.
ANALYSERS: dict[str, Callable[[], FaceAnalyser]] = {
    "classic": _classic,
    "insightface": _insightface,
}


def get_analyser(name: str = DEFAULT_ANALYSER) -> FaceAnalyser:
    """The shared analyser for ``name``, built once per process (thread-safe)."""
    analyser = _analysers.get(name)
    if analyser is not None:
        return analyser
    if name not in ANALYSERS:
        raise ValueError(f"unknown analyser {name!r}; known: {', '.join(ANALYSERS)}")
    with _lock:
        if name not in _analysers:
            _analysers[name] = ANALYSERS[name]()
        return _analysers[name]


def choose_analyser(choice: Callable[[], str]) -> None:
    """Plug in what names the analyser in use (a key of ``ANALYSERS``). It is asked on every
    ``analyser_in_use()``, so it follows its setting; until one is plugged in, ``classic``."""
    _choice[0] = choice


def analyser_in_use() -> FaceAnalyser:
    """The analyser of the face engine in use: captures are embedded with it, and whatever
    uses them later finds faces with it. (The liveness check always runs ``classic``: it needs
    the 68 landmarks.)"""
    return get_analyser(_choice[0]())


def get_pad() -> PadModel | None:
    """The operator's passive presentation-attack model (``pad.py``), checked and loaded once
    per process; ``None`` when none is configured (the default)."""
    with _lock:
        if not _pad:
            settings = PadSettings.from_config(_config)
            _pad.append(PadModel(settings) if settings.enabled else None)
        return _pad[0]
