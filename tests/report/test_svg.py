"""The SVG figures: the defect map is to scale and puts defects where they are; the chart's bars count."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from fabric_inspect.datasets.classes import DEFECT_CLASSES
from fabric_inspect.report.svg import (
    MAX_BAND_HEIGHT,
    MAX_BANDS,
    UNKNOWN_COLOUR,
    MapDefect,
    band_length_units,
    bin_edges,
    class_colour,
    defect_map_svg,
    defects_per_length_svg,
)

NS = {"s": "http://www.w3.org/2000/svg"}


def fabric_rects(svg: str) -> list[dict[str, float]]:
    root = ET.fromstring(svg)
    return [
        {k: float(r.get(k)) for k in ("x", "y", "width", "height")}
        for r in root.iterfind("s:rect", NS)
        if r.get("class") == "fabric"
    ]


@pytest.mark.parametrize(
    ("length_m", "width_mm", "unit_mm"),
    [(100.0, 1600.0, 1000.0), (3.0, 1800.0, 1000.0), (5000.0, 1600.0, 1000.0), (120.0, 1500.0, 914.4)],
)
def test_the_map_draws_every_full_band_to_scale_in_few_bands(length_m, width_mm, unit_mm):
    svg = defect_map_svg([], length_m * 1000, width_mm, unit_mm, "m")
    bands = fabric_rects(svg)
    band_mm = band_length_units(length_m * 1000, width_mm, unit_mm) * unit_mm
    assert 1 <= len(bands) <= MAX_BANDS
    for band in bands[:-1]:
        assert band["width"] / band["height"] == pytest.approx(band_mm / width_mm, rel=0.02)
    assert all(b["height"] <= MAX_BAND_HEIGHT + 1e-6 for b in bands)
    # the bands together are as long as the roll
    scale = bands[0]["height"] / width_mm
    assert sum(b["width"] for b in bands) / scale == pytest.approx(length_m * 1000, rel=0.01)


def test_a_defect_is_drawn_at_its_position_along_and_across_the_roll():
    defect = MapDefect(
        5, "hole", roll_y_mm=25_300.0, roll_x_mm=400.0, length_mm=20.0, width_mm=20.0, score=0.9
    )
    svg = defect_map_svg([defect], 100_000.0, 1600.0, 1000.0, "m")
    band_mm = band_length_units(100_000.0, 1600.0, 1000.0) * 1000.0
    band = fabric_rects(svg)[int(25_300.0 // band_mm)]
    circle = ET.fromstring(svg).find("s:g/s:circle", NS)
    along = (float(circle.get("cx")) - band["x"]) / band["width"]
    across = (float(circle.get("cy")) - band["y"]) / band["height"]
    assert along == pytest.approx((25_300.0 % band_mm) / band_mm, abs=0.002)
    assert across == pytest.approx(400.0 / 1600.0, abs=0.01)
    assert "#5 hole at 25.30 m" in svg


def test_a_running_defect_is_drawn_in_every_band_it_crosses():
    band_mm = band_length_units(100_000.0, 1600.0, 1000.0) * 1000.0
    defect = MapDefect(1, "broken_end", band_mm - 500.0, 800.0, 2000.0, 2.0, None)
    svg = defect_map_svg([defect], 100_000.0, 1600.0, 1000.0, "m")
    groups = ET.fromstring(svg).findall("s:g", NS)
    assert len(groups) == 2  # the band it starts in and the next
    assert len([g for g in groups if g.find("s:circle", NS) is not None]) == 1  # one numbered centre


def test_the_chart_bars_are_as_tall_as_the_defects_per_metre():
    defects = [MapDefect(i, "knot", y, 100.0, 5.0, 5.0, None) for i, y in enumerate((100, 300, 900, 5500))]
    svg = defects_per_length_svg(defects, 10_000.0, 1000.0, "m", ["knot"])
    bars = [float(r.get("height")) for r in ET.fromstring(svg).iterfind("s:rect", NS)]
    assert len(bars) == 2
    assert bars[0] / bars[1] == pytest.approx(3.0)


def test_the_chart_stacks_classes_in_one_bar():
    defects = [
        MapDefect(1, "knot", 100.0, 1.0, 5.0, 5.0, None),
        MapDefect(2, "hole", 200.0, 1.0, 5.0, 5.0, None),
    ]
    svg = defects_per_length_svg(defects, 4_000.0, 1000.0, "m", ["knot", "hole"])
    rects = list(ET.fromstring(svg).iterfind("s:rect", NS))
    assert {r.get("fill") for r in rects} == {class_colour("knot"), class_colour("hole")}
    assert len({r.get("x") for r in rects}) == 1


def test_every_class_has_its_own_colour_and_unknown_classes_are_grey():
    colours = [class_colour(c) for c in DEFECT_CLASSES]
    assert len(set(colours)) == len(DEFECT_CLASSES) and UNKNOWN_COLOUR not in colours
    assert class_colour("not_a_class") == UNKNOWN_COLOUR


@pytest.mark.parametrize(
    ("length_mm", "edges"),
    [
        (3000.0, [0.0, 1000.0, 2000.0, 3000.0]),
        (2600.0, [0.0, 1000.0, 2000.0, 2600.0]),  # a 0.6 m last bin stays
        (2400.0, [0.0, 1000.0, 2400.0]),  # a 0.4 m sliver joins the bin before it
        (400.0, [0.0, 400.0]),
    ],
)
def test_chart_bins_are_whole_metres_and_a_last_sliver_joins_its_neighbour(length_mm, edges):
    units, found = bin_edges(length_mm, 1000.0)
    assert units == 1 and found == pytest.approx(edges)


def test_a_short_last_bin_is_drawn_as_wide_as_its_fabric_and_divided_by_it():
    defects = [MapDefect(i, "knot", y, 1.0, 5.0, 5.0, None) for i, y in ((1, 500.0), (2, 2300.0))]
    svg = defects_per_length_svg(defects, 2600.0, 1000.0, "m", ["knot"])
    first, last = (r for r in ET.fromstring(svg).iterfind("s:rect", NS))
    assert float(last.get("height")) / float(first.get("height")) == pytest.approx(1 / 0.6, rel=0.01)
    assert (float(last.get("width")) + 1) / (float(first.get("width")) + 1) == pytest.approx(0.6, rel=0.01)


def test_fabric_not_inspected_is_hatched_where_it_lies_across_the_bands_it_crosses():
    length_mm = 100_000.0
    band_mm = band_length_units(length_mm, 1600.0, 1000.0) * 1000.0
    start, end = band_mm - 500.0, band_mm + 1500.0  # crosses from the first band into the second
    svg = defect_map_svg([], length_mm, 1600.0, 1000.0, "m", unseen=[(start, end)])
    root = ET.fromstring(svg)
    hatched = [
        {k: float(r.get(k)) for k in ("x", "y", "width", "height")}
        for r in root.iterfind("s:rect", NS)
        if r.get("class") == "unseen"
    ]
    bands = fabric_rects(svg)
    assert len(hatched) == 2
    first, second = hatched
    px_per_mm = bands[0]["width"] / band_mm
    assert first["y"] == bands[0]["y"] and second["y"] == bands[1]["y"]
    assert first["x"] + first["width"] == pytest.approx(bands[0]["x"] + bands[0]["width"], abs=0.2)
    assert first["width"] == pytest.approx(500.0 * px_per_mm, abs=0.2)
    assert second["x"] == pytest.approx(bands[1]["x"], abs=0.2)
    assert second["width"] == pytest.approx(1500.0 * px_per_mm, abs=0.2)
    assert "not inspected: " in svg and 'id="unseen"' in svg
    assert 'class="unseen"' not in defect_map_svg([], length_mm, 1600.0, 1000.0, "m")
