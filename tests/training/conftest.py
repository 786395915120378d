"""Fixtures for metrics/evaluate tests: a tiny labeled dataset and a torch-free ONNX model."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from fabric_inspect.datasets.classes import DEFECT_CLASSES, class_index
from fabric_inspect.models.metadata import ModelInfo


def build_contrast_model(path: Path, threshold: float = 0.5, stride: int = 4, name: str = "contrast") -> Path:
    """A fabric-inspect model built with onnx.helper (no torch): the score is a sigmoid of local
    contrast, |pixel - 7x7 mean|, max-pooled to `stride`; class logits repeat the score."""
    import onnx
    from onnx import TensorProto, helper

    n_classes = len(DEFECT_CLASSES)
    const = {
        "axes01": np.array([0, 1], np.int64),
        "axes0": np.array([0], np.int64),
        "offset": np.array(30.0, np.float32),
        "scale": np.array(1 / 6, np.float32),
    }
    nodes = [
        helper.make_node("Cast", ["frame"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["f", "axes01"], ["x"]),
        helper.make_node(
            "AveragePool", ["x"], ["mean"], kernel_shape=[7, 7], pads=[3, 3, 3, 3], count_include_pad=0
        ),
        helper.make_node("Sub", ["x", "mean"], ["dev"]),
        helper.make_node("Abs", ["dev"], ["absdev"]),
        helper.make_node(
            "MaxPool",
            ["absdev"],
            ["pooled"],
            kernel_shape=[stride, stride],
            strides=[stride, stride],
            ceil_mode=1,
        ),
        helper.make_node("Sub", ["pooled", "offset"], ["shifted"]),
        helper.make_node("Mul", ["shifted", "scale"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p"]),
        helper.make_node("Squeeze", ["p", "axes01"], ["score"]),
        helper.make_node("Squeeze", ["z", "axes0"], ["z_chw"]),  # [1, h, w]
        helper.make_node("Concat", ["z_chw"] * n_classes, ["class_logits"], axis=0),
    ]
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("frame", TensorProto.UINT8, ["H", "W"])],
        [
            helper.make_tensor_value_info("score", TensorProto.FLOAT, ["h", "w"]),
            helper.make_tensor_value_info("class_logits", TensorProto.FLOAT, [n_classes, "h", "w"]),
        ],
        initializer=[onnx.numpy_helper.from_array(v, k) for k, v in const.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    info = ModelInfo(
        name=name,
        version="test",
        classes=DEFECT_CLASSES,
        input_layout="HW",
        color_order="GRAY",
        stride=stride,
        threshold=threshold,
    )
    for key, value in info.to_props().items():
        model.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def write_labeled_dataset(
    root: Path, n_good: int = 4, n_defect: int = 4, size: int = 64, seed: int = 0
) -> Path:
    """A tiny dataset in the project's labeled format: flat noisy fabric, bright or dark squares as
    defects (class 'hole' high visibility, 'stain' low visibility), with annotations."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    (root / "classes.txt").write_text("\n".join(DEFECT_CLASSES) + "\n")
    annotations: dict[str, list[dict]] = {}
    for i in range(n_good + n_defect):
        image = np.clip(rng.normal(128, 3, (size, size)), 0, 255).astype(np.uint8)
        stem = f"img{i:02d}"
        if i >= n_good:
            mask = np.zeros((size, size), np.uint8)
            x, y = 8 + 3 * i % (size - 24), 10
            image[y : y + 6, x : x + 6] = 230  # strong: 'hole'
            mask[y : y + 6, x : x + 6] = class_index("hole")
            entries = [{"class": "hole", "visibility": "high", "bbox": [x, y, x + 5, y + 5]}]
            if i % 2:  # a faint one the contrast model cannot see: 'stain'
                image[40:46, 40:46] = np.clip(image[40:46, 40:46].astype(int) + 4, 0, 255)
                mask[40:46, 40:46] = class_index("stain")
                entries.append({"class": "stain", "visibility": "low", "bbox": [40, 40, 45, 45]})
            cv2.imwrite(str(root / "masks" / f"{stem}.png"), mask)
            annotations[stem] = entries
        cv2.imwrite(str(root / "images" / f"{stem}.png"), image)
    (root / "annotations.json").write_text(json.dumps(annotations))
    return root


@pytest.fixture(scope="session")
def contrast_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_contrast_model(tmp_path_factory.mktemp("model") / "contrast.onnx")


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_labeled_dataset(tmp_path_factory.mktemp("data") / "tiny")
