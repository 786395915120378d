"""Train -> calibrate -> export: what `fabric-inspect train` does, as one library function (torch).

1. build the network (fresh, or from `--init default|CKPT`: the shipped default.pt or a checkpoint);
2. train it (`loop.train`), keep the weights of the last epoch (or, with `keep="best"`, the best one);
3. export them to ONNX, score the defect-free calibration images through onnxruntime (the same path
   as inspection) and pick the threshold for the target false-alarm rate (`calibrate_threshold`);
4. evaluate the validation set with that threshold (`evaluate`, when a dataset on disk is at hand);
5. write ``model.onnx`` (threshold, training summary and metrics in its metadata) and ``weights.pt``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fabric_inspect import __version__
from fabric_inspect.errors import ModelError
from fabric_inspect.models.checkpoint import (
    default_weights_path,
    load_checkpoint,
    network_from_checkpoint,
    save_checkpoint,
)
from fabric_inspect.models.export import export_onnx, model_info_for
from fabric_inspect.models.network import DefectNet, NetworkConfig, add_branches, fuse_branches
from fabric_inspect.training.compute import ComputeConfig
from fabric_inspect.training.config import TrainConfig, check_keep
from fabric_inspect.training.loop import started_shape, train

log = logging.getLogger(__name__)

MODEL_NAME = "fabric-fcn"


@dataclass(frozen=True, slots=True)
class FitResult:
    model_path: Path
    weights_path: Path
    threshold: float
    metrics: dict[str, Any]


def init_network(init: str | None, config: TrainConfig, classes: tuple[str, ...]) -> DefectNet:
    """A fresh network, or one initialised from `init` ("default" or a checkpoint path).

    When the checkpoint's classes differ from `classes`, the trunk and the defect logit are kept and
    the class logits start afresh (fine-tuning on a mill's own defect names). Whatever starts afresh
    is drawn from the run's seed, so the same command gives the same starting weights.
    """
    torch.manual_seed(config.seed)
    if init is None:
        shape = {**config.network_dict(), "classes": list(classes)}
        return DefectNet(NetworkConfig.from_dict(shape, source="training config"))
    path = default_weights_path() if init == "default" else Path(init)
    if init == "default" and not path.is_file():
        raise ModelError(
            f"--init default: the shipped weights {path} are missing; rebuild them with `make model`"
        )
    state = load_checkpoint(path)
    net = network_from_checkpoint(state, source=str(path))
    if net.config.color != config.color:
        kind = "colour" if net.config.color else "greyscale"
        raise ModelError(f"--init {init}: {path} is a {kind} model; train with the same colour setting")
    net = _shaped(net, init, config, classes)
    if config.branches > 1 and net.config.branches == 1:
        log.info("--init %s: %d branches per convolution (the new ones start at zero)", init, config.branches)
        net = add_branches(net, config.branches)
    return net


def _shaped(net: DefectNet, init: str, config: TrainConfig, classes: tuple[str, ...]) -> DefectNet:
    """`net` with the run's classes and line pooling (both added so as to change no score), and the
    run's residual sum where it names one (the same weights, summed before or after the ReLU)."""
    add_lines = config.line_pool and not net.config.line_pool
    same_classes = tuple(net.config.classes) == classes
    residual = config.residual or net.config.residual
    if same_classes and not add_lines and residual == net.config.residual:
        return net
    if not same_classes:
        log.info("--init %s: classes differ (%s); class logits start afresh", init, ", ".join(classes))
    if add_lines:
        log.info("--init %s: line pooling added (starts at zero: the network computes what it did)", init)
    if residual != net.config.residual:
        log.info(
            "--init %s: residual blocks sum %s (the checkpoint's: %s)", init, residual, net.config.residual
        )
    shaped = DefectNet(
        replace(net.config, classes=classes, line_pool=net.config.line_pool or add_lines, residual=residual)
    )
    weights = {k: v for k, v in net.state_dict().items() if same_classes or not k.startswith("head.")}
    shaped.load_state_dict(weights, strict=False)
    if not same_classes:
        with torch.no_grad():
            shaped.head.weight[:1] = net.head.weight[:1]
            shaped.head.bias[:1] = net.head.bias[:1]
    return shaped


def calibration_scores(model_path: Path, images: list[np.ndarray], threads: int) -> np.ndarray:
    """Image scores (max of the score map) of `images` through onnxruntime."""
    from fabric_inspect.models.runtime import RuntimeConfig, load_model
    from fabric_inspect.training.recalibrate import free_scores

    return free_scores(load_model(model_path, RuntimeConfig(threads=threads)), images)


def fit(
    source: Any,
    config: TrainConfig,
    out_dir: Path,
    classes: tuple[str, ...],
    init: str | None = None,
    resume: bool = False,
    val_dataset: Any = None,
    progress: bool = True,
    keep: str = "last",
    version: str = "1",
    compute: ComputeConfig | None = None,
) -> FitResult:
    """Train on `source` into `out_dir`, calibrate, and write model.onnx + weights.pt there.

    `keep` is the epoch exported: "last" (the final epoch) or "best" (the best validation image
    AUROC). "last" is the default: a validation split of tens of images moves more from epoch to
    epoch than the model does (on AITEX, "best" exported epoch 1 of 30 in one run; docs/model-card.md).
    `version` is the model version written in the ONNX metadata (shown by `run` and in the database).
    `compute` says where the training steps run (calibration and export are on the CPU)."""
    check_keep(keep)
    last = out_dir / "last.pt"
    if resume and last.is_file():  # train() says it when there is none
        config = started_shape(config, last)
        # the run's own network, whatever shape --init gave it (a pruned or converted checkpoint)
        net = network_from_checkpoint(load_checkpoint(last), source=str(last))
    else:
        net = init_network(init, config, classes)
    result = train(net, source, config, out_dir, resume=resume, progress=progress, compute=compute)
    summary = {"init": init or "scratch", "epochs_run": len(result.history), "kept": keep}
    chosen = result.best_path if keep == "best" else result.last_path
    return finalize(chosen, source, config, out_dir, summary, val_dataset, version)


def finalize(
    checkpoint: Path,
    source: Any,
    config: TrainConfig,
    out_dir: Path,
    summary: dict[str, Any] | None = None,
    val_dataset: Any = None,
    version: str = "1",
) -> FitResult:
    """Calibrate and export the weights of `checkpoint`: model.onnx and weights.pt in `out_dir`."""
    from fabric_inspect.training.calibrate import calibrate_threshold, false_alarm_rate

    state = load_checkpoint(checkpoint)
    # weights.pt and the export hold the plain network, training-time branches summed
    net = fuse_branches(network_from_checkpoint(state, source=str(checkpoint)).eval())
    epoch = int(state["epoch"])
    row = next((r for r in state.get("history", []) if r.get("epoch") == epoch + 1), state["best"])
    summary = {**source.summary(), **(summary or {})}
    summary["exported_epoch"] = epoch + 1
    summary["package_version"] = __version__
    draft = out_dir / "draft.onnx"
    calibration = source.calibration_images()
    named = {"name": MODEL_NAME, "version": version}
    export_onnx(net, draft, model_info_for(net, 0.5, **named), parity_frames=calibration[:1])
    scores = calibration_scores(draft, calibration, config.threads)
    threshold = calibrate_threshold(scores, config.target_far)
    metrics: dict[str, Any] = {
        "calibration_images": int(scores.size),
        "calibration_far": false_alarm_rate(scores, threshold),
        "target_far": config.target_far,
        "val_loss": float(row["val_loss"]),
        "val_image_auroc_epoch": row.get("val_image_auroc"),
    }
    final = out_dir / "model.onnx"
    if val_dataset is not None:
        export_onnx(net, draft, model_info_for(net, threshold, **named, training=summary, metrics=metrics))
        metrics.update(_evaluate(draft, val_dataset))
    export_onnx(net, final, model_info_for(net, threshold, **named, training=summary, metrics=metrics))
    draft.unlink(missing_ok=True)
    weights = save_checkpoint(
        out_dir / "weights.pt",
        {
            "model": net.state_dict(),
            "config": net.config.to_dict(),
            "classes": list(net.config.classes),
            "threshold": threshold,
            "version": version,
            "epoch": epoch,
            "train_config": config.to_dict(),
            "training": summary,
            "metrics": metrics,
        },
    )
    (out_dir / "summary.json").write_text(
        json.dumps({"training": summary, "metrics": metrics, "threshold": threshold}, indent=1)
    )
    log.info("wrote %s (version %s, threshold %.4f) and %s", final, version, threshold, weights)
    return FitResult(final, weights, threshold, metrics)


SUMMARY_KEYS = (
    "images",
    "image_auroc",
    "image_ap",
    "pixel_auroc",
    "aupro",
    "defect_recall",
    "defect_precision",
    "image_recall",
    "false_alarm_rate",
)


def _evaluate(model_path: Path, dataset: Any) -> dict[str, Any]:
    """The headline validation figures of C2's `evaluate` (curves left out of the metadata)."""
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.evaluate import evaluate

    result = evaluate(load_model(model_path), dataset, progress=False)
    out = {f"val_{k}": result[k] for k in SUMMARY_KEYS if k in result}
    by_class = result.get("per_class") or {}
    out["val_recall_by_class"] = {k: v.get("recall") for k, v in by_class.items() if isinstance(v, dict)}
    by_vis = result.get("per_visibility") or {}
    out["val_recall_by_visibility"] = {k: v.get("recall") for k, v in by_vis.items() if isinstance(v, dict)}
    return out
