"""Where frames come from: video files and image folders (every frame, in order) or live sources.

`open_source(config)` returns a context manager that iterates `Frame`s. Files and folders are decoded
by a reader thread into a small bounded queue (it blocks rather than drops, so every frame arrives and
decoding overlaps inference). Cameras and streams are read by `capture.LiveSource`, which keeps only
the newest frames (`live_buffer`, two by default) and drops older ones.
"""

from __future__ import annotations

import glob
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from fabric_inspect.errors import ConfigError, SourceError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.latest import DEFAULT_DEPTH, check_depth

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
URL_PREFIXES = ("rtsp://", "rtsps://", "http://", "https://", "udp://", "tcp://")
KINDS = ("auto", "video", "images", "camera", "stream")
_END = object()
_MAX_CONSECUTIVE_BAD = 25


@dataclass(frozen=True, slots=True)
class SourceConfig:
    """What to read and, for cameras, what to ask the camera for."""

    input: str
    kind: str = "auto"
    width: int = 0  # cameras: requested size, 0 = the camera's default
    height: int = 0
    fps: float = 0.0
    fourcc: str = "MJPG"
    queue_size: int = 3  # files: decoded frames waiting for inference
    live_buffer: int = DEFAULT_DEPTH  # live: captured frames that may wait; one more drops the oldest
    reconnect_max_s: float = 5.0  # live: longest wait between reopen attempts
    give_up_after_s: float = 0.0  # live: end the source after this long without frames (0 = never)

    def __post_init__(self) -> None:
        if not self.input:
            raise ConfigError("the input is empty; give a video file, image folder, camera or URL")
        if self.kind not in KINDS:
            raise ConfigError(f"source kind must be one of {KINDS}, got {self.kind!r}")
        if self.width < 0 or self.height < 0 or self.fps < 0:
            raise ConfigError(
                f"--width/--height/--fps must be >= 0, got {self.width}x{self.height} at {self.fps}"
            )
        if len(self.fourcc) != 4:
            raise ConfigError(f"fourcc must be 4 characters (e.g. MJPG, YUYV), got {self.fourcc!r}")
        if not 1 <= self.queue_size <= 64:
            raise ConfigError(f"queue size must be in 1..64, got {self.queue_size}")
        check_depth(self.live_buffer)
        if self.give_up_after_s < 0:
            raise ConfigError(f"--give-up-after must be >= 0 s (0 = never), got {self.give_up_after_s}")
        if self.reconnect_max_s <= 0:
            raise ConfigError(f"reconnect_max_s must be > 0, got {self.reconnect_max_s}")


class Source(Protocol):
    """What the pipeline needs from a source."""

    fps: float
    live: bool
    description: str

    def __enter__(self) -> Source: ...
    def __exit__(self, *exc: object) -> None: ...
    def __iter__(self) -> Iterator[Frame]: ...
    def stop(self) -> None: ...
    @property
    def dropped(self) -> int: ...
    @property
    def skipped(self) -> int: ...


def source_kind(config: SourceConfig) -> str:
    """Decide what `config.input` is: video, images, camera or stream."""
    if config.kind != "auto":
        return config.kind
    text = config.input
    if text.isdigit() or text.startswith("/dev/video"):
        return "camera"
    if text.lower().startswith(URL_PREFIXES):
        return "stream"
    if any(ch in text for ch in "*?["):
        return "images"
    path = Path(text)
    if path.is_dir() or path.suffix.lower() in IMAGE_SUFFIXES:
        return "images"
    return "video"


def open_source(config: SourceConfig) -> Source:
    """Open the source `config.input` names; raise SourceError with what was tried if it cannot."""
    kind = source_kind(config)
    if kind in ("camera", "stream"):
        from fabric_inspect.inspect.capture import LiveSource

        return LiveSource(config, kind)
    if kind == "images":
        return image_source(config)
    return video_source(config)


def image_paths(text: str) -> list[Path]:
    """The images a folder, glob pattern or single file names, sorted by name."""
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    elif any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(text) if Path(p).suffix.lower() in IMAGE_SUFFIXES)
    else:
        found = [path] if path.is_file() else []
    if not found:
        raise SourceError(
            f"input {text}: no images found (expected a folder, glob or file with one of "
            f"{', '.join(IMAGE_SUFFIXES)})"
        )
    return found


def as_frame_image(image: np.ndarray | None) -> np.ndarray | None:
    """uint8 BGR or grey, as the pipeline takes them; None for what cannot be used."""
    import cv2

    if image is None or image.size == 0:
        return None
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.dtype != np.uint8:
        return None
    if image.ndim == 3 and image.shape[2] == 1:
        return image[:, :, 0]
    if image.ndim == 3 and image.shape[2] == 2:  # grey + alpha
        return np.ascontiguousarray(image[:, :, 0])
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


def image_source(config: SourceConfig) -> ThreadedSource:
    import cv2

    paths = image_paths(config.input)

    def images() -> Iterator[np.ndarray | None]:
        for path in paths:
            image = as_frame_image(cv2.imread(str(path), cv2.IMREAD_UNCHANGED))
            if image is None:
                log.warning("image %s could not be read; skipped", path)
            yield image

    fps = config.fps or 1.0
    return ThreadedSource(
        images,
        fps=fps,
        description=f"{len(paths)} images from {config.input}",
        config=config,
        frame_count=len(paths),
    )


def unfinished_mp4(path: Path) -> bool:
    """An MP4/MOV file whose top-level boxes begin with 'ftyp' but hold no 'moov' (the index, which a
    recorder writes last when the media data comes first): a recording cut off before it was finalized.
    Reads only the boxes' 8- or 16-byte headers."""
    size = path.stat().st_size
    kinds: list[bytes] = []
    offset = 0
    with path.open("rb") as file:
        while offset + 8 <= size and len(kinds) < 1000:
            file.seek(offset)
            header = file.read(16)
            box_size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if box_size == 1 and len(header) == 16:  # a 64-bit size follows the type
                box_size = int.from_bytes(header[8:16], "big")
            elif box_size == 0:  # the box runs to the end of the file
                box_size = size - offset
            if box_size < 8 or not kind.isalnum():  # not an ISO box (ftyp, mdat, moov, free...)
                break
            kinds.append(kind)
            offset += box_size
    return bool(kinds) and kinds[0] == b"ftyp" and b"moov" not in kinds


def unopenable_video(path: Path, what: str) -> str:
    """The line for a video file OpenCV cannot open; `what` names it ("video", "--input")."""
    if unfinished_mp4(path):
        return (
            f"{what} {path} holds video data but no index (no 'moov' box): the recording was cut off "
            "before it was finalized (power loss, a killed recorder), and players cannot read it; a "
            "repair tool such as untrunc may recover it. Record to .mkv or .avi, which stay readable "
            "up to a cut"
        )
    return f"{what} {path} could not be opened by OpenCV; check the file or convert it to mp4"


def video_source(config: SourceConfig) -> ThreadedSource:
    import cv2

    path = Path(config.input)
    if not path.is_file():
        raise SourceError(f"input {path} does not exist (expected a video file, image folder or glob)")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(unopenable_video(path, "video"))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or config.fps or 30.0
    count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))

    def images() -> Iterator[np.ndarray | None]:
        bad = 0
        try:
            while True:
                ok, image = cap.read()
                if ok:
                    bad = 0
                    yield as_frame_image(image)
                    continue
                position = int(cap.get(cv2.CAP_PROP_POS_FRAMES))
                bad += 1
                if count <= 0 or position >= count - 1 or bad > _MAX_CONSECUTIVE_BAD:
                    return
                yield None  # a frame the decoder could not read, before the end
        finally:
            cap.release()

    return ThreadedSource(
        images,
        fps=fps,
        description=f"video {path} ({count} frames, {fps:g} fps)",
        config=config,
        frame_count=max(count, 0),
    )


class ThreadedSource:
    """Every frame, in order: a reader thread decodes ahead into a bounded queue (blocks, never drops)."""

    live = False

    def __init__(
        self,
        images: Callable[[], Iterator[np.ndarray | None]],
        fps: float,
        description: str,
        config: SourceConfig,
        frame_count: int = 0,
    ) -> None:
        self.fps = fps
        self.frame_count = frame_count  # 0 when unknown
        self.description = description
        self._images = images
        self._queue: queue.Queue[object] = queue.Queue(maxsize=config.queue_size)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="fabric-inspect-reader", daemon=True)
        self._skipped = 0
        self._error: BaseException | None = None

    @property
    def dropped(self) -> int:
        return 0

    @property
    def skipped(self) -> int:
        return self._skipped

    def __enter__(self) -> ThreadedSource:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        while True:  # unblock a reader waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=5.0)

    def stop(self) -> None:
        """Ask the reader to stop. Only sets a flag, so it is safe in a signal handler."""
        self._stop.set()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _read(self) -> None:
        index = 0
        images = self._images()
        try:
            for image in images:
                if self._stop.is_set():
                    break
                if image is None:
                    self._skipped += 1
                    index += 1
                    continue
                frame = Frame(image, index, time.perf_counter(), time.time())
                index += 1
                if not self._put(frame):
                    break
        except Exception as err:  # handed to the consumer thread, raised there as SourceError
            self._error = err
        finally:
            images.close()
            self._put(_END)

    def __iter__(self) -> Iterator[Frame]:
        while True:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._stop.is_set() or (not self._thread.is_alive() and self._queue.empty()):
                    break
                continue
            if not isinstance(item, Frame):  # the end marker
                break
            yield item
        if self._error is not None:
            raise SourceError(f"reading {self.description} failed: {self._error}") from self._error


def platform_camera_api() -> int:
    """V4L2 on Linux (so FOURCC/size/fps requests reach the driver), the default elsewhere."""
    import cv2

    return cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
