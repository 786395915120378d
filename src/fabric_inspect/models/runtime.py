"""Run an exported fabric-inspect model with onnxruntime. Never imports torch.

The model takes the raw uint8 frame, so `predict` hands the frame over as it is; the only conversions
here are between greyscale and BGR when a frame's channels differ from what the model was trained on
(one cv2 call), and a border of at most stride - 1 mirrored rows and columns when a frame's height or
width is not a multiple of the model's stride (below); never per-pixel numpy work.

Why the border: the network scores the fabric in cells of stride x stride pixels and was trained on
crops whose sides are multiples of the stride. A frame 540 rows high leaves a last row of cells only
half filled, the rest the graph's black padding, which the network never saw in training and
scores as a defect: on defect-free 1920x540 frames its map's maximum was 0.91 in that row against
about 0.4 at 1920x536 or 1920x544, and 0.99 at 542 rows, above the image threshold (0.935). With the
frame mirrored out to the next multiple (cv2.BORDER_REFLECT_101) the cells are full of fabric, the
maximum is about 0.4, and the map has the same number of rows and columns as before. A region
(`--roi`), a `--scale` or a camera of any size then scores as a multiple of the stride does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ModelError
from fabric_inspect.models.metadata import CLASS_OUTPUT, INPUT_NAME, SCORE_OUTPUT, ModelInfo

DEFAULT_MODEL_NAME = "default.onnx"


def default_model_path() -> Path:
    """The model shipped inside the package."""
    return Path(str(resources.files("fabric_inspect.models").joinpath(DEFAULT_MODEL_NAME)))


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """How onnxruntime runs the model."""

    threads: int = 0  # 0 = all cores
    graph_optimization: str = "all"  # "disabled" | "basic" | "extended" | "all"
    # onnxruntime's memory pattern plans one block for every tensor of a frame size; without it the
    # arena reuses buffers as tensors die: 44 MB less resident memory at 1920x1080 (126 against 170 MB
    # for the model alone), at most 0.2 ms (2 %) slower at 1280x720 (benchmarks in docs/bench.md)
    memory_pattern: bool = False
    # onnxruntime's worker threads busy-wait between operators unless told not to. On a 2-core PC
    # that steals the cores the decoder, capture and motion threads need: without spinning, 1280x720
    # offline ran at 46-50 against 36-41 fps and live used 100 % against 160 % CPU (docs/bench.md)
    spin: bool = False

    def __post_init__(self) -> None:
        if self.threads < 0:
            raise ModelError(f"--threads must be >= 0 (0 = all cores), got {self.threads}")
        if self.graph_optimization not in ("disabled", "basic", "extended", "all"):
            raise ModelError(
                f"graph optimization {self.graph_optimization!r} is not one of disabled|basic|extended|all"
            )


@dataclass(frozen=True, slots=True)
class Prediction:
    """One frame's model output: defect probability and class logits at the model's stride."""

    score: np.ndarray  # float32 [h, w], 0..1
    class_logits: np.ndarray  # float32 [n_classes, h, w]


class OnnxModel:
    """An onnxruntime session plus the model's self-description."""

    def __init__(self, path: str | os.PathLike[str], config: RuntimeConfig | None = None) -> None:
        import onnxruntime as ort

        config = config or RuntimeConfig()
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"model file {self.path} does not exist")
        options = ort.SessionOptions()
        options.intra_op_num_threads = config.threads or (os.cpu_count() or 1)
        options.inter_op_num_threads = 1
        options.enable_mem_pattern = config.memory_pattern
        if not config.spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = {
            "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
            "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
            "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
            "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        }[config.graph_optimization]
        try:
            self.session = ort.InferenceSession(
                str(self.path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(f"model file {self.path} could not be loaded by onnxruntime: {err}") from None
        props = self.session.get_modelmeta().custom_metadata_map
        self.info = ModelInfo.from_props(props, source=str(self.path))
        self._check_io()
        # a model exported for one fixed frame size is fed that size as it is, never padded
        shape = next(i.shape for i in self.session.get_inputs() if i.name == INPUT_NAME)
        self._dynamic = not all(isinstance(d, int) for d in shape[:2])

    def _check_io(self) -> None:
        inputs = {i.name: i for i in self.session.get_inputs()}
        outputs = {o.name for o in self.session.get_outputs()}
        if INPUT_NAME not in inputs:
            raise ModelError(f"model {self.path} has no input named {INPUT_NAME!r} (has {sorted(inputs)})")
        spec = inputs[INPUT_NAME]
        want_rank = 3 if self.info.input_layout == "HWC" else 2
        if spec.type != "tensor(uint8)" or len(spec.shape) != want_rank:
            raise ModelError(
                f"model {self.path} input {INPUT_NAME!r} is {spec.type} {spec.shape}; a fabric-inspect "
                f"model takes a uint8 frame of rank {want_rank} ({self.info.input_layout})"
            )
        missing = {SCORE_OUTPUT, CLASS_OUTPUT} - outputs
        if missing:
            raise ModelError(f"model {self.path} lacks outputs {sorted(missing)}")

    def fit_frame(self, frame: np.ndarray) -> np.ndarray:
        """Give the model the channels it expects (grey <-> BGR with one cv2 call when they differ)."""
        import cv2

        if frame.dtype != np.uint8:
            raise ModelError(f"frames must be uint8, got {frame.dtype}")
        if self.info.input_layout == "HWC":
            if frame.ndim == 2:
                return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
            if frame.ndim == 3 and frame.shape[2] == 3:
                return frame
            if frame.ndim == 3 and frame.shape[2] == 4:
                return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        else:
            if frame.ndim == 2:
                return frame
            if frame.ndim == 3 and frame.shape[2] == 3:
                return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            if frame.ndim == 3 and frame.shape[2] == 1:
                return frame[:, :, 0]
        raise ModelError(f"model expects {self.info.input_layout} uint8 frames, got shape {frame.shape}")

    def predict(self, frame: np.ndarray) -> Prediction:
        """Score one uint8 frame (BGR HxWx3 or grey HxW) of any size."""
        fitted = self.fit_frame(frame)
        feed = np.ascontiguousarray(pad_to_stride(fitted, self.info.stride) if self._dynamic else fitted)
        score, logits = self.session.run([SCORE_OUTPUT, CLASS_OUTPUT], {INPUT_NAME: feed})
        return Prediction(score=score, class_logits=logits)


def pad_to_stride(frame: np.ndarray, stride: int) -> np.ndarray:
    """The frame, mirrored out at the bottom and right to the next multiple of ``stride`` in height
    and width (the frame itself when it already is one; the edge row or column repeated when the frame
    is too small to mirror)."""
    height, width = frame.shape[:2]
    bottom, right = -height % stride, -width % stride
    if not (bottom or right):
        return frame
    import cv2

    border = cv2.BORDER_REFLECT_101 if height > bottom and width > right else cv2.BORDER_REPLICATE
    return cv2.copyMakeBorder(frame, 0, bottom, 0, right, border)


def load_model(path: str | os.PathLike[str] | None = None, config: RuntimeConfig | None = None) -> OnnxModel:
    """Load `path`, or the shipped default model when `path` is None."""
    if path is None:
        path = default_model_path()
        if not Path(path).is_file():
            raise ModelError(f"the shipped model {path} is missing; rebuild it with `make model`")
    return OnnxModel(path, config)
