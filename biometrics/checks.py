"""Start-up check (``manage.py check``, ``migrate``, ``runserver``...) of the optional passive
presentation-attack model: when ``LIVENESS_PAD_MODEL_PATH`` is set, its licence, checksum and
signature are checked now (the model is loaded once for it), not at a person's first capture."""

from __future__ import annotations

from django.core import checks

from biometrics.analysis import EngineSetupError, get_pad


def pad_model_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        get_pad()
    except EngineSetupError as exc:
        return [
            checks.Error(
                f"The liveness PAD model cannot start: {exc}",
                hint='See the README, "Engines" (LIVENESS_PAD_*), or leave '
                "LIVENESS_PAD_MODEL_PATH empty.",
                id="biometrics.E001",
            )
        ]
    return []
