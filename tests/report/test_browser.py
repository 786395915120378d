"""The report in a real browser: headless Chromium loads it from file:// with no console error, shows the
table and the grade, and prints it to PDF. Skipped only where chromium or chromedriver is not installed
(CI installs both)."""

from __future__ import annotations

import base64

import pytest

from fabric_inspect.report import ReportConfig, write_report

pytestmark = pytest.mark.slow  # the browser fixture (tests/conftest.py) skips without chromium


@pytest.fixture(scope="module")
def report(tmp_path_factory, db_builders):
    """A roll with five defects, two of them with crops, that fails its limit."""
    import cv2
    import numpy as np

    write_db, defect_row = db_builders
    folder = tmp_path_factory.mktemp("report")
    crop = np.full((60, 90, 3), 140, np.uint8)
    cv2.line(crop, (0, 30), (90, 30), (40, 40, 40), 3)
    cv2.imwrite(str(folder / "c1.png"), crop)
    rows = [
        defect_row(1, "broken_pick", 800.0, (15.0, 1600.0), roll_x_mm=800.0, crop_path="c1.png"),
        defect_row(2, "hole", 2300.0, (30.0, 30.0), crop_path="c1.png"),
        defect_row(3, "slub", 4100.0, (40.0, 6.0), crop_path="gone.png"),
        defect_row(4, "broken_end", 6000.0, (2500.0, 2.0), roll_x_mm=1200.0),
        defect_row(5, "stain", 9200.0, (60.0, 45.0)),
    ]
    db = write_db(folder / "inspect.db", {"R7": {"article": "Plain 120"}}, {"R7": rows})
    out = folder / "report.html"
    summary = write_report(db, "R7", out, ReportConfig())
    return out, summary


def test_the_report_renders_in_chromium_without_console_errors(browser, report):
    out, summary = report
    browser.get_log("browser")  # drop anything logged before this page
    browser.get(out.resolve().as_uri())
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []
    assert browser.title == "Roll R7: inspection report"
    rows = browser.find_elements("css selector", "table#defects tbody tr.defect")
    assert len(rows) == summary.defects == 5
    assert browser.find_element("id", "grade").text.startswith(summary.grade)
    assert summary.grade == "FAIL"
    images = browser.find_elements("css selector", "td.thumb img")
    assert len(images) == 2
    assert all(browser.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)
    svg_sizes = browser.execute_script(
        "return [...document.querySelectorAll('svg')].map(s => s.getBoundingClientRect().height)"
    )
    assert len(svg_sizes) == 2 and min(svg_sizes) > 50


def test_the_report_prints_to_pdf(browser, report):
    from selenium.webdriver.common.print_page_options import PrintOptions

    out, _ = report
    browser.get(out.resolve().as_uri())
    options = PrintOptions()
    options.background = True
    pdf = base64.b64decode(browser.print_page(options))
    assert pdf.startswith(b"%PDF-")
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") >= 1


def test_stretches_not_inspected_are_drawn_hatched_in_chromium(browser, tmp_path):
    from fabric_inspect.inspect.sinks.database import DatabaseSink, RollInfo
    from fabric_inspect.inspect.tracker import DefectEvent

    db = tmp_path / "i.db"
    knot = DefectEvent(1, "knot", 0.9, 10, 15, 500.0, 400.0, 20.0, 10.0, 12, (10, 10, 30, 20), "t")
    with DatabaseSink(db, RollInfo(roll_id="R1", source="camera 0", width_mm=1600.0, px_per_mm=1.0)) as sink:
        sink.progress(300, 10.0, 2.0, [[3.0, 4.5], [7.5, 8.0]])
        sink.write(knot)
    out = tmp_path / "r.html"
    write_report(db, "R1", out, ReportConfig())
    browser.get_log("browser")
    browser.get(out.resolve().as_uri())
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    widths = browser.execute_script(
        "return [...document.querySelectorAll('rect.unseen')].map(r => r.getBoundingClientRect().width)"
    )
    band = browser.execute_script(
        "return document.querySelector('rect.fabric').getBoundingClientRect().width"
    )
    # 1.5 m and 0.5 m of a 10 m roll drawn in bands of band_length_units metres: to scale, 3 to 1
    assert len(widths) == 2 and widths[0] == pytest.approx(3 * widths[1], rel=0.05) and 0 < widths[0] < band
