"""The training loop: steps with a rich progress bar, validation each epoch, early stopping, resumable
checkpoints, and a run folder (config.json, metrics.json, curve.png, last.pt, best.pt). Imports torch.

It runs on the CPU or a CUDA GPU (`training.compute`); the network comes back on the CPU, and
checkpoints load on either (`load_checkpoint` maps them to the CPU, the optimizer's state follows the
parameters on resume).

A run folder after `train`:
    config.json   the TrainConfig and network config
    last.pt       everything to resume (model, optimizer, scheduler, epoch, history, best)
    best.pt       the weights with the best validation so far (image AUROC, then loss; `is_better`)
    metrics.json  per-epoch history (train loss terms, val loss, val image AUROC, seconds)
    curve.png     training curve
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.models.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint
from fabric_inspect.models.network import DefectNet, normalize
from fabric_inspect.training.compute import ComputeConfig, describe_device, resolve_device
from fabric_inspect.training.config import TrainConfig
from fabric_inspect.training.data import ValImage, to_batch
from fabric_inspect.training.loss import Batch, defect_loss

log = logging.getLogger(__name__)


class Source(Protocol):
    description: str

    def batches(self, steps: range) -> Iterator[Batch]: ...

    def close(self) -> None: ...

    def val_images(self) -> list[ValImage]: ...

    def calibration_images(self) -> list[np.ndarray]: ...

    def summary(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class TrainResult:
    best_path: Path
    last_path: Path
    history: list[dict[str, Any]]
    stopped_early: bool


def _optimizer(net: DefectNet, config: TrainConfig) -> tuple[torch.optim.Optimizer, Any]:
    optimizer = torch.optim.AdamW(net.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.lr, total_steps=config.epochs * config.steps_per_epoch, pct_start=0.15
    )
    return optimizer, scheduler


def _net_input(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A uint8 batch as the network's float input on `device`. On the CPU it is channels-last in
    memory: with the network's weights channels-last too (`train`), oneDNN's depthwise and pointwise
    convolutions and their backward passes are faster on 2 cores (40 steps of the small preset:
    7.9-9.4 s against 12.1-15.5 s; the numbers are the same to float error)."""
    if device.type != "cpu":
        return normalize(images.to(device, non_blocking=True))
    return normalize(images).contiguous(memory_format=torch.channels_last)


def _on(batch: Batch, device: torch.device) -> Batch:
    """`batch` with its targets on `device` (the images move in `_net_input`, still uint8)."""
    if device.type == "cpu":
        return batch
    return Batch(
        images=batch.images,
        masks=batch.masks.to(device, non_blocking=True),
        has_mask=batch.has_mask.to(device, non_blocking=True),
        labels=batch.labels.to(device, non_blocking=True),
    )


def _device_of(net: DefectNet) -> torch.device:
    return next(net.parameters()).device


VAL_BATCH_PIXELS = 1 << 21  # validation images per forward pass: up to 32 of 256 px, 2 AITEX strips


def _same_size_runs(images: list[ValImage], max_pixels: int) -> list[list[ValImage]]:
    """Consecutive images of one shape (and all with or all without a mask), up to `max_pixels`."""
    runs: list[list[ValImage]] = []
    for item in images:
        last = runs[-1] if runs else None
        if (
            last
            and last[0].image.shape == item.image.shape
            and (last[0].mask is None) == (item.mask is None)
            and (len(last) + 1) * item.image.shape[0] * item.image.shape[1] <= max_pixels
        ):
            last.append(item)
        else:
            runs.append([item])
    return runs


def validate(
    net: DefectNet, images: list[ValImage], batch_pixels: int = VAL_BATCH_PIXELS
) -> dict[str, float | None]:
    """Mean loss over full validation images and the image-level AUROC (score = max of the map),
    on the device the network is on. Images of one size go through the network together (up to
    `batch_pixels`); each image's loss is its own, as if it went alone (BatchNorm is in eval mode)."""
    from fabric_inspect.training.metrics import auroc

    net.eval()
    device = _device_of(net)
    losses, scores, labels = [], [], []
    with torch.no_grad():
        for run in _same_size_runs(images, batch_pixels):
            masks = [it.mask if it.mask is not None else np.zeros(it.image.shape[:2], np.uint8) for it in run]
            has_mask = [it.mask is not None for it in run]
            batch = _on(to_batch([it.image for it in run], masks, has_mask, [it.label for it in run]), device)
            logit, class_logits = net(_net_input(batch.images, device))
            for i in range(len(run)):
                one = Batch(
                    *(t[i : i + 1] for t in (batch.images, batch.masks, batch.has_mask, batch.labels))
                )
                losses.append(float(defect_loss(logit[i : i + 1], class_logits[i : i + 1], one)["loss"]))
            scores.extend(torch.sigmoid(logit.flatten(1).max(1).values).tolist())
            labels.extend(int(it.label > 0) for it in run)
    value = auroc(np.asarray(scores), np.asarray(labels))
    return {"val_loss": float(np.mean(losses)), "val_image_auroc": value}


def _progress(enabled: bool) -> Any:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not enabled,
        transient=False,
    )


def _state(net, optimizer, scheduler, config, epoch, history, best) -> dict[str, Any]:
    return {
        "model": net.state_dict(),
        "config": {**net.config.to_dict()},
        "classes": list(net.config.classes),
        "threshold": 0.5,
        "epoch": epoch,
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "train_config": config.to_dict(),
        "history": history,
        "best": best,
    }


def load_teacher(path: str, student: DefectNet, device: torch.device) -> DefectNet:
    """The distillation teacher (`TrainConfig.teacher`): a checkpoint's network, frozen, in eval mode
    on `device`. It must read the frames the student reads (colour or grey)."""
    net = network_from_checkpoint(load_checkpoint(path), source=f"teacher {path}")
    if net.config.color != student.config.color:
        kind = "colour" if net.config.color else "greyscale"
        raise ConfigError(f"teacher {path} is a {kind} model; the student reads the other kind of frame")
    net.eval().requires_grad_(False).to(device)
    if device.type == "cpu":
        net.to(memory_format=torch.channels_last)
    return net


def _train_epoch(
    net, source, optimizer, scheduler, epoch, config, bar, task, teacher=None
) -> dict[str, float]:
    """One epoch; the source makes the next batches while this one trains (`Source.batches`)."""
    net.train()
    device = _device_of(net)
    sums: dict[str, torch.Tensor] = {}
    first = epoch * config.steps_per_epoch
    for i, batch in enumerate(source.batches(range(first, first + config.steps_per_epoch))):
        batch = _on(batch, device)
        x = _net_input(batch.images, device)
        logit, class_logits = net(x)
        teacher_logit = None
        if teacher is not None:
            with torch.no_grad():
                teacher_logit = teacher(x)[0]
        terms = defect_loss(
            logit,
            class_logits,
            batch,
            config.small_defect_boost,
            teacher_logit,
            config.distill_weight,
            config.rank_weight,
        )
        optimizer.zero_grad(set_to_none=True)
        terms["loss"].backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
        optimizer.step()
        scheduler.step()
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value.detach()
        bar.update(task, advance=1)
        if i % 10 == 0 or i + 1 == config.steps_per_epoch:  # reading the loss waits for a GPU
            bar.update(task, info=f"epoch {epoch + 1} loss {float(sums['loss']) / (i + 1):.3f}")
    return {f"train_{k}": float(v) / config.steps_per_epoch for k, v in sums.items()}


def train(
    net: DefectNet,
    source: Source,
    config: TrainConfig,
    out_dir: Path,
    resume: bool = False,
    progress: bool = True,
    compute: ComputeConfig | None = None,
) -> TrainResult:
    """Train `net` on `source`, writing the run folder `out_dir`; with `resume`, continue last.pt.
    `net` trains on `compute.device` (default: auto) and is back on the CPU when this returns;
    `source` is closed."""
    compute = compute or ComputeConfig()
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    device = resolve_device(compute.device)
    out_dir.mkdir(parents=True, exist_ok=True)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    net.to(device)
    if device.type == "cpu":  # see _net_input; back to the default layout at the end
        net.to(memory_format=torch.channels_last)
    optimizer, scheduler = _optimizer(net, config)
    teacher = load_teacher(config.teacher, net, device) if config.teacher else None
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {"val_loss": math.inf, "val_image_auroc": None, "epoch": -1}
    start = 0
    if resume:
        history, best, start = _resume(last_path, config, net, optimizer, scheduler)
    where = {"device": describe_device(device), "workers": compute.workers}
    log.info("training on %s, %d rendering worker process(es)", where["device"], compute.workers)
    (out_dir / "config.json").write_text(
        json.dumps(
            {
                "train": config.to_dict(),
                "network": net.config.to_dict(),
                "data": source.description,
                "compute": where,
            },
            indent=1,
        )
    )
    stopped = False
    try:
        val = source.val_images()
        with _progress(progress) as bar:
            task = bar.add_task("train", total=(config.epochs - start) * config.steps_per_epoch, info="")
            for epoch in range(start, config.epochs):
                if epoch - int(best["epoch"]) > config.patience and best["epoch"] >= 0:
                    stopped = True
                    log.info(
                        "early stop after epoch %d: validation did not improve for %d epochs",
                        epoch,
                        config.patience,
                    )
                    break
                started = time.perf_counter()
                row: dict[str, Any] = {
                    "epoch": epoch + 1,
                    **_train_epoch(net, source, optimizer, scheduler, epoch, config, bar, task, teacher),
                }
                row.update(validate(net, val))
                row["lr"] = scheduler.get_last_lr()[0]
                row["seconds"] = round(time.perf_counter() - started, 2)
                history.append(row)
                best = _save_epoch(out_dir, row, best, net, optimizer, scheduler, config, epoch, history)
    finally:
        source.close()
        net.to("cpu", memory_format=torch.contiguous_format)
    return TrainResult(best_path=best_path, last_path=last_path, history=history, stopped_early=stopped)


def _resume(
    last_path: Path, config: TrainConfig, net: DefectNet, optimizer: Any, scheduler: Any
) -> tuple[list[dict[str, Any]], dict[str, Any], int]:
    """Load last.pt into the network, optimizer and scheduler: (history, best, first epoch to run)."""
    state = load_checkpoint(last_path)
    if _without_threads(state.get("train_config")) != _without_threads(config.to_dict()):
        raise ConfigError(
            f"--resume: {last_path} was trained with other settings; resume with the same options "
            "or start a new --out folder"
        )
    net.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])  # its state moves to the parameters' device
    scheduler.load_state_dict(state["scheduler"])
    start = int(state["epoch"]) + 1
    log.info("resuming %s at epoch %d", last_path, start + 1)
    return list(state["history"]), dict(state["best"]), start


# TrainConfig fields a resumed run takes from last.pt
SHAPE = ("widths", "dilations", "kernel", "branches", "residual")


def started_shape(config: TrainConfig, last_path: Path) -> TrainConfig:
    """`config` with the network's shape (SHAPE: widths, dilations, kernel, branches, residual) of the
    run `last_path` holds: a resumed run is built as it was started, whatever the preset says (`train
    --resume` may not repeat them); every other setting must still match it (`_resume`)."""
    started = load_checkpoint(last_path).get("train_config") or {}
    shape = {k: tuple(v) if isinstance(v, list) else v for k, v in started.items() if k in SHAPE}
    return config.with_overrides(**shape)


def _without_threads(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    """Training settings less the thread count, which changes the speed, not what is trained: a run
    goes on with more cores, or on another machine."""
    return None if settings is None else {k: v for k, v in settings.items() if k != "threads"}


def _save_epoch(
    out_dir: Path,
    row: dict[str, Any],
    best: dict[str, Any],
    net: DefectNet,
    optimizer: Any,
    scheduler: Any,
    config: TrainConfig,
    epoch: int,
    history: list[dict[str, Any]],
) -> dict[str, Any]:
    """Log the epoch, write last.pt (and best.pt when it is better), metrics.json and the curve;
    the new best."""
    log.info("epoch %d: %s", epoch + 1, {k: round(v, 4) for k, v in row.items() if isinstance(v, float)})
    if is_better(row, best):
        best = {"val_loss": row["val_loss"], "val_image_auroc": row["val_image_auroc"], "epoch": epoch}
        save_checkpoint(out_dir / "best.pt", _state(net, optimizer, scheduler, config, epoch, history, best))
    save_checkpoint(out_dir / "last.pt", _state(net, optimizer, scheduler, config, epoch, history, best))
    _write_history(out_dir, history)
    return best


def is_better(row: dict[str, Any], best: dict[str, Any]) -> bool:
    """Model selection: the higher validation image AUROC (what calibration and inspection act on),
    then the lower validation loss; the loss alone where the AUROC is undefined (one class only)."""
    new, old = row.get("val_image_auroc"), best.get("val_image_auroc")
    if new is not None and old is not None and new != old:
        return new > old
    if new is not None and old is None and best.get("epoch", -1) >= 0:
        return True
    return row["val_loss"] < best["val_loss"]


def _write_history(out_dir: Path, history: list[dict[str, Any]]) -> None:
    (out_dir / "metrics.json").write_text(json.dumps({"epochs": history}, indent=1))
    plot_history(history, out_dir / "curve.png")


def plot_history(history: list[dict[str, Any]], path: Path) -> Path | None:
    """Training and validation loss (and validation image AUROC) per epoch as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # matplotlib is in the train extra; a curve is a nicety, not a result
        log.warning("matplotlib is not installed; no training curve written")
        return None
    epochs = [r["epoch"] for r in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(epochs, [r["train_loss"] for r in history], label="train loss")
    ax.plot(epochs, [r["val_loss"] for r in history], label="val loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    aurocs = [r.get("val_image_auroc") for r in history]
    if any(a is not None for a in aurocs):
        ax2 = ax.twinx()
        ax2.plot(
            epochs, [a if a is not None else float("nan") for a in aurocs], "g--", label="val image AUROC"
        )
        ax2.set_ylabel("image AUROC")
        ax2.set_ylim(0.5, 1.0)
        ax2.legend(loc="upper right")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
