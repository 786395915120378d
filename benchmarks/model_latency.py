"""Latency of the defect model in onnxruntime on CPU (run by hand; writes results/model_latency.json).

    .venv/bin/python benchmarks/model_latency.py [--model PATH] [--threads 2] [--runs 50] [--rounds 5] \
        [--sizes 1280x720,4096x256]
    .venv/bin/python benchmarks/model_latency.py --shapes "24,24,64/1,2,4,8;24,24,96/1,2,4,8" \
        --sizes 1280x720,1920x1080 --out benchmarks/results/model_latency_shapes.json
    .venv/bin/python benchmarks/model_latency.py --shapes "24,24,64/1,2,4,8;24,24,64/1,2,4,8/linear" \
        --sizes 1280x720,1920x1080 --out benchmarks/results/residual/model_latency_untrained.json
    .venv/bin/python benchmarks/model_latency.py --shapes "24,24,64/1,2,4,8;24,24,64/1,2,4,8/k5" \
        --sizes 1280x720,1920x1080 --out benchmarks/results/kernel5/model_latency_untrained.json
    .venv/bin/python benchmarks/model_latency.py --models OLD.onnx,NEW.onnx --sizes 1280x720,1920x1080 \
        --rounds 60 --runs 8 --pause 0 --out benchmarks/results/linepool_export/model_latency_paired.json

Times `OnnxModel.predict` (the pipeline's call: raw uint8 frame in, score map and class logits out) on
random frames at 1280x720 (the budget: <= 12 ms with 2 threads) and at the AITEX size 4096x256, or at
the WIDTHxHEIGHT sizes of --sizes. Without
--model it times the shipped default.onnx, or, when that is missing, a fresh export of the same
network (the cost does not depend on the weights). The machine's load average is recorded beside the
figures because other processes sharing the CPU inflate them. On the shared development VMs the
speed of the same model drifts by up to 1.5x from one minute to the next, so the timing is repeated in
`--rounds` rounds a few seconds apart and the median of the round medians is reported (`median_ms`),
with every round's median in `round_medians_ms`.

`--models A.onnx,B.onnx` times trained models side by side in the same way (each at every size in
each round, the order alternating from round to round), for a paired comparison of two exports or two
models; `results` holds one entry per file, and each file after the first also its round medians
over the first file's in the same round (`paired_ratio_to_first`: median, quartiles, rounds faster).
Many short rounds with no pause (`--rounds 60 --runs 8 --pause 0`) pair the two most closely.

`--shapes` times network shapes before any is trained, for choosing what to train: each
WIDTHS/DILATIONS[/linear][/k5] (as `train --widths --dilations --residual linear --kernel 5`, with
line pooling as the shipped model has) is
exported with fresh weights, and all of them are timed in the same rounds, one after the other at each
size, so the VM's drift falls on all alike; `results` then holds one entry per shape.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = "1280x720,4096x256"
RESULTS = Path(__file__).parent / "results" / "model_latency.json"


def _sizes(text: str) -> list[tuple[int, int]]:
    """'640x480,1280x720' -> [(640, 480), (1280, 720)] (width, height); ValueError if malformed."""
    sizes = []
    for item in text.split(","):
        w, h = (int(v) for v in item.strip().lower().split("x"))
        if w < 8 or h < 8:
            raise ValueError(item)
        sizes.append((w, h))
    return sizes


def _model_path(given: str | None, tmp: Path) -> Path:
    from fabric_inspect.models.runtime import default_model_path

    if given:
        return Path(given)
    if default_model_path().is_file():
        return default_model_path()
    from fabric_inspect.models.export import export_onnx, model_info_for
    from fabric_inspect.models.network import DefectNet, NetworkConfig

    net = DefectNet(NetworkConfig()).eval()
    return export_onnx(net, tmp / "untrained.onnx", model_info_for(net, 0.5))


OPTIONS = {"linear": ("residual", "linear"), "k5": ("kernel", 5), "k7": ("kernel", 7)}


def _shapes(text: str) -> list[tuple[tuple[int, ...], tuple[int, ...], dict]]:
    """'24,24,64/1,2,4,8;16,16,80/1,2,4,8/linear/k5' -> [((24, 24, 64), (1, 2, 4, 8), {}),
    ((16, 16, 80), (1, 2, 4, 8), {'residual': 'linear', 'kernel': 5})]: the NetworkConfig fields
    each option after the dilations sets (OPTIONS); ValueError if malformed."""
    shapes = []
    for item in text.split(";"):
        widths, dilations, *rest = item.strip().split("/")
        w = tuple(int(v) for v in widths.split(","))
        d = tuple(int(v) for v in dilations.split(","))
        if len(w) != 3 or not d or min(w + d) < 1 or any(r not in OPTIONS for r in rest):
            raise ValueError(item)
        shapes.append((w, d, dict(OPTIONS[r] for r in rest)))
    return shapes


def _shape_models(shapes, tmp: Path, threads: int) -> dict:
    """{'24,24,64/1,2,4,8': OnnxModel} of fresh networks of each shape (line pooling on); a shape's
    options follow in its name ('/linear/k5')."""
    from fabric_inspect.models.export import export_onnx, model_info_for
    from fabric_inspect.models.network import DefectNet, NetworkConfig
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    models = {}
    for widths, dilations, options in shapes:
        name = f"{','.join(map(str, widths))}/{','.join(map(str, dilations))}"
        name += "".join(f"/{key}" for key, value in OPTIONS.items() if options.get(value[0]) == value[1])
        config = NetworkConfig(widths=widths, dilations=dilations, line_pool=True, **options)
        net = DefectNet(config).eval()
        path = export_onnx(net, tmp / f"shape{len(models)}.onnx", model_info_for(net, 0.5))
        models[name] = load_model(path, RuntimeConfig(threads=threads))
    return models


def _time(model, frame: np.ndarray, runs: int) -> dict:
    for _ in range(5):
        model.predict(frame)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.predict(frame)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * (len(times) - 1))], 2),
        "min_ms": round(times[0], 2),
        "runs": runs,
    }


def _summarize(rounds: list[dict]) -> dict:
    medians = [r["median_ms"] for r in rounds]
    return {
        "median_ms": round(statistics.median(medians), 2),
        "p90_ms": round(statistics.median(r["p90_ms"] for r in rounds), 2),
        "min_ms": min(r["min_ms"] for r in rounds),
        "runs": sum(r["runs"] for r in rounds),
        "round_medians_ms": medians,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="ONNX model to time (default: the shipped model)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--sizes", default=SIZES, help=f"WIDTHxHEIGHT, comma-separated ({SIZES})")
    parser.add_argument(
        "--shapes", help="untrained WIDTHS/DILATIONS[/linear][/k5], ';'-separated, timed side by side"
    )
    parser.add_argument("--models", help="ONNX files, comma-separated, timed side by side")
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between rounds (3)")
    args = parser.parse_args()
    try:
        sizes = _sizes(args.sizes)
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: give WIDTHxHEIGHT pairs such as 640x480,1280x720")
    if args.shapes:
        try:
            shapes = _shapes(args.shapes)
        except ValueError:
            parser.error(
                f"--shapes {args.shapes!r}: give WIDTHS/DILATIONS[/linear][/k5|/k7] such as "
                "24,24,64/1,2,4,8;16,16,80/1,2/linear"
            )
        return time_shapes(args, sizes, shapes)
    if args.models:
        paths = [Path(p) for p in args.models.split(",")]
        missing = [str(p) for p in paths if not p.is_file()]
        if missing or len(paths) < 2:
            parser.error(f"--models {args.models!r}: give two or more ONNX files that exist ({missing})")
        return time_models(args, sizes, paths)

    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    with tempfile.TemporaryDirectory() as tmp:
        path = _model_path(args.model, Path(tmp))
        model = load_model(path, RuntimeConfig(threads=args.threads))
        rng = np.random.default_rng(0)
        load_before = os.getloadavg()
        frames = {}
        for w, h in sizes:
            shape = (h, w, 3) if model.info.input_layout == "HWC" else (h, w)
            frames[f"{w}x{h}"] = rng.integers(0, 256, shape, dtype=np.uint8)
        rounds: dict[str, list[dict]] = {name: [] for name in frames}
        for i in range(max(1, args.rounds)):
            if i:
                time.sleep(3.0)
            for name, frame in frames.items():
                rounds[name].append(_time(model, frame, args.runs))
        results = {name: _summarize(found) for name, found in rounds.items()}
    report = {
        "model": str(path) if args.model else "default.onnx" if "untrained" not in str(path) else "untrained",
        "model_bytes": Path(path).stat().st_size if Path(path).exists() else None,
        "threads": args.threads,
        "budget_ms_1280x720": 12.0,
        "results": results,
    }
    _write(report, load_before, args.out)
    print(json.dumps(report, indent=1))


def _write(report: dict, load_before: tuple[float, ...], out: str) -> None:
    """Add the machine, its load before and after, and the date to `report`; write it to `out`."""
    report.update(
        {
            "cpu": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(),
            "load_average_1min_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
            "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1) + "\n")


def _side_by_side(models: dict, sizes, args) -> tuple[dict, tuple[float, ...]]:
    """{name: {size: summary}} with every model timed at every size in each round, and the load
    average before the first round."""
    rng = np.random.default_rng(0)
    frames = {f"{w}x{h}": rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for w, h in sizes}
    load_before = os.getloadavg()
    rounds: dict[tuple[str, str], list[dict]] = {(name, size): [] for name in models for size in frames}
    order = list(models)
    for i in range(max(1, args.rounds)):
        if i:
            time.sleep(args.pause)
        for size, frame in frames.items():
            for name in order if i % 2 == 0 else order[::-1]:  # neither always runs first
                rounds[(name, size)].append(_time(models[name], frame, args.runs))
    results = {name: {size: _summarize(rounds[(name, size)]) for size in frames} for name in models}
    first = order[0]
    for name in order[1:]:
        for size in frames:
            # each round's median over the first model's in the same round: the VM's drift from one
            # minute to the next falls on both, so this is the steadier comparison
            ratios = sorted(
                b["median_ms"] / a["median_ms"]
                for a, b in zip(rounds[(first, size)], rounds[(name, size)], strict=True)
            )
            results[name][size]["paired_ratio_to_first"] = {
                "median": round(statistics.median(ratios), 3),
                "quartiles": [round(ratios[len(ratios) // 4], 3), round(ratios[3 * len(ratios) // 4], 3)],
                "rounds_faster": sum(r < 1.0 for r in ratios),
            }
    return results, load_before


def _print_side_by_side(results: dict) -> None:
    for name, by_size in results.items():
        print(name, "  ".join(f"{size} {found['median_ms']} ms" for size, found in by_size.items()))


def time_shapes(args, sizes, shapes) -> None:
    """`--shapes`: every shape at every size in each round (see the module doc)."""
    with tempfile.TemporaryDirectory() as tmp:
        models = _shape_models(shapes, Path(tmp), args.threads)
        results, load_before = _side_by_side(models, sizes, args)
    report = {
        "shapes": list(models),
        "line_pool": True,
        "threads": args.threads,
        "budget_ms_1280x720": 12.0,
        "results": results,
    }
    _write(report, load_before, args.out)
    _print_side_by_side(results)


def time_models(args, sizes, paths: list[Path]) -> None:
    """`--models`: trained ONNX files side by side, every one at every size in each round."""
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    models = {str(path): load_model(path, RuntimeConfig(threads=args.threads)) for path in paths}
    results, load_before = _side_by_side(models, sizes, args)
    report = {
        "models": [str(path) for path in paths],
        "model_bytes": {str(path): path.stat().st_size for path in paths},
        "threads": args.threads,
        "budget_ms_1280x720": 12.0,
        "results": results,
    }
    _write(report, load_before, args.out)
    _print_side_by_side(results)


if __name__ == "__main__":
    main()
