"""Fixtures for the benchmark tests: the inspection tests' tiny ONNX model and small real MJPG clips."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest


def _pipeline_fixtures():
    """tests/inspect/pipeline_fixtures.py (loaded by path: tests run with --import-mode=importlib)."""
    name = "inspect_pipeline_fixtures"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).parents[1] / "inspect" / "pipeline_fixtures.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def roll_fixtures():
    """tests/inspect/pipeline_fixtures.py: make_roll, Spot, write_video (a moving roll with spots)."""
    return _pipeline_fixtures()


@pytest.fixture(scope="session")
def tiny_model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    return _pipeline_fixtures().write_tiny_model(tmp_path_factory.mktemp("bench-model") / "tiny.onnx")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_file: Path):  # -> OnnxModel
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    return load_model(tiny_model_file, RuntimeConfig(threads=1))


def write_clip(path: Path, frames: int, size: tuple[int, int] = (96, 64), fps: float = 30.0) -> Path:
    """An MJPG clip whose frame i has grey level 10 * i (so frames can be told apart after decoding)."""
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size, True)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (10 * i) % 250, np.uint8))
    writer.release()
    return path


@pytest.fixture
def clip_writer():
    return write_clip
