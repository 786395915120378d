"""Measuring runs: the resource monitor sees CPU and memory, and the real pipeline runs in both modes."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fabric_inspect.bench.clips import make_clips
from fabric_inspect.bench.measure import BenchConfig, ResourceMonitor, run_bench
from fabric_inspect.errors import ConfigError

RUN_KEYS = {
    "model",
    "size",
    "mode",
    "frames",
    "fps",
    "dropped_frames",
    "latency_ms",
    "stages_ms",
    "peak_rss_mb",
}


def test_the_monitor_sees_a_busy_loop_but_not_a_sleep():
    with ResourceMonitor() as busy:
        end = time.perf_counter() + 0.3
        while time.perf_counter() < end:
            pass
    with ResourceMonitor() as idle:
        time.sleep(0.3)
    assert busy.cpu_percent > 15.0
    assert idle.cpu_percent < 10.0


def test_the_monitor_catches_a_short_lived_allocation():
    with ResourceMonitor(interval_s=0.005) as monitor:
        before = monitor.peak_rss_mb
        block = np.ones(200 * 2**20 // 8)  # 200 MB, touched
        time.sleep(0.05)
        del block
    assert monitor.peak_rss_mb - before > 150


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": ()}, "--sizes is empty"),
        ({"frames": 1}, "--frames"),
        ({"fps": 0.0}, "--fps"),
        ({"modes": ("live", "fast")}, "--modes"),
        ({"modes": ()}, "--modes"),
        ({"threads": -1}, "--threads"),
        ({"buffer": 0}, "--buffer must be 1..8"),
        ({"seconds": -1.0}, "--seconds must be 0..3600"),
    ],
)
def test_bench_config_refuses_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        BenchConfig(**kwargs)


def test_a_live_run_lasts_the_seconds_asked_for_or_the_clip_once():
    assert BenchConfig(fps=30.0).live_frames(150) == 150
    assert BenchConfig(fps=30.0, seconds=60.0).live_frames(150) == 1800
    assert BenchConfig(fps=25.0, seconds=2.5).live_frames(150) == 150  # the clip is longer


@pytest.mark.slow
def test_both_modes_run_the_real_pipeline_on_every_frame_or_count_the_drops(tmp_path, tiny_model):
    config = BenchConfig(sizes=((96, 64), (160, 96)), frames=10, fps=30.0, warmup=1)
    clips = make_clips(config.sizes, tmp_path, config.frames, fps=config.fps)
    result = run_bench(tiny_model, clips, config)
    assert result["machine"]["cores"] >= 1 and "onnxruntime" in result["machine"]
    runs = result["runs"]
    assert [(r["size"], r["mode"]) for r in runs] == [
        ("96x64", "live"),
        ("96x64", "offline"),
        ("160x96", "live"),
        ("160x96", "offline"),
    ]
    for run in runs:
        assert set(run) >= RUN_KEYS
        assert set(run["latency_ms"]) == {"p50", "p95", "p99"}
        assert run["latency_ms"]["p50"] <= run["latency_ms"]["p95"] <= run["latency_ms"]["p99"]
        hist = run["latency_hist_ms"]  # one count per frame with a verdict, none per dropped frame
        assert sum(hist["counts"]) + hist["overflow"] == run["frames"]
        assert {"preprocess", "inference", "postprocess", "motion", "tracker"} <= set(run["stages_ms"])
        assert run["fps"] > 0 and run["peak_rss_mb"] > 0
        if run["mode"] == "offline":
            assert (run["frames"], run["dropped_frames"]) == (10, 0)
        else:
            assert run["frames"] + run["dropped_frames"] == 10
            assert run["camera_fps"] == 30.0
            assert run["camera_buffer"] == 2
            assert run["fps"] < 30.0 * 1.3  # paced by the camera, not as fast as possible


@pytest.mark.slow
def test_a_fabric_region_inspects_only_that_region_of_every_frame(tmp_path, tiny_model, roll_fixtures):
    fixtures = roll_fixtures
    # a dark spot in the left half of the fabric, in view from the first frame on
    roll = fixtures.make_roll((fixtures.Spot(x=60, row=1000, radius=8),), width=256, height=128)
    video = fixtures.write_video(roll, tmp_path / "roll.avi", frames=40)
    clips = make_clips(((256, 128),), tmp_path, 40, input_path=video)
    found = {}
    for roi in (None, (128, 0, 256, 128), (0, 0, 128, 128)):
        config = BenchConfig(sizes=((256, 128),), frames=40, modes=("offline",), warmup=1, roi=roi)
        (run,) = run_bench(tiny_model, clips, config)["runs"]
        assert run["roi"] == (list(roi) if roi else None) and run["frames"] == 40
        found[roi] = run["defects"]
    assert found[None] >= 1 and found[(0, 0, 128, 128)] == found[None]  # the spot's half
    assert found[(128, 0, 256, 128)] == 0  # the other half: nothing there to find


def test_a_fabric_region_outside_a_frame_size_is_refused_before_anything_runs():
    with pytest.raises(ConfigError, match=r"--roi \(0, 360, 1920, 720\) lies outside the 1280x720 frame"):
        BenchConfig(sizes=((1920, 1080), (1280, 720)), roi=(0, 360, 1920, 720))
