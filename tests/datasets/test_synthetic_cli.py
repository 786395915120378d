"""`fabric-inspect synth ...` through typer's CliRunner and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import cv2
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


def test_synth_images_writes_a_dataset(tmp_path):
    out = tmp_path / "ds"
    result = runner.invoke(
        app, ["synth", "images", "--out", str(out), "--count", "5", "--size", "64", "--seed", "3", "--grey"]
    )
    assert result.exit_code == 0, result.output
    images = sorted((out / "images").glob("*.png"))
    assert len(images) == 5
    assert cv2.imread(str(images[0]), cv2.IMREAD_UNCHANGED).shape == (64, 64)
    assert len(json.loads((out / "annotations.json").read_text())) == 5


def test_synth_images_with_a_class_puts_that_defect_in_every_image(tmp_path):
    out = tmp_path / "knots"
    args = ["synth", "images", "--out", str(out), "--count", "3", "--size", "64", "--class", "knot"]
    result = runner.invoke(app, [*args, "--visibility", "high"])
    assert result.exit_code == 0, result.output
    annotations = json.loads((out / "annotations.json").read_text())
    assert [[(r["class"], r["visibility"]) for r in v] for v in annotations.values()] == [
        [("knot", "high")]
    ] * 3


def test_synth_images_placement_anywhere_moves_the_defects(tmp_path):
    sets = {}
    for placement in ("central", "anywhere"):
        out = tmp_path / placement
        args = ["synth", "images", "--out", str(out), "--count", "12", "--size", "96", "--seed", "5"]
        result = runner.invoke(app, [*args, "--defect-rate", "1", "--placement", placement])
        assert result.exit_code == 0, result.output
        sets[placement] = json.loads((out / "annotations.json").read_text())
    # the same images hold a defect either way, mostly at another place
    assert sets["central"].keys() == sets["anywhere"].keys()
    moved = [sets["central"][k][0]["bbox"] != sets["anywhere"][k][0]["bbox"] for k in sets["central"]]
    assert sum(moved) >= 9, sets


def test_synth_video_writes_video_and_truth(tmp_path):
    out = tmp_path / "roll.mp4"
    args = [
        "synth",
        "video",
        "--out",
        str(out),
        "--seconds",
        "1",
        "--fps",
        "5",
        "--width",
        "128",
        "--height",
        "96",
    ]
    result = runner.invoke(app, [*args, "--speed", "6", "--seed", "4", "--defects-per-m", "10", "--flicker"])
    assert result.exit_code == 0, result.output
    truth = json.loads(out.with_suffix(".json").read_text())
    assert truth["frames"] == 5 and truth["width"] == 128 and truth["height"] == 96
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    cap.release()


def test_synth_sheet_writes_a_png_with_a_row_per_class(tmp_path):
    out = tmp_path / "sheet.png"
    result = runner.invoke(app, ["synth", "sheet", "--out", str(out), "--seed", "1", "--tile", "64"])
    assert result.exit_code == 0, result.output
    img = cv2.imread(str(out))
    assert img.shape[0] > 9 * 64 and img.shape[1] > 8 * 64


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["images", "--count", "-3"], "--count must be at least 1, got -3"),
        (["images", "--size", "8"], "--size must be between"),
        (["images", "--defect-rate", "2"], "--defect-rate"),
        (["images", "--class", "slubb"], "unknown defect class 'slubb'; did you mean 'slub'?"),
        (["images", "--visibility", "faint"], "unknown visibility 'faint'"),
        (["images", "--placement", "edge"], "unknown --placement 'edge'; use one of central, anywhere"),
        (["video", "--seconds", "0"], "--seconds"),
        (["video", "--speed", "-1"], "--speed"),
        (["sheet", "--tile", "10"], "--tile"),
    ],
)
def test_bad_options_give_one_line_and_exit_2(tmp_path, args, message):
    suffix = {"images": "ds", "video": "roll.mp4", "sheet": "s.png"}[args[0]]
    result = runner.invoke(app, ["synth", args[0], "--out", str(tmp_path / suffix), *args[1:]])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.output


def test_subprocess_run_writes_images_and_refuses_a_bad_video_suffix(tmp_path):
    cli = [sys.executable, "-m", "fabric_inspect", "synth"]
    images = [*cli, "images", "--out", str(tmp_path / "d"), "--count", "2", "--size", "48"]
    ok = subprocess.run(images, capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert len(list((tmp_path / "d" / "images").glob("*.png"))) == 2
    video = [*cli, "video", "--out", str(tmp_path / "roll.mkv"), "--seconds", "1"]
    bad = subprocess.run(video, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and ".mp4 or .avi" in bad.stderr
    assert not (tmp_path / "roll.mkv").exists()
