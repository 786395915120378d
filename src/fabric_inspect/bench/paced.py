"""A recorded clip replayed as a camera: each frame is published at its time stamp, newest ones kept.

`PacedSource` behaves as `fabric_inspect.inspect.capture.LiveSource` does with a real camera: a
capture thread stamps each frame when it "arrives" (at ``start + index / fps``) and keeps only the
newest `buffer` of them waiting (`inspect.latest`); the oldest, pushed out before the pipeline took
it, is dropped and counted.

The frames are read from a file of raw decoded frames (`RawFrames`), not decoded on the fly: a
camera delivers its frames on time whatever the pipeline does, and decoding during the run would
take CPU from the pipeline and make frames late. The replay models an uncompressed camera (YUYV,
GigE); the cost of decoding MJPG from a USB camera is not in the figures.

A replay may ask for more frames than the clip holds: it then starts the clip again from its first
frame, so a short clip can stand for minutes of camera time (a drop every few hundred frames only
shows in a long run).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.errors import SourceError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.latest import DEFAULT_DEPTH, LatestFrame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RawFrames:
    """A file of ``frames`` uint8 images of ``shape`` (HxWx3 or HxW), one after the other."""

    path: Path
    shape: tuple[int, ...]
    frames: int

    @property
    def frame_bytes(self) -> int:
        return int(np.prod(self.shape))


def write_raw_frames(video: Path, out: Path, max_frames: int = 0) -> RawFrames:
    """Decode ``video`` (all frames, or the first ``max_frames``) into a raw frames file."""
    import cv2

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise SourceError(f"video {video} could not be opened by OpenCV for replay")
    shape: tuple[int, ...] = ()
    count = 0
    try:
        with open(out, "wb") as f:
            while not max_frames or count < max_frames:
                ok, image = cap.read()
                if not ok:
                    break
                if shape and image.shape != shape:
                    raise SourceError(f"video {video}: frame {count} is {image.shape}, frame 0 was {shape}")
                shape = image.shape
                f.write(np.ascontiguousarray(image).tobytes())
                count += 1
    finally:
        cap.release()
    if count == 0:
        raise SourceError(f"video {video} has no readable frame to replay")
    return RawFrames(Path(out), shape, count)


class PacedSource:
    """Raw frames delivered at ``fps`` as a live camera would; a busy pipeline drops some."""

    live = True

    def __init__(self, raw: RawFrames, fps: float, frames: int = 0, buffer: int = DEFAULT_DEPTH) -> None:
        if fps <= 0:
            raise SourceError(f"camera-paced replay needs a frame rate > 0, got {fps}")
        if frames < 0:
            raise SourceError(f"camera-paced replay needs frames >= 0 (0: the clip once), got {frames}")
        if not raw.path.is_file() or raw.path.stat().st_size < raw.frames * raw.frame_bytes:
            raise SourceError(f"raw frames {raw.path} are missing or shorter than {raw.frames} frames")
        self.raw = raw
        self.path = raw.path
        self._file = open(raw.path, "rb")  # noqa: SIM115 (closed in __exit__)
        self.fps = fps
        self.frames = frames or raw.frames  # to publish; more than the clip holds replays it again
        self.description = f"{raw.path.name} replayed as a {fps:g} fps camera"
        self._slot = LatestFrame(buffer)
        self._stop = threading.Event()
        self.late = 0  # frames read after their time stamp (the replay could not keep up)
        self._thread = threading.Thread(target=self._capture, name="fabric-inspect-replay", daemon=True)

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    @property
    def skipped(self) -> int:
        return 0

    @property
    def published(self) -> int:
        return self._slot.published

    def __enter__(self) -> PacedSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self._thread.join(timeout=5.0)
        self._file.close()

    def stop(self) -> None:
        self._stop.set()
        self._slot.wake()

    def _capture(self) -> None:
        start = time.perf_counter()
        try:
            while not self._stop.is_set() and self._slot.published < self.frames:
                image = np.empty(self.raw.shape, np.uint8)
                if self._slot.published % self.raw.frames == 0:
                    self._file.seek(0)
                if self._file.readinto(memoryview(image).cast("B")) != self.raw.frame_bytes:
                    log.error("raw frames %s ended early at frame %d", self.path, self._slot.published)
                    break
                due = start + self._slot.published / self.fps
                wait = due - time.perf_counter()
                if wait > 0:
                    self._stop.wait(wait)
                elif wait < -0.5 / self.fps:
                    self.late += 1
                self._slot.publish(image)
        finally:
            self._slot.end()
            if self.late:
                log.warning(
                    "replay of %s: %d frames were read after their time (the machine is busy)",
                    self.path,
                    self.late,
                )

    def __iter__(self) -> Iterator[Frame]:
        return self._slot.frames(self._stop)
