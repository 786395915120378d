"""write_report end to end on real SQLite files: content, self-containment, crops, overrides and errors."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser

import cv2
import numpy as np
import pytest

from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.report import PointsConfig, ReportConfig, write_report


class _Collector(HTMLParser):
    """Tag names, attributes and the rows of the defect table, from a parsed HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.defect_rows = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "tr" and attributes.get("class") == "defect":
            self.defect_rows += 1


def parse(path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf-8"))
    return collector


def write_crop(path, size=(300, 200)) -> None:
    image = np.full((size[1], size[0], 3), 128, np.uint8)
    cv2.circle(image, (size[0] // 2, size[1] // 2), 30, (20, 20, 20), -1)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), image)


def test_the_report_lists_every_defect_with_its_points_and_the_roll_grade(make_db, defect_row, tmp_path):
    rows = [
        defect_row(1, "knot", 500.0, (5.0, 5.0)),  # 1 point
        defect_row(2, "hole", 2500.0, (30.0, 30.0)),  # 4 points
        defect_row(3, "broken_pick", 4500.0, (20.0, 1600.0)),  # 4 points
    ]
    db = make_db(defects={"R1": rows})
    summary = write_report(db, "R1", tmp_path / "r.html")
    assert (summary.defects, summary.points, summary.raw_points) == (3, 9, 9)
    assert summary.points_per_100 == pytest.approx(9 * 100000 / (10.0 * 1600.0))  # 56.25 per 100 m²
    assert summary.passed is False and summary.grade == "FAIL"
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert parse(tmp_path / "r.html").defect_rows == 3
    assert 'id="grade"' in html and ">FAIL<" in html
    assert "56.25" in html and "47.84" in html
    points_cells = re.findall(r'<tr class="defect">.*?</tr>', html)
    assert [re.findall(r'<td class="n">(\d+)', row)[-1] for row in points_cells] == ["1", "4", "4"]


def test_a_roll_within_the_limit_passes(make_db, defect_row, tmp_path):
    db = make_db(defects={"R1": [defect_row(1, "knot", 500.0, (5.0, 5.0))]})
    summary = write_report(db, "R1", tmp_path / "r.html")
    assert summary.passed and summary.grade == "PASS"
    assert ">PASS<" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_the_report_is_self_contained(make_db, defect_row, tmp_path):
    crop = tmp_path / "crops" / "1.png"
    write_crop(crop)
    db = make_db(defects={"R1": [defect_row(1, "stain", 800.0, crop_path=str(crop))]})
    write_report(db, "R1", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    tags = parse(tmp_path / "r.html").tags
    assert not [t for t, a in tags if t in ("link", "script", "iframe", "object")]
    sources = [a["src"] for t, a in tags if t == "img"]
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "url(" not in html and "@import" not in html
    # the only URL is the SVG namespace, which is a name, not a fetch
    assert set(re.findall(r"https?://[^\s\"'<>]+", html)) == {"http://www.w3.org/2000/svg"}


def test_an_existing_crop_is_embedded_as_a_small_png(make_db, defect_row, tmp_path):
    write_crop(tmp_path / "crops" / "7.png", size=(400, 100))
    db = make_db(defects={"R1": [defect_row(7, "hole", 800.0, crop_path="crops/7.png")]})  # relative to db
    write_report(db, "R1", tmp_path / "r.html", ReportConfig(thumbnail_px=64))
    src = next(a["src"] for t, a in parse(tmp_path / "r.html").tags if t == "img")
    png = base64.b64decode(src.split(",", 1)[1])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.shape[:2] == (16, 64)  # 400x100 scaled to 64 px on its long side


@pytest.mark.parametrize(
    ("crop_path", "note"),
    [(None, "no crop"), ("crops/missing.png", "crop missing"), ("notes.txt", "unreadable")],
)
def test_a_defect_without_a_usable_crop_gets_a_placeholder(make_db, defect_row, tmp_path, crop_path, note):
    (tmp_path / "notes.txt").write_text("not an image")
    db = make_db(defects={"R1": [defect_row(1, "knot", 800.0, crop_path=crop_path)]})
    write_report(db, "R1", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert f'<div class="noimg">{note}</div>' in html
    assert "<img" not in html


def test_crops_beyond_the_thumbnail_budget_are_placeholders(make_db, defect_row, tmp_path):
    write_crop(tmp_path / "c.png", size=(40, 40))
    rows = [defect_row(i, "knot", 100.0 * i, crop_path="c.png") for i in range(1, 5)]
    write_report(make_db(defects={"R1": rows}), "R1", tmp_path / "r.html", ReportConfig(max_thumbnails=2))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.count("<img") == 2 and html.count("not embedded") == 2


def test_text_from_the_database_is_escaped(make_db, defect_row, tmp_path):
    evil = "<script>alert(1)</script>"
    db = make_db(
        rolls={"R<1>": {"article": evil, "settings": '{"note": "<b>x</b>"}'}},
        defects={"R<1>": [defect_row(1, "<img src=x>", 300.0)]},
    )
    write_report(db, "R<1>", tmp_path / "r.html")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=x>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Roll R&lt;1&gt;" in html


def test_imperial_mode_uses_yards_inches_and_the_per_yard_cap(make_db, defect_row, tmp_path):
    rows = [defect_row(i, "slub", y, (200.0, 5.0)) for i, y in enumerate((950.0, 1050.0), start=1)]
    db = make_db(defects={"R1": rows})
    metric = write_report(db, "R1", tmp_path / "m.html")
    imperial = write_report(db, "R1", tmp_path / "i.html", ReportConfig(points=PointsConfig(imperial=True)))
    assert (metric.points, imperial.points) == (6, 4)  # 3 + 3 in two metres; 3 + 3 capped in one yard
    assert imperial.area_unit == "yd²" and imperial.limit == 40.0
    html = (tmp_path / "i.html").read_text(encoding="utf-8")
    assert "Position (yd)" in html and "Across (in)" in html and "points / 100 yd²" in html


def test_width_and_length_overrides_change_the_points_per_area(make_db, defect_row, tmp_path):
    db = make_db(defects={"R1": [defect_row(1, "hole", 500.0, (30.0, 30.0))]})  # 4 points
    config = ReportConfig(points=PointsConfig(width_mm=1000.0), length_m=20.0)
    summary = write_report(db, "R1", tmp_path / "r.html", config)
    assert summary.points_per_100 == pytest.approx(4 * 100000 / (20.0 * 1000.0))
    assert "(set for this report)" in (tmp_path / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("roll", "message"),
    [
        ({"width_mm": None}, "has no width_mm; give the cuttable width with --width-mm"),
        ({"length_m": None}, "has no length_m; give the length inspected with --length-m"),
        ({"length_m": None, "finished": None}, "is still being inspected or has no length_m"),
    ],
)
def test_a_roll_without_width_or_length_asks_for_the_option(make_db, tmp_path, roll, message):
    with pytest.raises(InputError, match=message):
        write_report(make_db(rolls={"R1": roll}), "R1", tmp_path / "r.html")


def test_a_failed_run_leaves_the_previous_report_untouched(make_db, defect_row, tmp_path):
    out = tmp_path / "r.html"
    db = make_db(defects={"R1": [defect_row(1, "knot", 500.0)]})
    write_report(db, "R1", out)
    before = out.read_bytes()
    with pytest.raises(InputError, match="--roll 'R2'"):
        write_report(db, "R2", out)
    assert out.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".tmp") == []


def test_out_must_be_a_file_name(make_db, tmp_path):
    with pytest.raises(ConfigError, match="is a folder"):
        write_report(make_db(), "R1", tmp_path)


def test_a_roll_with_no_defects_passes_with_zero_points(make_db, tmp_path):
    summary = write_report(make_db(), "R1", tmp_path / "sub" / "r.html")  # parent folders are made
    assert (summary.points, summary.points_per_100, summary.passed) == (0, 0.0, True)
    assert "No defects were recorded" in (tmp_path / "sub" / "r.html").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"length_m": 0.0}, "--length-m"),
        ({"max_thumbnails": -1}, "--thumbnails"),
        ({"thumbnail_px": 4}, "thumbnail_px"),
    ],
)
def test_report_config_refuses_bad_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ReportConfig(**kwargs)


def test_every_defect_is_on_the_map_even_past_the_length_given(make_db, defect_row, tmp_path):
    rows = [defect_row(1, "knot", 500.0), defect_row(2, "hole", 14_500.0, (30.0, 30.0))]
    write_report(make_db(defects={"R1": rows}), "R1", tmp_path / "r.html", ReportConfig(length_m=8.0))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert html.count('<g class="defect">') == 2
    assert "#2 hole at 14.50 m" in html
