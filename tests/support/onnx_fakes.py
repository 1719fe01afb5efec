"""Small synthetic ONNX models with the real models' input/output names, shapes and value ranges.

The real weights cannot be downloaded on development machines, so each fake keeps the real
model's interface (names from the released files: SCRFD `det_10g.onnx` input `input.1` and
outputs 448/471/494 scores, 451/474/497 boxes, 454/477/500 keypoints for strides 8/16/32;
ArcFace `w600k_r50.onnx` `input.1` -> `683`; inswapper `target`, `source` -> `output` with the
emap as last initializer; GFPGAN `input` -> `output`) and a behaviour a test can predict:
a detector that reports given faces, a recognizer that is a fixed projection of the pixels,
a swapper that paints a solid colour (or returns its input), an enhancer that round-trips.
Every output depends on an input, so onnxruntime runs the graph like a real one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from plasticvision.geometry.align import ARCFACE_TEMPLATE_112

OPSET = 17
IR_VERSION = 8

SCRFD_INPUT = "input.1"
SCRFD_OUTPUTS = ("448", "471", "494", "451", "474", "497", "454", "477", "500")
SCRFD_SIZE = 640
STRIDES = (8, 16, 32)
ARCFACE_INPUT, ARCFACE_OUTPUT = "input.1", "683"
ARCFACE_POOL = 16  # 112 / 16 = 7: the projection sees a 3x7x7 thumbnail of the crop
BACKGROUND_SCORE = 0.01


@dataclass(frozen=True)
class FakeFace:
    """A face the fake detector reports, in the detector's 640x640 input pixels."""

    box: tuple[float, float, float, float]
    points: np.ndarray  # 5 x 2
    score: float
    stride: int = 32


def save(nodes: list, inputs: list, outputs: list, initializers: list, path: Path) -> Path:
    graph = helper.make_graph(nodes, path.stem, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="onnx_fakes")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def zero_from(input_name: str) -> list:
    """Nodes computing the scalar `zero` = 0 * mean(input): ties constant outputs to the input."""
    return [
        helper.make_node("ReduceMean", [input_name], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero_scale"], ["zero"]),
    ]


def zero_scale() -> TensorProto:
    return numpy_helper.from_array(np.zeros((), np.float32), "zero_scale")


def scrfd_outputs(faces: Sequence[FakeFace]) -> list[np.ndarray]:
    """The 9 raw SCRFD outputs that decode to `faces` (2 anchors per cell, distances in strides)."""
    scores, boxes, points = [], [], []
    for stride in STRIDES:
        count = (SCRFD_SIZE // stride) ** 2 * 2
        scores.append(np.full((count, 1), BACKGROUND_SCORE, np.float32))
        boxes.append(np.ones((count, 4), np.float32))
        points.append(np.zeros((count, 10), np.float32))
    for face in faces:
        level = STRIDES.index(face.stride)
        cells = SCRFD_SIZE // face.stride
        x0, y0, x1, y1 = face.box
        col, row = int((x0 + x1) / 2 // face.stride), int((y0 + y1) / 2 // face.stride)
        index = (row * cells + col) * 2  # the first of the cell's two anchors
        cx, cy = col * face.stride, row * face.stride
        scores[level][index] = face.score
        boxes[level][index] = np.array([cx - x0, cy - y0, x1 - cx, y1 - cy]) / face.stride
        points[level][index] = ((np.asarray(face.points) - (cx, cy)) / face.stride).reshape(-1)
    return scores + boxes + points


def build_scrfd(path: Path, faces: Sequence[FakeFace]) -> Path:
    """A detector that reports `faces` whatever the image (dynamic input size, like det_10g)."""
    values = scrfd_outputs(faces)
    nodes = zero_from(SCRFD_INPUT)
    initializers = [zero_scale()]
    outputs = []
    for name, value in zip(SCRFD_OUTPUTS, values):
        initializers.append(numpy_helper.from_array(value, f"const_{name}"))
        nodes.append(helper.make_node("Add", [f"const_{name}", "zero"], [name]))
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(value.shape)))
    inputs = [helper.make_tensor_value_info(SCRFD_INPUT, TensorProto.FLOAT, [1, 3, "?", "?"])]
    return save(nodes, inputs, outputs, initializers, path)


def arcface_projection(seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """A 147 x 512 weight and a 512 bias; the bias makes the embedding's direction depend on the input's scale."""
    rng = np.random.default_rng(seed)
    return rng.standard_normal((3 * 7 * 7, 512)).astype(np.float32), rng.standard_normal(512).astype(np.float32)


def build_arcface(path: Path, projection: tuple[np.ndarray, np.ndarray]) -> Path:
    """A recognizer whose raw output is avgpool16(input) flattened @ weight + bias."""
    weight, bias = projection
    nodes = [
        helper.make_node("AveragePool", [ARCFACE_INPUT], ["pooled"], kernel_shape=[ARCFACE_POOL] * 2,
                         strides=[ARCFACE_POOL] * 2),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "weight"], ["projected"]),
        helper.make_node("Add", ["projected", "bias"], [ARCFACE_OUTPUT]),
    ]
    inputs = [helper.make_tensor_value_info(ARCFACE_INPUT, TensorProto.FLOAT, ["None", 3, 112, 112])]
    outputs = [helper.make_tensor_value_info(ARCFACE_OUTPUT, TensorProto.FLOAT, [1, 512])]
    initializers = [numpy_helper.from_array(weight, "weight"), numpy_helper.from_array(bias, "bias")]
    return save(nodes, inputs, outputs, initializers, path)


def build_inswapper(path: Path, emap: np.ndarray, colour_rgb: Sequence[float] | None) -> Path:
    """A swapper painting the solid RGB `colour_rgb` (0..1), or returning `target` unchanged when None.

    `emap` is stored as the last initializer, as in inswapper_128.onnx.
    """
    keep = 0.0 if colour_rgb is not None else 1.0
    paint = np.zeros((1, 3, 1, 1), np.float32) if colour_rgb is None else np.asarray(colour_rgb, np.float32)
    nodes = zero_from("source") + [
        helper.make_node("Mul", ["target", "keep"], ["kept"]),
        helper.make_node("Add", ["kept", "paint"], ["painted"]),
        helper.make_node("Add", ["painted", "zero"], ["output"]),
    ]
    initializers = [
        zero_scale(),
        numpy_helper.from_array(np.array(keep, np.float32), "keep"),
        numpy_helper.from_array(paint.reshape(1, 3, 1, 1), "paint"),
        numpy_helper.from_array(emap.astype(np.float32), "emap"),
    ]
    inputs = [
        helper.make_tensor_value_info("target", TensorProto.FLOAT, [1, 3, 128, 128]),
        helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 512]),
    ]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 128, 128])]
    return save(nodes, inputs, outputs, initializers, path)


def build_gfpgan(path: Path, gain: float = 1.0) -> Path:
    """An enhancer returning `gain` x its input: 1 round-trips, more than 1 exercises the [-1, 1] clip."""
    nodes = [helper.make_node("Mul", ["input", "gain"], ["output"])]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 512, 512])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])]
    return save(nodes, inputs, outputs, [numpy_helper.from_array(np.array(gain, np.float32), "gain")], path)


def smooth_frame(height: int = 480, width: int = 640) -> np.ndarray:
    """A frame of soft colour gradients, so interpolation errors stay small and measurable."""
    y, x = np.mgrid[:height, :width].astype(np.float32)
    planes = [x / width * 200 + 20, y / height * 200 + 30, (x + y) / (width + height) * 180 + 40]
    return np.dstack(planes).astype(np.uint8)


def random_emap(seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((512, 512)).astype(np.float32) / np.sqrt(512)


def face_at(centre: tuple[float, float], eye_distance: float, score: float = 0.9, stride: int = 32) -> FakeFace:
    """A frontal face: the ArcFace 5-point layout scaled to `eye_distance`, its box around it."""
    template = ARCFACE_TEMPLATE_112.astype(np.float64)
    scale = eye_distance / (template[1, 0] - template[0, 0])
    points = (template - template.mean(axis=0)) * scale + centre
    half = 56 * scale
    box = (centre[0] - half * 0.8, centre[1] - half, centre[0] + half * 0.8, centre[1] + half)
    return FakeFace(tuple(float(v) for v in box), points.astype(np.float32), score, stride)


def build_models_dir(
    root: Path,
    faces: Sequence[FakeFace],
    *,
    colour_rgb: Sequence[float] | None = (0.0, 1.0, 0.0),
    enhancer_gain: float | None = 1.0,
) -> Path:
    """A models dir in the real layout holding fakes of all four models (no enhancer when gain is None)."""
    build_scrfd(root / "buffalo_l" / "det_10g.onnx", faces)
    build_arcface(root / "buffalo_l" / "w600k_r50.onnx", arcface_projection())
    build_inswapper(root / "inswapper_128.onnx", random_emap(), colour_rgb)
    if enhancer_gain is not None:
        build_gfpgan(root / "gfpgan_1.4.onnx", enhancer_gain)
    return root


# The catalog's other models. Real interfaces (as FaceFusion 3.8.1 feeds them): hyperswap_*_256 `source`
# 1x512 + `target` 1x3x256x256 in [-1, 1] -> `output` (same range) and `mask` 1x1x256x256; simswap_256
# `target` (ImageNet-normalised) + `source` -> `output` in [0, 1]; crossface_simswap `input` 1x512 -> 1x512;
# GFPGAN / GPEN `input` 1x3x512x512 -> `output`, CodeFormer also `weight` (double, [1]); XSeg `input`
# 1x256x256x3 (NHWC, BGR, 0..1) -> 1x256x256x1; BiSeNet `input` 1x3x512x512 -> 1x19x512x512 logits.


def build_swapper(path: Path, spec: object, colour_rgb: Sequence[float] | None, mask_value: float = 1.0) -> Path:
    """Any catalog swapper: paints `colour_rgb` (0..1), or with None gives back the target crop exactly,
    undoing the spec's own normalisation, so a test sees where and at what scale the crop lands.
    inswapper's emap goes in as the last initializer; hyperswap also answers its `mask`."""
    size = spec.crop_size  # type: ignore[attr-defined]
    mean, std = np.asarray(spec.mean, np.float32), np.asarray(spec.std, np.float32)  # type: ignore[attr-defined]
    out_mean, out_std = (mean, std) if spec.denormalise else (np.zeros(3, np.float32), np.ones(3, np.float32))  # type: ignore[attr-defined]
    if colour_rgb is None:  # output = target * a + b with a, b undoing normalisation into the output's space
        gain, offset = std / out_std, (mean - out_mean) / out_std
    else:
        gain, offset = np.zeros(3, np.float32), (np.asarray(colour_rgb, np.float32) - out_mean) / out_std
    nodes = zero_from("source") + [
        helper.make_node("Mul", ["target", "gain"], ["kept"]),
        helper.make_node("Add", ["kept", "offset"], ["painted"]),
        helper.make_node("Add", ["painted", "zero"], ["output"]),
    ]
    initializers = [
        zero_scale(),
        numpy_helper.from_array(gain.reshape(1, 3, 1, 1).astype(np.float32), "gain"),
        numpy_helper.from_array(offset.reshape(1, 3, 1, 1).astype(np.float32), "offset"),
    ]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, size, size])]
    if spec.mask_output:  # type: ignore[attr-defined]
        nodes += [
            helper.make_node("ReduceMean", ["target"], ["grey"], axes=[1], keepdims=1),
            helper.make_node("Mul", ["grey", "zero_scale"], ["flat"]),
            helper.make_node("Add", ["flat", "mask_value"], [spec.mask_output]),  # type: ignore[attr-defined]
        ]
        initializers.append(numpy_helper.from_array(np.array(mask_value, np.float32), "mask_value"))
        outputs.append(helper.make_tensor_value_info(spec.mask_output, TensorProto.FLOAT, [1, 1, size, size]))  # type: ignore[attr-defined]
    if spec.identity == "emap":  # type: ignore[attr-defined]
        initializers.append(numpy_helper.from_array(random_emap().astype(np.float32), "emap"))
    inputs = [
        helper.make_tensor_value_info("target", TensorProto.FLOAT, [1, 3, size, size]),
        helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, 512]),
    ]
    return save(nodes, inputs, outputs, initializers, path)


def build_converter(path: Path, seed: int = 5) -> Path:
    """crossface_simswap: a fixed 512x512 linear map of the embedding."""
    weight = (np.random.default_rng(seed).standard_normal((512, 512)) / np.sqrt(512)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["input", "weight"], ["output"])]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 512])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 512])]
    return save(nodes, inputs, outputs, [numpy_helper.from_array(weight, "weight")], path)


def build_codeformer(path: Path) -> Path:
    """CodeFormer's interface: `input` and a double `weight`; returns its input (weight only tied in)."""
    nodes = [
        helper.make_node("Cast", ["weight"], ["weight_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["weight_f", "zero_scale"], ["zero_w"]),
        helper.make_node("Add", ["input", "zero_w"], ["output"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 512, 512]),
        helper.make_tensor_value_info("weight", TensorProto.DOUBLE, [1]),
    ]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])]
    return save(nodes, inputs, outputs, [zero_scale()], path)


def build_xseg(path: Path, dark_below: float = 0.15) -> Path:
    """An occluder that calls dark pixels (mean BGR below `dark_below`, 0..1) occluded: 0 there, 1 elsewhere."""
    nodes = [
        helper.make_node("ReduceMean", ["input"], ["grey"], axes=[3], keepdims=1),
        helper.make_node("Sub", ["grey", "threshold"], ["above"]),
        helper.make_node("Mul", ["above", "steep"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["output"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array(dark_below, np.float32), "threshold"),
        numpy_helper.from_array(np.array(200.0, np.float32), "steep"),
    ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 256, 256, 3])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 256, 256, 1])]
    return save(nodes, inputs, outputs, initializers, path)


def parser_classes(template: np.ndarray, cells: int = 64) -> np.ndarray:
    """A cells x cells class map of a crop aligned to `template` (fractions): skin in an ellipse around the
    5 points, eyes (4, 5) in circles around the eye points, nose (10) and mouth (11) likewise."""
    y, x = (np.mgrid[:cells, :cells] + 0.5) / cells
    classes = np.zeros((cells, cells), np.int64)
    centre = template.mean(axis=0)
    classes[((x - centre[0]) / 0.38) ** 2 + ((y - centre[1]) / 0.48) ** 2 < 1] = 1
    for label, point, radius in ((4, template[0], 0.07), (5, template[1], 0.07), (10, template[2], 0.06),
                                 (11, (template[3] + template[4]) / 2, 0.08)):
        classes[(x - point[0]) ** 2 + (y - point[1]) ** 2 < radius**2] = label
    return classes


def build_bisenet(path: Path, template: np.ndarray, cells: int = 64) -> Path:
    """A parser whose logits are one-hot class maps of a face aligned to `template`, whatever the pixels."""
    logits = np.eye(19, dtype=np.float32)[parser_classes(template, cells)].transpose(2, 0, 1)[None]
    nodes = zero_from("input") + [
        helper.make_node("Resize", ["logits", "", "scales"], ["big"], mode="nearest"),
        helper.make_node("Add", ["big", "zero"], ["output"]),
    ]
    initializers = [
        zero_scale(),
        numpy_helper.from_array(logits, "logits"),
        numpy_helper.from_array(np.array([1, 1, 512 / cells, 512 / cells], np.float32), "scales"),
    ]
    inputs = [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 512, 512])]
    outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 19, 512, 512])]
    return save(nodes, inputs, outputs, initializers, path)


def build_catalog_dir(
    root: Path, faces: Sequence[FakeFace], *, colour_rgb: Sequence[float] | None = (0.0, 1.0, 0.0),
    swappers: Sequence[str] = ("hyperswap_1a_256", "hyperswap_1b_256", "hyperswap_1c_256", "inswapper_128",
                               "simswap_256"),
) -> Path:
    """A models dir with the detector, recognizer, `swappers` and one of each other role, under upstream names."""
    from plasticvision.geometry.warp import WARP_TEMPLATES
    from plasticvision.models.catalog import spec_named

    build_scrfd(root / "buffalo_l" / "det_10g.onnx", faces)
    build_arcface(root / "buffalo_l" / "w600k_r50.onnx", arcface_projection())
    for name in swappers:
        build_swapper(root / f"{name}.onnx", spec_named(name), colour_rgb)
    build_converter(root / "crossface_simswap.onnx")
    build_gfpgan(root / "gfpgan_1.4.onnx")
    build_gfpgan(root / "gpen_bfr_512.onnx")
    build_codeformer(root / "codeformer.onnx")
    build_xseg(root / "xseg_1.onnx")
    build_bisenet(root / "bisenet_resnet_34.onnx", WARP_TEMPLATES["arcface_128"])
    return root
