"""The optional passive presentation-attack (PAD) model: off by default; when the operator
provides one, it is gated like the face engines (licence, absolute path, SHA-256, signature)
and its verdict can refuse a capture that passed the liveness challenge.

The model here is a tiny synthetic ONNX file with MiniFASNet's signature (one (N, 3, 80, 80)
input, three class logits out) whose answer is fixed by its bias: no real PAD weights exist on
these machines.
"""

from __future__ import annotations

import hashlib

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from biometrics import analysis
from biometrics.analysis import EngineSetupError, get_pad
from biometrics.checks import pad_model_check
from biometrics.models import Capture
from tests.erasure.kit import client_for, enrol

pytestmark = pytest.mark.django_db


def write_model(path, *, logits=(0.0, 8.0, 0.0), classes=3, size=80):
    """A model whose class logits are ``logits`` whatever the face: 0 x the channel means, plus
    a bias. ``classes=1`` gives a wrong signature."""
    weights = helper.make_tensor("w", TensorProto.FLOAT, [3, classes], [0.0] * 3 * classes)
    bias = helper.make_tensor("b", TensorProto.FLOAT, [classes], list(logits)[:classes])
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
            helper.make_node("MatMul", ["means", "w"], ["scaled"]),
            helper.make_node("Add", ["scaled", "b"], ["logits"]),
        ],
        "pad",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", classes])],
        initializer=[weights, bias],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pad_settings(tmp_path):
    """``pad_settings(**overrides)`` configures the analysis package with a PAD model (restored
    afterwards)."""
    before = analysis.configuration()

    def configure(**overrides):
        path, digest = write_model(tmp_path / "pad.onnx", **overrides.pop("model", {}))
        config = {
            **before,
            "LIVENESS_PAD_MODEL_PATH": str(path),
            "LIVENESS_PAD_MODEL_SHA256": digest,
            "LIVENESS_PAD_LICENSE_ACCEPTED": "operator-pad-licence-1",
            "FACE_ONNX_PROVIDERS": ["CPUExecutionProvider"],
            **overrides,
        }
        analysis.configure(config)
        return config

    yield configure
    analysis.configure(before)


@pytest.fixture
def api(alice, grant_consent):
    grant_consent(alice, "biometric_enrolment")
    return client_for(alice)


def test_there_is_no_pad_model_by_default():
    assert get_pad() is None


def test_a_pad_model_that_finds_the_face_real_lets_the_capture_through(
    api, capture_media, pad_settings
):
    pad_settings()

    response = enrol(api, capture_media)

    assert response.status_code == 201, response.content
    assert response.json()["liveness"]["scores"]["pad_real"] > 0.99


def test_a_pad_model_that_finds_an_attack_refuses_the_capture(api, capture_media, pad_settings):
    pad_settings(LIVENESS_PAD_REAL_INDEX=0)  # the "real" class now always loses

    response = enrol(api, capture_media)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "presentation_attack"
    assert body["new_challenge_required"] is True
    assert body["liveness"]["scores"]["pad_real"] < 0.01
    assert not Capture.objects.exists()


def test_the_pad_model_scores_the_face_crop_as_the_real_class(pad_settings, astronaut, analyser):
    pad_settings()
    face = analyser.detect(astronaut)[0]

    score = get_pad().score(astronaut, face.box)

    assert score == pytest.approx(np.exp(8) / (np.exp(8) + 2), rel=1e-4)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"LIVENESS_PAD_LICENSE_ACCEPTED": ""}, "LIVENESS_PAD_LICENSE_ACCEPTED"),
        ({"LIVENESS_PAD_MODEL_SHA256": "0" * 64}, "refusing to load it"),
        ({"LIVENESS_PAD_MODEL_SHA256": "abc"}, "64 hex digits"),
        ({"LIVENESS_PAD_MODEL_PATH": "pad.onnx"}, "must be absolute"),
        ({"model": {"classes": 1}}, "(N, K) output"),
        ({"model": {"size": "H"}}, "(N, 3, H, W)"),
    ],
    ids=["no-licence", "wrong-checksum", "bad-checksum", "relative-path", "one-class", "any-size"],
)
def test_a_pad_model_is_refused_unless_licensed_checksummed_and_of_the_right_signature(
    pad_settings, overrides, message
):
    pad_settings(**overrides)

    with pytest.raises(EngineSetupError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_pad()


def test_a_misconfigured_pad_model_fails_the_start_up_check(pad_settings):
    assert pad_model_check() == []  # none configured

    pad_settings(LIVENESS_PAD_MODEL_SHA256="0" * 64)

    errors = pad_model_check()
    assert [error.id for error in errors] == ["biometrics.E001"]
    assert "refusing to load it" in errors[0].msg
