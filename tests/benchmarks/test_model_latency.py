"""benchmarks/model_latency.py: the --sizes parser (the timing itself is run by hand)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "model_latency.py"


def _script():
    spec = importlib.util.spec_from_file_location("model_latency", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_sizes_are_width_by_height():
    assert _script()._sizes("640x480, 1920X1080") == [(640, 480), (1920, 1080)]
    assert _script()._sizes(_script().SIZES) == [(1280, 720), (4096, 256)]


@pytest.mark.parametrize("text", ["640", "640x", "axb", "640x4", "640x480x3", ""])
def test_malformed_sizes_raise(text):
    with pytest.raises(ValueError):
        _script()._sizes(text)
