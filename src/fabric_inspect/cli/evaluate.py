"""`fabric-inspect eval`: score a labeled data set with an .onnx model through onnxruntime."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from fabric_inspect.cli._common import handles_errors, path_value
from fabric_inspect.errors import InputError

DATA_HELP = "Data set folder: labeled format, AITEX, MVTec AD category or image-level folders."
MODEL_HELP = "Model .onnx file (default: the shipped model)."
THRESHOLD_HELP = "Decision threshold in (0, 1) (default: the model's calibrated one)."
JSON_HELP = "Write all metrics (and curves) to this JSON file."
PLOTS_HELP = "Folder for roc.png, pr.png, pro.png (default: beside --json, named after it)."


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.command(
        name="eval",
        help=(
            "Score a labeled data set with a model through onnxruntime: image AUROC/AP, pixel AUROC, "
            "AUPRO, defect-level recall and precision, false alarms, recall per class and visibility."
        ),
    )(evaluate_command)


@handles_errors
def evaluate_command(
    data: Annotated[Path, typer.Option("--data", "-d", parser=path_value, help=DATA_HELP)],
    model: Annotated[Path | None, typer.Option("--model", "-m", parser=path_value, help=MODEL_HELP)] = None,
    fmt: Annotated[str, typer.Option("--format", help="Data set format (auto detects it).")] = "auto",
    threshold: Annotated[float | None, typer.Option("--threshold", help=THRESHOLD_HELP)] = None,
    json_path: Annotated[Path | None, typer.Option("--json", parser=path_value, help=JSON_HELP)] = None,
    plots: Annotated[Path | None, typer.Option("--plots", parser=path_value, help=PLOTS_HELP)] = None,
    threads: Annotated[int, typer.Option("--threads", help="onnxruntime threads (0 = all cores).")] = 0,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Progress bar on stderr.")
    ] = True,
) -> None:
    from fabric_inspect.training.evaluate import check_threshold

    if threshold is not None:
        check_threshold(threshold, "--threshold")
    if json_path is not None:
        _check_writable(json_path, "--json")
    if plots is not None and plots.exists() and not plots.is_dir():
        raise InputError(f"--plots {plots} exists and is not a folder; give a folder for the PNG curves")

    from fabric_inspect.datasets.loader import load_dataset
    from fabric_inspect.models.runtime import RuntimeConfig, load_model
    from fabric_inspect.training.evaluate import evaluate

    onnx_model = load_model(model, RuntimeConfig(threads=threads))
    dataset = load_dataset(data, fmt)
    result = evaluate(onnx_model, dataset, threshold=threshold, progress=progress)
    _print_tables(result)
    if json_path is not None:
        _write_json(result, json_path)
        typer.echo(f"metrics written to {json_path}")
    plot_dir, prefix = (plots, "") if plots is not None else (None, "")
    if plot_dir is None and json_path is not None:
        plot_dir, prefix = json_path.parent, f"{json_path.stem}_"
    if plot_dir is not None:
        from fabric_inspect.training.plots import plot_curves

        for path in plot_curves(result, plot_dir, prefix):
            typer.echo(f"curve written to {path}")


def _check_writable(path: Path, option: str) -> None:
    if path.is_dir():
        raise InputError(f"{option} {path} is a folder; give a file name such as {path / 'metrics.json'}")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{option} {path}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {path}: folder {parent} is not writable")


def _write_json(result: dict[str, Any], path: Path) -> None:
    """Write to a temporary file beside `path`, then rename, so a failure never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(f"--json {path} could not be written: {err.strerror}") from None


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _print_tables(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=f"{result['model']['name']} on {result['dataset']['root']}", show_header=False)
    summary.add_column("metric")
    summary.add_column("value", justify="right")
    rows = [
        (
            "images (defective / defect-free)",
            f"{result['images']} ({result['defective_images']} / {result['defect_free_images']})",
        ),
        ("threshold", f"{result['threshold']:.4g}"),
        ("image AUROC", _fmt(result["image_auroc"])),
        ("image AP", _fmt(result["image_ap"])),
        ("pixel AUROC", _fmt(result["pixel_auroc"])),
        (f"AUPRO (FPR <= {result['aupro_fpr_limit']})", _fmt(result["aupro"])),
        ("defect recall (regions found / all)", _fmt(result["defect_recall"])),
        ("defect precision", _fmt(result["defect_precision"])),
        ("image recall (defective images flagged)", _fmt(result["image_recall"])),
        ("false-alarm rate (defect-free images flagged)", _fmt(result["false_alarm_rate"])),
    ]
    for name, value in result.get("image_auroc_by_visibility", {}).items():
        rows.append((f"image AUROC, most visible defect {name.replace('_', ' or ')}", _fmt(value)))
    for name, value in rows:
        summary.add_row(name, value)
    console.print(summary)
    if result["per_class"]:
        console.print(_recall_table("Recall per class", result["per_class"], with_images=True))
    if set(result["per_visibility"]) - {"unknown"}:  # no annotations (e.g. AITEX): nothing to split
        console.print(_recall_table("Recall per visibility", result["per_visibility"], with_images=False))
    costly = _costly_images(result["per_image"])
    if costly is not None:
        console.print(costly)


def _costly_images(per_image: list[dict], count: int = 5) -> Any:
    """The images that cost the image AUROC most (a few hard images often hold a small set's figure down)."""
    from rich.table import Table

    from fabric_inspect.training.evaluate import GOOD

    rows = sorted((r for r in per_image if r.get("auroc_loss", 0.0) > 0.0), key=lambda r: -r["auroc_loss"])
    if not rows:
        return None
    table = Table(
        title="Images that cost the most image AUROC",
        caption="defective: defect-free images score above it; defect-free: defective ones score below it",
    )
    for name in ("image", "label", "score", "AUROC lost"):
        table.add_column(name, justify="left" if name in ("image", "label") else "right", no_wrap=True)
    for kind in (True, False):
        for r in [r for r in rows if (r["label"] != GOOD) == kind][:count]:
            table.add_row(r["stem"], r["label"], f"{r['score']:.3f}", f"{r['auroc_loss']:.3f}")
    return table


def _recall_table(title: str, entries: dict[str, dict], with_images: bool) -> Any:
    from rich.table import Table

    order = ("low", "medium", "high")
    seen = {v for e in entries.values() for v in e.get("by_visibility", {})}
    visibilities = [v for v in order if v in seen] + sorted(seen - {*order, "unknown"})
    caption = "n: defect regions; low/med/high: recall by visibility" if visibilities else None
    table = Table(title=title, caption=caption)
    table.add_column("", no_wrap=True)
    for name in ("n", "found", "recall", *("med" if v == "medium" else v for v in visibilities)):
        table.add_column(name, justify="right", no_wrap=True)
    if with_images:
        table.add_column("images flagged", justify="right", no_wrap=True)
    for key, e in entries.items():
        by_vis = e.get("by_visibility", {})
        cells = [key, str(e["regions"]), str(e["found"]), _fmt(e["recall"])]
        cells += [_fmt(by_vis.get(v, {}).get("recall")) for v in visibilities]
        if with_images:
            cells.append(f"{e.get('images_flagged', 0)}/{e.get('images', 0)}")
        table.add_row(*cells)
    return table
