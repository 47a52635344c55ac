"""The start-up check of the face engine (``manage.py check``, ``migrate``, ``runserver``...):
``FACE_ENGINE`` is in the engine table, every entry names an analyser that biometrics has, and
the chosen engine can start (its settings, model files and checksums; nothing is loaded)."""

from __future__ import annotations

from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from biometrics.analysis import ANALYSERS, EngineSetupError
from swap.engines import ENGINES
from swap.services import face_engine


def register() -> None:
    checks.register(face_engine_check)


def refuse_unknown_engine() -> None:
    name = face_engine()
    if name not in ENGINES:
        raise ImproperlyConfigured(
            f"swap.E001: FACE_ENGINE={name!r} is not a face engine; set one of: "
            f"{', '.join(ENGINES)}."
        )


def face_engine_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = [
        checks.Error(
            f"Face engine {name!r} names analyser {engine.analyser!r}, which biometrics does "
            "not have.",
            hint=f"Analysers: {', '.join(ANALYSERS)} (biometrics.analysis.ANALYSERS).",
            id="swap.E002",
        )
        for name, engine in ENGINES.items()
        if engine.analyser not in ANALYSERS
    ]
    name = face_engine()
    if name not in ENGINES:
        errors.append(
            checks.Error(
                f"FACE_ENGINE={name!r} is not a face engine.",
                hint=f"Set FACE_ENGINE to one of: {', '.join(ENGINES)}.",
                id="swap.E001",
            )
        )
    elif ENGINES[name].analyser in ANALYSERS:
        errors += _setup_errors(name)
    return errors


def _setup_errors(name: str) -> list[checks.CheckMessage]:
    try:
        ENGINES[name].check()
    except EngineSetupError as exc:
        return [
            checks.Error(
                f"FACE_ENGINE={name!r} cannot start: {exc}",
                hint='See the README, "Engines".',
                id="swap.E003",
            )
        ]
    return []
