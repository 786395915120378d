"""Test helpers for the inspection pipeline: a tiny hand-built ONNX model and a synthetic moving roll.

The model (onnx.helper, no training): grey mean -> 8x8 average pool -> |x - local mean| -> sigmoid.
Dark spots score high and get class "stain", bright ones "hole". Frames come from one long fabric
strip seen through a window that moves up it, so the fabric moves DOWN the image as in a real line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.models.metadata import ModelInfo

TINY_CLASSES = ("hole", "stain")
STRIDE = 8


def write_tiny_model(path: Path, threshold: float = 0.5, input_hw: tuple[int, int] | None = None) -> Path:
    """Write the tiny model to `path`; `input_hw` fixes the input size (dynamic by default)."""
    import onnx
    from onnx import TensorProto, helper

    def const(name: str, values: list, dtype: int = TensorProto.INT64) -> onnx.NodeProto:
        return helper.make_node(
            "Constant", [], [name], value=helper.make_tensor(name + "_t", dtype, [len(values)], values)
        )

    nodes = [
        const("axes_c", [2]),
        const("axes_01", [0, 1]),
        const("axes_0", [0]),
        const("bias", [25.0], TensorProto.FLOAT),
        const("gain", [0.5], TensorProto.FLOAT),
        helper.make_node("Cast", ["frame"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("ReduceMean", ["f", "axes_c"], ["grey"], keepdims=0),
        helper.make_node("Unsqueeze", ["grey", "axes_01"], ["x"]),
        helper.make_node(
            "AveragePool", ["x"], ["p"], kernel_shape=[STRIDE, STRIDE], strides=[STRIDE, STRIDE]
        ),
        helper.make_node(
            "AveragePool",
            ["p"],
            ["m"],
            kernel_shape=[9, 9],
            strides=[1, 1],
            pads=[4, 4, 4, 4],
            count_include_pad=0,
        ),
        helper.make_node("Sub", ["p", "m"], ["d"]),
        helper.make_node("Abs", ["d"], ["a"]),
        helper.make_node("Sub", ["a", "bias"], ["ab"]),
        helper.make_node("Mul", ["ab", "gain"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["s4"]),
        helper.make_node("Squeeze", ["s4", "axes_01"], ["score"]),
        helper.make_node("Neg", ["d"], ["nd"]),
        helper.make_node("Concat", ["d", "nd"], ["l4"], axis=1),
        helper.make_node("Squeeze", ["l4", "axes_0"], ["class_logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("frame", TensorProto.UINT8, [*(input_hw or ("H", "W")), 3])],
        [
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["h", "w"]),
            helper.make_tensor_value_info("class_logits", TensorProto.FLOAT, [2, "h", "w"]),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    info = ModelInfo("tiny-test", "0.0", TINY_CLASSES, "HWC", "BGR", STRIDE, threshold)
    for key, value in info.to_props().items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


@dataclass(frozen=True)
class Spot:
    """A ground-truth defect on the strip: centre (strip column, strip row), radius, dark or bright."""

    x: int
    row: int
    radius: int
    dark: bool = True


@dataclass(frozen=True)
class Roll:
    strip: np.ndarray  # uint8 [L, W, 3]
    spots: tuple[Spot, ...]
    height: int
    speed_px: float
    px_per_mm: float
    fps: float

    @property
    def frame_count(self) -> int:
        return int((self.strip.shape[0] - self.height) / self.speed_px) + 1

    def frame(self, t: int) -> np.ndarray:
        top = self.strip.shape[0] - self.height - round(t * self.speed_px)
        return np.ascontiguousarray(self.strip[top : top + self.height])

    def roll_y_mm(self, spot: Spot) -> float:
        """Roll coordinate of a spot's centre: strip row r lies (L - r) px from the roll's start."""
        return (self.strip.shape[0] - spot.row) / self.px_per_mm


def make_roll(
    spots: tuple[Spot, ...] = (),
    length: int = 1200,
    width: int = 256,
    height: int = 128,
    speed_px: float = 6.0,
    px_per_mm: float = 2.0,
    fps: float = 30.0,
    seed: int = 0,
) -> Roll:
    """A fabric strip with a woven-looking texture and the given spots."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.normal(0, 1, (length, width)).astype(np.float32), (0, 0), 1.5)
    yy, xx = np.mgrid[0:length, 0:width]
    weave = 6 * np.sin(xx * 2 * np.pi / 5) * np.sin(yy * 2 * np.pi / 5)
    grey = 128 + 40 * noise + weave
    for spot in spots:
        inside = (xx - spot.x) ** 2 + (yy - spot.row) ** 2 <= spot.radius**2
        grey[inside] = 40 if spot.dark else 230
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    strip = cv2.merge([grey, grey, np.clip(grey.astype(np.int16) + 10, 0, 255).astype(np.uint8)])
    return Roll(strip, spots, height, speed_px, px_per_mm, fps)


def write_video(roll: Roll, path: Path, frames: int | None = None) -> Path:
    import cv2

    count = roll.frame_count if frames is None else frames
    writer = cv2.VideoWriter(
        str(path), cv2.VideoWriter_fourcc(*"MJPG"), roll.fps, (roll.strip.shape[1], roll.height)
    )
    for t in range(count):
        writer.write(roll.frame(t))
    writer.release()
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
