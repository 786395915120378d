"""`fabric-inspect bench` from the command line: JSON and PNG written, bad options one line and exit 2."""

from __future__ import annotations

import json

import cv2
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


@pytest.mark.slow
def test_bench_on_a_recorded_video_writes_json_and_plot(tmp_path, tiny_model_file, clip_writer):
    video = clip_writer(tmp_path / "line.avi", 8, size=(160, 120), fps=30.0)
    out_json, out_png = tmp_path / "r" / "bench.json", tmp_path / "r" / "bench.png"
    args = ["bench", "--input", str(video), "--model", str(tiny_model_file), "--sizes", "96x64,128x96"]
    args += ["--frames", "8", "--json", str(out_json), "--plot", str(out_png), "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(out_json.read_text())
    assert [(r["size"], r["mode"]) for r in data["runs"]] == [
        ("96x64", "live"),
        ("96x64", "offline"),
        ("128x96", "live"),
        ("128x96", "offline"),
    ]
    assert data["machine"]["onnx_threads"] == 1
    image = cv2.imread(str(out_png))
    assert image is not None and image.shape[1] > 600
    assert "96x64     live" in result.output


@pytest.mark.slow
def test_bench_with_an_mjpg_camera_decodes_every_frame_in_the_capture_thread(
    tmp_path, tiny_model_file, clip_writer
):
    video = clip_writer(tmp_path / "line.avi", 6, size=(160, 120), fps=30.0)
    out_json = tmp_path / "bench.json"
    args = ["bench", "--input", str(video), "--model", str(tiny_model_file), "--sizes", "128x96"]
    args += ["--frames", "6", "--camera-codec", "mjpg", "--json", str(out_json), "--threads", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    live, offline = json.loads(out_json.read_text())["runs"]
    assert (live["mode"], live["camera_codec"], offline["camera_codec"]) == ("live", "mjpg", None)
    assert live["decode_ms"]["mean"] > 0 and live["decode_ms"]["p95"] >= live["decode_ms"]["mean"] * 0.5
    assert "decode_ms" not in offline and "jpeg_quality" not in offline
    assert "live/mjpg" in result.output
    # 128x96 at 30 fps fits a USB 2.0 bus at any quality: the highest the replay uses
    assert (live["jpeg_quality"], 0 < live["camera_mb_per_s"] < 24.6) == (95, True)
    args[args.index("--json") + 1] = str(tmp_path / "q40.json")
    result = runner.invoke(app, [*args, "--jpeg-quality", "40", "--modes", "live"])
    assert result.exit_code == 0, result.output
    (low,) = json.loads((tmp_path / "q40.json").read_text())["runs"]
    assert low["jpeg_quality"] == 40 and low["camera_mb_per_s"] < live["camera_mb_per_s"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give exactly one of --input VIDEO or --synthetic"),
        (["--synthetic", "--input", "x.mp4"], "give exactly one of"),
        (["--synthetic", "--sizes", "big"], "--sizes must be WxH"),
        (["--synthetic", "--modes", "live,turbo"], "--modes must be"),
        (["--synthetic", "--camera-codec", "h264"], "--camera-codec must be one of raw, mjpg, got 'h264'"),
        (["--synthetic", "--camera-codec", "mjpg", "--jpeg-quality", "101"], "--jpeg-quality must be 1..100"),
        (["--synthetic", "--json", "."], "--json . is a folder"),
        (["--synthetic", "--plot", "."], "--plot . is a folder"),
        (["--synthetic", "--roi", "0,0,100"], "--roi must be four integers x0,y0,x1,y1"),
        (
            ["--synthetic", "--sizes", "640x480,1920x1080", "--roi", "0,360,1920,720"],
            "--roi (0, 360, 1920, 720) lies outside the 640x480 frame",
        ),
        (["--synthetic", "--roi", "0,0,64,64", "--peers", "."], "--roi cannot be given with --peers"),
    ],
)
def test_bad_bench_options_are_one_line_and_exit_2(args, message, tiny_model_file):
    result = runner.invoke(app, ["bench", "--model", str(tiny_model_file), *args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]


@pytest.mark.slow
def test_bench_on_a_synthetic_roll_as_a_subprocess_never_imports_torch(tmp_path, tiny_model_file):
    import subprocess
    import sys

    code = (
        "import sys; from fabric_inspect.cli import app\n"
        "try:\n    app(sys.argv[1:])\n"
        "except SystemExit as e:\n"
        "    heavy = [m for m in ('torch', 'albumentations', 'matplotlib') if m in sys.modules]\n"
        "    print('heavy:', heavy); raise SystemExit(e.code)\n"
    )
    args = ["bench", "--synthetic", "--model", str(tiny_model_file), "--sizes", "96x64", "--frames", "4"]
    args += ["--modes", "offline", "--json", str(tmp_path / "b.json")]
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
    assert json.loads((tmp_path / "b.json").read_text())["runs"][0]["frames"] == 4
