"""The video-threshold search: the lowest threshold whose false reports stay within the target."""

from __future__ import annotations

import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.training.roll_calibrate import HIGHEST, LOWEST, RollTrial, search_threshold


def step_roll(edge: float, reports_below: int = 10, metres: float = 10.0):
    """A roll that gives `reports_below` reports at thresholds under `edge`, none at or above it."""
    calls: list[float] = []

    def trial(threshold: float) -> RollTrial:
        calls.append(threshold)
        return RollTrial(threshold, reports_below if threshold < edge else 0, metres)

    return trial, calls


@pytest.mark.parametrize(("start", "edge"), [(0.9, 0.62), (0.3, 0.8), (0.5, 0.5001)])
def test_bisection_lands_just_above_the_edge_from_either_side(start, edge):
    trial, calls = step_roll(edge)
    threshold, trials, reached = search_threshold(trial, start, target_per_10m=0.5)
    assert reached
    assert threshold >= edge
    assert threshold - edge < 0.05  # 6 halvings of the logit interval
    assert threshold in calls  # the chosen threshold was run, not interpolated
    assert [t.threshold for t in trials] == calls
    assert all(LOWEST <= t <= HIGHEST for t in calls)


def test_a_model_quiet_everywhere_gets_the_lowest_threshold():
    trial, calls = step_roll(edge=0.0)
    threshold, _, reached = search_threshold(trial, 0.9, target_per_10m=0.5)
    assert (threshold, reached) == (LOWEST, True)
    assert len(calls) == 2


def test_a_model_noisy_everywhere_is_reported_as_not_reaching_the_target():
    trial, _ = step_roll(edge=2.0)
    threshold, trials, reached = search_threshold(trial, 0.9, target_per_10m=0.5)
    assert (threshold, reached) == (HIGHEST, False)
    assert trials[-1].per_10m == 10.0


def test_the_target_is_a_rate_per_ten_metres():
    # 1 report on 30 m is 0.33 per 10 m: within 0.5; 1 report on 10 m is not
    assert RollTrial(0.5, 1, 30.0).per_10m == pytest.approx(1 / 3)
    trial = lambda t: RollTrial(t, 1, 30.0)  # noqa: E731
    assert search_threshold(trial, 0.9, 0.5)[0] == LOWEST
    trial = lambda t: RollTrial(t, 1, 10.0)  # noqa: E731
    assert search_threshold(trial, 0.9, 0.5)[2] is False


def test_a_negative_target_is_refused():
    with pytest.raises(ConfigError, match="--target-per-10m"):
        search_threshold(lambda t: RollTrial(t, 0, 1.0), 0.5, -1.0)


def test_replay_gives_back_the_models_maps_with_logits_wherever_postprocess_can_look(tmp_path):
    import numpy as np

    from fabric_inspect.models.runtime import default_model_path, load_model
    from fabric_inspect.training.roll_calibrate import Replay

    if not default_model_path().is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    model = load_model(None)
    frames = [np.random.default_rng(i).integers(0, 256, (64, 96, 3), dtype=np.uint8) for i in range(3)]
    replay = Replay(model, floor=0.3)
    first = [replay.predict(f) for f in frames]
    replay.rewind()
    again = [replay.predict(f) for f in frames]
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a.score, b.score)
        hot = a.score >= 0.3
        assert np.array_equal(a.class_logits[:, hot], b.class_logits[:, hot])
        assert not b.class_logits[:, ~hot].any()  # never read at thresholds >= the floor
    with pytest.raises(RuntimeError, match="out of step"):
        replay.predict(frames[0])  # one frame more than were recorded
    replay.rewind()
    with pytest.raises(RuntimeError, match="out of step"):
        replay.predict(np.zeros((32, 32, 3), np.uint8))  # not the frame that was recorded
