"""`fabric-inspect calibrate`: the threshold moves to the target false-alarm rate on good fabric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.models.runtime import load_model

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, training_fixtures) -> tuple[Path, Path]:
    fixtures = training_fixtures
    root = tmp_path_factory.mktemp("calibrate_cli")
    return fixtures.build_contrast_model(
        root / "contrast.onnx", threshold=0.5
    ), fixtures.write_labeled_dataset(root / "tiny")


def test_calibrating_on_good_images_flags_none_of_them_and_keeps_the_rest_of_the_model(setup, tmp_path):
    model_path, data = setup
    out = tmp_path / "recal.onnx"
    result = runner.invoke(
        app, ["calibrate", "--model", str(model_path), "--data", str(data), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    before, after = load_model(model_path), load_model(out)
    free = [p for p in sorted((data / "images").iterdir()) if not (data / "masks" / p.name).exists()]
    import cv2

    scores = np.array([after.predict(cv2.imread(str(p))).score.max() for p in free])
    assert scores.size >= 2
    assert (scores >= after.info.threshold).sum() == 0  # under 100 images: none may be flagged
    assert after.info.threshold != before.info.threshold
    assert after.info.metrics["calibration_images"] == scores.size
    assert (after.info.classes, after.info.stride, after.info.name) == (
        before.info.classes,
        before.info.stride,
        before.info.name,
    )
    assert not out.with_name(out.name + ".data").exists()


def test_synthetic_calibration_uses_frames_of_the_given_size(setup, tmp_path):
    model_path, _ = setup
    out = tmp_path / "syn.onnx"
    args = [
        "calibrate",
        "-m",
        str(model_path),
        "--synthetic",
        "--size",
        "96x64",
        "--count",
        "4",
        "-o",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert load_model(out).info.metrics["calibration_sizes"] == ["96x64"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/a.onnx"], "exactly one of --data DIR or --synthetic"),
        (["--synthetic", "--out", "{tmp}/a.txt"], "must end in .onnx"),
        (["--synthetic", "--size", "big", "--out", "{tmp}/a.onnx"], "--size must be WIDTHxHEIGHT"),
        (["--synthetic", "--target-far", "2", "--out", "{tmp}/a.onnx"], "--target-far must be in (0, 1)"),
        (["--data", "{tmp}/missing", "--out", "{tmp}/a.onnx"], "missing"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(setup, tmp_path, args, message):
    model_path, _ = setup
    argv = ["calibrate", "--model", str(model_path), *[a.replace("{tmp}", str(tmp_path)) for a in args]]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "a.onnx").exists()
