"""The benchmark PNG: drawn from a result document, refused where it cannot be written."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fabric_inspect.bench.plot import plot_results
from fabric_inspect.errors import ConfigError

LIVE, OFFLINE = (178, 114, 0), (0, 94, 213)
P50_TARGET, FRAME = (150, 60, 150), (60, 160, 60)


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
    assert image.shape == (1300, 1160, 3)
    # the live colour (BGR 178, 114, 0) and the offline colour (0, 94, 213) are both drawn
    pixels = colours(image)
    assert (178, 114, 0) in pixels and (0, 94, 213) in pixels


def test_a_single_mode_plot_has_no_bar_of_the_other_mode(tmp_path):
    out = tmp_path / "bench.png"
    plot_results(result(modes=("offline",)), out)
    pixels = colours(cv2.imread(str(out)))
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
    pixels = colours(stages)
    assert (115, 158, 0) in pixels and (167, 121, 204) in pixels  # inference and motion
    assert (233, 180, 86) not in pixels  # no tracker time given: no tracker bar


def with_histograms(doc: dict) -> dict:
    for run in doc["runs"]:
        p50 = round(run["latency_ms"]["p50"]) * (2 if run["mode"] == "offline" else 1)  # apart
        run["latency_hist_ms"] = {"bin_ms": 1.0, "max_ms": 200.0, "counts": [0] * p50 + [5, 20, 3],
                                  "overflow": 2 if run["mode"] == "offline" else 0}  # fmt: skip
    return doc


def colours(image) -> set[tuple[int, ...]]:
    """The BGR colours in an image (packed into one int each, so np.unique stays quick)."""
    packed = np.unique(image.reshape(-1, 3).astype(np.int32) @ np.array([1 << 16, 1 << 8, 1]))
    return {(int(v) >> 16, (int(v) >> 8) & 255, int(v) & 255) for v in packed}


def test_the_histogram_panel_draws_a_line_per_mode_and_the_two_markers(tmp_path):
    out = tmp_path / "bench.png"
    plot_results(with_histograms(result()), out)
    image = cv2.imread(str(out))
    assert image.shape == (1300, 1160, 3)
    found = colours(image[990:1265, 70:1140])  # the histogram panel, below the stage bars
    assert {LIVE, OFFLINE, P50_TARGET, FRAME} <= found


def test_results_without_histograms_still_plot_and_leave_the_histogram_panel_empty(tmp_path):
    out = tmp_path / "bench.png"
    plot_results(result(), out)  # an old bench.json: percentiles only
    image = cv2.imread(str(out))
    assert image.shape == (1300, 1160, 3)
    found = colours(image[990:1265, 70:1140])
    assert not {LIVE, OFFLINE, P50_TARGET, FRAME} & found
    assert len(found) > 1  # the "no histogram" note
    assert LIVE in colours(image[50:450])  # the other panels are drawn


def test_the_histogram_panel_shows_only_the_first_model(tmp_path):
    doc = with_histograms(result(modes=("offline",)))
    peer = {**doc["runs"][0], "model": "peer", "mode": "live"}  # a peer's run in the live colour
    doc["runs"].append(peer)
    out = tmp_path / "bench.png"
    plot_results(doc, out)
    found = colours(cv2.imread(str(out))[990:1265, 70:1140])
    assert OFFLINE in found and LIVE not in found
