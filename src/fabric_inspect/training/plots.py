"""ROC, precision-recall and PRO curves of an evaluation, as PNG files.

matplotlib is only in the [train] extra, so it is imported here, lazily, with the Agg backend; when it
is missing the plots are skipped with a warning and the evaluation itself is unaffected.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _pyplot() -> Any | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed (pip install 'fabric-inspect[train]'): curves not plotted")
        return None
    return plt


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def plot_curves(result: dict[str, Any], out_dir: str | Path, prefix: str = "") -> list[Path]:
    """Write roc.png, pr.png and pro.png (those the result has curves for); return their paths."""
    curves = result.get("curves", {})
    if not curves:
        return []
    plt = _pyplot()
    if plt is None:
        return []
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    model_name = result.get("model", {}).get("name", "model")
    title = f"{model_name} on {Path(result.get('dataset', {}).get('root', '')).name}"

    if "image_roc" in curves or "pixel_roc" in curves:
        fig, ax = plt.subplots(figsize=(5, 5))
        if "image_roc" in curves:
            c = curves["image_roc"]
            ax.plot(c["fpr"], c["tpr"], label=f"image (AUROC {_fmt(result.get('image_auroc'))})")
        if "pixel_roc" in curves:
            c = curves["pixel_roc"]
            ax.plot(c["fpr"], c["tpr"], label=f"pixel (AUROC {_fmt(result.get('pixel_auroc'))})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        _finish(ax, "false-positive rate", "true-positive rate", f"ROC: {title}")
        written.append(_save(plt, fig, out_dir / f"{prefix}roc.png"))

    if "image_pr" in curves:
        fig, ax = plt.subplots(figsize=(5, 5))
        c = curves["image_pr"]
        ax.step(c["recall"], c["precision"], where="post", label=f"image (AP {_fmt(result.get('image_ap'))})")
        _finish(ax, "recall", "precision", f"Precision-recall: {title}")
        written.append(_save(plt, fig, out_dir / f"{prefix}pr.png"))

    if "pro" in curves:
        fig, ax = plt.subplots(figsize=(5, 5))
        c = curves["pro"]
        limit = result.get("aupro_fpr_limit", 0.3)
        ax.plot(c["fpr"], c["pro"], label=f"AUPRO@{limit} {_fmt(result.get('aupro'))}")
        ax.axvline(limit, color="grey", linestyle=":", linewidth=1)
        _finish(ax, "false-positive rate (pixels)", "per-region overlap", f"PRO: {title}")
        written.append(_save(plt, fig, out_dir / f"{prefix}pro.png"))
    return written


def _finish(ax: Any, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    log.info("wrote %s", path)
    return path
