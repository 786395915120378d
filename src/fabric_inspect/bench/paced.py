"""A recorded clip replayed as a camera: each frame is published at its time stamp, newest ones kept.

`PacedSource` behaves as `fabric_inspect.inspect.capture.LiveSource` does with a real camera: a
capture thread stamps each frame when it "arrives" (at ``start + index / fps``) and keeps only the
newest `buffer` of them waiting (`inspect.latest`); the oldest, pushed out before the pipeline took
it, is dropped and counted.

Two kinds of camera:

- raw (`RawFrames`, the default): a file of decoded frames, read as they are due. An uncompressed
  camera (YUYV, GigE): delivering a frame costs the PC nothing but a copy.
- MJPG (`JpegFrames`): the same frames as JPEG images, decoded by the capture thread as each is due,
  as OpenCV's capture thread decodes a USB camera's MJPG stream (USB 2.0 cameras give 1280x720 and
  1920x1080 at 30 fps only in MJPG). They are encoded at the highest quality, up to 95, whose stream
  a USB 2.0 camera can carry at the replay's frame rate (`bus_quality`), since a JPEG's decoding time
  grows with its bytes. The decoding takes CPU from the pipeline, as it does on the
  inspection PC; its time per frame is recorded (`decode_ms`). A frame is stamped when it is
  published, after its decoding, as `inspect.capture.LiveSource` stamps a camera's frames after
  `read()`: the latency figures start there, and the camera's frame is older by the decoding.

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
from typing import BinaryIO

import numpy as np

from fabric_inspect.errors import SourceError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.latest import DEFAULT_DEPTH, LatestFrame
from fabric_inspect.inspect.summary import Ring

log = logging.getLogger(__name__)

# JPEG quality of the MJPG replay at most: OpenCV's MJPG writer's default
JPEG_QUALITY = 95
# What a USB 2.0 camera can send: a high-bandwidth isochronous endpoint carries at most 3 x 1024
# bytes per 125 us microframe, 24.6 MB/s. A UVC camera's MJPG encoder has to fit its frames into that
# at its frame rate, so a 1920x1080 30 fps stream averages 819 kB a frame or less.
USB2_BYTES_PER_S = 3 * 1024 * 8000
BUS_SAMPLE_FRAMES = 8  # frames encoded to choose the quality that fits the bus


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


@dataclass(frozen=True, slots=True)
class JpegFrames:
    """The frames of a `RawFrames` file as JPEG images, one after the other: frame i is bytes
    ``offsets[i]:offsets[i + 1]`` of ``path``. What a USB camera sends in MJPG mode."""

    path: Path
    shape: tuple[int, ...]
    offsets: tuple[int, ...]
    quality: int = JPEG_QUALITY

    @property
    def frames(self) -> int:
        return len(self.offsets) - 1

    def bytes_per_s(self, fps: float) -> float:
        """The stream's mean rate in bytes per second at ``fps``."""
        return self.offsets[-1] / self.frames * fps


def _read_raw_frame(f: BinaryIO, raw: RawFrames, image: np.ndarray) -> np.ndarray:
    """The next frame of ``raw``'s open file ``f``, read into ``image``."""
    if f.readinto(memoryview(image).cast("B")) != raw.frame_bytes:
        raise SourceError(f"raw frames {raw.path} are shorter than {raw.frames} frames")
    return image


def bus_quality(raw: RawFrames, fps: float, bytes_per_s: float = USB2_BYTES_PER_S) -> int:
    """The highest JPEG quality (50..`JPEG_QUALITY`) whose frames of ``raw``, sent at ``fps``, fit
    ``bytes_per_s`` on average (a sample of `BUS_SAMPLE_FRAMES` frames); 50 when none does."""
    import cv2

    picks = np.unique(np.linspace(0, raw.frames - 1, min(raw.frames, BUS_SAMPLE_FRAMES)).round().astype(int))
    images = []
    with open(raw.path, "rb") as f:
        for index in picks:
            f.seek(int(index) * raw.frame_bytes)
            images.append(_read_raw_frame(f, raw, np.empty(raw.shape, np.uint8)))

    def fits(quality: int) -> bool:
        sizes = [cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].size for im in images]
        return float(np.mean(sizes)) * fps <= bytes_per_s

    low, high = 50, JPEG_QUALITY  # a frame's size grows with its quality: bisect for the highest fit
    if fits(high):
        return high
    if not fits(low):
        log.warning(
            "even JPEG quality %d frames of %s exceed %.1f MB/s at %g fps",
            low,
            raw.path,
            bytes_per_s / 1e6,
            fps,
        )
        return low
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def write_jpeg_frames(raw: RawFrames, out: Path, quality: int = JPEG_QUALITY) -> JpegFrames:
    """Encode every frame of ``raw`` as a JPEG image of ``quality`` into ``out``."""
    import cv2

    offsets = [0]
    image = np.empty(raw.shape, np.uint8)
    with open(raw.path, "rb") as f, open(out, "wb") as jpeg:
        for _ in range(raw.frames):
            ok, data = cv2.imencode(
                ".jpg", _read_raw_frame(f, raw, image), [cv2.IMWRITE_JPEG_QUALITY, quality]
            )
            if not ok:
                raise SourceError(f"OpenCV could not encode frame {len(offsets) - 1} of {raw.path} as JPEG")
            jpeg.write(data.tobytes())
            offsets.append(offsets[-1] + data.size)
    return JpegFrames(Path(out), raw.shape, tuple(offsets), quality)


class PacedSource:
    """Frames delivered at ``fps`` as a live camera would; a busy pipeline drops some. ``raw``: an
    uncompressed camera's frames (`RawFrames`) or an MJPG camera's (`JpegFrames`, decoded here)."""

    live = True

    def __init__(
        self, raw: RawFrames | JpegFrames, fps: float, frames: int = 0, buffer: int = DEFAULT_DEPTH
    ) -> None:
        if fps <= 0:
            raise SourceError(f"camera-paced replay needs a frame rate > 0, got {fps}")
        if frames < 0:
            raise SourceError(f"camera-paced replay needs frames >= 0 (0: the clip once), got {frames}")
        size = raw.offsets[-1] if isinstance(raw, JpegFrames) else raw.frames * raw.frame_bytes
        if not raw.path.is_file() or raw.path.stat().st_size < size:
            raise SourceError(f"replay frames {raw.path} are missing or shorter than {raw.frames} frames")
        self.raw = raw
        self.path = raw.path
        self._file = open(raw.path, "rb")  # noqa: SIM115 (closed in __exit__)
        self.fps = fps
        self.frames = frames or raw.frames  # to publish; more than the clip holds replays it again
        self.description = f"{raw.path.name} replayed as a {fps:g} fps camera"
        self._slot = LatestFrame(buffer)
        self._stop = threading.Event()
        self.late = 0  # frames read after their time stamp (the replay could not keep up)
        self.decode_ms = Ring()  # MJPG: the capture thread's decoding time of each frame
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

    def _read(self, index: int) -> np.ndarray | bytes | None:
        """Frame ``index`` of the clip as the camera sends it: pixels, or JPEG bytes (None: file short)."""
        if isinstance(self.raw, JpegFrames):
            start, end = self.raw.offsets[index], self.raw.offsets[index + 1]
            self._file.seek(start)
            data = self._file.read(end - start)
            return data if len(data) == end - start else None
        if index == 0:
            self._file.seek(0)
        image = np.empty(self.raw.shape, np.uint8)
        return image if self._file.readinto(memoryview(image).cast("B")) == self.raw.frame_bytes else None

    def _decode(self, data: bytes) -> np.ndarray:
        import cv2

        began = time.perf_counter()
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        self.decode_ms.append((time.perf_counter() - began) * 1000.0)
        return image

    def _capture(self) -> None:
        start = time.perf_counter()
        try:
            while not self._stop.is_set() and self._slot.published < self.frames:
                sent = self._read(self._slot.published % self.raw.frames)
                if sent is None:
                    log.error("replay frames %s ended early at frame %d", self.path, self._slot.published)
                    break
                due = start + self._slot.published / self.fps
                wait = due - time.perf_counter()
                if wait > 0:
                    self._stop.wait(wait)
                elif wait < -0.5 / self.fps:
                    self.late += 1
                self._slot.publish(self._decode(sent) if isinstance(sent, bytes) else sent)
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
