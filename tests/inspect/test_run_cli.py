"""`fabric-inspect run` / `live` through typer's CliRunner: outputs, exit codes and one-line errors."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def video(synth, tmp_path_factory: pytest.TempPathFactory) -> Path:
    roll = synth.make_roll(
        (synth.Spot(80, 400, 8), synth.Spot(180, 700, 8)), length=1000, width=256, height=128
    )
    return synth.write_video(roll, tmp_path_factory.mktemp("cli") / "roll.avi")


def test_run_writes_every_output_and_prints_the_summary(video, tiny_model_path, tmp_path, synth):
    out = tmp_path / "out"
    result = runner.invoke(
        app,
        [
            "run",
            str(video),
            "--model",
            str(tiny_model_path),
            "--px-per-mm",
            "2",
            "--threads",
            "1",
            "--events",
            str(out / "ev.jsonl"),
            "--summary",
            str(out / "summary.json"),
            "--db",
            str(out / "i.db"),
            "--roll",
            "R1",
            "--crops",
            str(out / "crops"),
            "--save-video",
            str(out / "v.mp4"),
            "--heatmap",
            "--class-threshold",
            "stain=0.6",
            "--confirm",
            "2/4",
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["defects"] == 2 == len(synth.read_jsonl(out / "ev.jsonl"))
    assert summary["defects_by_class"] == {"stain": 2}
    assert set(summary["stages_ms"]) == {
        "wait",
        "preprocess",
        "inference",
        "postprocess",
        "motion",
        "tracker",
        "sinks",
    }
    assert set(summary["latency_ms"]) == {"p50", "p95", "p99"}
    assert "defects         2 (stain 2)" in result.output
    assert len(list((out / "crops").glob("R1_*_stain.png"))) == 2
    assert (out / "v.mp4").stat().st_size > 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--class-threshold", "stian=0.4"], "did you mean 'stain'"),
        (["--class-threshold", "stain"], "NAME=VALUE"),
        (["--db", "x.db"], "--roll"),
        (["--confirm", "5"], "K/N"),
        (["--confirm", "6/5"], "k of n"),
        (["--line-gap", "-5"], "--line-gap must be >= 0 mm"),
        (["--max-missed", "0"], "--max-missed must be >= 1 frame"),
        (["--motion", "phse"], "did you mean 'phase'"),
        (["--roi", "0,0,10"], "--roi"),
        (["--roi", "0,0,9999,50"], "outside"),
        (["--save-video", "v.webm"], "--save-video"),
        (["--video-minutes", "5"], "--video-minutes cuts the --save-video file"),
        (["--save-video", "v.avi", "--video-minutes", "-1"], "--video-minutes must be 0"),
    ],
)
def test_bad_options_give_one_line_and_exit_code_2(
    video, tiny_model_path, tmp_path, args, message, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(video), "--model", str(tiny_model_path), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0]
    assert not (tmp_path / "x.db").exists()


def test_missing_input_and_missing_model_are_named(tmp_path, tiny_model_path):
    result = runner.invoke(app, ["run", str(tmp_path / "nope.mp4"), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "nope.mp4 does not exist" in result.output
    result = runner.invoke(app, ["run", str(tmp_path / "nope.mp4"), "--model", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "m.onnx does not exist" in result.output


def test_a_missing_input_is_the_only_line_on_stderr(tmp_path, tiny_model_path):
    """No warning about --px-per-mm (or anything else) ahead of the error a user must act on."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "fabric_inspect", "run", str(tmp_path / "nope.mp4")]
    done = subprocess.run([*command, "--model", str(tiny_model_path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: input {tmp_path / 'nope.mp4'} does not exist (expected a video file, image folder or glob)"
    ]


@pytest.mark.parametrize(
    ("option", "message"), [("--on-defect", "--on-defect is empty"), ("--webhook", "--webhook must")]
)
def test_an_empty_alarm_is_refused_not_silently_off(video, tiny_model_path, tmp_path, option, message):
    """`--on-defect "$LOOM_STOP"` with the variable unset must not inspect a roll with the relay off."""
    events = tmp_path / "ev.jsonl"
    command = ["run", str(video), "--model", str(tiny_model_path), option, "", "--events", str(events)]
    result = runner.invoke(app, command)
    assert result.exit_code == 2 and message in result.output
    assert not events.exists() or events.read_text() == ""


@pytest.mark.parametrize("option", ["--crops", "--label-set", "--summary", "--events", "--config"])
def test_an_empty_path_is_refused_not_the_current_folder(
    video, tiny_model_path, tmp_path, monkeypatch, option
):
    """`--crops "$CROPS"` with the variable unset wrote the crops into the current folder."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", str(video), "--model", str(tiny_model_path), option, ""])
    assert result.exit_code == 2 and f"'{option}': is empty" in result.output
    assert list(tmp_path.iterdir()) == []


def test_an_empty_path_in_a_config_file_is_refused(video, tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "article.toml"
    config.write_text('crops = ""\n')
    result = runner.invoke(app, ["run", str(video), "--model", str(tiny_model_path), "--config", str(config)])
    assert result.exit_code == 2 and "crops is empty" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["article.toml"]


def test_a_summary_path_that_is_a_folder_is_refused_before_the_roll(video, tiny_model_path, tmp_path):
    """Found at the start, not after a whole roll has been inspected."""
    events = tmp_path / "ev.jsonl"
    command = [
        "run",
        str(video),
        "--model",
        str(tiny_model_path),
        "--summary",
        str(tmp_path),
        "--events",
        str(events),
    ]
    result = runner.invoke(app, command)
    assert result.exit_code == 2 and "is a folder" in result.output
    assert "inspecting" not in result.output and not events.exists()


def _stderr_lines(*args: str) -> list[str]:
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    done = subprocess.run(
        [sys.executable, "-m", "fabric_inspect", *args], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2, done.stderr
    return done.stderr.strip().splitlines()


def test_an_unopenable_camera_is_the_only_line_on_stderr(tiny_model_path):
    """OpenCV's V4L2 backend warns on its own when a camera cannot be opened; the user sees our line."""
    lines = _stderr_lines("live", "--camera", "/dev/video77", "--model", str(tiny_model_path))
    assert len(lines) == 1 and lines[0].startswith("error: camera /dev/video77 could not be opened"), lines


def test_a_refused_stream_and_a_cut_off_mp4_are_the_only_line_on_stderr(tiny_model_path, synth, tmp_path):
    """FFmpeg prints its own line ("Connection refused", "moov atom not found") unless told not to."""
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/video.mjpg"
    lines = _stderr_lines("live", "--camera", url, "--model", str(tiny_model_path))
    assert len(lines) == 1 and lines[0].startswith(f"error: stream {url} could not be opened"), lines
    roll = synth.make_roll(length=400, height=64, width=96)
    whole = synth.write_video(roll, tmp_path / "whole.mp4", frames=25).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(whole[: len(whole) // 2])
    lines = _stderr_lines("run", str(tmp_path / "cut.mp4"), "--model", str(tiny_model_path))
    assert len(lines) == 1 and "cut off before it was finalized" in lines[0], lines


def test_show_without_a_display_is_refused_before_anything_is_written(
    video, tiny_model_path, tmp_path, monkeypatch
):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    events = tmp_path / "ev.jsonl"
    result = runner.invoke(
        app, ["run", str(video), "--model", str(tiny_model_path), "--show", "--events", str(events)]
    )
    assert result.exit_code == 2 and "--show needs a display" in result.output
    assert not events.exists()


def test_live_refuses_a_file_and_names_an_unopenable_camera(tiny_model_path, video):
    result = runner.invoke(app, ["live", "--camera", str(video), "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "use `run` for files" in result.output
    result = runner.invoke(app, ["live", "--camera", "/dev/video77", "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "camera /dev/video77 could not be opened" in result.output
    result = runner.invoke(app, ["live", "--give-up-after", "-1", "--model", str(tiny_model_path)])
    assert result.exit_code == 2 and "--give-up-after must be >= 0 s" in result.output


def test_a_model_that_does_not_fit_fails_at_load_not_at_frame_one(video, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["frame"], ["score"])],
        "bad",
        [helper.make_tensor_value_info("frame", TensorProto.FLOAT, [1, 3, "H", "W"])],
        [helper.make_tensor_value_info("score", TensorProto.FLOAT, [1, 3, "H", "W"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    path = tmp_path / "bad.onnx"
    onnx.save(model, str(path))
    result = runner.invoke(app, ["run", str(video), "--model", str(path)])
    assert result.exit_code == 2
    assert "not a fabric-inspect model" in result.output


def test_a_model_of_another_frame_size_fails_before_any_output_is_touched(video, synth, tmp_path):
    model = synth.write_tiny_model(tmp_path / "fixed.onnx", input_hw=(720, 1280))
    events = tmp_path / "ev.jsonl"
    events.write_text('{"id": 1}\n')  # from an earlier run: must survive a run that cannot start
    result = runner.invoke(app, ["run", str(video), "--model", str(model), "--events", str(events)])
    assert result.exit_code == 2, result.output
    assert "cannot score the source's 256x128 frames" in result.output
    assert events.read_text() == '{"id": 1}\n'


def test_a_toml_config_sets_options_and_typed_options_win(video, tiny_model_path, tmp_path, synth):
    config = tmp_path / "article.toml"
    config.write_text(
        f'model = "{tiny_model_path}"\npx-per-mm = 2\nconfirm = "2/4"\nevents = "{tmp_path / "ev.jsonl"}"\n'
        f'summary = "{tmp_path / "from_toml.json"}"\n[class_threshold]\nstain = 0.6\n'
    )
    typed = tmp_path / "typed.json"
    result = runner.invoke(app, ["run", str(video), "--config", str(config), "--summary", str(typed)])
    assert result.exit_code == 0, result.output
    assert typed.exists() and not (tmp_path / "from_toml.json").exists()
    events = synth.read_jsonl(tmp_path / "ev.jsonl")
    assert len(events) == 2
    assert {round(e["roll_x_mm"]) for e in events} == {40, 90}  # --px-per-mm 2 came from the file


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("treshold = 0.5\n", "unknown key 'treshold'; did you mean 'threshold'?"),
        ("threshold = 'high'\n", "threshold must be float, got str"),
        ("max_frames = 1.5\n", "max_frames must be int"),
        ("class_threshold = 0.4\n", "must be a table"),
        ("threshold = \n", "not valid TOML"),
    ],
)
def test_a_bad_toml_config_is_one_clear_line(video, tiny_model_path, tmp_path, text, message):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = runner.invoke(app, ["run", str(video), "--model", str(tiny_model_path), "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert message in result.output


def test_video_minutes_cut_the_saved_video_into_playable_files_of_that_length(
    video, tiny_model_path, tmp_path
):
    import cv2

    # the roll video is 30 fps: 0.05 minutes is 90 frames a file
    args = ["run", str(video), "--model", str(tiny_model_path), "--save-video", str(tmp_path / "out.avi")]
    result = runner.invoke(app, [*args, "--video-minutes", "0.05"])
    assert result.exit_code == 0, result.output
    total = int(cv2.VideoCapture(str(video)).get(cv2.CAP_PROP_FRAME_COUNT))
    files = sorted(tmp_path.glob("out_*.avi"))
    assert [f.name for f in files] == [f"out_{i:04d}.avi" for i in range(1, len(files) + 1)]
    counts = []
    for path in files:
        cap = cv2.VideoCapture(str(path))
        n = 0
        while cap.read()[0]:
            n += 1
        counts.append(n)
    assert sum(counts) == total and counts[:-1] == [90] * (len(files) - 1) and 0 < counts[-1] <= 90
    assert not (tmp_path / "out.avi").exists()
