"""The ONNX model contract: what the exported graph takes, gives, and says about itself.

Every fabric-inspect model is one self-contained .onnx file:

- input ``frame``: uint8, shape ``[height, width, 3]`` (BGR, as OpenCV gives frames; layout "HWC") or
  ``[height, width]`` (greyscale; layout "HW"). Height and width are dynamic. The graph itself casts,
  reorders channels and normalizes, so the runtime does no per-pixel work.
- output ``score``: float32 ``[h, w]``, per-pixel defect probability in 0..1 at ``stride`` (h is
  about height / stride).
- output ``class_logits``: float32 ``[n_classes, h, w]``, per-pixel logits over ``classes``.
- metadata (``metadata_props``, all strings; JSON where structured) under the keys of ``ModelInfo``.

This module is plain Python (no torch, no onnx): the exporter writes these keys and the runtime reads
them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from fabric_inspect.errors import ModelError

FORMAT_VERSION = "1"
INPUT_NAME = "frame"
SCORE_OUTPUT = "score"
CLASS_OUTPUT = "class_logits"
LAYOUTS = ("HWC", "HW")
COLOR_ORDERS = ("BGR", "GRAY")


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What an exported model says about itself (stored as ONNX metadata_props)."""

    name: str
    version: str
    classes: tuple[str, ...]
    input_layout: str  # "HWC" (BGR colour) or "HW" (greyscale)
    color_order: str  # "BGR" or "GRAY"
    stride: int
    threshold: float
    training: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    # video threshold: set on a defect-free roll through the tracker's K-of-N confirmation
    # (`fabric-inspect calibrate --roll`); video inspection uses it, still images use `threshold`
    roll_threshold: float | None = None

    def __post_init__(self) -> None:
        if self.input_layout not in LAYOUTS:
            raise ModelError(f"model input_layout must be one of {LAYOUTS}, got {self.input_layout!r}")
        if self.color_order not in COLOR_ORDERS:
            raise ModelError(f"model color_order must be one of {COLOR_ORDERS}, got {self.color_order!r}")
        if (self.input_layout == "HW") != (self.color_order == "GRAY"):
            raise ModelError(f"layout {self.input_layout} does not fit colour order {self.color_order}")
        if not self.classes:
            raise ModelError("model metadata lists no classes")
        if self.stride < 1:
            raise ModelError(f"model stride must be >= 1, got {self.stride}")
        if not 0.0 < self.threshold < 1.0:
            raise ModelError(f"model threshold must be in (0, 1), got {self.threshold}")
        if self.roll_threshold is not None and not 0.0 < self.roll_threshold < 1.0:
            raise ModelError(f"model roll_threshold must be in (0, 1), got {self.roll_threshold}")

    def operating_threshold(self, video: bool) -> float:
        """The calibrated threshold for video (confirmed over K of N frames) or for single images."""
        return self.roll_threshold if video and self.roll_threshold is not None else self.threshold

    @property
    def channels(self) -> int:
        return 3 if self.input_layout == "HWC" else 1

    def to_props(self) -> dict[str, str]:
        """The metadata_props the exporter writes."""
        return {
            "fabric_inspect.format": FORMAT_VERSION,
            "name": self.name,
            "version": self.version,
            "classes": json.dumps(list(self.classes)),
            "input_layout": self.input_layout,
            "color_order": self.color_order,
            "stride": str(self.stride),
            "threshold": repr(float(self.threshold)),
            "training": json.dumps(self.training, sort_keys=True),
            "metrics": json.dumps(self.metrics, sort_keys=True),
        } | ({} if self.roll_threshold is None else {"roll_threshold": repr(float(self.roll_threshold))})

    @classmethod
    def from_props(cls, props: dict[str, str], source: str = "model") -> ModelInfo:
        """Read metadata_props back; raise ModelError naming the missing or malformed key."""
        if props.get("fabric_inspect.format") != FORMAT_VERSION:
            raise ModelError(
                f"{source} is not a fabric-inspect model (metadata 'fabric_inspect.format' is "
                f"{props.get('fabric_inspect.format')!r}, expected {FORMAT_VERSION!r}); export it with "
                "`fabric-inspect export`"
            )
        try:
            return cls(
                name=props["name"],
                version=props["version"],
                classes=tuple(json.loads(props["classes"])),
                input_layout=props["input_layout"],
                color_order=props["color_order"],
                stride=int(props["stride"]),
                threshold=float(props["threshold"]),
                training=json.loads(props.get("training", "{}")),
                metrics=json.loads(props.get("metrics", "{}")),
                roll_threshold=float(props["roll_threshold"]) if "roll_threshold" in props else None,
            )
        except KeyError as err:
            raise ModelError(f"{source}: metadata key {err.args[0]!r} is missing") from None
        except (ValueError, TypeError) as err:
            raise ModelError(f"{source}: malformed metadata ({err})") from None


def set_props(proto: object, info: ModelInfo) -> None:
    """Replace an onnx ModelProto's metadata_props with `info` (the proto is edited in place)."""
    del proto.metadata_props[:]  # type: ignore[attr-defined]
    for key, value in info.to_props().items():
        proto.metadata_props.add(key=key, value=value)  # type: ignore[attr-defined]
