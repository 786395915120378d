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


def test_roll_calibration_sets_a_video_threshold_that_keeps_its_promise(tmp_path):
    """Two synthetic defect-free rolls: the pipeline run again at the chosen threshold gives the same
    reports, within the target per 10 m, and a lower threshold tried on the way gave more."""
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig, run
    from fabric_inspect.inspect.sinks.bundle import SinkConfig
    from fabric_inspect.inspect.sources import SourceConfig, open_source
    from fabric_inspect.inspect.tracker import TrackerConfig
    from fabric_inspect.models.runtime import default_model_path

    model_path = default_model_path()  # a trained net: its false reports fall as the threshold rises
    if not model_path.is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    out = tmp_path / "roll.onnx"
    args = ["calibrate", "-m", str(model_path), "--roll", "--synthetic", "--size", "160x120", "--fps", "10"]
    args += ["--speed", "4", "--metres", "2", "--rolls", "2", "--seed", "40", "--target-per-10m", "6"]
    result = runner.invoke(app, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    model = load_model(out)
    calibration = model.info.metrics["roll_calibration"]
    assert model.info.threshold == load_model(model_path).info.threshold  # the image threshold stays
    assert f"video threshold {model.info.roll_threshold:.4f}" in result.output
    assert calibration["confirm"] == "3/5" and calibration["reached"], calibration
    trials = dict(calibration["trials"])
    assert any(t < model.info.roll_threshold and n > calibration["reports"] for t, n in trials.items())
    config = PipelineConfig(motion=MotionConfig(px_per_mm=4), tracker=TrackerConfig(k=3, n=5, px_per_mm=4))
    reports, metres = 0, 0.0
    for seed in (40, 41):
        roll = RollConfig(
            seconds=15,
            fps=10,
            width=160,
            height=120,
            speed_m_per_min=4,
            px_per_mm=4,
            seed=seed,
            defects_per_m=0,
        )
        write_roll_video(roll, tmp_path / f"again{seed}.mp4", progress=False)
        source = open_source(SourceConfig(str(tmp_path / f"again{seed}.mp4")))
        summary = run(source, model, config, SinkConfig())  # no --threshold: the model's video threshold
        reports, metres = reports + summary.defects, metres + summary.roll_length_m
    assert reports == calibration["reports"]
    assert metres == pytest.approx(calibration["metres"], abs=0.01)
    assert 10 * reports / metres <= 6.0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roll", "--out", "{tmp}/a.onnx"], "exactly one of --video FILE"),
        (
            ["--roll", "--video", "{tmp}/none.mp4", "--px-per-mm", "4", "--out", "{tmp}/a.onnx"],
            "no such file",
        ),
        (["--roll", "--video", "{model}", "--out", "{tmp}/a.onnx"], "needs --px-per-mm"),
        (["--synthetic", "--video", "{model}", "--out", "{tmp}/a.onnx"], "--video is for --roll"),
        (["--roll", "--synthetic", "--rolls", "0", "--out", "{tmp}/a.onnx"], "--rolls must be in 1..100"),
        (["--roll", "--synthetic", "--confirm", "3", "--out", "{tmp}/a.onnx"], "--confirm must be K/N"),
        (["--roll", "--synthetic", "--roi", "1,2,3", "--out", "{tmp}/a.onnx"], "--roi must be four integers"),
        (["--synthetic", "--roi", "0,0,64,64", "--out", "{tmp}/a.onnx"], "--roi is for --roll"),
        (
            ["--roll", "--synthetic", "--size", "160x120", "--roi", "0,0,160,200", "--out", "{tmp}/a.onnx"],
            "--roi (0, 0, 160, 200) lies outside the 160x120 frame",
        ),
    ],
)
def test_bad_roll_options_give_one_line_and_exit_2(setup, tmp_path, args, message):
    model_path, _ = setup
    filled = [a.replace("{tmp}", str(tmp_path)).replace("{model}", str(model_path)) for a in args]
    result = runner.invoke(app, ["calibrate", "--model", str(model_path), *filled])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "a.onnx").exists()


def test_roll_calibration_on_a_recording_of_good_fabric(tmp_path):
    """The mill's workflow: a recording of defect-free fabric, its scale, and nothing synthetic."""
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video
    from fabric_inspect.models.runtime import default_model_path

    model_path = default_model_path()
    if not model_path.is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    roll = RollConfig(seconds=15, fps=10, width=160, height=120, speed_m_per_min=4, px_per_mm=4, seed=50,
                      defects_per_m=0)  # fmt: skip
    video = tmp_path / "good-fabric.mp4"
    write_roll_video(roll, video, progress=False)
    out = tmp_path / "article.onnx"
    args = ["calibrate", "-m", str(model_path), "--roll", "--video", str(video), "--px-per-mm", "4"]
    result = runner.invoke(app, [*args, "--target-per-10m", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    info = load_model(out).info
    calibration = info.metrics["roll_calibration"]
    assert calibration["data"] == str(video)
    assert calibration["metres"] == pytest.approx(1.0, rel=0.1)  # 15 s at 4 m/min, measured by motion
    assert calibration["reached"] and 10 * calibration["reports"] / calibration["metres"] <= 10
    assert f"video threshold {info.roll_threshold:.4f}" in result.output
    assert info.threshold == load_model(model_path).info.threshold


def test_roll_calibration_in_a_fabric_region_sets_the_threshold_that_region_needs(tmp_path):
    """A band of the frame sees each point in fewer frames: calibrated with the band, the threshold is
    the one the pipeline run with that band keeps its promise at, and the model records the band."""
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.pipeline import PipelineConfig, run
    from fabric_inspect.inspect.preprocess import PreprocessConfig
    from fabric_inspect.inspect.sinks.bundle import SinkConfig
    from fabric_inspect.inspect.sources import SourceConfig, open_source
    from fabric_inspect.inspect.tracker import TrackerConfig

    roll = RollConfig(seconds=20, fps=10, width=160, height=120, speed_m_per_min=2, px_per_mm=4, seed=51,
                      defects_per_m=0)  # fmt: skip
    video = tmp_path / "good-fabric.mp4"
    write_roll_video(roll, video, progress=False)
    out = tmp_path / "band.onnx"
    args = ["calibrate", "--roll", "--video", str(video), "--px-per-mm", "4", "--roi", "0,24,160,96"]
    result = runner.invoke(app, [*args, "--target-per-10m", "10", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "confirm 3/5, --roi 0,24,160,96:" in result.output
    model = load_model(out)
    calibration = model.info.metrics["roll_calibration"]
    assert calibration["roi"] == [0, 24, 160, 96]
    config = PipelineConfig(
        preprocess=PreprocessConfig(roi=(0, 24, 160, 96)),
        motion=MotionConfig(px_per_mm=4),
        tracker=TrackerConfig(k=3, n=5, px_per_mm=4),
    )
    summary = run(open_source(SourceConfig(str(video))), model, config, SinkConfig())
    assert summary.defects == calibration["reports"]
    assert summary.looks_per_point == pytest.approx(72 / (2000 / 60 * 4 / 10), rel=0.1)  # 5.4 looks
