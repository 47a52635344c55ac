"""The insightface engines refuse to start, at once and with a message naming the setting to
fix, on a wrong checksum, a missing licence acknowledgement, a missing or empty model folder or
an unavailable provider; they never try the network."""

from __future__ import annotations

import shutil
import socket
import time
import urllib.request

import pytest

from biometrics.analysis.insight import (
    EngineSetupError,
    InsightFaceAnalyser,
    ModelSettings,
    parse_checksums,
    select_providers,
)
from swap.engines.inswapper import InSwapperEngine
from tests import onnx_models
from tests.onnx_models import DETECTOR_FILE, RECOGNISER_FILE, SWAPPER_FILE

pytestmark = pytest.mark.filterwarnings("ignore:`estimate` is deprecated:FutureWarning")

LICENCE = "insightface-non-commercial"
CPU = ["CPUExecutionProvider"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("face-models")
    return onnx_models.write_models(root / "buffalo_l", root / "inswapper")


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to reach the network is recorded and fails at once."""
    attempts: list[str] = []

    def refuse(what):
        def call(*args, **kwargs):
            attempts.append(f"{what} {args[1:2] or args[:1]}")
            raise OSError(f"network blocked: {what}")

        return call

    monkeypatch.setattr(socket.socket, "connect", refuse("connect"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
    monkeypatch.setattr(urllib.request, "urlopen", refuse("urlopen"))
    import requests

    monkeypatch.setattr(requests.Session, "request", refuse("requests"))
    return attempts


def _analyser(models, **overrides):
    kwargs = {
        "model_dir": str(models.analysis_dir),
        "sha256": models.analysis_sha256,
        "licence_accepted": LICENCE,
        "providers": CPU,
    }
    return InsightFaceAnalyser(**(kwargs | overrides))


def _refused_quickly(build, match: str) -> EngineSetupError:
    started = time.monotonic()
    with pytest.raises(EngineSetupError, match=match) as caught:
        build()
    assert time.monotonic() - started < 2.0
    return caught.value


def test_a_missing_model_folder_is_refused_at_once_without_touching_the_network(
    models, tmp_path, no_network
):
    missing = tmp_path / "buffalo_l"

    _refused_quickly(lambda: _analyser(models, model_dir=str(missing)), "is not a folder")

    assert no_network == []
    assert not missing.exists()  # nothing was created, let alone downloaded into it


def test_an_empty_model_folder_is_refused_with_the_missing_file_named(models, tmp_path, no_network):
    error = _refused_quickly(
        lambda: _analyser(models, model_dir=str(tmp_path)), f"{DETECTOR_FILE} is missing"
    )

    assert "no model is ever downloaded" in str(error)
    assert no_network == []


def test_a_relative_or_unset_model_folder_is_refused(models):
    _refused_quickly(lambda: _analyser(models, model_dir="buffalo_l"), "absolute path")
    _refused_quickly(lambda: _analyser(models, model_dir=""), "absolute path")


def test_a_model_file_whose_checksum_differs_is_refused(models, tmp_path):
    folder = tmp_path / "buffalo_l"
    shutil.copytree(models.analysis_dir, folder)
    with (folder / RECOGNISER_FILE).open("ab") as tampered:
        tampered.write(b"\0")

    error = _refused_quickly(lambda: _analyser(models, model_dir=str(folder)), "sha256")

    assert RECOGNISER_FILE in str(error) and "refusing to load it" in str(error)


def test_malformed_or_missing_checksums_are_refused(models):
    bad = dict(models.analysis_sha256, **{DETECTOR_FILE: "abc"})
    _refused_quickly(lambda: _analyser(models, sha256=bad), "64 hex digits")
    _refused_quickly(lambda: _analyser(models, sha256={}), "FACE_MODEL_SHA256 is empty")
    sneaky = {"../inswapper/" + SWAPPER_FILE: models.swap_sha256}
    _refused_quickly(lambda: _analyser(models, sha256=sneaky), "plain file name")
    with pytest.raises(EngineSetupError, match="not file=sha256"):
        parse_checksums("det_10g.onnx")


@pytest.mark.parametrize("licence", ["", "   ", "x"])
def test_the_engines_refuse_to_start_without_a_licence_acknowledgement(models, licence):
    error = _refused_quickly(
        lambda: _analyser(models, licence_accepted=licence), "FACE_MODEL_LICENSE_ACCEPTED"
    )
    assert "non-commercial" in str(error)
    analyser = _analyser(models)
    _refused_quickly(
        lambda: InSwapperEngine(
            model_path=str(models.swap_model),
            sha256=models.swap_sha256,
            licence_accepted=licence,
            analyser=analyser,
            providers=CPU,
        ),
        "FACE_MODEL_LICENSE_ACCEPTED",
    )


def test_the_swap_model_is_checked_against_its_own_checksum(models):
    analyser = _analyser(models)

    def build(path=str(models.swap_model), sha256=models.swap_sha256):
        return InSwapperEngine(
            model_path=path,
            sha256=sha256,
            licence_accepted=LICENCE,
            analyser=analyser,
            providers=CPU,
        )

    _refused_quickly(lambda: build(sha256="0" * 64), "FACE_SWAP_MODEL_SHA256: .* has sha256")
    _refused_quickly(lambda: build(path=SWAPPER_FILE), "FACE_SWAP_MODEL_PATH must be an absolute")
    missing = str(models.swap_model.with_name("gone.onnx"))
    _refused_quickly(lambda: build(path=missing), "is missing")
    wrong_kind = str(models.analysis_dir / DETECTOR_FILE)
    _refused_quickly(
        lambda: build(path=wrong_kind, sha256=models.sha256[DETECTOR_FILE]), "not an inswapper"
    )


def test_only_the_listed_files_are_loaded_and_they_must_be_a_detector_and_a_recogniser(
    models, tmp_path
):
    folder = tmp_path / "buffalo_l"
    shutil.copytree(models.analysis_dir, folder)
    # An inswapper in the analysis folder breaks insightface's FaceAnalysis; unlisted, it is
    # simply never opened here.
    shutil.copy(models.swap_model, folder / SWAPPER_FILE)
    assert _analyser(models, model_dir=str(folder)).name == "insightface"

    listed = dict(models.analysis_sha256, **{SWAPPER_FILE: models.swap_sha256})
    _refused_quickly(
        lambda: _analyser(models, model_dir=str(folder), sha256=listed),
        "exactly one detector",
    )
    only_detector = {DETECTOR_FILE: models.sha256[DETECTOR_FILE]}
    _refused_quickly(lambda: _analyser(models, sha256=only_detector), "one recogniser")


def test_a_provider_that_this_onnxruntime_lacks_is_refused():
    import onnxruntime

    if "TensorrtExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has TensorRT")
    error = _refused_quickly(
        lambda: select_providers(["TensorrtExecutionProvider", "CPUExecutionProvider"]),
        "FACE_ONNX_PROVIDERS: TensorrtExecutionProvider not available",
    )
    assert "CPUExecutionProvider" in str(error)


def test_by_default_the_providers_are_cuda_then_cpu_where_available():
    import onnxruntime

    expected = [
        name
        for name in ("CUDAExecutionProvider", "CPUExecutionProvider")
        if name in onnxruntime.get_available_providers()
    ]
    assert select_providers(None) == expected
    assert expected[-1] == "CPUExecutionProvider"


def test_building_the_swapper_prints_nothing(models, capfd):
    InSwapperEngine(
        model_path=str(models.swap_model),
        sha256=models.swap_sha256,
        licence_accepted=LICENCE,
        analyser=_analyser(models),
        providers=CPU,
    )

    out, _ = capfd.readouterr()
    assert "inswapper-shape" not in out
    assert out == ""


def test_settings_are_read_from_strings_as_the_environment_gives_them(models):
    sums = ",".join(f"{name}={digest}" for name, digest in models.analysis_sha256.items())

    settings = ModelSettings.from_config(
        {
            "FACE_MODEL_DIR": str(models.analysis_dir),
            "FACE_MODEL_SHA256": f" {sums} ,",
            "FACE_ONNX_PROVIDERS": "CPUExecutionProvider",
            "FACE_MODEL_LICENSE_ACCEPTED": LICENCE,
            "FACE_SWAP_MODEL_PATH": str(models.swap_model),
            "FACE_SWAP_MODEL_SHA256": models.swap_sha256.upper(),
        }
    )

    assert settings.sha256 == models.analysis_sha256
    assert settings.providers == ("CPUExecutionProvider",)
    assert settings.swap_sha256 == models.swap_sha256
    assert ModelSettings.from_config({"FACE_ONNX_PROVIDERS": ""}).providers is None
