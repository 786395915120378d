from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.motion import MotionConfig, MotionEstimator, speed_px_per_frame


@pytest.mark.parametrize("speed_px", [2.5, 6.0, 17.0])
def test_phase_correlation_recovers_a_known_downward_travel(synth, speed_px):
    roll = synth.make_roll(length=1400, width=256, height=160, speed_px=speed_px)
    estimator = MotionEstimator(MotionConfig(mode="phase"), fps=30.0)
    frames = 40
    for t in range(frames):
        offset = estimator.update(roll.frame(t), t)
    truth = round((frames - 1) * speed_px)
    assert offset == pytest.approx(truth, rel=0.05, abs=1.5)  # the 5 % the roll position may be off


def test_speed_hint_replaces_a_measurement_that_disagrees_with_it():
    rng = np.random.default_rng(1)
    frames = [rng.integers(0, 255, (480, 640), dtype=np.uint8) for _ in range(4)]  # unrelated frames
    hint = MotionConfig(mode="auto", speed_m_per_min=6.0, px_per_mm=3.0)  # 10 px per frame at 30 fps
    estimator = MotionEstimator(hint, fps=30.0)
    for t, frame in enumerate(frames):
        offset = estimator.update(frame, t)
    assert offset == pytest.approx(30.0)
    assert estimator.fallbacks == 3


def test_speed_mode_counts_dropped_frames_and_tile_mode_adds_frame_heights():
    speed = MotionEstimator(MotionConfig(mode="speed", speed_m_per_min=6.0, px_per_mm=3.0), fps=30.0)
    image = np.zeros((50, 60), np.uint8)
    for index in (0, 1, 4):  # frames 2 and 3 were dropped
        offset = speed.update(image, index)
    assert offset == pytest.approx(40.0)
    tile = MotionEstimator(MotionConfig(mode="tile"), fps=1.0)
    for index in range(3):
        offset = tile.update(image, index)
    assert offset == 100.0


def test_a_lower_frame_rate_means_more_travel_per_frame_with_a_hint_or_without():
    image = np.zeros((50, 60), np.uint8)
    hinted = MotionEstimator(MotionConfig(mode="speed", speed_m_per_min=6.0, px_per_mm=3.0), fps=30.0)
    for index in range(3):
        offset = hinted.update(image, index)
    assert offset == pytest.approx(20.0)  # 10 px a frame at 30 fps
    hinted.follow_rate(15.0)
    for index in range(3, 5):
        offset = hinted.update(image, index)
    assert offset == pytest.approx(60.0)  # 20 px a frame at 15 fps
    recent = MotionEstimator(MotionConfig(mode="phase"), fps=30.0)
    recent.last_shift = 6.0
    recent.follow_rate(20.0)
    recent.follow_rate(20.0)  # the same rate again changes nothing
    assert recent.last_shift == pytest.approx(9.0) and recent.fps == 20.0


def test_speed_in_pixels_per_frame():
    assert speed_px_per_frame(60.0, 2.0, 50.0) == pytest.approx(40.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "optical"}, "--motion"),
        ({"mode": "speed"}, "--speed"),
        ({"speed_m_per_min": -1.0}, "--speed"),
        ({"px_per_mm": 0.0}, "--px-per-mm"),
    ],
)
def test_bad_motion_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        MotionConfig(**kwargs)
