"""`fabric-inspect calibrate`: re-set a model's threshold on defect-free fabric at the camera's size."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fabric_inspect.cli._common import handles_errors
from fabric_inspect.errors import ConfigError, InputError


def register(app: typer.Typer) -> None:
    app.command(
        help=(
            "Re-set a model's threshold to a target false-alarm rate on defect-free images (a folder of "
            "good fabric, or synthetic frames at the camera's size) and write the recalibrated model."
        )
    )(calibrate)


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (height, width)."""
    width, sep, height = text.lower().partition("x")
    if not sep or not width.strip().isdigit() or not height.strip().isdigit():
        raise ConfigError(f"--size must be WIDTHxHEIGHT (e.g. 1280x720), got {text!r}")
    if min(int(width), int(height)) < 32:
        raise ConfigError(f"--size must be at least 32x32, got {text!r}")
    return int(height), int(width)


@handles_errors
def calibrate(
    out: Annotated[Path, typer.Option("--out", "-o", help="Recalibrated model to write (.onnx).")],
    model: Annotated[
        Path | None, typer.Option("--model", "-m", help="Model (default: the shipped one).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Dataset whose defect-free images are used.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="Dataset layout (auto detects it).")] = "auto",
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Use synthetic defect-free frames.")] = False,
    size: Annotated[str, typer.Option("--size", help="Synthetic frame size WIDTHxHEIGHT.")] = "1280x720",
    count: Annotated[int, typer.Option("--count", help="Synthetic frames to render.")] = 300,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic frames.")] = 5_000_000,
    target_far: Annotated[
        float, typer.Option("--target-far", help="False-alarm rate on defect-free images.")
    ] = 0.01,
) -> None:
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.recalibrate import recalibrate

    if (data is None) == (not synthetic):
        raise ConfigError("give exactly one of --data DIR or --synthetic")
    if out.suffix != ".onnx":
        raise ConfigError(f"--out {out} must end in .onnx")
    if not 0.0 < target_far < 1.0:
        raise ConfigError(f"--target-far must be in (0, 1), got {target_far}")
    onnx_model = load_model(model)
    if synthetic:
        images, described = _synthetic(parse_size(size), count, seed, onnx_model.info.channels == 1)
    else:
        images, described = _defect_free(data, fmt)
    result = recalibrate(onnx_model, images, out, target_far, described)
    typer.echo(
        f"{out}: threshold {result.previous:.4f} -> {result.threshold:.4f} on {result.images} defect-free "
        f"images ({described}); false alarms there {result.false_alarm_rate:.1%} (target {target_far:.1%})"
    )


def _synthetic(size: tuple[int, int], count: int, seed: int, grey: bool) -> tuple[list, str]:
    from fabric_inspect.datasets.synthetic import render_sample

    if not 1 <= count <= 100_000:
        raise ConfigError(f"--count must be in 1..100000, got {count}")
    images = [render_sample(seed + i, size=size, grey=grey, defect_rate=0.0).image for i in range(count)]
    return images, f"synthetic {size[1]}x{size[0]} frames, seeds {seed}..{seed + count - 1}"


def _defect_free(data: Path, fmt: str) -> tuple[list, str]:
    from fabric_inspect.datasets.loader import load_dataset, read_image

    dataset = load_dataset(data, fmt)
    free = [s for s in dataset.samples if s.label == "good"]
    if not free:
        raise InputError(f"{data} has no defect-free images to calibrate on")
    return [read_image(s) for s in free], f"{len(free)} defect-free images of {data}"
