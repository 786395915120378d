from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.sinks.alarms import AlarmWorker, command_sender, webhook_sender
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sinks.database import DatabaseSink, RollInfo
from fabric_inspect.inspect.sinks.events import EventsSink
from fabric_inspect.inspect.sinks.video import VideoSink
from fabric_inspect.inspect.tracker import DefectEvent

KEYS = {
    "id",
    "class",
    "score",
    "first_frame",
    "last_frame",
    "roll_y_mm",
    "roll_x_mm",
    "length_mm",
    "width_mm",
    "best_frame",
    "bbox",
    "time",
}


def event(number: int) -> DefectEvent:
    return DefectEvent(
        number,
        "hole",
        0.9,
        10 * number,
        10 * number + 5,
        100.0 * number,
        40.0,
        3.0,
        2.0,
        10 * number + 2,
        (1, 2, 30, 40),
        "2026-11-28T12:00:00.000+00:00",
    )


def test_events_are_on_disk_line_by_line_while_the_file_is_open(tmp_path: Path):
    path = tmp_path / "ev.jsonl"
    with EventsSink(path) as sink:
        sink.write(event(1))
        first = path.read_text().splitlines()
        sink.write(event(2))
        second = path.read_text().splitlines()
    assert len(first) == 1 and len(second) == 2
    assert set(json.loads(first[0])) == KEYS
    assert json.loads(second[1])["roll_y_mm"] == 200.0


def test_database_rows_are_readable_by_another_connection_while_the_run_writes(tmp_path: Path):
    path = tmp_path / "inspect.db"
    with DatabaseSink(path, RollInfo("R1", "roll.mp4", px_per_mm=2.0, model_name="m")) as sink:
        sink.write(event(1))
        reader = sqlite3.connect(path)
        assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        rows = reader.execute("SELECT id, class, bbox, roll_y_mm FROM defects WHERE roll_id='R1'").fetchall()
        assert rows == [(1, "hole", "[1, 2, 30, 40]", 100.0)]
        assert reader.execute("SELECT finished FROM rolls").fetchone() == (None,)
        sink.write(event(2))
        assert reader.execute("SELECT count(*) FROM defects").fetchone() == (2,)
        sink.progress(frames=321, length_m=12.5)
    finished, frames, length = reader.execute("SELECT finished, frames, length_m FROM rolls").fetchone()
    reader.close()
    assert finished and frames == 321 and length == 12.5


def test_an_existing_roll_is_refused_and_left_untouched(tmp_path: Path):
    path = tmp_path / "inspect.db"
    with DatabaseSink(path, RollInfo("R1", "a.mp4")) as sink:
        sink.write(event(1))
    with pytest.raises(ConfigError, match="--roll R1 is already in"):
        DatabaseSink(path, RollInfo("R1", "b.mp4"))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT source, (SELECT count(*) FROM defects) FROM rolls").fetchone() == (
            "a.mp4",
            1,
        )


@pytest.mark.parametrize("suffix", [".mp4", ".avi"])
def test_video_sink_writes_a_playable_file_with_every_frame(tmp_path: Path, suffix: str):
    import cv2

    path = tmp_path / f"out{suffix}"
    with VideoSink(path, fps=25.0) as sink:
        for i in range(12):
            sink.write(np.full((64, 96, 3), 20 * i, np.uint8))
    cap = cv2.VideoCapture(str(path))
    count = 0
    while cap.read()[0]:
        count += 1
    assert count == 12
    assert cap.get(cv2.CAP_PROP_FRAME_WIDTH) == 96


def test_video_sink_starts_a_new_numbered_file_every_segment(tmp_path: Path):
    import cv2

    with VideoSink(tmp_path / "out.mp4", fps=25.0, segment_frames=10) as sink:
        for i in range(25):
            sink.write(np.full((64, 96, 3), 8 * i, np.uint8))
    assert [p.name for p in sink.files] == ["out_0001.mp4", "out_0002.mp4", "out_0003.mp4"]
    counts = []
    for path in sink.files:
        cap = cv2.VideoCapture(str(path))
        counts.append(sum(1 for _ in iter(lambda cap=cap: cap.read()[0], False)))
    assert counts == [10, 10, 5]


def test_video_sink_refuses_a_format_it_cannot_write(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"--save-video .*\.mp4"):
        VideoSink(tmp_path / "out.webm", fps=30.0)


def test_on_defect_command_gets_the_event_json_on_stdin(tmp_path: Path):
    out = tmp_path / "got.json"
    script = f"import sys, pathlib; pathlib.Path({str(out)!r}).write_bytes(sys.stdin.buffer.read())"
    command = f"{sys.executable} -c {json.dumps(script)}"
    with AlarmWorker("on-defect", command_sender(command, timeout_s=10.0)) as worker:
        worker.notify(event(3))
    assert json.loads(out.read_text())["id"] == 3


def test_a_hung_command_neither_blocks_notify_nor_outlives_its_timeout():
    command = f"{sys.executable} -c 'import time; time.sleep(60)'"
    worker = AlarmWorker("on-defect", command_sender(command, timeout_s=0.5), queue_size=2)
    with worker:
        started = time.perf_counter()
        for number in range(5):
            worker.notify(event(number + 1))
        assert time.perf_counter() - started < 0.2  # never waits for the command
    assert worker.dropped >= 2  # the bounded queue dropped what it could not hold


def test_webhook_posts_the_event_as_json_to_a_real_server():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/defects"
        with AlarmWorker("webhook", webhook_sender(url, timeout_s=5.0)) as worker:
            worker.notify(event(7))
    finally:
        server.shutdown()
    assert [r["id"] for r in received] == [7]
    assert set(received[0]) == KEYS


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"db": Path("x.db")}, "--roll"),
        ({"heatmap": True}, "--heatmap"),
        ({"alarm_timeout_s": 0.0}, "--alarm"),
    ],
)
def test_sink_settings_that_cannot_work_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SinkConfig(**kwargs)


def test_webhook_and_command_must_be_usable():
    with pytest.raises(ConfigError, match="--webhook"):
        webhook_sender("ftp://x", 1.0)
    with pytest.raises(ConfigError, match="--on-defect"):
        command_sender("   ", 1.0)
    with pytest.raises(ConfigError, match="'no-such-alarm-tool' not found"):
        command_sender("no-such-alarm-tool --loud", 1.0)
