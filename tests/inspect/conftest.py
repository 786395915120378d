"""Fixtures for the inspection tests: the tiny hand-built ONNX model and the synthetic-roll helpers.

Tests run with --import-mode=importlib, so the helpers module is loaded from its file here and handed
to tests as the `synth` fixture.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest


def _load_helpers() -> ModuleType:
    path = Path(__file__).with_name("pipeline_fixtures.py")
    spec = importlib.util.spec_from_file_location("inspect_pipeline_fixtures", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_HELPERS = _load_helpers()


@pytest.fixture(scope="session")
def synth() -> ModuleType:
    """pipeline_fixtures: write_tiny_model, make_roll, Spot, write_video, read_jsonl."""
    return _HELPERS


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("onnx")
    return _HELPERS.write_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path: Path):  # -> OnnxModel
    from fabric_inspect.models.runtime import RuntimeConfig, load_model

    return load_model(tiny_model_path, RuntimeConfig(threads=1))
