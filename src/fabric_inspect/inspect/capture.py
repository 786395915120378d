"""Live sources (cameras, RTSP/HTTP/MJPEG streams): a capture thread that keeps only the newest frames.

A slow consumer never builds a backlog: at most `SourceConfig.live_buffer` frames (two by default)
wait, and one arriving when they all wait pushes out the oldest, which is dropped and counted. A
source that stops delivering is reopened with bounded back-off and the gap is logged; the next frame's
index moves on by the frames not captured meanwhile, so the roll position (motion) carries the fabric's
travel across the gap and the summary reports that stretch as not inspected (`coverage`). Each frame
is stamped at capture (perf_counter for latency, time.time for events).
"""

from __future__ import annotations

import itertools
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

from fabric_inspect.errors import SourceError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.latest import LatestFrame
from fabric_inspect.inspect.sources import SourceConfig, as_frame_image, platform_camera_api

log = logging.getLogger(__name__)

_READ_FAILURES_BEFORE_REOPEN = 5
RATE_FRAMES = 15  # delivery intervals whose median rate the source's fps follows


def camera_target(text: str) -> int | str:
    """A camera index for "0", "1"...; the path for /dev/videoN."""
    return int(text) if text.isdigit() else text


@contextmanager
def opencv_errors_only() -> Iterator[None]:
    """OpenCV's own log at errors only for the duration: a camera that cannot be opened makes its V4L2
    backend print warnings ("can't open camera by index") before our one line that says the same and
    what to try, and again at every reopen attempt while a camera is unplugged."""
    import cv2

    logging_api = cv2.utils.logging
    before = logging_api.getLogLevel()
    logging_api.setLogLevel(min(before, logging_api.LOG_LEVEL_ERROR))
    try:
        yield
    finally:
        logging_api.setLogLevel(before)


def open_capture(config: SourceConfig, kind: str):  # -> cv2.VideoCapture
    """Open a camera (asking for FOURCC, size and fps) or a stream; None when it cannot be opened."""
    import cv2

    if kind == "stream":
        cap = cv2.VideoCapture(config.input)
        return cap if cap.isOpened() else None
    with opencv_errors_only():
        cap = cv2.VideoCapture(camera_target(config.input), platform_camera_api())
    if not cap.isOpened():
        return None
    cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*config.fourcc))
    if config.width:
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
    if config.height:
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
    if config.fps:
        cap.set(cv2.CAP_PROP_FPS, config.fps)
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
    return cap


def describe_capture(cap, text: str) -> str:  # cap: cv2.VideoCapture
    """What the camera actually gave (it may ignore what was asked)."""
    import cv2

    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    fourcc = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00") or "?"
    width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
    height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = cap.get(cv2.CAP_PROP_FPS)
    return f"{text}: {width}x{height} at {fps:g} fps, {fourcc}"


def measure_rate(cap, frames: int = 10, timeout_s: float = 3.0) -> float | None:  # cap: cv2.VideoCapture
    """Frames per second a stream delivers, from the median interval of its next `frames` frames (read
    and discarded); None when it delivers fewer within `timeout_s`. MJPEG-over-HTTP streams carry no
    rate, and OpenCV's FFmpeg backend then reports 25 fps whatever the camera sends."""
    times: list[float] = []
    deadline = time.monotonic() + timeout_s
    while len(times) < frames + 1 and time.monotonic() < deadline:
        ok, _ = cap.read()
        if ok:
            times.append(time.monotonic())
    if len(times) < frames + 1:
        return None
    median = statistics.median(b - a for a, b in itertools.pairwise(times))
    return 1.0 / median if median > 0 else None


def not_opened_message(config: SourceConfig, kind: str) -> str:
    if kind == "stream":
        return (
            f"stream {config.input} could not be opened; check the URL in a browser or VLC, and that "
            "this PC can reach the camera"
        )
    asked = f"{config.width or 'default'}x{config.height or 'default'} at {config.fps or 'default'} fps"
    return (
        f"camera {config.input} could not be opened (asked for {config.fourcc} {asked}); list cameras "
        "with `ls /dev/video*` (Linux), close other programs using it, or try --camera 0 or a "
        "/dev/videoN path"
    )


class LiveSource:
    """Newest-frames capture from a camera or stream (`live_buffer` deep), with reopen on failure."""

    live = True

    def __init__(self, config: SourceConfig, kind: str) -> None:
        self.config = config
        self.kind = kind
        self._cap = open_capture(config, kind)
        if self._cap is None:
            raise SourceError(not_opened_message(config, kind))
        import cv2

        self.description = describe_capture(self._cap, config.input)
        reported = float(self._cap.get(cv2.CAP_PROP_FPS))
        # RTSP streams may report their 90 kHz time base, others nan or 0: take those as unknown
        self.fps = reported if 0.0 < reported <= 1000.0 else (config.fps or 30.0)
        delivered = measure_rate(self._cap) if kind == "stream" else None
        if delivered and abs(delivered - self.fps) > 0.1 * delivered:
            log.warning(
                "stream %s reports %g fps but delivers %.1f; using %.1f",
                config.input,
                self.fps,
                delivered,
                delivered,
            )
            self.fps = delivered
            self.description += f" (delivers {delivered:.1f} fps)"
        log.info("opened %s", self.description)
        got = (
            int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            round(self.fps),
        )
        asked = (config.width, config.height, round(config.fps))
        if kind == "camera" and any(a and a != g for a, g in zip(asked, got, strict=True)):
            log.warning(
                "asked for %dx%d at %g fps, the camera gives %s (USB 2.0 cameras need MJPG for 720p30)",
                config.width,
                config.height,
                config.fps,
                self.description,
            )
        self._slot = LatestFrame(config.live_buffer)
        self._stop = threading.Event()
        self._skipped = 0
        self.reopens = 0
        self.lost_frames = 0  # frame periods with no frame while the source was being reopened
        self._last_frame_at: float | None = None  # time.monotonic() of the last delivered frame
        self._intervals: deque[float] = deque(maxlen=RATE_FRAMES)  # the last delivery intervals, s
        self._thread = threading.Thread(target=self._capture, name="fabric-inspect-capture", daemon=True)

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    @property
    def skipped(self) -> int:
        return self._skipped

    def __enter__(self) -> LiveSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._thread.join(timeout=5.0)
        if self._cap is not None:
            self._cap.release()

    def stop(self) -> None:
        """Ask the capture to stop. Only sets a flag (no lock), so it is safe in a signal handler; the
        consumer notices within its 0.1 s wait."""
        self._stop.set()

    def _capture(self) -> None:
        failures = 0
        gap_start: float | None = None
        delay = 0.25
        try:
            while not self._stop.is_set():
                ok, image = self._cap.read() if self._cap is not None else (False, None)
                image = as_frame_image(image) if ok else None
                if image is not None:
                    now = time.monotonic()
                    if gap_start is not None:
                        self._skip_gap(now, gap_start)
                    elif self._last_frame_at is not None:
                        self._follow_rate(now - self._last_frame_at)
                    self._last_frame_at = now
                    failures, gap_start, delay = 0, None, 0.25
                    self._slot.publish(image)
                    continue
                failures += 1
                if ok:
                    self._skipped += 1  # delivered but unusable
                if failures < _READ_FAILURES_BEFORE_REOPEN:
                    continue
                if gap_start is None:
                    gap_start = time.monotonic()
                    log.warning("source %s stopped delivering frames; reopening", self.config.input)
                give_up = self.config.give_up_after_s
                if give_up and time.monotonic() - gap_start >= give_up:
                    log.error("source %s gave no frames for %.1f s; giving up", self.config.input, give_up)
                    break
                if not self._reopen(gap_start, delay):
                    break
                failures, delay = 0, min(delay * 2, self.config.reconnect_max_s)
        finally:
            self._slot.end()

    def _follow_rate(self, interval: float) -> None:
        """Keep the last RATE_FRAMES delivery intervals; when their median rate is more than 15 % off
        `fps`, take it as the new `fps` (the pipeline's motion follows). USB cameras lower their rate
        in poor light to expose longer, and still report the rate asked. The median ignores a stream's
        jitter and bursts, and turns over once most of the window is at the new rate."""
        self._intervals.append(interval)
        if len(self._intervals) < RATE_FRAMES:
            return
        rate = 1.0 / max(statistics.median(self._intervals), 1e-6)
        if abs(rate - self.fps) > 0.15 * self.fps:
            log.warning(
                "source %s now delivers %.1f fps, not %.1f: following it (a camera lowers its rate in poor "
                "light; more light, or a fixed exposure, keeps it steady)",
                self.config.input,
                rate,
                self.fps,
            )
            self.fps = rate

    def _skip_gap(self, now: float, gap_start: float) -> None:
        """After a reopen: number past the frames the camera would have sent since its last frame
        (at the rate it was delivering), so the roll position goes on through the gap."""
        since = now - (self._last_frame_at if self._last_frame_at is not None else gap_start)
        missed = max(0, round(since * self.fps) - 1)
        self._slot.skip(missed)
        self.lost_frames += missed
        log.warning(
            "source %s delivers again after a gap of %.1f s (about %d frames not captured; the fabric "
            "that passed meanwhile was not inspected)",
            self.config.input,
            now - gap_start,
            missed,
        )

    def _reopen(self, gap_start: float, delay: float) -> bool:
        """Reopen with back-off (doubling up to reconnect_max_s); False when giving up or stopped."""
        while not self._stop.is_set():
            self._stop.wait(delay)
            if self._cap is not None:
                self._cap.release()
            self._cap = open_capture(self.config, self.kind)
            if self._cap is not None:
                self.reopens += 1
                log.info("source %s reopened", self.config.input)
                return True
            waited = time.monotonic() - gap_start
            if self.config.give_up_after_s and waited >= self.config.give_up_after_s:
                log.error("source %s gave no frames for %.1f s; giving up", self.config.input, waited)
                return False
            delay = min(delay * 2, self.config.reconnect_max_s)
        return False

    def __iter__(self) -> Iterator[Frame]:
        return self._slot.frames(self._stop)
