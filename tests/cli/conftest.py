"""Builders shared by the CLI tests: the contrast model and tiny dataset of tests/training/conftest.py."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest


@pytest.fixture(scope="session")
def training_fixtures() -> ModuleType:
    """tests/training/conftest.py as a module (conftests are not importable by name)."""
    path = Path(__file__).parents[1] / "training" / "conftest.py"
    spec = importlib.util.spec_from_file_location("_training_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
