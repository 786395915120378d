from __future__ import annotations

import pytest

from fabric_inspect.inspect.roll_score import score_roll

TRUTH = {
    "defects": [
        {
            "id": 1,
            "visibility": "high",
            "roll_y_mm": 100.0,
            "roll_x_mm": 50.0,
            "length_mm": 4.0,
            "width_mm": 4.0,
            "frames": {"3": [0, 0, 1, 1]},
        },
        {
            "id": 2,
            "visibility": "low",
            "roll_y_mm": 400.0,
            "roll_x_mm": 20.0,
            "length_mm": 2.0,
            "width_mm": 80.0,
            "frames": {"9": [0, 0, 1, 1]},
        },
        {
            "id": 3,
            "visibility": "medium",
            "roll_y_mm": 900.0,
            "roll_x_mm": 50.0,
            "length_mm": 4.0,
            "width_mm": 4.0,
            "frames": {},
        },  # never in view: not counted
    ]
}


def event(y: float, x: float) -> dict:
    return {"roll_y_mm": y, "roll_x_mm": x}


def test_found_duplicated_and_false_reports_are_told_apart():
    score = score_roll([event(103.0, 51.0), event(98.0, 49.0), event(250.0, 50.0)], TRUTH)
    assert (score.truths, score.found, score.duplicates, score.false_reports) == (2, 1, 1, 1)
    assert score.recall_by_visibility == {"high": 1.0, "low": 0.0}
    assert score.position_errors == [pytest.approx(0.02)]
    assert score.duplicate_rate == pytest.approx(1 / 3)


def test_visibility_filter_scores_only_the_chosen_grades():
    score = score_roll([event(100.0, 50.0)], TRUTH, visibilities=("medium", "high"))
    assert score.truths == 1 and score.recall == 1.0


def test_slack_along_the_roll_grows_with_the_distance_measured():
    far = {"defects": [{**TRUTH["defects"][0], "roll_y_mm": 5000.0}]}
    late = event(5000.0 - 2.0 - 10.0 - 11.0, 50.0)  # 11 mm past the fixed slack: 0.22 % of 5 m
    assert score_roll([late], far).found == 1
    assert score_roll([late], far, slack_fraction=0.0).false_reports == 1
    assert score_roll([event(5000.0 - 2.0 - 10.0 - 14.0, 50.0)], far).false_reports == 1  # 0.28 %
    assert score_roll([event(5000.0, 50.0 + 2.0 + 10.0 + 1.0)], far).false_reports == 1  # across: fixed
