"""Experiment (run by hand): does the model see a roll's defects at all, frame by frame?

    .venv/bin/python benchmarks/roll_scores.py runs/roll/roll.mp4 [--model M.onnx] [--json OUT]

Reads a synthetic roll video and its ground truth (`roll.json` beside it, from `fabric-inspect
synth video` or `datasets.roll.write_roll_video`), runs the model on every frame, and gives each
ground-truth defect its highest score over the cells of its box in every frame it is in. Against
that stands the fabric: in each frame, the highest score outside every defect's box (grown by one
cell). A defect whose best score is under the 99th percentile of those per-frame maxima cannot be
reported by any threshold that keeps plain fabric quiet, whatever the tracker does: the pipeline's
recall on the roll is bounded by how many defects rise above it.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.models.runtime import load_model

STRIDE = 8


def cells(box: list[int], shape: tuple[int, int], grow: int = 0) -> tuple[slice, slice]:
    """The map cells of a pixel box (x0, y0, x1, y1), grown by `grow` cells, within `shape`."""
    x0, y0, x1, y1 = box
    h, w = shape
    rows = slice(max(0, y0 // STRIDE - grow), min(h, -(-y1 // STRIDE) + grow))
    cols = slice(max(0, x0 // STRIDE - grow), min(w, -(-x1 // STRIDE) + grow))
    return rows, cols


def roll_scores(maps: list[np.ndarray], truth: dict) -> dict:
    """Each defect's best score in its boxes, and the fabric's highest score per frame."""
    busy = [np.zeros(m.shape, bool) for m in maps]
    defects = []
    for d in truth["defects"]:
        best = 0.0
        for k, box in d["frames"].items():
            score_map = maps[int(k)]
            inside = score_map[cells(box, score_map.shape)]
            if inside.size:
                best = max(best, float(inside.max()))
            busy[int(k)][cells(box, score_map.shape, grow=1)] = True
        defects.append({"id": d["id"], "class": d["class"], "visibility": d["visibility"], "best": best})
    fabric = [float(np.where(b, 0.0, m).max()) for m, b in zip(maps, busy, strict=True)]
    p99 = float(np.quantile(fabric, 0.99))
    seen = [d for d in defects if d["visibility"] != "low"]
    return {
        "frames": len(maps),
        "fabric_max_per_frame": {
            q: round(float(np.quantile(fabric, v)), 4)
            for q, v in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))
        },
        "medium_high": len(seen),
        "medium_high_above_fabric_p99": sum(d["best"] > p99 for d in seen),
        "defects": [{**d, "best": round(d["best"], 4)} for d in defects],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("video", type=Path)
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    truth_path = args.video.with_suffix(".json")
    try:
        truth = json.loads(truth_path.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"{truth_path}: no roll ground truth beside the video ({err})") from None
    model = load_model(args.model)
    with open_source(SourceConfig(str(args.video), kind="video")) as source:  # as `run` reads it
        maps = [model.predict(frame.image).score for frame in source]
    if len(maps) != truth.get("frames", len(maps)):
        raise SystemExit(f"{args.video}: read {len(maps)} frames, the ground truth has {truth['frames']}")
    result = {"video": str(args.video), "model": str(args.model or "shipped"), **roll_scores(maps, truth)}
    print(json.dumps({k: v for k, v in result.items() if k != "defects"}))
    for d in result["defects"]:
        print(f"{d['id']:>3} {d['class']:<12} {d['visibility']:<7} {d['best']:.3f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
