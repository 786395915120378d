"""The 4-point arithmetic, table by table: size bands, holes, the per-metre (yard) cap, both unit systems."""

from __future__ import annotations

import math

import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.report.points import (
    DefectSize,
    PointsConfig,
    assess,
    defect_points,
    points_for_size,
    points_per_100,
    unit_points,
)

METRIC = PointsConfig()
IMPERIAL = PointsConfig(imperial=True)


@pytest.mark.parametrize(
    ("size_mm", "points"),
    [
        (0.0, 1),
        (1.0, 1),
        (75.0, 1),  # "up to 3 in" includes 75 mm
        (75.01, 2),
        (150.0, 2),
        (150.01, 3),
        (230.0, 3),
        (230.01, 4),
        (5000.0, 4),
    ],
)
def test_length_bands_give_1_to_4_points_with_the_boundary_in_the_lower_band(size_mm, points):
    assert points_for_size(size_mm) == points


@pytest.mark.parametrize(
    ("size_mm", "points"),
    [(0.0, 2), (3.0, 2), (25.0, 2), (25.01, 4), (80.0, 4), (400.0, 4)],
)
def test_holes_get_2_points_up_to_25_mm_and_4_above(size_mm, points):
    assert points_for_size(size_mm, hole=True) == points


@pytest.mark.parametrize(
    ("size_mm", "hole", "points"),
    [
        (76.2, False, 1),  # exactly 3 in
        (76.3, False, 2),
        (152.4, False, 2),  # exactly 6 in
        (152.5, False, 3),
        (228.6, False, 3),  # exactly 9 in
        (228.7, False, 4),
        (25.4, True, 2),  # exactly 1 in
        (25.5, True, 4),
    ],
)
def test_imperial_mode_uses_the_inch_bands_with_the_boundary_in_the_lower_band(size_mm, hole, points):
    assert points_for_size(size_mm, hole=hole, imperial=True) == points


@pytest.mark.parametrize(("size_mm", "metric", "imperial"), [(76.0, 2, 1), (229.0, 3, 4), (25.2, 4, 2)])
def test_between_the_mm_and_inch_bands_the_unit_system_decides(size_mm, metric, imperial):
    hole = size_mm == 25.2
    assert points_for_size(size_mm, hole=hole) == metric
    assert points_for_size(size_mm, hole=hole, imperial=True) == imperial


@pytest.mark.parametrize("size_mm", [-1.0, math.nan, math.inf])
def test_a_size_that_is_not_a_finite_length_is_refused(size_mm):
    with pytest.raises(ConfigError, match="defect size"):
        points_for_size(size_mm)


@pytest.mark.parametrize(
    ("length_mm", "width_mm", "cls", "points"),
    [
        (20.0, 80.0, "slub", 2),  # the width across the roll is the largest dimension
        (80.0, 20.0, "slub", 2),
        (10.0, 1600.0, "broken_pick", 4),  # a pick across the whole width
        (20.0, 20.0, "hole", 2),
        (20.0, 30.0, "hole", 4),
        (20.0, 30.0, "stain", 1),  # the same size, not a hole
    ],
)
def test_a_defect_is_sized_by_its_largest_dimension(length_mm, width_mm, cls, points):
    assert defect_points(DefectSize(500.0, length_mm, width_mm, cls), METRIC) == points


def test_hole_classes_are_configurable():
    config = PointsConfig(hole_classes=("hole", "float"))
    assert defect_points(DefectSize(500.0, 30.0, 30.0, "float"), config) == 4
    assert defect_points(DefectSize(500.0, 30.0, 30.0, "float"), METRIC) == 1


@pytest.mark.parametrize(
    ("centres_mm", "config", "expected"),
    [
        # three 2-point defects in metre 0: 6 points capped at 4
        ((100.0, 400.0, 900.0), METRIC, {0: 4}),
        # the same three spread over three metres: nothing capped
        ((100.0, 1400.0, 2900.0), METRIC, {0: 2, 1: 2, 2: 2}),
        # 950 and 1050 mm are in different metres but in the same yard (914.4..1828.8 mm)
        ((950.0, 1050.0), METRIC, {0: 2, 1: 2}),
        ((950.0, 1050.0), IMPERIAL, {1: 4}),
        # 900 mm is in yard 0 but metre 0 too; 920 mm is in yard 1
        ((900.0, 920.0), METRIC, {0: 4}),
        ((900.0, 920.0), IMPERIAL, {0: 2, 1: 2}),
    ],
)
def test_no_linear_metre_or_yard_gets_more_than_4_points(centres_mm, config, expected):
    defects = [DefectSize(y, 100.0, 10.0, "slub") for y in centres_mm]  # 2 points each
    assert unit_points(defects, config) == expected


@pytest.mark.parametrize(
    ("centre_mm", "length_mm", "config", "units", "points"),
    [
        # 3750..6250 mm touches metres 3, 4, 5, 6
        (5000.0, 2500.0, METRIC, [3, 4, 5, 6], 16),
        # and yards 4 (3657.6..4572), 5, 6 (5486.4..6400.8)
        (5000.0, 2500.0, IMPERIAL, [4, 5, 6], 12),
        # exactly one metre long is not a running defect: 4 points once, in its centre's metre
        (5500.0, 1000.0, METRIC, [5], 4),
    ],
)
def test_a_running_defect_gets_4_points_in_every_unit_it_touches(centre_mm, length_mm, config, units, points):
    defect = DefectSize(centre_mm, length_mm, 2.0, "broken_end")
    assert defect_points(defect, config) == points
    assert unit_points([defect], config) == dict.fromkeys(units, 4)


@pytest.mark.parametrize(
    ("points", "length_m", "width_mm", "imperial", "expected"),
    [
        (10, 100.0, 1600.0, False, 6.25),  # 10 x 100000 / (100 x 1600)
        (40, 10.0, 1000.0, False, 400.0),  # 40 points on 10 m²
        (10, 91.44, 1524.0, True, 6.0),  # 100 yd x 60 in: 10 x 3600 / (100 x 60)
        (0, 50.0, 1500.0, True, 0.0),
    ],
)
def test_points_per_100_square_metres_and_yards(points, length_m, width_mm, imperial, expected):
    assert points_per_100(points, length_m, width_mm, imperial) == pytest.approx(expected)


@pytest.mark.parametrize(("length_m", "width_mm"), [(0.0, 1600.0), (100.0, 0.0), (-5.0, 1600.0)])
def test_points_per_area_refuse_an_empty_roll(length_m, width_mm):
    with pytest.raises(ConfigError, match="positive inspected length and width"):
        points_per_100(4, length_m, width_mm)


def test_default_limit_is_40_per_100_square_yards_in_both_unit_systems():
    assert IMPERIAL.effective_limit == 40.0
    # 100 yd² = 83.6127 m², so 40 points per 100 yd² = 47.84 points per 100 m²
    assert METRIC.effective_limit == pytest.approx(47.8396, abs=1e-4)


def test_a_given_limit_is_in_the_reports_own_unit():
    assert PointsConfig(limit=40.0).effective_limit == 40.0
    assert PointsConfig(imperial=True, limit=25.0).effective_limit == 25.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0.0}, "--limit"),
        ({"limit": -3.0}, "--limit"),
        ({"limit": math.nan}, "--limit"),
        ({"width_mm": 0.0}, "--width-mm"),
        ({"width_mm": math.inf}, "--width-mm"),
        ({"hole_classes": "hole"}, "hole_classes"),
    ],
)
def test_points_config_refuses_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PointsConfig(**kwargs)


def test_assessment_passes_at_the_limit_and_fails_above_it():
    # 10 m x 1000 mm = 10 m²; ten 1-point defects, one per metre: 10 points = 100 per 100 m²
    defects = [DefectSize(500.0 + 1000.0 * i, 50.0, 5.0, "knot") for i in range(10)]
    at_limit = assess(defects, 10.0, 1000.0, PointsConfig(limit=100.0))
    assert (at_limit.points, at_limit.points_per_100, at_limit.passed) == (10, 100.0, True)
    assert assess(defects, 10.0, 1000.0, PointsConfig(limit=99.9)).passed is False


def test_assessment_counts_raw_and_capped_points():
    defects = [DefectSize(y, 300.0, 5.0, "broken_pick") for y in (100.0, 200.0, 1500.0)]  # 4 points each
    result = assess(defects, 2.0, 1500.0, METRIC)
    assert result.defect_points == (4, 4, 4)
    assert result.raw_points == 12
    assert result.points == 8  # metre 0 capped at 4, metre 1 has 4
    assert result.points_per_100 == pytest.approx(8 * 100000 / (2.0 * 1500.0))


def test_the_verdict_does_not_depend_on_the_unit_system_when_no_cap_differs():
    # one 1-point defect every 2 m: metres and yards hold at most one each
    defects = [DefectSize(1000.0 + 2000.0 * i, 50.0, 5.0, "knot") for i in range(50)]
    metric = assess(defects, 100.0, 1600.0, METRIC)
    imperial = assess(defects, 100.0, 1600.0, IMPERIAL)
    assert metric.points == imperial.points == 50
    assert metric.points_per_100 / imperial.points_per_100 == pytest.approx(100 / 83.6127, rel=1e-5)
    assert metric.points_per_100 / metric.limit == pytest.approx(imperial.points_per_100 / imperial.limit)
