"""Live mode against a real MJPEG-over-HTTP stream on 127.0.0.1 (http.server, multipart/x-mixed-replace)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import pytest

from fabric_inspect.errors import SourceError
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source

BOUNDARY = "frameboundary"


class MjpegServer:
    """Serves `frames` (BGR arrays, looped) at `fps` to each client; stops when closed.

    With `clock=True` the frame sent is the one the wall clock says (frame i at i / fps seconds after
    the server started), as a camera over a moving line: a client that was away misses the fabric
    that passed meanwhile. Otherwise each client starts at frame 0. `slow_down=(after_s, slow_fps)`:
    from `after_s` seconds on, frames are sent at `slow_fps` (a camera lengthening its exposure).
    """

    def __init__(
        self, frames, fps: float = 30.0, clock: bool = False, slow_down: tuple[float, float] | None = None
    ) -> None:
        import cv2

        jpegs = [cv2.imencode(".jpg", f, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for f in frames]
        stopping = threading.Event()
        self.stopping = stopping
        self.generation = 0  # bumped by drop_clients(): connected clients are cut off
        self.closed_until = 0.0  # perf_counter time before which a new client waits (drop_clients)
        self.sent = 0
        self.started = time.perf_counter()
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(max(0.0, server_self.closed_until - time.perf_counter()))
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.end_headers()
                next_at = time.perf_counter()
                i = 0
                generation = server_self.generation
                try:
                    while not stopping.is_set() and generation == server_self.generation:
                        if clock:
                            i = round((time.perf_counter() - server_self.started) * fps)
                        data = jpegs[i % len(jpegs)]
                        head = (
                            f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
                        )
                        self.wfile.write(head.encode() + data + b"\r\n")
                        server_self.sent += 1
                        i += 1
                        late = slow_down and time.perf_counter() - server_self.started > slow_down[0]
                        next_at += 1.0 / (slow_down[1] if late else fps)
                        time.sleep(max(0.0, next_at - time.perf_counter()))
                except (BrokenPipeError, ConnectionResetError):
                    return

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/stream.mjpg"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> MjpegServer:
        self.thread.start()
        return self

    def drop_clients(self, for_s: float = 0.0) -> None:
        """Cut every connected client off (as a camera reboot or network glitch would); a client
        that connects again within `for_s` seconds gets its first frame only then."""
        self.closed_until = time.perf_counter() + for_s
        self.generation += 1

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


class SlowModel:
    """The real tiny model, made slower than the stream (as a heavy model on a weak PC would be)."""

    def __init__(self, model, delay_s: float) -> None:
        self.model, self.delay_s = model, delay_s
        self.info, self.path = model.info, model.path

    def predict(self, frame):
        time.sleep(self.delay_s)
        return self.model.predict(frame)


@pytest.fixture(scope="module")
def stream(synth):
    roll = synth.make_roll((synth.Spot(100, 500, 9),), length=900, width=256, height=128, speed_px=6.0)
    with MjpegServer([roll.frame(t) for t in range(roll.frame_count)], fps=30.0) as server:
        yield server


@pytest.mark.slow
def test_slow_inference_drops_stale_frames_instead_of_queuing_them(stream, tiny_model, caplog):
    from fabric_inspect.inspect.keepup import KeepUpConfig

    source = open_source(SourceConfig(stream.url))
    assert source.live
    config = PipelineConfig(max_frames=15, keep_up=KeepUpConfig(window_s=0.5, quiet_s=60.0))
    summary = run(source, SlowModel(tiny_model, 0.1), config, SinkConfig())
    assert summary.frames == 15
    # the operator is told while the run goes on, once (the quiet time is longer than the run)
    warnings = [r.message for r in caplog.records if "frames the camera sent in the last" in r.message]
    assert len(warnings) == 1 and "were dropped" in warnings[0] and "--scale, --roi" in warnings[0]
    # ~30 fps arrive while ~10 fps are inspected: about two of three frames must be dropped, not queued
    assert summary.dropped_frames >= summary.frames
    # the frame inspected is always one of the two newest (the default --buffer), so capture -> verdict
    # stays near one inference time plus a frame period; an unbounded queue would have pushed it
    # towards a second by the 15th frame
    assert summary.latency_ms["p95"] < 300


@pytest.mark.slow
def test_a_fast_pipeline_keeps_up_with_the_live_stream(stream, tiny_model, tmp_path):
    summary = run(
        open_source(SourceConfig(stream.url)),
        tiny_model,
        PipelineConfig(max_frames=30),
        SinkConfig(events=tmp_path / "ev.jsonl"),
    )
    assert summary.frames == 30
    assert summary.dropped_frames <= 6  # a few, at most, on a busy machine
    assert summary.latency_ms["p50"] < 1.5 * 1000 / 30


def test_live_refuses_a_buffer_outside_one_to_eight_in_one_line(tiny_model_path):
    from typer.testing import CliRunner

    from fabric_inspect.cli import app

    url = "http://127.0.0.1:9/none.mjpg"
    result = CliRunner().invoke(
        app, ["live", "--camera", url, "--model", str(tiny_model_path), "--buffer", "0"]
    )
    assert result.exit_code != 0
    assert "--buffer must be 1..8 frames, got 0" in result.output
    assert "Traceback" not in result.output


def test_a_stream_that_cannot_be_opened_is_one_clear_error():
    with pytest.raises(SourceError, match=r"stream http://127\.0\.0\.1:9/none\.mjpg could not be opened"):
        open_source(SourceConfig("http://127.0.0.1:9/none.mjpg"))


@pytest.mark.slow
def test_a_stream_that_drops_is_reopened_and_the_gap_is_logged(synth, tiny_model, caplog):
    roll = synth.make_roll(length=600, width=128, height=64, speed_px=6.0)
    with MjpegServer([roll.frame(t) for t in range(roll.frame_count)], fps=30.0) as server:
        source = open_source(SourceConfig(server.url))

        def cut_once(frame, count: int) -> None:
            if count == 10:
                server.drop_clients()

        summary = run(source, tiny_model, PipelineConfig(max_frames=40), SinkConfig(), progress=cut_once)
    assert summary.frames == 40
    assert source.reopens >= 1
    assert "stopped delivering frames" in caplog.text


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["speed", "auto"])  # the hint alone; measured, with no hint
def test_the_fabric_that_passes_while_a_stream_is_away_counts_along_the_roll_and_as_not_inspected(
    synth, tiny_model, mode
):
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.tracker import TrackerConfig

    px_per_frame, fps, ppm = 20.0, 30.0, 2.0  # 600 px/s = 300 mm/s = 18 m/min
    roll = synth.make_roll(length=9000, width=256, height=128, speed_px=px_per_frame)
    speed = px_per_frame * fps / ppm * 60 / 1000 if mode == "speed" else None  # m/min
    config = PipelineConfig(
        motion=MotionConfig(mode=mode, speed_m_per_min=speed, px_per_mm=ppm),
        tracker=TrackerConfig(px_per_mm=ppm),
        max_frames=60,
    )
    seen: list = []
    with MjpegServer([roll.frame(t) for t in range(roll.frame_count)], fps=fps, clock=True) as server:
        source = open_source(SourceConfig(server.url))
        assert source.fps == pytest.approx(fps, rel=0.1)  # measured: the stream itself reports 25

        def cut_once(frame, count: int) -> None:
            seen.append(frame)
            if count == 15:
                server.drop_clients(for_s=1.0)  # the camera is away for a second or more

        summary = run(source, tiny_model, config, SinkConfig(), progress=cut_once)
    assert summary.frames == 60 and source.reopens >= 1
    # the frame index moved on by about the frames the camera sent while the pipeline was away
    assert source.lost_frames >= 0.8 * fps
    travel_px = (seen[-1].wall_time - seen[0].wall_time) * px_per_frame * fps  # what the line moved
    assert summary.roll_length_m * 1000 * ppm == pytest.approx(travel_px + roll.height, rel=0.1)
    # and the fabric that passed was not inspected: about a second of travel less one frame's height
    gaps = [(b - a) * 1000 * ppm for a, b in summary.uninspected_at_m]
    assert summary.uninspected_stretches == len(gaps) >= 1
    assert max(gaps) >= 0.8 * fps * px_per_frame - roll.height
    # metres are rounded to the mm (2 px here): the total once, each stretch's ends once each
    assert summary.uninspected_m * 1000 * ppm == pytest.approx(sum(gaps), abs=1.0 + 2.0 * len(gaps))


@pytest.mark.slow
def test_when_the_camera_halves_its_rate_the_roll_position_follows_the_fabric(synth, tiny_model, caplog):
    from fabric_inspect.inspect.motion import MotionConfig
    from fabric_inspect.inspect.tracker import TrackerConfig

    px_per_frame, fps, ppm = 20.0, 30.0, 2.0  # 600 px/s at 30 fps
    roll = synth.make_roll(length=8000, width=128, height=64, speed_px=px_per_frame)
    speed = px_per_frame * fps / ppm * 60 / 1000  # m/min: the --speed hint, right for 30 fps
    config = PipelineConfig(
        motion=MotionConfig(mode="auto", speed_m_per_min=speed, px_per_mm=ppm),
        tracker=TrackerConfig(px_per_mm=ppm),
        max_frames=110,
    )
    seen: list = []
    frames = [roll.frame(t) for t in range(roll.frame_count)]
    with MjpegServer(frames, fps=fps, clock=True, slow_down=(2.0, fps / 2)) as server:
        source = open_source(SourceConfig(server.url))
        summary = run(source, tiny_model, config, SinkConfig(), progress=lambda f, n: seen.append(f))
    assert summary.frames == 110
    assert source.fps == pytest.approx(fps / 2, rel=0.15)
    assert "now delivers" in caplog.text
    travel_px = (seen[-1].wall_time - seen[0].wall_time) * px_per_frame * fps
    # the 15 frames it takes to notice go by at the old step (under 10 % here); before, every frame at
    # 15 fps counted half its travel, and the roll came out a third short
    assert summary.roll_length_m * 1000 * ppm == pytest.approx(travel_px + roll.height, rel=0.12)
    assert summary.uninspected_m == 0  # 40 px a frame still overlaps a 64 px frame


@pytest.mark.slow
def test_a_stream_gone_for_good_ends_the_run_after_give_up_after(synth, tiny_model):
    roll = synth.make_roll(length=600, width=128, height=64, speed_px=6.0)
    server = MjpegServer([roll.frame(t) for t in range(roll.frame_count)], fps=30.0)
    with server:
        source = open_source(SourceConfig(server.url, give_up_after_s=1.0))

        def shut_down(frame, count: int) -> None:
            if count == 10:
                threading.Thread(target=server.__exit__, daemon=True).start()

        started = time.perf_counter()
        summary = run(source, tiny_model, PipelineConfig(), SinkConfig(), progress=shut_down)
    assert 10 <= summary.frames < 60
    assert time.perf_counter() - started < 30


@pytest.mark.slow
def test_live_command_reads_the_stream_and_reports_the_camera_it_got(stream, tiny_model_path, tmp_path):
    from typer.testing import CliRunner

    from fabric_inspect.cli import app

    summary = tmp_path / "summary.json"
    result = CliRunner().invoke(
        app,
        [
            "live",
            "--camera",
            stream.url,
            "--model",
            str(tiny_model_path),
            "--max-frames",
            "20",
            "--summary",
            str(summary),
            "--events",
            str(tmp_path / "ev.jsonl"),
            "--label-set",
            str(tmp_path / "labels"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"inspecting {stream.url}: 256x128" in result.output
    report = json.loads(summary.read_text())
    assert report["frames"] == 20 and report["interrupted"] is False
    # 20 frames at 6 px a frame show 128 + 19 * 6 = 242 px of fabric: the first frame, and one more
    # once the fabric has moved on by a frame's height (22 frames: not within 20, unless frames drop)
    written = sorted((tmp_path / "labels" / "images").glob("roll_*.png"))
    assert report["label_set"]["images"] == len(written) >= 1
    assert cv2.imread(str(written[0])).shape == (128, 256, 3)
