"""The ``insightface`` engine: buffalo_l's SCRFD detector and ArcFace recogniser on onnxruntime.

Nothing is ever downloaded. insightface downloads models when asked for a model *name* whose
folder is missing (and then hangs forever behind a proxy that stalls), and an empty folder gives
a bare ``AssertionError``. So, before any model is constructed, this module checks the operator's
licence acknowledgement, that the model folder is an absolute path to a folder, that every file
named in the checksum list is in it with that SHA-256, and that the execution providers exist.
Only then is each listed file handed to ``insightface.model_zoo.get_model`` by its absolute path
(the call that has no download path): insightface routes it by its ONNX signature, and the
list must come out as exactly one detector and one recogniser. Files in the folder that the list
does not name are never loaded.

The models are loaded once per process (``biometrics.analysis.get_analyser``), and the
detector's fixed-size session is built then too, by one warm-up detection. onnxruntime sessions
may run from several threads at once, so the analyser needs no lock.

This engine has no 68 landmarks (``Face.landmarks`` is ``None``): the liveness check keeps
running on the classic analyser.

Licence: insightface's code is MIT, but its published models (buffalo_l, inswapper) are for
non-commercial research only. The operator names the licence they hold for the model files in
``FACE_MODEL_LICENSE_ACCEPTED`` (``insightface-non-commercial``, or their own licence's id).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .types import Face, normalise

DEFAULT_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
# The licence id of insightface's own terms for its published models.
NON_COMMERCIAL_LICENCE = "insightface-non-commercial"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_LICENCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/+-]{2,127}")
_CHUNK = 1024 * 1024
# The settings the two insightface engines read (README "Engines"); FACE_ENGINE picks them.
SETTING_NAMES = (
    "FACE_MODEL_DIR",
    "FACE_MODEL_SHA256",
    "FACE_SWAP_MODEL_PATH",
    "FACE_SWAP_MODEL_SHA256",
    "FACE_ONNX_PROVIDERS",
    "FACE_MODEL_LICENSE_ACCEPTED",
)


class EngineSetupError(RuntimeError):
    """The engine cannot start: a setting, a model file or its checksum is wrong. The message
    says what to fix. A deployment problem, never the user's: it is not mapped to a 4xx."""


# ---------------------------------------------------------------- settings


@dataclass(frozen=True)
class ModelSettings:
    """The ``FACE_*`` settings both insightface engines need, parsed and checked for form.

    ``from_config`` takes any mapping of setting names to values (Django's settings as a dict,
    or the environment): strings are parsed, lists and dicts taken as they are."""

    model_dir: str
    sha256: Mapping[str, str]
    providers: tuple[str, ...] | None
    licence: str
    swap_model: str
    swap_sha256: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ModelSettings:
        providers = config.get("FACE_ONNX_PROVIDERS") or None
        if isinstance(providers, str):
            providers = [p.strip() for p in providers.split(",") if p.strip()] or None
        sha256 = config.get("FACE_MODEL_SHA256") or {}
        return cls(
            model_dir=str(config.get("FACE_MODEL_DIR") or ""),
            sha256=parse_checksums(sha256) if isinstance(sha256, str) else dict(sha256),
            providers=tuple(providers) if providers else None,
            licence=str(config.get("FACE_MODEL_LICENSE_ACCEPTED") or ""),
            swap_model=str(config.get("FACE_SWAP_MODEL_PATH") or ""),
            swap_sha256=str(config.get("FACE_SWAP_MODEL_SHA256") or "").strip().lower(),
        )


def parse_checksums(text: str) -> dict[str, str]:
    """``"det_10g.onnx=<sha256>,w600k_r50.onnx=<sha256>"`` → ``{file: sha256}``."""
    sums: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, sep, digest = (s.strip() for s in item.partition("="))
        if not sep or not name or not digest:
            raise EngineSetupError(f"FACE_MODEL_SHA256: {item!r} is not file=sha256")
        sums[name] = digest.lower()
    return sums


def check_licence(licence: str) -> str:
    """The operator's licence id, or ``EngineSetupError`` when none was given."""
    licence = licence.strip()
    if not _LICENCE_ID.fullmatch(licence):
        raise EngineSetupError(
            "set FACE_MODEL_LICENSE_ACCEPTED to the id of the licence you hold for the model "
            f"files (e.g. {NON_COMMERCIAL_LICENCE!r}: insightface's published models are for "
            "non-commercial research only; commercial use needs your own licence)"
        )
    return licence


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, expected: str, setting: str) -> Path:
    """``path`` if it is a regular file with SHA-256 ``expected``, else ``EngineSetupError``."""
    if not _SHA256.fullmatch(expected):
        raise EngineSetupError(f"{setting}: the sha256 for {path.name} must be 64 hex digits")
    if not path.is_file():
        raise EngineSetupError(f"{setting}: {path} is missing (no model is ever downloaded)")
    actual = sha256_file(path)
    if actual != expected:
        raise EngineSetupError(
            f"{setting}: {path} has sha256 {actual}, expected {expected}; refusing to load it"
        )
    return path


def verify_folder(folder: str, sha256: Mapping[str, str]) -> list[Path]:
    """The listed model files in ``folder``, each checked against its SHA-256."""
    root = Path(folder)
    if not folder or not root.is_absolute():
        raise EngineSetupError(f"FACE_MODEL_DIR must be an absolute path, not {folder!r}")
    if not root.is_dir():
        raise EngineSetupError(f"FACE_MODEL_DIR {folder} is not a folder (nothing is downloaded)")
    if not sha256:
        raise EngineSetupError(
            "FACE_MODEL_SHA256 is empty: list the detector and the recogniser as file=sha256"
        )
    for name in sha256:
        if Path(name).name != name or name in {".", ".."}:
            raise EngineSetupError(f"FACE_MODEL_SHA256: {name!r} must be a plain file name")
    return [
        verify_file(root / name, digest, "FACE_MODEL_SHA256") for name, digest in sha256.items()
    ]


def verify_analysis_models(settings: ModelSettings) -> list[Path]:
    """Everything ``InsightFaceAnalyser`` checks before it loads a model, without loading one:
    the licence acknowledgement, the folder, each listed file's SHA-256 and the providers. The
    listed files, or ``EngineSetupError`` naming the setting to fix (for a start-up check)."""
    check_licence(settings.licence)
    files = verify_folder(settings.model_dir, settings.sha256)
    select_providers(settings.providers)
    return files


def select_providers(requested: Sequence[str] | None) -> list[str]:
    """The execution providers to run on. Asked for explicitly: each must be available here.
    By default: CUDA when this onnxruntime build has it, then CPU."""
    import onnxruntime

    available = onnxruntime.get_available_providers()
    if requested:
        missing = [name for name in requested if name not in available]
        if missing:
            raise EngineSetupError(
                f"FACE_ONNX_PROVIDERS: {', '.join(missing)} not available here "
                f"(available: {', '.join(available)})"
            )
        return list(requested)
    chosen = [name for name in DEFAULT_PROVIDERS if name in available]
    if not chosen:
        raise EngineSetupError(f"no usable onnxruntime provider (available: {available})")
    return chosen


def load_model(path: Path, providers: Sequence[str]):
    """insightface's model object for ``path`` (routed by its ONNX signature), or ``None``
    when the signature is none that insightface knows. Always an absolute path to a checked
    file: ``get_model`` then never looks for, nor downloads, anything else."""
    import onnxruntime
    from insightface.model_zoo import get_model

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only: not a warning per unused initializer
    try:
        return get_model(str(path), providers=list(providers), sess_options=options)
    except Exception as exc:  # onnxruntime raises its own types for a file it cannot read
        raise EngineSetupError(f"{path.name} cannot be loaded by onnxruntime: {exc}") from exc


# ---------------------------------------------------------------- the analyser


class InsightFaceAnalyser:
    """SCRFD detection (box, score, 5 key points) and ArcFace 512-d embeddings.

    Every check happens before any model is built; any failure is an ``EngineSetupError``
    whose message names the setting to fix. ``det_size``: the detector's input (images are
    letterboxed into it); ``det_thresh``: its score cut-off (buffalo_l's default, 0.5).
    """

    name = "insightface"
    # ArcFace (w600k_r50) on unit vectors: a cosine similarity of 0.36 or more is the same
    # person, i.e. a Euclidean distance under sqrt(2 - 2 * 0.36) = 1.13. Calibrate on your own
    # data before relying on it.
    embedding_threshold = 1.13

    def __init__(
        self,
        *,
        model_dir: str,
        sha256: Mapping[str, str],
        licence_accepted: str,
        providers: Sequence[str] | None = None,
        det_size: tuple[int, int] = (640, 640),
        det_thresh: float = 0.5,
    ):
        self.licence = check_licence(licence_accepted)
        files = verify_folder(model_dir, sha256)
        self.providers = select_providers(providers)
        self.det_size = det_size
        models = _by_task([(path, load_model(path, self.providers)) for path in files])
        self._detector = models["detection"]
        self._recogniser = models["recognition"]
        self._detector.prepare(0, input_size=det_size, det_thresh=det_thresh)
        self._recogniser.prepare(0)
        # Builds the detector's fixed-size session now, not on the first request.
        self.detect(np.zeros((det_size[1], det_size[0], 3), np.uint8))

    @classmethod
    def from_settings(cls, settings: ModelSettings) -> InsightFaceAnalyser:
        return cls(
            model_dir=settings.model_dir,
            sha256=settings.sha256,
            licence_accepted=settings.licence,
            providers=settings.providers,
        )

    def detect(self, image_bgr: np.ndarray) -> list[Face]:
        _check_image(image_bgr)
        boxes, points = self._detector.detect(image_bgr)
        height, width = image_bgr.shape[:2]
        faces = [_face(box, kps, width, height) for box, kps in zip(boxes, points, strict=True)]
        return sorted(faces, key=lambda face: face.score, reverse=True)

    def embed(self, image_bgr: np.ndarray, face: Face) -> np.ndarray:
        from insightface.utils import face_align

        _check_image(image_bgr)
        kps = np.asarray(face.kps, dtype=np.float32)
        if kps.shape != (5, 2):
            raise ValueError("the face needs its 5 key points, shape (5, 2)")
        size = self._recogniser.input_size[0]
        crop = face_align.norm_crop(image_bgr, landmark=kps, image_size=size)
        return normalise(self._recogniser.get_feat(crop))


def _by_task(models: list[tuple[Path, Any]]) -> dict[str, Any]:
    """The loaded models by task: exactly one detector and one recogniser, nothing else."""
    found: dict[str, Any] = {}
    for path, model in models:
        task = getattr(model, "taskname", None)
        if task not in {"detection", "recognition"} or task in found:
            what = "an unknown model" if task is None else f"a {task} model"
            raise EngineSetupError(
                f"FACE_MODEL_SHA256 lists {path.name}, {what}: list exactly one detector "
                "(SCRFD) and one recogniser (ArcFace)"
            )
        found[task] = model
    if not getattr(found.get("detection"), "use_kps", True):
        raise EngineSetupError("the detector gives no key points: use an SCRFD model with them")
    if len(found) != 2:
        raise EngineSetupError(
            "FACE_MODEL_SHA256 must list one detector (SCRFD) and one recogniser (ArcFace)"
        )
    return found


def _check_image(image: np.ndarray) -> None:
    if (
        not isinstance(image, np.ndarray)
        or image.ndim != 3
        or image.shape[2] != 3
        or image.dtype != np.uint8
    ):
        raise ValueError("expected a BGR uint8 image of shape (h, w, 3)")


def _face(box: np.ndarray, kps: np.ndarray, width: int, height: int) -> Face:
    x0, y0, x1, y1 = (float(v) for v in box[:4])
    clipped = (
        max(0, int(np.floor(x0))),
        max(0, int(np.floor(y0))),
        min(width, int(np.ceil(x1))),
        min(height, int(np.ceil(y1))),
    )
    return Face(
        box=clipped,
        kps=np.asarray(kps, dtype=np.float32).reshape(5, 2),
        landmarks=None,
        embedding=None,
        score=float(box[4]),
    )
