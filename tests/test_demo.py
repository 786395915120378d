"""`fabric-inspect demo`: a short synthetic roll through the shipped model into every output."""

from __future__ import annotations

import json
import sqlite3

import cv2
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_the_demo_writes_every_output_and_prints_the_grade(tmp_path):
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--seconds", "2", "--seed", "3"])
    assert result.exit_code == 0, result.output
    grade = [line for line in result.output.splitlines() if line.startswith("grade: ")]
    assert grade and grade[0].split()[1] in ("PASS", "FAIL")

    truth = json.loads((out / "roll.json").read_text())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames"] == truth["frames"] == 60
    # 2 s at 20 m/min past a 720 px (180 mm) view: every frame overlaps the one before
    assert summary[
        "uninspected_m"
    ] == 0 and f"{summary['roll_length_m']:.2f} m of roll, 0.00 m of it unseen" in (result.output)
    events = (out / "events.jsonl").read_text().splitlines()
    assert len(events) == summary["defects"]
    from fabric_inspect.inspect.roll_score import score_roll

    score = score_roll([json.loads(line) for line in events], truth)
    assert (
        f"reported {len(events)} defects: {score.found} of the {score.truths} on the synthetic roll found, "
        f"{score.duplicates} reported twice, {score.false_reports} false"
    ) in result.output

    video = cv2.VideoCapture(str(out / "annotated.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == truth["frames"]
    video.release()

    with sqlite3.connect(out / "inspect.db") as db:
        (roll_id, width_mm, frames) = db.execute("SELECT roll_id, width_mm, frames FROM rolls").fetchone()
        (count,) = db.execute("SELECT count(*) FROM defects").fetchone()
    assert (roll_id, frames, count) == ("DEMO-001", 60, summary["defects"])
    assert width_mm == pytest.approx(1280 / 4)
    html = (out / "report.html").read_text()
    assert "DEMO-001" in html and grade[0].split()[1] in html


@pytest.mark.parametrize(("seconds", "message"), [("0", "--seconds must be > 0"), ("900", "in 1..600")])
def test_the_demo_refuses_a_bad_length_with_one_line(tmp_path, seconds, message):
    result = runner.invoke(app, ["demo", "--out", str(tmp_path / "d"), "--seconds", seconds])
    assert result.exit_code == 2
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "d").exists()
