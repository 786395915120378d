"""Experiment (run by hand): which synthetic defects a model finds, by how visible each one really is.

    .venv/bin/python benchmarks/defect_contrast.py --seed 9999 --count 300 [--model M.onnx] \
        [--json benchmarks/results/defect_contrast_9999.json] \
        [--plot benchmarks/results/defect_contrast_9999.png]

The generator grades a defect low / medium / high by the strength it is drawn with, before it is
woven into a fabric; how visible it ends up depends on the fabric too (a faint reed mark in a dark,
dense weave). This script measures it. Each image of `fabric-inspect synth images --seed S --count N
--size Z` (image i is `render_sample(S * 1_000_003 + i)`) is rendered again beside its defect-free
twin (the same seed with no defect: the same fabric, camera and noise), and for each defect region:

- signal: the 90th percentile, over the region's mask pixels, of the grey difference between image
  and twin, both blurred by a Gaussian of sigma 1.5 px (about a yarn);
- noise: the standard deviation of the blurred twin over a ring 24 px wide around the region's box,
  outside the mask: how much the fabric's own texture varies there;
- contrast = signal / noise (below 1 the defect changes its pixels less than the weave does).

A region is found when the model's highest cell over its mask pixels reaches the threshold (the
model's still-image threshold unless --threshold): what `fabric-inspect eval` counts. The JSON holds
recall by contrast band, by band and grade, by band and class, and every region; the PNG plots score
against contrast.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.datasets.synthetic import render_sample
from fabric_inspect.models.runtime import RuntimeConfig, load_model

BANDS = ((0.0, 1.0), (1.0, 2.0), (2.0, 3.0), (3.0, 5.0), (5.0, float("inf")))
RING = 24
SIGMA = 1.5


def _grey_blur(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    return cv2.GaussianBlur(grey.astype(np.float32), (0, 0), SIGMA)


def region_rows(
    seed: int, size: int, model, defect_class: str | None = None, visibility: str | None = None
) -> list[dict]:
    """Contrast and score of each defect region of one synthetic image (`render_sample`'s seed, size,
    and the class and visibility it may force)."""
    sample = render_sample(seed, size, defect_class=defect_class, visibility=visibility)
    if not sample.defects:
        return []
    texture = _grey_blur(render_sample(seed, size, defect_rate=0.0).image)
    diff = np.abs(_grey_blur(sample.image) - texture)
    score = model.predict(sample.image).score
    stride, last_row, last_col = model.info.stride, score.shape[0] - 1, score.shape[1] - 1
    defect = sample.mask > 0
    rows = []
    for record in sample.defects:
        x0, y0, x1, y1 = record.bbox
        pixels = np.zeros_like(defect)
        pixels[y0:y1, x0:x1] = defect[y0:y1, x0:x1]
        if not pixels.any():
            continue
        ring = np.zeros_like(defect)
        ring[max(0, y0 - RING) : y1 + RING, max(0, x0 - RING) : x1 + RING] = True
        ring &= ~defect
        noise = float(texture[ring].std()) if ring.any() else float("nan")
        signal = float(np.percentile(diff[pixels], 90))
        ys, xs = np.nonzero(pixels)
        cells = score[np.minimum(ys // stride, last_row), np.minimum(xs // stride, last_col)]
        rows.append(
            {
                "seed": seed,
                "class": record.class_name,
                "visibility": record.visibility,
                "bbox": list(record.bbox),
                "signal": round(signal, 3),
                "noise": round(noise, 3),
                "contrast": round(signal / max(noise, 1e-6), 3),
                "score": round(float(cells.max()), 4),
            }
        )
    return rows


def band_name(lo: float, hi: float) -> str:
    return f">= {lo:g}" if hi == float("inf") else f"{lo:g}-{hi:g}"


def recall_table(rows: list[dict], threshold: float, key: str | None) -> dict:
    """{group: {band: {"regions", "found", "recall"}}} (one group "all" when key is None)."""
    table: dict[str, dict[str, dict]] = defaultdict(dict)
    for group in sorted({r[key] for r in rows} if key else {"all"}):
        mine = [r for r in rows if key is None or r[key] == group]
        for lo, hi in BANDS:
            band = [r for r in mine if lo <= r["contrast"] < hi]
            found = sum(r["score"] >= threshold for r in band)
            table[group][band_name(lo, hi)] = {
                "regions": len(band),
                "found": found,
                "recall": round(found / len(band), 3) if band else None,
            }
    return dict(table)


def plot(rows: list[dict], threshold: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    for name in sorted({r["class"] for r in rows}):
        mine = [r for r in rows if r["class"] == name]
        ax.scatter([r["contrast"] for r in mine], [r["score"] for r in mine], s=14, label=name)
    ax.axhline(threshold, color="k", lw=0.8, ls="--", label=f"threshold {threshold:.3f}")
    ax.set_xscale("log")
    ax.set_xlabel("measured contrast (defect signal / fabric texture, log)")
    ax.set_ylabel("model score at the defect")
    ax.set_title("Synthetic defects: score against how visible each one is")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=9999, help="the set's --seed (synth images)")
    parser.add_argument("--count", type=int, default=300, help="the set's --count")
    parser.add_argument("--size", type=int, default=512, help="the set's --size")
    parser.add_argument("--model", default=None, help="model .onnx (default: the shipped one)")
    parser.add_argument("--threshold", type=float, default=None, help="default: the model's own")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    model = load_model(args.model, RuntimeConfig(threads=2))
    threshold = args.threshold or model.info.threshold
    rows = []
    for i in range(args.count):
        rows += region_rows(args.seed * 1_000_003 + i, args.size, model)
    report = {
        "model": str(model.path),
        "threshold": threshold,
        "set": {"seed": args.seed, "count": args.count, "size": args.size},
        "by_contrast": recall_table(rows, threshold, None)["all"],
        "by_visibility": recall_table(rows, threshold, "visibility"),
        "by_class": recall_table(rows, threshold, "class"),
        "regions": rows,
    }
    for grade, bands in [("all", report["by_contrast"]), *report["by_visibility"].items()]:
        cells = "  ".join(f"{b}: {v['found']}/{v['regions']}" for b, v in bands.items())
        print(f"{grade:7s} {cells}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    if args.plot:
        plot(rows, threshold, args.plot)


if __name__ == "__main__":
    main()
