"""One engine table (``swap.engines.ENGINES``): FACE_ENGINE picks the analyser that captures,
templates and swaps use and the swap implementation, and a system check refuses to start on a
name not in the table, an entry naming an analyser biometrics lacks, or an engine that cannot
be set up."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from biometrics import analysis
from biometrics.analysis import ANALYSERS, analyser_in_use, get_analyser
from swap import engines
from swap.checks import face_engine_check
from swap.engines import ENGINES, Engine, engine_named, get_engine
from tests import onnx_models
from tests.onnx_models import RECOGNISER_FILE

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("face-models")
    return onnx_models.write_models(root / "buffalo_l", root / "inswapper")


def _model_config(models, **overrides) -> dict:
    return {
        "FACE_MODEL_DIR": str(models.analysis_dir),
        "FACE_MODEL_SHA256": ",".join(f"{n}={d}" for n, d in models.analysis_sha256.items()),
        "FACE_SWAP_MODEL_PATH": str(models.swap_model),
        "FACE_SWAP_MODEL_SHA256": models.swap_sha256,
        "FACE_ONNX_PROVIDERS": ["CPUExecutionProvider"],
        "FACE_MODEL_LICENSE_ACCEPTED": "insightface-non-commercial",
    } | overrides


@pytest.fixture
def face_settings():
    """Hands the analysis package other model settings, as start-up would; restored after."""
    before = analysis.configuration()
    yield analysis.configure
    analysis.configure(before)


def test_every_engine_names_an_analyser_biometrics_has_and_the_default_is_in_the_table(settings):
    assert all(engine.analyser in ANALYSERS for engine in ENGINES.values())
    assert settings.FACE_ENGINE == "classic" and "classic" in ENGINES
    assert face_engine_check() == []


def test_the_analyser_in_use_follows_face_engine_through_the_table(settings, models, face_settings):
    face_settings(_model_config(models))
    assert analyser_in_use() is get_analyser("classic")

    settings.FACE_ENGINE = "insightface"

    assert analyser_in_use() is get_analyser(ENGINES["insightface"].analyser)
    assert analyser_in_use().name == "insightface"
    assert get_engine(settings.FACE_ENGINE).analyser is analyser_in_use()


def test_an_unknown_face_engine_fails_the_check_and_names_the_known_ones(settings):
    settings.FACE_ENGINE = "deepfakes"

    (error,) = face_engine_check()

    assert error.id == "swap.E001" and "'deepfakes'" in error.msg
    assert "classic, insightface" in error.hint
    with pytest.raises(ValueError, match="unknown face engine 'deepfakes'"):
        engine_named("deepfakes")
    with pytest.raises(ValueError, match="unknown face engine"):
        analyser_in_use()  # at run time too, never a silent fallback


def test_an_entry_naming_an_analyser_biometrics_lacks_fails_the_check(monkeypatch):
    broken = Engine(analyser="arcface", build=lambda analyser: None, check=lambda: None)
    monkeypatch.setitem(engines.ENGINES, "custom", broken)

    (error,) = face_engine_check()

    assert error.id == "swap.E002"
    assert "'custom'" in error.msg and "'arcface'" in error.msg
    assert "classic, insightface" in error.hint


def test_an_insightface_engine_without_a_licence_fails_the_check(settings, models, face_settings):
    settings.FACE_ENGINE = "insightface"
    face_settings(_model_config(models, FACE_MODEL_LICENSE_ACCEPTED=""))

    (error,) = face_engine_check()

    assert error.id == "swap.E003" and "FACE_MODEL_LICENSE_ACCEPTED" in error.msg


@pytest.mark.parametrize(
    ("broken", "named"),
    [
        ({"FACE_MODEL_DIR": ""}, "FACE_MODEL_DIR must be an absolute path"),
        ({"FACE_MODEL_DIR": "/nonexistent/buffalo_l"}, "is not a folder"),
        ({"FACE_MODEL_SHA256": ""}, "FACE_MODEL_SHA256 is empty"),
        ({"FACE_MODEL_SHA256": "det_10g.onnx"}, "not file=sha256"),
        ({"FACE_SWAP_MODEL_PATH": "inswapper_128.onnx"}, "FACE_SWAP_MODEL_PATH must be an abs"),
        ({"FACE_SWAP_MODEL_SHA256": "0" * 64}, "FACE_SWAP_MODEL_SHA256: .* has sha256"),
        ({"FACE_ONNX_PROVIDERS": ["NoSuchExecutionProvider"]}, "FACE_ONNX_PROVIDERS"),
    ],
)
def test_an_insightface_engine_that_cannot_be_set_up_fails_the_check(
    settings, models, face_settings, broken, named
):
    settings.FACE_ENGINE = "insightface"
    face_settings(_model_config(models, **broken))

    (error,) = face_engine_check()

    assert error.id == "swap.E003"
    assert re.search(named, error.msg)


def test_a_tampered_model_file_fails_the_check(settings, models, face_settings, tmp_path):
    folder = tmp_path / "buffalo_l"
    shutil.copytree(models.analysis_dir, folder)
    with (folder / RECOGNISER_FILE).open("ab") as tampered:
        tampered.write(b"\0")
    settings.FACE_ENGINE = "insightface"
    face_settings(_model_config(models, FACE_MODEL_DIR=str(folder)))

    (error,) = face_engine_check()

    assert error.id == "swap.E003"
    assert RECOGNISER_FILE in error.msg and "refusing to load it" in error.msg


def test_a_fully_set_up_insightface_engine_passes_the_check(settings, models, face_settings):
    settings.FACE_ENGINE = "insightface"
    face_settings(_model_config(models))

    assert face_engine_check() == []


def test_manage_py_refuses_to_start_with_an_unknown_face_engine():
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="compliance_site.settings.test")

    def check(engine: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", "check"],
            cwd=ROOT,
            env=env | {"FACE_ENGINE": engine},
            capture_output=True,
            text=True,
            timeout=120,
        )

    refused, started = check("deepfakes"), check("classic")

    assert refused.returncode == 1 and "swap.E001" in refused.stderr
    assert started.returncode == 0, started.stderr


def test_a_wsgi_or_worker_process_refuses_to_start_with_an_unknown_face_engine():
    # gunicorn and Celery run no system checks: loading the apps alone must refuse.
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="compliance_site.settings.test")
    started = subprocess.run(
        [sys.executable, "-c", "from compliance_site.wsgi import application"],
        cwd=ROOT,
        env=env | {"FACE_ENGINE": "deepfakes"},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert started.returncode != 0
    assert "swap.E001" in started.stderr and "ImproperlyConfigured" in started.stderr
