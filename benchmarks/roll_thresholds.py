"""Defects found and false reports on synthetic rolls at several thresholds, through the whole pipeline.

Run by hand:

    .venv/bin/python benchmarks/roll_thresholds.py --camera small --thresholds 0.43,0.5,0.6,0.895
    .venv/bin/python benchmarks/roll_thresholds.py --camera demo --thresholds 0.853,0.895
    .venv/bin/python benchmarks/roll_thresholds.py --camera hd --roi full --roi 0,360,1920,720 \
        --thresholds 0.8905 --seeds 7,8,9,13,14,15

`small` is the geometry of tests/inspect/test_default_model_rolls.py (320x240, 10 fps, 4 px/mm: two
3 m rolls with 10 defects per metre at 6 m/min, seeds 11 and 31, and four 10 m defect-free rolls at
12 m/min, seeds 12 and 21..23); `demo` that of `make demo` (1280x720, 30 fps, 20 m/min: three 6.7 m
rolls, seeds 7..9, and a 10 m defect-free roll, seed 12); `hd` the same rolls seen by a 1920x1080
camera at the same 4 px/mm (each point of the fabric in view for 24 frames, or 8 in a 360-row band).
`--roi x0,y0,x1,y1` (repeatable; `full` for the whole frame) inspects only that region of each frame,
as `run --roi` does, each given region on the same videos. Each roll is scored with
`inspect.roll_score.score_roll` on medium/high visibility (found, duplicates, false reports).
Writes benchmarks/results/roll_thresholds_<camera>.json (or --out). --model defaults to the shipped
model. --seeds replaces the defect rolls' seeds, e.g. to compare two models on rolls that neither the
thresholds nor any earlier choice was made on:

    .venv/bin/python benchmarks/roll_thresholds.py --camera demo --seeds 13,14,15,16,17,18 \
        --model runs/X/model.onnx --thresholds 0.85 --out runs/X-rolls.json
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from fabric_inspect.cli.run import parse_roi
from fabric_inspect.datasets.roll import RollConfig, write_roll_video
from fabric_inspect.inspect.motion import MotionConfig
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.postprocess import PostprocessConfig
from fabric_inspect.inspect.preprocess import PreprocessConfig
from fabric_inspect.inspect.roll_score import score_roll
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.inspect.tracker import TrackerConfig
from fabric_inspect.models.runtime import load_model

RESULTS = Path(__file__).parent / "results"
PX_PER_MM = 4.0


def rolls(camera: str, seeds: tuple[int, ...] | None = None) -> dict[str, RollConfig]:
    if camera == "small":
        small = dict(fps=10, width=320, height=240, px_per_mm=PX_PER_MM)
        found = {f"defects-{s}": RollConfig(seconds=30, speed_m_per_min=6, seed=s, defects_per_m=10, **small)
                 for s in seeds or (11, 31)}  # fmt: skip
        clean = {f"clean-{s}": RollConfig(seconds=50, speed_m_per_min=12, seed=s, defects_per_m=0, **small)
                 for s in (12, 21, 22, 23)}  # fmt: skip
        return found | clean
    size = dict(width=1920, height=1080) if camera == "hd" else {}
    found = {f"defects-{s}": RollConfig(seconds=20, seed=s, **size) for s in seeds or (7, 8, 9)}
    return found | {"clean-12": RollConfig(seconds=30, seed=12, defects_per_m=0, **size)}


def region(text: str) -> tuple[int, int, int, int] | None:
    """`full` -> None (the whole frame); `x0,y0,x1,y1` -> the region, parsed as `run --roi` is."""
    return None if text == "full" else parse_roi(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--camera", choices=("small", "demo", "hd"), default="small")
    parser.add_argument("--thresholds", default="0.5,0.6,0.895")
    parser.add_argument("--model", type=Path, default=None)
    parser.add_argument("--seeds", default=None, help="defect rolls' seeds, comma-separated")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--roi", action="append", default=None, help="x0,y0,x1,y1 or full (repeatable)")
    args = parser.parse_args()
    rois = [region(text) for text in args.roi or ["full"]]
    seeds = tuple(int(s) for s in args.seeds.split(",")) if args.seeds else None
    model = load_model(args.model)
    thresholds = [float(t) for t in args.thresholds.split(",")]
    config = PipelineConfig(
        motion=MotionConfig(px_per_mm=PX_PER_MM), tracker=TrackerConfig(k=3, n=5, px_per_mm=PX_PER_MM)
    )
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truths = {
            name: write_roll_video(roll, folder / f"{name}.mp4", progress=False)
            for name, roll in rolls(args.camera, seeds).items()
        }
        for roi, threshold in ((r, t) for r in rois for t in thresholds):
            at = PipelineConfig(
                preprocess=PreprocessConfig(roi=roi),
                postprocess=PostprocessConfig(threshold=threshold),
                motion=config.motion,
                tracker=config.tracker,
            )
            row = {"threshold": threshold, "roi": roi, "rolls": {}}
            for name, truth in truths.items():
                events_path = folder / f"{name}.jsonl"
                summary = run(
                    open_source(SourceConfig(str(folder / f"{name}.mp4"))),
                    model,
                    at,
                    SinkConfig(events=events_path),
                )
                events = [json.loads(line) for line in events_path.read_text().splitlines()]
                score = score_roll(events, truth, visibilities=("medium", "high"))
                row["rolls"][name] = {
                    "metres": round(summary.roll_length_m, 2),
                    "uninspected_m": summary.uninspected_m,
                    "fps": summary.fps,
                    "truths": score.truths,
                    "found": score.found,
                    "duplicates": score.duplicates,
                    "false_reports": score.false_reports,
                }
            results.append(row)
            parts = [
                f"{n}: {r['found']}/{r['truths']} dup {r['duplicates']} false {r['false_reports']}"
                for n, r in row["rolls"].items()
            ]
            kinds = ("found", "truths", "false_reports")
            total = {k: sum(r[k] for r in row["rolls"].values()) for k in kinds}
            row["total"] = total
            parts.append(f"all: {total['found']}/{total['truths']} false {total['false_reports']}")
            print(threshold, roi or "full", "  ".join(parts), flush=True)
    out = args.out or RESULTS / f"roll_thresholds_{args.camera}.json"
    document = {
        "model": str(model.path),
        "image_threshold": model.info.threshold,
        "roll_threshold": model.info.roll_threshold,
        "confirm": "3/5",
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "results": results,
    }
    out.write_text(json.dumps(document, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
