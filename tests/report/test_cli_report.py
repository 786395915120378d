"""`fabric-inspect report` through typer's CliRunner and as a subprocess: output, exit codes, no torch."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


def test_report_command_writes_the_html_and_prints_the_grade(make_db, defect_row, tmp_path, monkeypatch):
    db = make_db(defects={"R1": [defect_row(1, "hole", 500.0, (30.0, 30.0))]})  # 4 points on 16 m²
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "report.html"  # the default --out
    result = runner.invoke(app, ["report", "--db", str(db), "--roll", "R1"])
    assert result.exit_code == 0, result.output
    assert "roll R1: 1 defects, 4 points, 25.00 points per 100 m² (limit 47.84): PASS" in result.output
    assert out.is_file() and '<table id="defects">' in out.read_text(encoding="utf-8")


def test_limit_and_imperial_options_reach_the_grade(make_db, defect_row, tmp_path):
    db = make_db(defects={"R1": [defect_row(1, "hole", 500.0, (30.0, 30.0))]})
    out = tmp_path / "report.html"
    args = ["report", "--db", str(db), "--out", str(out), "--imperial", "--limit", "20", "--width-mm", "1000"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    # 4 points x 3600 / (10.936 yd x 39.37 in) = 33.45 per 100 yd²
    assert "33.45 points per 100 yd² (limit 20.00): FAIL" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--roll", "R9"], "--roll 'R9' is not in"),
        (["--limit", "0"], "--limit must be a positive number"),
        (["--width-mm", "-1"], "--width-mm must be a positive width"),
    ],
)
def test_bad_input_is_one_line_and_exit_code_2(make_db, tmp_path, args, message):
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--db", str(make_db()), "--out", str(out), *args])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert not out.exists()


def test_report_as_a_subprocess_exits_2_on_a_missing_db_and_never_imports_torch(make_db, tmp_path):
    code = (
        "import sys; from fabric_inspect.cli import app\n"
        "try:\n    app(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('torch', 'albumentations', 'matplotlib') if m in sys.modules]\n"
        "    print('heavy:', heavy); raise SystemExit(e.code)\n"
    )
    db = make_db()
    ok = subprocess.run(
        [sys.executable, "-c", code, "report", "--db", str(db), "--out", str(tmp_path / "r.html")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "heavy: []" in ok.stdout
    bad = subprocess.run(
        [sys.executable, "-c", code, "report", "--db", str(tmp_path / "none.db")],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"error: --db {tmp_path / 'none.db'} does not exist; "
        "give the SQLite file written by `fabric-inspect run --db FILE --roll ID`"
    ]
