"""A disk that fills during a run: each output stops cleanly, keeps what it has, and says so.

Real failures, no mocks: /dev/full (every write fails with ENOSPC), and RLIMIT_FSIZE, the kernel's
per-process file size limit (a write across it is cut short, the next fails with EFBIG; Python
ignores the SIGXFSZ that comes with it), set around one write and restored at once.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.inspect.sinks.database import DatabaseSink, RollInfo
from fabric_inspect.inspect.sinks.events import EventsSink
from fabric_inspect.inspect.sinks.video import VideoSink
from fabric_inspect.inspect.tracker import DefectEvent


def event(number: int) -> DefectEvent:
    return DefectEvent(
        number, "hole", 0.9, 10 * number, 10 * number + 5, 100.0 * number, 40.0, 3.0, 2.0,
        10 * number + 2, (1, 2, 30, 40), "2026-12-07T07:00:00+00:00",
    )  # fmt: skip


@contextlib.contextmanager
def file_size_limit(max_bytes: int):
    """Files this process writes cannot grow past `max_bytes` inside the block."""
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)


def test_an_events_line_the_disk_takes_only_part_of_is_cut_off_and_the_earlier_lines_stay(tmp_path: Path):
    path = tmp_path / "ev.jsonl"
    with EventsSink(path) as sink:
        sink.write(event(1))
        size = path.stat().st_size
        with file_size_limit(size + 20):  # room for 20 bytes of the second line only
            sink.write(event(2))
        sink.write(event(3))  # the disk has room again: the sink has stopped, it does not resume
    lines = path.read_text().splitlines()
    assert [json.loads(line)["id"] for line in lines] == [1]  # whole lines only
    assert sink.written == 1
    assert sink.error.startswith(f"--events {path}: cannot write (") and sink.error.endswith("after 1 events")


def test_a_database_write_the_disk_refuses_keeps_the_rows_before_it(tmp_path: Path):
    path = tmp_path / "i.db"
    with DatabaseSink(path, RollInfo("R1", "roll.mp4", px_per_mm=2.0)) as sink:
        sink.write(event(1))
        size = max(p.stat().st_size for p in tmp_path.iterdir())
        with file_size_limit(size):
            sink.write(event(2))
        sink.progress(300, 1.5)
        sink.write(event(3))  # nothing more after a failure
    assert sink.error is not None and sink.error.startswith(f"--db {path}: cannot write (")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT id FROM defects ORDER BY id").fetchall() == [(1,)]
        assert db.execute("SELECT roll_id FROM rolls").fetchall() == [("R1",)]


def test_the_video_stops_and_is_finalized_when_its_disk_runs_under_the_reserve(tmp_path: Path):
    path = tmp_path / "out.avi"
    frame = np.full((64, 96, 3), 120, np.uint8)
    with VideoSink(path, fps=10.0, reserve_bytes=0) as sink:
        for _ in range(20):
            sink.write(frame)
        sink.reserve_bytes = 2**62  # more than any disk has: the next check (each 10 frames) stops it
        for _ in range(15):
            sink.write(frame)
    assert sink.written == 20
    assert sink.error.startswith(f"--save-video {path}: stopped after 20 frames")
    video = cv2.VideoCapture(str(path))
    frames = 0
    while video.read()[0]:
        frames += 1
    assert frames == 20  # playable to the last frame written


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_run_on_a_full_disk_keeps_the_other_outputs_says_what_was_lost_and_exits_1(
    synth, tiny_model_path, tmp_path
):
    spots = (synth.Spot(60, 300, 9), synth.Spot(200, 520, 6, dark=False), synth.Spot(120, 800, 5))
    roll = synth.make_roll(spots, length=1000, width=256, height=128, px_per_mm=2.0)
    video = synth.write_video(roll, tmp_path / "roll.avi")
    args = ["run", str(video), "--model", str(tiny_model_path), "--px-per-mm", "2"]
    args += ["--events", "/dev/full", "--db", str(tmp_path / "i.db"), "--roll", "R1"]
    args += ["--summary", str(tmp_path / "s.json")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lost = "--events /dev/full: cannot write (No space left on device) after 0 events"
    assert f"not written     {lost}" in result.output  # in the printed summary
    assert f"error: 1 output not written in full: {lost}" in result.output
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["output_errors"] == [lost]
    with sqlite3.connect(tmp_path / "i.db") as db:
        (rows,) = db.execute("SELECT count(*) FROM defects").fetchone()
        (frames,) = db.execute("SELECT frames FROM rolls").fetchone()
    assert rows == summary["defects"] == len(spots) and frames == summary["frames"]
