"""A roll part of which no inspected frame saw: the database `run` writes, then the report graded on it."""

from __future__ import annotations

import sqlite3

import pytest

from fabric_inspect.inspect.sinks.database import DatabaseSink, RollInfo
from fabric_inspect.inspect.tracker import DefectEvent
from fabric_inspect.report import ReportConfig, write_report


def _inspected_roll(path, uninspected_m: float, stretches: list) -> None:
    """Roll R1 as `run --db` leaves it: 10 m long, 1600 mm wide, one 20 mm knot (1 point)."""
    roll = RollInfo(roll_id="R1", source="camera 0", width_mm=1600.0, px_per_mm=1.0, model_name="m")
    knot = DefectEvent(1, "knot", 0.9, 10, 15, 500.0, 400.0, 20.0, 10.0, 12, (10, 10, 30, 20), "t")
    with DatabaseSink(path, roll) as db:
        db.progress(300, 10.0, uninspected_m, stretches)
        db.write(knot)


def test_the_grade_counts_only_the_fabric_the_camera_saw_and_the_report_says_where_it_did_not(tmp_path):
    db = tmp_path / "i.db"
    _inspected_roll(db, 2.0, [[3.0, 4.5], [7.5, 8.0]])
    summary = write_report(db, "R1", tmp_path / "r.html")
    assert summary.points == 1
    assert summary.points_per_100 == pytest.approx(1 * 100000 / (8.0 * 1600.0))  # over 8 m, not 10 m
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "<dt>Roll length</dt><dd>10.00 m</dd>" in html
    assert "<dt>Not inspected</dt><dd>2.00 m, graded without it (3.00-4.50 m, 7.50-8.00 m)</dd>" in html
    assert "<dt>Length inspected</dt><dd>8.00 m</dd>" in html
    assert html.count('class="unseen"') == 2 and "Hatched: fabric that passed" in html  # on the map


def test_a_fully_inspected_roll_is_graded_on_its_whole_length_with_no_such_line(tmp_path):
    db = tmp_path / "i.db"
    _inspected_roll(db, 0.0, [])
    summary = write_report(db, "R1", tmp_path / "r.html")
    assert summary.points_per_100 == pytest.approx(1 * 100000 / (10.0 * 1600.0))
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Not inspected" not in html and "<dt>Length inspected</dt><dd>10.00 m</dd>" in html
    assert 'class="unseen"' not in html


def test_a_length_given_by_hand_is_graded_as_given(tmp_path):
    db = tmp_path / "i.db"
    _inspected_roll(db, 2.0, [[3.0, 5.0]])
    summary = write_report(db, "R1", tmp_path / "r.html", ReportConfig(length_m=10.0))
    assert summary.points_per_100 == pytest.approx(1 * 100000 / (10.0 * 1600.0))


def test_a_database_from_before_the_column_gains_it_when_run_writes_to_it_again(tmp_path):
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as con:  # the rolls table as it was before uninspected_m
        con.executescript(
            "CREATE TABLE rolls (roll_id TEXT PRIMARY KEY, article TEXT, started TEXT, finished TEXT, "
            "source TEXT, length_m REAL, width_mm REAL, px_per_mm REAL, speed_m_per_min REAL, "
            "model_name TEXT, model_version TEXT, settings TEXT, frames INTEGER);"
        )
    _inspected_roll(db, 1.5, [[2.0, 3.5]])
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT uninspected_m FROM rolls").fetchone() == (1.5,)
        assert con.execute("SELECT from_m, to_m FROM uninspected").fetchall() == [(2.0, 3.5)]
