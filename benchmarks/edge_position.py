"""Experiment (run by hand): does a model score a defect lower when it lies near the image's edge?

    .venv/bin/python benchmarks/edge_position.py [--model M.onnx] [--seed 4242] [--count 10] \
        [--json benchmarks/results/model5/edge_position.json]

For each compact defect class (hole, knot, slub, stain) at medium and high visibility, `--count`
images of 512 px are rendered with one forced defect (`render_sample(S * 1_000_003 + i, 512, class,
visibility)`). The model scores the defect (its highest cell over the defect's mask pixels) three ways:

- `whole`: in the 512 px image;
- `centre`: in a 224 px crop (the training crop size) with the defect at the crop's centre;
- `edge`: in 224 px crops with the defect's centre EDGE px (40) from two of the crop's edges, one
  crop per corner that fits in the image, averaged.

The two crops hold the same amount of fabric; they differ only in where the crop's zero-padded
border lies from the defect. A net whose training defects never came near a crop's border (the
generator's "central" placement keeps them in the middle half) can learn that, and then scores
defects near the edge of a camera frame or of a 256 px AITEX strip lower. The JSON holds every
defect's three scores and, by class and overall, the mean scores, the share found at the model's
threshold and how often the centred crop scores higher than the edge crops.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.synthetic import render_sample
from fabric_inspect.models.runtime import RuntimeConfig, load_model

CLASSES = ("hole", "knot", "slub", "stain")
VISIBILITIES = ("medium", "high")
SIZE = 512
SIDE = 224
EDGE = 40


def windows(centre: tuple[int, int], shape: tuple[int, int], side: int = SIDE, edge: int = EDGE) -> dict:
    """Top-left corners (top, left) of the side x side crops that fit in `shape` (h, w): "centre" with
    the point `centre` (x, y) in the middle, and one per crop corner with the point `edge` px from that
    corner's two edges ("edge_tl", "edge_tr", "edge_bl", "edge_br")."""
    (x, y), (h, w) = centre, shape
    near, far = edge, side - edge
    candidates = {
        "centre": (y - side // 2, x - side // 2),
        "edge_tl": (y - near, x - near),
        "edge_tr": (y - near, x - far),
        "edge_bl": (y - far, x - near),
        "edge_br": (y - far, x - far),
    }
    return {k: (t, x0) for k, (t, x0) in candidates.items() if 0 <= t <= h - side and 0 <= x0 <= w - side}


def defect_score(model, image: np.ndarray, pixels: np.ndarray) -> float:
    """The model's highest cell over the True pixels of `pixels` (same size as `image`)."""
    score = model.predict(np.ascontiguousarray(image)).score
    stride = model.info.stride
    ys, xs = np.nonzero(pixels)
    return float(
        score[
            np.minimum(ys // stride, score.shape[0] - 1), np.minimum(xs // stride, score.shape[1] - 1)
        ].max()
    )


def defect_rows(model, seed: int, defect_class: str, visibility: str) -> dict | None:
    """The whole-image, centred-crop and edge-crop scores of one rendered defect, or None when no
    centred crop and no edge crop fit around it."""
    sample = render_sample(seed, SIZE, defect_class=defect_class, visibility=visibility)
    pixels = sample.mask > 0
    x0, y0, x1, y1 = sample.defects[0].bbox
    crops = windows(((x0 + x1) // 2, (y0 + y1) // 2), pixels.shape)
    edges = [k for k in crops if k.startswith("edge")]
    if "centre" not in crops or not edges:
        return None
    row = {"seed": seed, "class": defect_class, "visibility": visibility, "bbox": [x0, y0, x1, y1]}
    row["whole"] = defect_score(model, sample.image, pixels)
    for name in ("centre", *edges):
        top, left = crops[name]
        window = (slice(top, top + SIDE), slice(left, left + SIDE))
        row[name] = defect_score(model, sample.image[window], pixels[window])
    row["edge"] = float(np.mean([row[k] for k in edges]))
    return row


def summarize(rows: list[dict], threshold: float) -> dict:
    """Mean score and share found at `threshold` for whole / centre / edge, and the share of defects
    whose centred crop scores higher than their edge crops (by class and over all rows)."""

    def block(group: list[dict]) -> dict:
        out = {"defects": len(group)}
        for key in ("whole", "centre", "edge"):
            values = np.array([r[key] for r in group])
            out[f"{key}_mean"] = round(float(values.mean()), 4)
            out[f"{key}_found"] = round(float((values >= threshold).mean()), 4)
        out["centre_above_edge"] = round(float(np.mean([r["centre"] > r["edge"] for r in group])), 4)
        return out

    by_class: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_class[r["class"]].append(r)
    return {"all": block(rows), "by_class": {k: block(v) for k, v in sorted(by_class.items())}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model .onnx (default: the shipped one)")
    parser.add_argument("--seed", type=int, default=4242, help="seed S of the rendered images")
    parser.add_argument("--count", type=int, default=10, help="images per class and visibility")
    parser.add_argument("--json", type=Path, default=None, help="write the rows and summary here")
    args = parser.parse_args()
    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    model = load_model(args.model, RuntimeConfig(threads=2))
    threshold = model.info.threshold
    rows = []
    for k, (cls, vis) in enumerate((c, v) for c in CLASSES for v in VISIBILITIES):
        for i in range(args.count):
            row = defect_rows(model, args.seed * 1_000_003 + k * 10_000 + i, cls, vis)
            if row is not None:
                rows.append(row)
    summary = summarize(rows, threshold)
    print(f"threshold {threshold:.3f}; {len(rows)} defects")
    for name, block in (("all", summary["all"]), *summary["by_class"].items()):
        print(
            f"{name:6s} n={block['defects']:3d}  mean whole {block['whole_mean']:.3f} centre "
            f"{block['centre_mean']:.3f} edge {block['edge_mean']:.3f}  found whole "
            f"{block['whole_found']:.2f} centre {block['centre_found']:.2f} edge {block['edge_found']:.2f}"
            "  centre > edge "
            f"{block['centre_above_edge']:.2f}"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        out = {
            "model": args.model or "shipped",
            "threshold": threshold,
            "seed": args.seed,
            "count": args.count,
        }
        args.json.write_text(json.dumps({**out, "summary": summary, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
