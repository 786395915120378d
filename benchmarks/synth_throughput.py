"""Synthetic-fabric throughput on one core: images/s at 512x512 and roll frames/s at 1280x720.

Run by hand: `.venv/bin/python benchmarks/synth_throughput.py [--images 200] [--frames 300]`.
Writes benchmarks/results/synth_throughput.json. OpenCV is held to one thread. Both wall-clock and
process CPU time are reported: on a shared machine the CPU-time figure is the one that says what
one free core would do.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.datasets.roll import RollConfig, roll_frames
from fabric_inspect.datasets.synthetic import render_sample

RESULTS = Path(__file__).parent / "results" / "synth_throughput.json"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(fn, n: int) -> dict:
    fn(0)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        fn(i + 1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"count": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "per_s_wall": round(n / wall, 1), "per_s_cpu": round(n / cpu, 1)}  # fmt: skip


def bench_roll(frames: int) -> dict:
    config = RollConfig(seconds=frames / 30, fps=30, width=1280, height=720, speed_m_per_min=20, seed=1)
    wall, cpu = time.perf_counter(), time.process_time()
    n = sum(1 for _ in roll_frames(config))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"count": n, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
            "per_s_wall": round(n / wall, 1), "per_s_cpu": round(n / cpu, 1),
            "seconds_for_60s_video_cpu": round(1800 * cpu / n, 1)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    result = {
        "machine": {
            "cpu_model": cpu_model(),
            "cores": os.cpu_count(),
            "load_avg_1m_before": os.getloadavg()[0],
            "python": platform.python_version(),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "opencv_threads": cv2.getNumThreads(),
        },
        "images_512_colour": timed(lambda i: render_sample(i, 512), args.images),
        "images_512_grey": timed(lambda i: render_sample(i, 512, grey=True), args.images // 2),
        "roll_1280x720_frames": bench_roll(args.frames),
    }
    result["machine"]["load_avg_1m_after"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
