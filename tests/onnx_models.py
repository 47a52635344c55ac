"""Small synthetic ONNX models with the signatures of insightface's buffalo_l and inswapper.

They let the real insightface + onnxruntime code path run in tests and benchmarks without the
real models (which are large, and licensed for non-commercial use only). insightface routes a
model by its ONNX signature, so each builder copies the real model's inputs and outputs:

- ``scrfd_detector``: input ``[1, 3, H, W]`` (dynamic), 9 outputs — scores, box distances and
  key-point offsets at strides 8, 16 and 32, 2 anchors per place — like ``det_10g.onnx``. It
  "finds" a face where the picture is bright: at stride 32 it marks the bright cells and finds
  the centre of each bright square by how deep inside it a cell lies (repeated erosion), which
  also gives the square's side. So a test plants a face by painting a bright square on a dark
  ground: an odd number of 32 px cells wide (96 to 544 px at the detector's input), on the
  32 px grid, at least one cell from the next. The box is that square; the 5 key points sit
  where ArcFace's alignment template puts them in it, so aligning crops exactly the square.
  Strides 8 and 16 never fire.
- ``arcface_recogniser``: ``[1, 3, 112, 112]`` → ``[1, 512]``, like ``w600k_r50.onnx``: 8×8
  average pooling, the mean taken out, then a fixed random projection, so different pictures
  give different embeddings and the same picture, aligned the same, gives the same one.
- ``inswapper``: inputs ``target`` ``[1, 3, 128, 128]`` and ``source`` ``[1, 512]`` →
  ``[1, 3, 128, 128]``, with a 512×512 ``emap`` as the last initializer, like
  ``inswapper_128.onnx``: half the target, half a flat colour chosen by the source latent.

Weights come from a fixed seed: the same bytes, so the same sha256, on every run.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
STRIDES = (8, 16, 32)
ANCHORS = 2
FACE_STRIDE = 32  # the only stride that fires
FACE_SIZE = 5 * FACE_STRIDE  # the side of a planted face, by default
# ArcFace's 5-point template in its 112x112 crop (insightface's ``arcface_dst``).
ARCFACE_TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655],
     [70.7299, 92.2041]],
    dtype=np.float32,
)  # fmt: skip
# Brightness (after insightface's (x - 127.5) / 128) above which a cell is part of a face.
_BRIGHT = 0.0
_SHARPNESS = 16.0
# Depth is measured up to 9 cells: faces up to 17 x 32 = 544 px at the detector's input.
_MAX_DEPTH = 9
_NEVER = -30.0  # logit of the strides that never fire

DETECTOR_FILE = "det_10g.onnx"
RECOGNISER_FILE = "w600k_r50.onnx"
SWAPPER_FILE = "inswapper_128.onnx"


def _const(name: str, value) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def _int64(name: str, value) -> TensorProto:
    return numpy_helper.from_array(np.asarray(value, dtype=np.int64), name)


def _model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="faceledger-tests"
    )
    model.ir_version = 8  # readable by every onnxruntime this project may meet
    onnx.checker.check_model(model)
    return model


# ---------------------------------------------------------------- detector


def _anchor_rows(nodes: list, source: str, name: str, width: int) -> None:
    """``source`` [1, C, h, w] → ``name`` [h * w * 2, C]: one row per anchor, in SCRFD's order
    (row-major places, the 2 anchors of a place next to each other)."""
    nodes += [
        helper.make_node("Transpose", [source], [f"{name}_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Concat", [f"{name}_nhwc", f"{name}_nhwc"], [f"{name}_2"], axis=3),
        helper.make_node("Reshape", [f"{name}_2", f"rows_{width}"], [name]),
    ]


def _depth(nodes: list, bright: str) -> str:
    """How deep each cell lies inside the bright region: the number of 3x3 erosions it
    survives (its chessboard distance to the nearest dark cell or the border, up to
    ``_MAX_DEPTH``). A bright square of an odd number n of cells peaks at (n + 1) / 2 in its
    centre cell, and nowhere else."""
    layers = [bright]
    for k in range(1, _MAX_DEPTH):
        previous = layers[-1]
        nodes += [
            helper.make_node("Neg", [previous], [f"neg{k}"]),
            # Outside the picture counts as dark: pad the negated map with 0 (= -dark).
            helper.make_node("Pad", [f"neg{k}", "pad1", "zero"], [f"padded{k}"]),
            helper.make_node("MaxPool", [f"padded{k}"], [f"grown{k}"], kernel_shape=[3, 3]),
            helper.make_node("Neg", [f"grown{k}"], [f"eroded{k}"]),
        ]
        layers.append(f"eroded{k}")
    nodes.append(helper.make_node("Sum", layers, ["depth"]))
    return "depth"


def _face_head(nodes: list, inits: list, cell: str) -> tuple[str, str, str]:
    """Score, box and key-point maps at the face stride, from the cells' brightness ``cell``.

    A face's centre is the one cell where the depth of the bright region peaks (MaxPool 3x3),
    and its side, in cells, is 2 * depth - 1 there. The score is the cell's brightness at a
    peak, 0 elsewhere. The box is that square, centred on the middle of the cell (the anchor
    point is the cell's top-left corner): (d - 1, d - 1, d, d) strides from the anchor; the
    key points are where ArcFace's template puts them in it, so aligning crops the square."""
    # half side h = d - 1/2; key point = 1/2 + h * (2 * template / 112 - 1).
    template = (2 * ARCFACE_TEMPLATE / 112.0 - 1).reshape(1, 10, 1, 1)
    inits += [
        _int64("pad1", [0, 0, 1, 1, 0, 0, 1, 1]),
        _const("box_scale", np.ones((1, 4, 1, 1))),
        _const("box_shift", np.array([-1.0, -1.0, 0.0, 0.0]).reshape(1, 4, 1, 1)),
        _const("kps_scale", template),
        _const("half", 0.5),
    ]
    nodes += [
        helper.make_node("Sub", [cell, "bright"], ["over"]),
        helper.make_node("Mul", ["over", "sharpness"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["bright_cells"]),
    ]
    depth = _depth(nodes, "bright_cells")
    nodes += [
        helper.make_node("MaxPool", [depth], ["peak"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Equal", [depth, "peak"], ["is_peak_b"]),
        helper.make_node("Cast", ["is_peak_b"], ["is_peak"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["bright_cells", "is_peak"], ["face_scores"]),
        helper.make_node("Mul", [depth, "box_scale"], ["box_scaled"]),
        helper.make_node("Add", ["box_scaled", "box_shift"], ["face_boxes"]),
        helper.make_node("Sub", [depth, "half"], ["half_side"]),
        helper.make_node("Mul", ["half_side", "kps_scale"], ["kps_scaled"]),
        helper.make_node("Add", ["kps_scaled", "half"], ["face_kps"]),
    ]
    return "face_scores", "face_boxes", "face_kps"


def _stride_head(nodes: list, inits: list, stride: int) -> tuple[str, str, str]:
    """Scores, boxes and key points at one stride, from the grey input ``grey`` [1,1,H,W]."""
    s = str(stride)
    nodes.append(
        helper.make_node(
            "AveragePool", ["grey"], [f"cell{s}"], kernel_shape=[stride] * 2, strides=[stride] * 2
        )
    )
    if stride == FACE_STRIDE:
        maps = _face_head(nodes, inits, f"cell{s}")
    else:  # never fires: score 0, boxes and key points 0
        nodes += [
            helper.make_node("Mul", [f"cell{s}", "zero"], [f"zeros{s}"]),
            helper.make_node("Add", [f"zeros{s}", "never"], [f"logit{s}"]),
            helper.make_node("Sigmoid", [f"logit{s}"], [f"scores{s}"]),
            helper.make_node("Add", [f"zeros{s}", "zeros4"], [f"boxes{s}"]),
            helper.make_node("Add", [f"zeros{s}", "zeros10"], [f"kps{s}"]),
        ]
        maps = (f"scores{s}", f"boxes{s}", f"kps{s}")
    _anchor_rows(nodes, maps[0], f"score_{s}", 1)
    _anchor_rows(nodes, maps[1], f"bbox_{s}", 4)
    _anchor_rows(nodes, maps[2], f"kps_{s}", 10)
    return f"score_{s}", f"bbox_{s}", f"kps_{s}"


def scrfd_detector() -> onnx.ModelProto:
    """An SCRFD-shaped detector (see the module's docstring)."""
    inits = [
        _const("grey_weights", np.full((1, 3, 1, 1), 1 / 3)),
        _const("zero", 0.0),
        _const("never", _NEVER),
        _const("bright", _BRIGHT),
        _const("sharpness", _SHARPNESS),
        _const("zeros4", np.zeros((1, 4, 1, 1))),
        _const("zeros10", np.zeros((1, 10, 1, 1))),
        _int64("rows_1", [-1, 1]),
        _int64("rows_4", [-1, 4]),
        _int64("rows_10", [-1, 10]),
    ]
    nodes = [helper.make_node("Conv", ["input.1", "grey_weights"], ["grey"])]
    heads = [_stride_head(nodes, inits, stride) for stride in STRIDES]
    # SCRFD's output order: the 3 score maps, then the 3 box maps, then the 3 key-point maps.
    names = [head[part] for part in range(3) for head in heads]
    widths = [1, 4, 10]
    outputs = [
        helper.make_tensor_value_info(name, TensorProto.FLOAT, [f"n{name}", widths[i // 3]])
        for i, name in enumerate(names)
    ]
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, "height", "width"])
    return _model(helper.make_graph(nodes, "scrfd_synthetic", [image], outputs, inits))


# ---------------------------------------------------------------- recogniser


def arcface_recogniser(seed: int = 7) -> onnx.ModelProto:
    """An ArcFace-shaped recogniser (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    pooled = 3 * 14 * 14
    projection = rng.standard_normal((pooled, 512)).astype(np.float32) / np.sqrt(pooled)
    inits = [_const("projection", projection), _int64("flat_shape", [1, pooled])]
    nodes = [
        helper.make_node(
            "AveragePool", ["input.1"], ["pooled"], kernel_shape=[8, 8], strides=[8, 8]
        ),
        helper.make_node("Reshape", ["pooled", "flat_shape"], ["flat"]),
        helper.make_node("ReduceMean", ["flat"], ["mean"], axes=[1], keepdims=1),
        helper.make_node("Sub", ["flat", "mean"], ["centred"]),
        helper.make_node("MatMul", ["centred", "projection"], ["683"]),
    ]
    image = helper.make_tensor_value_info("input.1", TensorProto.FLOAT, [1, 3, 112, 112])
    embedding = helper.make_tensor_value_info("683", TensorProto.FLOAT, [1, 512])
    return _model(helper.make_graph(nodes, "arcface_synthetic", [image], [embedding], inits))


# ---------------------------------------------------------------- swapper


def inswapper(seed: int = 11) -> onnx.ModelProto:
    """An inswapper-shaped model (see the module's docstring); ``emap`` is the last
    initializer, which is where insightface's ``INSwapper`` reads it from."""
    rng = np.random.default_rng(seed)
    colour = rng.standard_normal((512, 3)).astype(np.float32) * 2.0
    emap = rng.standard_normal((512, 512)).astype(np.float32) / np.sqrt(512)
    inits = [
        _const("colour_weights", colour),
        _const("half", 0.5),
        _int64("colour_shape", [1, 3, 1, 1]),
        _const("emap", emap),  # last: INSwapper takes graph.initializer[-1]
    ]
    nodes = [
        helper.make_node("MatMul", ["source", "colour_weights"], ["colour_logits"]),
        helper.make_node("Sigmoid", ["colour_logits"], ["colour_flat"]),
        helper.make_node("Reshape", ["colour_flat", "colour_shape"], ["colour"]),
        helper.make_node("Add", ["target", "colour"], ["mixed"]),
        helper.make_node("Mul", ["mixed", "half"], ["output"]),
    ]
    inputs = [
        helper.make_tensor_value_info("target", TensorProto.FLOAT, [1, 3, 128, 128]),
        helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 512]),
    ]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 128, 128])
    return _model(helper.make_graph(nodes, "inswapper_synthetic", inputs, [output], inits))


# ---------------------------------------------------------------- files


@dataclass(frozen=True)
class ModelFiles:
    """Where the synthetic models were written, and their checksums by file name."""

    analysis_dir: Path
    swap_model: Path
    sha256: dict[str, str]

    @property
    def analysis_sha256(self) -> dict[str, str]:
        return {name: self.sha256[name] for name in (DETECTOR_FILE, RECOGNISER_FILE)}

    @property
    def swap_sha256(self) -> str:
        return self.sha256[SWAPPER_FILE]


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_models(analysis_dir: Path, swap_dir: Path) -> ModelFiles:
    """Write the three models: detector and recogniser together, the swapper apart (in the
    same folder insightface's ``FaceAnalysis`` would take it for a recogniser)."""
    analysis_dir.mkdir(parents=True, exist_ok=True)
    swap_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        DETECTOR_FILE: (analysis_dir / DETECTOR_FILE, scrfd_detector),
        RECOGNISER_FILE: (analysis_dir / RECOGNISER_FILE, arcface_recogniser),
        SWAPPER_FILE: (swap_dir / SWAPPER_FILE, inswapper),
    }
    for path, build in paths.values():
        onnx.save_model(build(), str(path))
    return ModelFiles(
        analysis_dir=analysis_dir,
        swap_model=swap_dir / SWAPPER_FILE,
        sha256={name: sha256_of(path) for name, (path, _) in paths.items()},
    )


def planted_face(seed: int, size: int = FACE_SIZE) -> np.ndarray:
    """A bright, smoothly patterned square (BGR uint8) that the synthetic detector takes for a
    face; different seeds give patterns the synthetic recogniser tells apart."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(170, 255, size=(6, 6, 3)).astype(np.float32)
    return np.clip(cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC), 0, 255).astype(
        np.uint8
    )


def scene(
    faces: list[tuple[int, ...]], size: tuple[int, int] = (640, 480), ground: int = 30
) -> np.ndarray:
    """A dark BGR picture ``size`` (w, h) with planted faces ``(x, y, seed[, side])``: top-left
    corner and side (``FACE_SIZE`` by default) in pixels; keep them on multiples of 32 px so
    the detector's grid meets them squarely, and an odd number of 32 px cells wide so the
    centre is one cell (an even one is found too, up to 16 px off)."""
    width, height = size
    image = np.full((height, width, 3), ground, np.uint8)
    for x, y, seed, *side in faces:
        size_px = side[0] if side else FACE_SIZE
        image[y : y + size_px, x : x + size_px] = planted_face(seed, size_px)
    return image
