"""Threshold calibration: reaches the target false-alarm rate, and stays safe on few images."""

from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.training.calibrate import calibrate_threshold, false_alarm_rate


def test_calibration_reaches_one_percent_on_a_known_distribution():
    rng = np.random.default_rng(0)
    calibration = rng.beta(2, 8, 5000)  # defect-free image scores
    threshold = calibrate_threshold(calibration, target_far=0.01)
    assert false_alarm_rate(calibration, threshold) == pytest.approx(0.01, abs=1e-9)
    # The true 99th percentile of Beta(2, 8) is about 0.5; fresh images see about 1 % false alarms.
    fresh = rng.beta(2, 8, 200_000)
    assert false_alarm_rate(fresh, threshold) == pytest.approx(0.01, abs=0.003)


@pytest.mark.parametrize("target", [0.05, 0.1, 0.25])
def test_calibration_flags_exactly_the_allowed_count(target):
    scores = np.linspace(0.01, 0.99, 100)
    threshold = calibrate_threshold(scores, target_far=target)
    assert (scores >= threshold).sum() == int(target * 100)


def test_too_few_images_put_the_threshold_above_the_highest_score():
    scores = np.array([0.10, 0.12, 0.15, 0.20, 0.11])
    threshold = calibrate_threshold(scores, target_far=0.01)  # 5 images cannot measure 1 %
    assert threshold > scores.max()
    assert threshold < 1.0


def test_few_widely_spread_scores_push_the_threshold_further_up():
    narrow = calibrate_threshold(np.array([0.19, 0.195, 0.2]), target_far=0.01)
    wide = calibrate_threshold(np.array([0.01, 0.05, 0.2]), target_far=0.01)
    assert narrow > 0.2
    assert wide > narrow


def test_a_single_score_gives_a_threshold_just_above_it():
    threshold = calibrate_threshold(np.array([0.3]))
    assert 0.3 < threshold < 0.33


def test_tied_scores_never_exceed_the_target():
    scores = np.r_[np.full(5, 0.9), np.linspace(0.1, 0.2, 95)]  # 5 ties at the top, 1 allowed
    threshold = calibrate_threshold(scores, target_far=0.01)
    assert false_alarm_rate(scores, threshold) == 0.0
    assert threshold > 0.9


def test_threshold_is_a_valid_model_threshold_even_for_saturated_scores():
    threshold = calibrate_threshold(np.ones(10))
    assert 0.0 < threshold < 1.0
    assert calibrate_threshold(np.zeros(200)) > 0.0


@pytest.mark.parametrize(
    ("scores", "target", "error", "message"),
    [
        ([], 0.01, InputError, "at least one"),
        ([0.1, np.nan], 0.01, InputError, "0..1"),
        ([0.1, 1.5], 0.01, InputError, "0..1"),
        ([0.1, 0.2], 0.0, ConfigError, "target false-alarm rate"),
        ([0.1, 0.2], 1.0, ConfigError, "target false-alarm rate"),
    ],
)
def test_bad_calibration_input_is_rejected(scores, target, error, message):
    with pytest.raises(error, match=message):
        calibrate_threshold(np.array(scores, dtype=float), target_far=target)
