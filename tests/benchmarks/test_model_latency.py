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
