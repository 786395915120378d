"""Re-set a model's operating threshold on defect-free images of the fabric it will inspect.

A mill recalibrates the shipped model (or its own) on good fabric from its own camera, at the frame
size the camera gives: the image score is the maximum of the score map, so the threshold depends on
the frame size. Scoring goes through onnxruntime (no torch); only rewriting the metadata needs `onnx`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fabric_inspect.errors import InputError, ModelError
from fabric_inspect.models.metadata import ModelInfo, set_props
from fabric_inspect.models.runtime import OnnxModel
from fabric_inspect.training.calibrate import calibrate_threshold, false_alarm_rate

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Recalibration:
    """What the new threshold is and what it was set on."""

    threshold: float
    previous: float
    images: int
    false_alarm_rate: float
    target_far: float
    out: Path


def free_scores(model: OnnxModel, images: list[np.ndarray]) -> np.ndarray:
    """Image scores (maximum of the map) of defect-free images."""
    return np.array([float(model.predict(image).score.max()) for image in images], np.float64)


def write_info(source: Path, info: ModelInfo, out: Path) -> Path:
    """Copy `source` to `out` with `info` as its metadata (one self-contained file, written atomically)."""
    try:
        import onnx
    except ImportError:
        raise ModelError(
            "rewriting model metadata needs the onnx package: pip install 'fabric-inspect[train]'"
        ) from None
    proto = onnx.load_model(str(source))
    set_props(proto, info)
    onnx.checker.check_model(proto)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.onnx")
    onnx.save_model(proto, str(tmp), save_as_external_data=False)
    os.replace(tmp, out)
    return out


def recalibrate(
    model: OnnxModel, images: list[np.ndarray], out: Path, target_far: float, data: str
) -> Recalibration:
    """Score the defect-free `images`, pick the threshold for `target_far`, write the model to `out`."""
    scores = free_scores(model, images)
    if scores.size == 0:
        raise InputError(f"no defect-free images to calibrate on in {data}")
    threshold = calibrate_threshold(scores, target_far)
    far = false_alarm_rate(scores, threshold)
    metrics = dict(model.info.metrics)
    metrics.update(
        calibration_images=int(scores.size),
        calibration_far=far,
        target_far=target_far,
        calibration_data=data,
        calibration_sizes=sorted({f"{im.shape[1]}x{im.shape[0]}" for im in images}),
    )
    info = replace(model.info, threshold=threshold, metrics=metrics)
    write_info(model.path, info, out)
    log.info(
        "threshold %.4f -> %.4f on %d defect-free images (%s)",
        model.info.threshold,
        threshold,
        scores.size,
        data,
    )
    return Recalibration(threshold, model.info.threshold, int(scores.size), far, target_far, out)
