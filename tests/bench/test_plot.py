"""The benchmark PNG: drawn from a result document, refused where it cannot be written."""

from __future__ import annotations

import cv2
import pytest

from fabric_inspect.bench.plot import plot_results
from fabric_inspect.errors import ConfigError


def result(modes=("live", "offline")) -> dict:
    runs = [
        {"model": "m 1", "size": size, "mode": mode, "fps": fps,
         "camera_fps": 30.0 if mode == "live" else None,
         "latency_ms": {"p50": 1000 / fps, "p95": 1500 / fps, "p99": 1600 / fps}}
        for size, fps in (("640x480", 40.0), ("1280x720", 12.0))
        for mode in modes
    ]  # fmt: skip
    return {"machine": {"cpu": "test cpu"}, "runs": runs}


def test_the_plot_is_a_png_with_one_bar_per_size_and_mode(tmp_path):
    out = tmp_path / "plots" / "bench.png"
    plot_results(result(), out)
    image = cv2.imread(str(out))
    assert image.shape == (900, 1160, 3)
    # the live colour (BGR 178, 114, 0) and the offline colour (0, 94, 213) are both drawn
    pixels = {tuple(int(v) for v in p) for p in image.reshape(-1, 3)[::7]}
    assert (178, 114, 0) in pixels and (0, 94, 213) in pixels


def test_a_single_mode_plot_has_no_bar_of_the_other_mode(tmp_path):
    out = tmp_path / "bench.png"
    plot_results(result(modes=("offline",)), out)
    pixels = {tuple(int(v) for v in p) for p in cv2.imread(str(out)).reshape(-1, 3)}
    assert (0, 94, 213) in pixels and (178, 114, 0) not in pixels


def test_an_unwritable_plot_path_is_named(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="--plot"):
        plot_results(result(), tmp_path / "file" / "bench.png")


def test_the_stage_panel_stacks_each_stage_in_its_colour(tmp_path):
    doc = result()
    for run in doc["runs"]:
        run["stages_ms"] = {"inference": {"mean": 20.0}, "motion": {"mean": 3.0}, "wait": {"mean": 50.0}}
    out = tmp_path / "bench.png"
    plot_results(doc, out)
    stages = cv2.imread(str(out))[520:860, 60:900]  # the lower panel, legend excluded
    pixels = {tuple(int(v) for v in p) for p in stages.reshape(-1, 3)}
    assert (115, 158, 0) in pixels and (167, 121, 204) in pixels  # inference and motion
    assert (233, 180, 86) not in pixels  # no tracker time given: no tracker bar
