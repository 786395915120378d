"""Training throughput per rendering-worker count: how fast synthetic batches come, and how fast whole
training steps run on a device, for one preset. It sizes a synthetic training run before it is started
(the shipped recipe is 150 epochs of 150 steps).

Run by hand, e.g. on the 2-core development machine:
    .venv/bin/python benchmarks/train_throughput.py --workers 0,1,2 --device cpu \
        --json benchmarks/results/train_throughput_cpu.json
and on a GPU machine (`benchmarks/gpu_train.sh` runs it there):
    python3 benchmarks/train_throughput.py --workers 0,4,8,15 --device cuda --json OUT.json

Per worker count: "batches_per_s" is the rate the source delivers batches alone (rendering and
augmentation; workers 0 is one background thread), "steps_per_s" the rate of whole training steps
(the batch, forward, loss, backward, optimizer; `training.loop`'s own epoch function), "validate_s"
one validation pass (the preset's 256 images), and "epoch_150_steps_s" what one epoch of the shipped
recipe would take at those rates. The worker processes are started before the clock starts.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from fabric_inspect.bench.measure import machine_info
from fabric_inspect.datasets.classes import DEFECT_CLASSES
from fabric_inspect.training.compute import describe_device, resolve_device
from fabric_inspect.training.config import preset
from fabric_inspect.training.data import SyntheticSource
from fabric_inspect.training.loop import _optimizer, _progress, _train_epoch, validate
from fabric_inspect.training.pipeline import init_network

RECIPE_STEPS = 150  # steps per epoch of the shipped recipe (`make model`)


def batch_rate(source: SyntheticSource, steps: int, warm: int) -> float:
    """Batches per second from `source`, after `warm` batches that start its workers."""
    for _ in source.batches(range(10_000, 10_000 + warm)):
        pass
    started = time.perf_counter()
    for _ in source.batches(range(steps)):
        pass
    return steps / (time.perf_counter() - started)


def step_rate(source: SyntheticSource, config, device, steps: int) -> tuple[float, float]:
    """Whole training steps per second on `device` (the network made as `train` makes it), and the
    seconds of one validation pass over the preset's validation images."""
    net = init_network(None, config, DEFECT_CLASSES).to(device)
    if device.type == "cpu":
        net.to(memory_format=torch.channels_last)
    optimizer, scheduler = _optimizer(net, config)
    with _progress(False) as bar:
        task = bar.add_task("bench", total=steps, info="")
        _train_epoch(net, source, optimizer, scheduler, 0, config, bar, task)  # warm-up epoch
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        _train_epoch(net, source, optimizer, scheduler, 1, config, bar, task)
        if device.type == "cuda":
            torch.cuda.synchronize()
        rate = steps / (time.perf_counter() - started)
    images = source.val_images()
    started = time.perf_counter()
    validate(net, images)
    return rate, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small")
    parser.add_argument("--steps", type=int, default=40, help="steps timed per worker count")
    parser.add_argument("--workers", default="0,2", help="comma-separated worker counts")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the preset's)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    config = preset(args.preset).with_overrides(steps_per_epoch=args.steps, epochs=2, threads=args.threads)
    torch.set_num_threads(config.threads)
    device = resolve_device(args.device)
    runs = []
    for workers in (int(w) for w in args.workers.split(",")):
        source = SyntheticSource(config, workers)
        try:
            batches = batch_rate(source, args.steps, warm=max(2 * workers, 1))
            steps, validate_s = step_rate(source, config, device, args.steps)
        finally:
            source.close()
        row = {
            "workers": workers,
            "batches_per_s": round(batches, 2),
            "steps_per_s": round(steps, 2),
            "validate_s": round(validate_s, 1),
            "epoch_150_steps_s": round(RECIPE_STEPS / steps + validate_s, 1),
        }
        runs.append(row)
        print(json.dumps(row), flush=True)
    result = {
        "machine": {
            **machine_info(config.threads),
            "device": describe_device(device),
            "torch": torch.__version__,
            "torch_threads": config.threads,
        },
        "preset": args.preset,
        "batch": {"crop": config.crop, "batch_size": config.batch_size, "timed_steps": args.steps},
        "runs": runs,
    }
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
