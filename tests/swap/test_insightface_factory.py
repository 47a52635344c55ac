"""FACE_ENGINE=insightface through the factories: settings in, one analyser and one engine per
process out, the engine sharing the analyser's models."""

from __future__ import annotations

import threading

import pytest
from django.conf import settings

from biometrics import analysis
from biometrics.analysis import SETTING_NAMES, get_analyser
from swap.engines import ENGINES, get_engine
from swap.engines.inswapper import InSwapperEngine
from tests import onnx_models

pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")


@pytest.fixture(scope="module")
def configured(tmp_path_factory):
    root = tmp_path_factory.mktemp("face-models")
    models = onnx_models.write_models(root / "buffalo_l", root / "inswapper")
    sums = ",".join(f"{name}={digest}" for name, digest in models.analysis_sha256.items())
    before = analysis.configuration()
    analysis.configure(
        {
            "FACE_MODEL_DIR": str(models.analysis_dir),
            "FACE_MODEL_SHA256": sums,
            "FACE_SWAP_MODEL_PATH": str(models.swap_model),
            "FACE_SWAP_MODEL_SHA256": models.swap_sha256,
            "FACE_ONNX_PROVIDERS": ["CPUExecutionProvider"],
            "FACE_MODEL_LICENSE_ACCEPTED": "insightface-non-commercial",
        }
    )
    yield models
    analysis.configure(before)


def test_django_hands_the_face_settings_to_the_analysis_package_at_start_up():
    assert analysis.configuration() == {name: getattr(settings, name) for name in SETTING_NAMES}
    assert settings.FACE_ENGINE in ENGINES


def test_the_insightface_models_are_loaded_once_per_process(configured):
    seen = []
    threads = [
        threading.Thread(
            target=lambda: seen.append((get_analyser("insightface"), get_engine("insightface")))
        )
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    analysers = {id(pair[0]) for pair in seen}
    engines = {id(pair[1]) for pair in seen}
    assert len(analysers) == 1 and len(engines) == 1
    engine = get_engine("insightface")
    assert isinstance(engine, InSwapperEngine)
    assert engine.analyser is get_analyser("insightface")  # the models are not loaded twice
    assert get_analyser("classic") is not engine.analyser
