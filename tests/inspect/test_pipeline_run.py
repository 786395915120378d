"""The whole pipeline on synthetic rolls with the tiny hand-built model (no training needed)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from fabric_inspect.inspect.motion import MotionConfig, MotionEstimator
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.inspect.tracker import TrackerConfig

PX_PER_MM = 2.0


def config(**motion: object) -> PipelineConfig:
    return PipelineConfig(
        motion=MotionConfig(px_per_mm=PX_PER_MM, **motion),  # type: ignore[arg-type]
        tracker=TrackerConfig(k=3, n=5, px_per_mm=PX_PER_MM),
    )


@pytest.fixture(scope="module")
def spotted(synth, tmp_path_factory: pytest.TempPathFactory):
    spots = (
        synth.Spot(60, 300, 9),
        synth.Spot(200, 520, 6, dark=False),
        synth.Spot(120, 800, 5),
        synth.Spot(40, 1000, 8, dark=False),
    )
    roll = synth.make_roll(spots, length=1300, width=256, height=128, speed_px=6.0, px_per_mm=PX_PER_MM)
    return roll, synth.write_video(roll, tmp_path_factory.mktemp("roll") / "roll.avi")


def test_each_defect_on_the_roll_is_reported_once_at_its_roll_position(spotted, tiny_model, tmp_path, synth):
    roll, video = spotted
    sinks = SinkConfig(
        events=tmp_path / "ev.jsonl", db=tmp_path / "i.db", roll="R7", crops=tmp_path / "crops"
    )
    summary = run(open_source(SourceConfig(str(video))), tiny_model, config(), sinks)
    events = synth.read_jsonl(tmp_path / "ev.jsonl")
    assert summary.defects == len(events) == len(roll.spots)
    assert summary.frames == roll.frame_count and summary.dropped_frames == 0
    assert summary.uninspected_m == 0 and summary.uninspected_stretches == 0  # each frame overlaps the last
    for spot in roll.spots:
        truth = roll.roll_y_mm(spot)
        (match,) = [e for e in events if abs(e["roll_y_mm"] - truth) <= 0.05 * truth]
        assert match["class"] == ("stain" if spot.dark else "hole")
        assert match["roll_x_mm"] == pytest.approx(spot.x / PX_PER_MM, abs=8 / PX_PER_MM)
        assert match["first_frame"] <= match["best_frame"] <= match["last_frame"]
        assert match["last_frame"] - match["first_frame"] >= 10  # seen across many frames, reported once
        assert Path(match["crop_path"]).is_file()
    with sqlite3.connect(tmp_path / "i.db") as db:
        assert db.execute("SELECT count(*) FROM defects WHERE roll_id='R7'").fetchone() == (len(roll.spots),)
        length_m, frames, width_mm = db.execute("SELECT length_m, frames, width_mm FROM rolls").fetchone()
    assert frames == roll.frame_count
    assert width_mm == pytest.approx(roll.strip.shape[1] / PX_PER_MM, abs=0.1)  # the region seen, in mm
    assert length_m == pytest.approx(summary.roll_length_m, abs=1e-3)
    assert summary.roll_length_m == pytest.approx(roll.strip.shape[0] / PX_PER_MM / 1000, rel=0.05)


def test_motion_measured_beside_the_model_is_what_measuring_it_alone_gives_and_no_thread_is_left(
    spotted, tiny_model
):
    _, video = spotted
    summary = run(open_source(SourceConfig(str(video))), tiny_model, config(), SinkConfig())
    assert not [t for t in threading.enumerate() if t.name.startswith("motion")]
    with open_source(SourceConfig(str(video))) as source:  # the same estimator, frame by frame, here
        estimator = MotionEstimator(config().motion, source.fps)
        for frame in source:
            offset, height = estimator.update(frame.image, frame.index), frame.height
    assert offset > 0
    assert summary.roll_length_m == pytest.approx((offset + height) / PX_PER_MM / 1000, abs=1e-3)


def test_a_defect_free_roll_gives_no_reports(synth, tiny_model, tmp_path):
    roll = synth.make_roll(length=1300, width=256, height=128, seed=5)
    video = synth.write_video(roll, tmp_path / "clean.avi")
    summary = run(open_source(SourceConfig(str(video))), tiny_model, config(), SinkConfig())
    assert summary.defects == 0 and summary.frames == roll.frame_count


def test_speed_only_motion_places_defects_as_well(spotted, tiny_model, synth, tmp_path):
    roll, video = spotted
    speed = roll.speed_px * roll.fps * 60 / 1000 / PX_PER_MM  # m/min
    events_path = tmp_path / "ev.jsonl"
    run(
        open_source(SourceConfig(str(video))),
        tiny_model,
        config(mode="speed", speed_m_per_min=speed),
        SinkConfig(events=events_path),
    )
    found = sorted(e["roll_y_mm"] for e in synth.read_jsonl(events_path))
    truth = sorted(roll.roll_y_mm(s) for s in roll.spots)
    assert found == pytest.approx(truth, rel=0.05)


def test_image_folder_strips_are_each_inspected_on_their_own(synth, tiny_model, tmp_path):
    import cv2

    from fabric_inspect.cli.run import Options, pipeline_config

    folder = tmp_path / "strips"
    folder.mkdir()
    for i in range(3):
        roll = synth.make_roll((synth.Spot(50 + 60 * i, 40, 7),), length=96, width=512, height=96, seed=i)
        cv2.imwrite(str(folder / f"strip_{i}.png"), roll.strip[:, :, 0])
    options = Options(None, 1, None, 1.0, None, [], 1, PX_PER_MM, None, "auto", "3/5", 5, 500.0, 0)
    events_path = tmp_path / "ev.jsonl"
    summary = run(
        open_source(SourceConfig(str(folder))),
        tiny_model,
        pipeline_config(options, stills=True),
        SinkConfig(events=events_path),
    )
    events = synth.read_jsonl(events_path)
    assert summary.defects == 3
    assert [e["first_frame"] for e in events] == [0, 1, 2]
    assert summary.roll_length_m == pytest.approx(3 * 96 / PX_PER_MM / 1000)


def test_the_inference_path_never_imports_torch(spotted, tiny_model_path, tmp_path):
    _, video = spotted
    script = textwrap.dedent(f"""
        import sys
        from fabric_inspect.inspect.pipeline import PipelineConfig, run
        from fabric_inspect.inspect.sinks.bundle import SinkConfig
        from fabric_inspect.inspect.sources import SourceConfig, open_source
        from fabric_inspect.models.runtime import load_model
        summary = run(open_source(SourceConfig({str(video)!r})), load_model({str(tiny_model_path)!r}),
                      PipelineConfig(max_frames=40), SinkConfig())
        assert summary.frames == 40, summary
        from fabric_inspect.cli import app
        app(["run", {str(video)!r}, "--model", {str(tiny_model_path)!r}, "--max-frames", "5",
             "--save-video", {str(tmp_path / "v.avi")!r}], standalone_mode=False)
        heavy = sorted(m for m in ("torch", "albumentations", "torchvision") if m in sys.modules)
        print("HEAVY", heavy)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


@pytest.mark.slow
def test_sigterm_mid_run_finishes_the_video_and_loses_no_event(synth, tiny_model_path, tmp_path):
    import signal
    import time

    import cv2

    spots = tuple(synth.Spot(40 + (i * 70) % 180, 200 + 150 * i, 8) for i in range(40))
    roll = synth.make_roll(spots, length=6400, width=192, height=96, speed_px=3.0, px_per_mm=PX_PER_MM)
    video = synth.write_video(roll, tmp_path / "long.avi")
    out, events, summary = tmp_path / "out.mp4", tmp_path / "ev.jsonl", tmp_path / "summary.json"
    command = [
        sys.executable,
        "-m",
        "fabric_inspect",
        "run",
        str(video),
        "--model",
        str(tiny_model_path),
        "--threads",
        "1",
        "--px-per-mm",
        "2",
        "--save-video",
        str(out),
        "--heatmap",
        "--events",
        str(events),
        "--summary",
        str(summary),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (events.exists() and events.read_text().count("\n") >= 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    report = json.loads(summary.read_text())
    assert report["interrupted"] is True and report["frames"] < roll.frame_count
    assert len(synth.read_jsonl(events)) == report["defects"] >= 2
    assert f"defects         {report['defects']}" in stdout
    cap = cv2.VideoCapture(str(out))
    played = 0
    while cap.read()[0]:
        played += 1
    assert played == report["frames"]


def test_video_inspection_uses_the_models_roll_threshold(spotted, tiny_model_path, tmp_path):
    """A model whose image threshold only the strongest spots reach (their scores round to 1.0) reports
    every spot on video when its roll threshold (set by `calibrate --roll`) is the usual one."""
    from dataclasses import replace

    from fabric_inspect.models.runtime import RuntimeConfig, load_model
    from fabric_inspect.training.recalibrate import write_info

    roll, video = spotted
    tiny = load_model(tiny_model_path)
    strict = replace(tiny.info, threshold=1.0 - 1e-6)
    counts = {}
    for name, info in {"strict": strict, "strict+roll": replace(strict, roll_threshold=0.5)}.items():
        model = load_model(
            write_info(tiny_model_path, info, tmp_path / f"{name}.onnx"), RuntimeConfig(threads=1)
        )
        counts[name] = run(open_source(SourceConfig(str(video))), model, config(), SinkConfig()).defects
    assert counts["strict"] < len(roll.spots) == counts["strict+roll"]
