"""Sum up a k-fold cross-validation (AITEX's three folds, or any `fabric-inspect data split`): one
`fabric-inspect eval --json` file per fold.

    python benchmarks/aitex_cv.py runs/cv-ft-f0-s0/val.json runs/cv-ft-f1-s0/val.json \
        runs/cv-ft-f2-s0/val.json [--json OUT]

Each file is one model, trained on the training part of one fold (benchmarks/aitex_split.py --fold,
or `fabric-inspect data split --fold`) and scored on that fold's validation part, at its own
calibrated threshold. Printed and written:

- per fold: images, image AUROC, defect regions found, false alarms;
- the mean and standard deviation of the folds' image AUROC (the figure to compare recipes by);
- pooled over every fold's images: defect recall and false-alarm rate (counts add up, since each
  image was judged at its own model's threshold), and the image AUROC of the out-of-fold scores, both
  as they are and measured from each model's threshold (logit(score) - logit(threshold)): the models'
  scores are on different scales, so the pooled AUROC is the stricter figure and the two bracket it.

The files must hold disjoint images (one fold each); a stem in two files is refused. Reads JSON only.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from pathlib import Path

import numpy as np

from fabric_inspect.training.metrics import auroc


def _logit(p: float) -> float:
    p = min(max(p, 1e-7), 1 - 1e-7)
    return math.log(p / (1 - p))


def _fold(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if "per_image" not in data or "image_auroc" not in data:
        raise ValueError(f"{path}: not a `fabric-inspect eval --json` file (no per_image / image_auroc)")
    return data


def summarize(evals: list[dict]) -> dict:
    """Per-fold and pooled figures of one cross-validation (see the module docstring)."""
    seen: set[str] = set()
    scores, shifted, labels = [], [], []
    folds = []
    for data in evals:
        stems = {p["stem"] for p in data["per_image"]}
        if stems & seen:
            raise ValueError(f"image {sorted(stems & seen)[0]} is in two folds; pass one file per fold")
        seen |= stems
        threshold = float(data["threshold"])
        for p in data["per_image"]:
            scores.append(float(p["score"]))
            shifted.append(_logit(float(p["score"])) - _logit(threshold))
            labels.append(p["label"] != "good")
        good = [p for p in data["per_image"] if p["label"] == "good"]
        folds.append(
            {
                "images": len(data["per_image"]),
                "defective_images": len(data["per_image"]) - len(good),
                "image_auroc": data["image_auroc"],
                # an image without a pixel mask has no regions (eval counts it at image level only)
                "regions": sum(p.get("regions", 0) for p in data["per_image"]),
                "found": sum(p.get("found", 0) for p in data["per_image"]),
                "defect_free_images": len(good),
                "false_alarms": sum(p["flagged"] for p in good),
                "threshold": threshold,
            }
        )
    aurocs = [f["image_auroc"] for f in folds]
    labels_arr = np.asarray(labels)
    regions = sum(f["regions"] for f in folds)
    good = sum(f["defect_free_images"] for f in folds)
    return {
        "folds": folds,
        "image_auroc_mean": statistics.fmean(aurocs),
        "image_auroc_sd": statistics.stdev(aurocs) if len(aurocs) > 1 else None,
        "pooled": {
            "images": len(labels),
            "image_auroc_raw": auroc(np.asarray(scores), labels_arr),
            "image_auroc_from_threshold": auroc(np.asarray(shifted), labels_arr),
            "defect_recall": sum(f["found"] for f in folds) / regions if regions else None,
            "false_alarm_rate": sum(f["false_alarms"] for f in folds) / good if good else None,
        },
    }


def _print(summary: dict) -> None:
    print("file  images  image AUROC  regions found  false alarms  threshold")
    for i, f in enumerate(summary["folds"], 1):
        print(
            f"{i:<5} {f['images']:>6}  {f['image_auroc']:>11.3f}  {f['found']:>5} of {f['regions']:<5}"
            f"  {f['false_alarms']:>4} of {f['defect_free_images']:<5}  {f['threshold']:.3f}"
        )
    pooled = summary["pooled"]
    sd = summary["image_auroc_sd"]
    spread = f" (sd {sd:.3f})" if sd is not None else ""
    print(f"image AUROC over the folds: {summary['image_auroc_mean']:.3f}{spread}")
    print(
        f"pooled, {pooled['images']} images: image AUROC {pooled['image_auroc_raw']:.3f} "
        f"(scores as they are), {pooled['image_auroc_from_threshold']:.3f} (from each model's threshold); "
        f"defect recall {pooled['defect_recall']:.3f}; false-alarm rate {pooled['false_alarm_rate']:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("evals", type=Path, nargs="+", help="eval JSON, one per fold")
    parser.add_argument("--json", type=Path, help="write the summary here")
    args = parser.parse_args(argv)
    try:
        summary = summarize([_fold(path) for path in args.evals])
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary["files"] = [str(path) for path in args.evals]
    _print(summary)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
