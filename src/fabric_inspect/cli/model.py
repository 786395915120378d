"""`fabric-inspect train` and `fabric-inspect export`: build the defect model (needs the train extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fabric_inspect.cli._common import handles_errors, path_value, stderr_bar
from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.training.config import PRESETS

SYNTH_VAL_SEED = 3999  # write_dataset seed of the synthetic validation set (see training/data.py)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command(help="Train or fine-tune the defect model, calibrate its threshold, export model.onnx.")(
        train
    )
    app.command(help="Export a training checkpoint (.pt) to one self-contained, parity-checked .onnx file.")(
        export
    )
    app.command(help="Narrow a checkpoint's stride-8 or stride-4 channels: a faster net to train (--init).")(
        prune
    )


def _need_torch() -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ConfigError(
            "training and export need the train extra (torch); "
            "install it with `pip install 'fabric-inspect[train]'`"
        ) from None


@handles_errors
def train(
    out: Annotated[
        Path,
        typer.Option("--out", parser=path_value, help="Run folder (model.onnx, weights.pt, metrics, curve)."),
    ],
    data: Annotated[
        Path | None, typer.Option("--data", parser=path_value, help="Dataset folder to train on.")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="Dataset format: auto|labeled|folders|mvtec|aitex.")
    ] = "auto",
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Train on synthetic fabric made on the fly.")
    ] = False,
    preset_name: Annotated[
        str,
        typer.Option(
            "--preset",
            help=f"Recipe: {'|'.join(PRESETS)}.",
        ),
    ] = "default",
    init: Annotated[
        str | None, typer.Option("--init", help="Start from 'default' (shipped model) or a .pt.")
    ] = None,
    epochs: Annotated[int | None, typer.Option("--epochs", help="Epochs (overrides the preset).")] = None,
    steps: Annotated[
        int | None, typer.Option("--steps", help="Steps per epoch (overrides the preset).")
    ] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Crops per step.")] = None,
    crop: Annotated[
        int | None, typer.Option("--crop", help="Training crop side in pixels (multiple of 8).")
    ] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    patience: Annotated[
        int | None,
        typer.Option("--patience", help="Stop after this many epochs without a better validation."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Random seed (split, crops, synthetic images).")
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads for torch.")] = None,
    device: Annotated[
        str,
        typer.Option(
            "--device",
            help="Where the training steps run: auto (a CUDA GPU if torch sees one, else the CPU), "
            "cpu, cuda or cuda:N. Calibration, export and evaluation always run on the CPU.",
        ),
    ] = "auto",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help="Processes rendering synthetic training batches (0: one background thread). On a GPU, "
            "about one per spare CPU core; the batches are the same whatever the number.",
        ),
    ] = 0,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="How train holds out its own validation images from --data: auto (AITEX layout: by "
            "image within each fabric; else whole rolls where the format has them, else by image), "
            "group, image or image_within_fabric. On a set of a few hundred images, holding out whole "
            "rolls can withhold a fabric's defects from training.",
        ),
    ] = None,
    grey: Annotated[
        bool, typer.Option("--grey", help="Train a greyscale (HW input) model instead of BGR.")
    ] = False,
    widths: Annotated[
        str | None,
        typer.Option(
            "--widths",
            help="A fresh network's channels: stem, stride-4 block, stride 8 (the shipped 24,24,64). "
            "For trying architectures; the time per frame grows with the stride-8 width.",
        ),
    ] = None,
    dilations: Annotated[
        str | None,
        typer.Option(
            "--dilations",
            help="A fresh network's residual blocks at stride 8, one dilation each (the shipped 1,2,4,8).",
        ),
    ] = None,
    kernel: Annotated[
        int | None,
        typer.Option(
            "--kernel",
            help="A fresh network's depthwise kernel in the blocks at stride 8: 3 (the shipped), 5 or 7.",
        ),
    ] = None,
    branches: Annotated[
        int | None,
        typer.Option(
            "--branches",
            help="Parallel branches per convolution while training (1: plain); with --init, the "
            "new ones start at zero. They are summed into one convolution at export, so the model "
            "runs as fast.",
        ),
    ] = None,
    residual: Annotated[
        str | None,
        typer.Option(
            "--residual",
            help="What each residual block adds to its input: relu (after its last ReLU, the models "
            "up to version 5) or linear (before it: onnxruntime can then fuse the sum into the "
            "convolution). With --init, the checkpoint's weights are kept; left out, its own is kept.",
        ),
    ] = None,
    teacher: Annotated[
        Path | None,
        typer.Option(
            "--teacher",
            parser=path_value,
            help="A trained checkpoint (.pt) whose defect map the net also learns (distillation), "
            "e.g. a wider net too slow to run live; it reads the same frames as the net trained.",
        ),
    ] = None,
    distill_weight: Annotated[
        float | None,
        typer.Option("--distill-weight", help="Weight of the teacher's term beside the labels' (1.0)."),
    ] = None,
    rank_weight: Annotated[
        float | None,
        typer.Option(
            "--rank-weight",
            help="Weight of a ranking term: each defective crop's peak against the hottest cell of "
            "the batch's defect-free crops (0: off, the default).",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in --out from its last.pt.")
    ] = False,
    keep: Annotated[
        str,
        typer.Option(
            "--keep",
            help="Epoch to export: last (the default) or best (validation image AUROC). A small "
            "validation split (tens of images) moves more from epoch to epoch than the model does, "
            "so 'best' often picks an early epoch by chance.",
        ),
    ] = "last",
    model_version: Annotated[
        str | None,
        typer.Option(
            "--model-version",
            help="Version written in the model's metadata, which `run` prints and the database keeps "
            "(default: the --out folder's name).",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show a progress bar.")] = True,
) -> None:
    from fabric_inspect.training.compute import ComputeConfig, describe_device, resolve_device
    from fabric_inspect.training.config import check_keep, preset

    check_keep(keep)
    compute = ComputeConfig(device=device, workers=workers)
    if synthetic == (data is not None):
        raise ConfigError("give exactly one of --data DIR or --synthetic")
    if data is not None and not data.is_dir():
        raise InputError(
            f"--data {data} is not a folder; give a dataset folder (see `fabric-inspect data check`)"
        )
    if resume and init is not None:
        raise ConfigError("--resume continues a run as it was started; leave out --init")
    if workers and not synthetic:
        raise ConfigError(
            "--workers renders synthetic fabric; --data is read once and cropped in one background thread"
        )
    if (widths is not None or dilations is not None or kernel is not None) and (init is not None or resume):
        raise ConfigError(
            "--widths, --dilations and --kernel shape a fresh network; --init and --resume take the "
            "checkpoint's shape"
        )
    if branches is not None and resume:
        raise ConfigError("--resume continues a run with its own branches; leave out --branches")
    if residual is not None and resume:
        raise ConfigError("--resume continues a run with its own residual sum; leave out --residual")
    if teacher is not None and not teacher.is_file():
        raise InputError(f"--teacher {teacher} is not a file; give a weights.pt or last.pt of a training run")
    if distill_weight is not None and teacher is None:
        raise ConfigError("--distill-weight weighs the --teacher's term; give --teacher too")
    if resume and not (out / "last.pt").is_file():
        raise InputError(f"--resume: {out / 'last.pt'} does not exist; start the run without --resume first")
    config = preset(preset_name).with_overrides(
        epochs=epochs,
        steps_per_epoch=steps,
        batch_size=batch_size,
        crop=crop,
        lr=lr,
        patience=patience,
        seed=seed,
        threads=threads,
        split=split,
        color=False if grey else None,
        widths=_int_list(widths, "--widths"),
        dilations=_int_list(dilations, "--dilations"),
        kernel=kernel,
        branches=branches,
        residual=residual,
        teacher=str(teacher) if teacher is not None else None,
        distill_weight=distill_weight,
        rank_weight=rank_weight,
    )
    if init is not None and init != "default" and not Path(init).is_file():
        raise InputError(f"--init {init} is neither 'default' nor an existing checkpoint file")
    _need_torch()
    from fabric_inspect.training.pipeline import fit

    # the data first: a folder that is not a dataset is named alone, and leaves no run folder behind
    source, classes, val = _training_data(out, data, fmt, synthetic, config, workers)
    out.mkdir(parents=True, exist_ok=True)
    typer.echo(f"training on {describe_device(resolve_device(device))}", err=True)
    version = model_version or out.resolve().name
    result = fit(
        source,
        config,
        out,
        classes,
        init,
        resume,
        val_dataset=val,
        progress=progress,
        keep=keep,
        version=version,
        compute=compute,
    )
    typer.echo(f"model {result.model_path}  version {version}  threshold {result.threshold:.4f}")
    for key in ("val_image_auroc", "val_defect_recall", "val_false_alarm_rate", "calibration_far"):
        if result.metrics.get(key) is not None:
            typer.echo(f"  {key}: {result.metrics[key]:.4f}")


def _int_list(text: str | None, option: str) -> tuple[int, ...] | None:
    """ "16,16,80" -> (16, 16, 80); None when the option is unset (TrainConfig checks the values)."""
    if text is None:
        return None
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ConfigError(
            f"{option} must be comma-separated integers such as 24,24,64, got {text!r}"
        ) from None


def _training_data(out, data, fmt, synthetic, config, workers=0):
    """What `train` learns from: (source, class names, validation dataset on disk)."""
    from fabric_inspect.datasets.loader import load_dataset

    if synthetic:
        from fabric_inspect.datasets.classes import DEFECT_CLASSES
        from fabric_inspect.datasets.synthetic import write_dataset
        from fabric_inspect.training.data import SyntheticSource

        val_dir = out / "val"
        if not (val_dir / "annotations.json").is_file():
            write_dataset(
                val_dir, config.val_images * 2, config.val_size, SYNTH_VAL_SEED, grey=not config.color
            )
        return SyntheticSource(config, workers), DEFECT_CLASSES, load_dataset(val_dir, "labeled")
    from fabric_inspect.datasets.loader import split_by_group
    from fabric_inspect.training.data import FolderSource

    dataset = load_dataset(data, fmt)
    train_ds, val_ds = split_by_group(dataset, config.val_fraction, config.seed, by=config.split)
    if not val_ds.defect_free:
        raise InputError(
            f"--data {data}: the validation split has no defect-free images to calibrate the threshold on; "
            "add defect-free images (good/ or images without a mask)"
        )
    return FolderSource(config, train_ds, val_ds), tuple(dataset.classes), val_ds


@handles_errors
def export(
    checkpoint: Annotated[
        Path, typer.Argument(parser=path_value, help="Checkpoint written by `fabric-inspect train` (.pt).")
    ],
    out: Annotated[Path, typer.Option("--out", parser=path_value, help="Destination .onnx file.")],
    threshold: float | None = typer.Option(
        None, "--threshold", help="Operating threshold (default: the checkpoint's)."
    ),
    name: Annotated[str, typer.Option("--name", help="Model name stored in the metadata.")] = "fabric-fcn",
    version: Annotated[
        str | None,
        typer.Option("--version", help="Model version stored in the metadata (default: the checkpoint's)."),
    ] = None,
) -> None:
    if not checkpoint.is_file():
        raise InputError(f"checkpoint {checkpoint} does not exist; give a weights.pt from a training run")
    if out.suffix != ".onnx":
        raise ConfigError(f"--out {out} must end in .onnx")
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ConfigError(f"--threshold must be in (0, 1), got {threshold}")
    _need_torch()
    from fabric_inspect.models.checkpoint import load_checkpoint, network_from_checkpoint
    from fabric_inspect.models.export import export_onnx, model_info_for

    state = load_checkpoint(checkpoint)
    net = network_from_checkpoint(state, source=str(checkpoint)).eval()
    value = float(state.get("threshold", 0.5)) if threshold is None else threshold
    info = model_info_for(
        net,
        value,
        name=name,
        version=version or str(state.get("version", "1")),
        training=state.get("training") or {},
        metrics=state.get("metrics") or {},
    )
    export_onnx(net, out, info)
    typer.echo(f"exported {out} (threshold {value:.4f})")


@handles_errors
def prune(
    checkpoint: Annotated[
        Path, typer.Argument(parser=path_value, help="Checkpoint to narrow (.pt, e.g. runs/NAME/weights.pt).")
    ],
    out: Annotated[Path, typer.Option("--out", parser=path_value, help="Destination checkpoint (.pt).")],
    width: Annotated[
        int, typer.Option("--width", help="Channels to keep (the shipped model has 64 at stride 8, 24 at 4).")
    ] = 48,
    stream: Annotated[
        str, typer.Option("--stream", help="Which stream to narrow: stride8|stride4.")
    ] = "stride8",
) -> None:
    if not checkpoint.is_file():
        raise InputError(f"checkpoint {checkpoint} does not exist; give a weights.pt from a training run")
    if out.suffix != ".pt":
        raise ConfigError(f"--out {out} must end in .pt")
    _need_torch()
    from fabric_inspect.models.checkpoint import load_checkpoint, network_from_checkpoint, save_checkpoint
    from fabric_inspect.models.network import fuse_branches
    from fabric_inspect.training.prune import prune_stream, pruning_batch, stream_width

    state = load_checkpoint(checkpoint)
    net = fuse_branches(network_from_checkpoint(state, source=str(checkpoint)).eval())
    before = stream_width(net, stream)
    with stderr_bar("channels removed") as update:
        narrow = prune_stream(
            net,
            width,
            pruning_batch(net.config.color),
            progress=lambda left, _dropped: update(before - left, max(before - width, 0)),
            stream=stream,
        )
    what = f"{before} -> {width} {stream.replace('stride', 'stride-')} channels"
    training = state.get("training") or {}
    done = f"{training['pruned']}, then {what}" if training.get("pruned") else what
    pruned = {**state, "model": narrow.state_dict(), "config": narrow.config.to_dict()}
    pruned["training"] = {**training, "pruned": done}
    save_checkpoint(out, pruned)
    typer.echo(f"wrote {out}: {what}; train on it with --init {out}")
