"""benchmarks/model_latency.py: the --sizes and --shapes parsers (the timing itself is run by hand)."""

from __future__ import annotations

import pytest


@pytest.fixture
def latency(load_benchmark):
    return load_benchmark("model_latency")


def test_sizes_are_width_by_height(latency):
    assert latency._sizes("640x480, 1920X1080") == [(640, 480), (1920, 1080)]
    assert latency._sizes(latency.SIZES) == [(1280, 720), (4096, 256)]


@pytest.mark.parametrize("text", ["640", "640x", "axb", "640x4", "640x480x3", ""])
def test_malformed_sizes_raise(latency, text):
    with pytest.raises(ValueError):
        latency._sizes(text)


def test_shapes_are_widths_then_dilations_then_options(latency):
    assert latency._shapes("24,24,64/1,2,4,8; 16,16,80/1,2/linear; 8,8,8/1/k5/linear") == [
        ((24, 24, 64), (1, 2, 4, 8), {}),
        ((16, 16, 80), (1, 2), {"residual": "linear"}),
        ((8, 8, 8), (1,), {"kernel": 5, "residual": "linear"}),
    ]


@pytest.mark.parametrize(
    "text",
    ["24,24,64", "24,24/1,2", "24,24,64/", "24,24,0/1", "a,b,c/1", "24,24,64/1/gated", "8,8,8/1/linear/x"],
)
def test_malformed_shapes_raise(latency, text):
    with pytest.raises(ValueError):
        latency._shapes(text)


def test_models_are_timed_side_by_side(tmp_path):
    """--models: every file at every size, one results entry per file (the timing is not judged)."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    from fabric_inspect.models.runtime import default_model_path

    copy = tmp_path / "copy.onnx"
    shutil.copy(default_model_path(), copy)
    out = tmp_path / "latency.json"
    script = Path(__file__).parents[2] / "benchmarks" / "model_latency.py"
    args = ["--models", f"{default_model_path()},{copy}", "--sizes", "64x48,96x64", "--rounds", "2"]
    proc = subprocess.run(
        [sys.executable, str(script), *args, "--runs", "2", "--pause", "0", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text())
    assert report["models"] == [str(default_model_path()), str(copy)]
    for name in report["models"]:
        assert set(report["results"][name]) == {"64x48", "96x64"}
        assert report["results"][name]["64x48"]["runs"] == 4  # 2 rounds of 2
    paired = report["results"][str(copy)]["96x64"]["paired_ratio_to_first"]
    assert 0.0 < paired["quartiles"][0] <= paired["median"] <= paired["quartiles"][1]
    assert 0 <= paired["rounds_faster"] <= 2
    assert "paired_ratio_to_first" not in report["results"][str(default_model_path())]["96x64"]
    missing = subprocess.run(
        [sys.executable, str(script), "--models", f"{copy},{tmp_path / 'nope.onnx'}"],
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 2 and "nope.onnx" in missing.stderr
