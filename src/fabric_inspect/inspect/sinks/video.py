"""`--save-video out.mp4`: the annotated frames. mp4 is written with mp4v, avi with MJPG.

pip's OpenCV cannot encode H.264; convert with ffmpeg if a player needs it. The file is finalized
when the sink closes (also on Ctrl-C / SIGTERM, which the pipeline turns into a clean stop).

With `segment_frames` (`--video-minutes`) a new file is started every so many frames, each finalized
when the next begins: a live run of a whole shift leaves files of a few minutes each, and a crash or a
`kill -9` costs only the last one.

The video is by far the largest output, and OpenCV's writer does not say when a write fails. So
every second of frames the sink looks at the free space on the video's disk; below `reserve_bytes`
(256 MB by default) it finalizes the video there (playable up to that frame), logs one line and keeps
`error`, and the disk's last space goes to the events, the database and the crops.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError, InputError

log = logging.getLogger(__name__)

RESERVE_BYTES = 256 * 2**20  # free space the video leaves on its disk for the other outputs
CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoSink:
    """Opens the writer at the first frame (when the size is known)."""

    def __init__(
        self, path: Path, fps: float, reserve_bytes: int = RESERVE_BYTES, segment_frames: int = 0
    ) -> None:
        suffix = path.suffix.lower()
        if suffix not in CODECS:
            raise ConfigError(
                f"--save-video {path}: use one of {', '.join(CODECS)} (got {suffix or 'no suffix'})"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise InputError(f"--save-video {path}: cannot create the folder ({err.strerror})") from None
        self.path = path
        self.fps = fps if fps > 0 else 30.0
        self._writer = None
        self._size: tuple[int, int] | None = None
        self.written = 0
        self.reserve_bytes = reserve_bytes
        self.error: str | None = None  # why the video stopped early, as one line
        # > 0: a new file every segment_frames frames, NAME_0001.mp4, NAME_0002.mp4 ... (--video-minutes)
        self.segment_frames = max(0, segment_frames)
        self.files: list[Path] = []  # the files written, in order

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._close()

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.release()
            self._writer = None
            log.info("video %s: %d frames so far", self.files[-1], self.written)

    def _next_path(self) -> Path:
        if not self.segment_frames:
            return self.path
        return self.path.with_name(f"{self.path.stem}_{len(self.files) + 1:04d}{self.path.suffix}")

    def _disk_full(self) -> bool:
        """Every second of frames: stop (finalizing the file) when the disk has under the reserve."""
        if self.written % max(1, round(self.fps)):
            return False
        free = shutil.disk_usage(self.path.parent).free
        if free >= self.reserve_bytes:
            return False
        self.error = (
            f"--save-video {self.path}: stopped after {self.written} frames, {free / 2**20:.0f} MB left on "
            f"its disk (under the {self.reserve_bytes / 2**20:.0f} MB kept for the events and the database)"
        )
        log.error("%s; the run goes on without it", self.error)
        self._close()
        return True

    def write(self, canvas: np.ndarray) -> None:
        import cv2

        if self.error is not None or self._disk_full():
            return
        size = (canvas.shape[1], canvas.shape[0])
        if self.segment_frames and self.written and self.written % self.segment_frames == 0:
            self._close()  # this segment is full: finalize it, the next frame opens the next file
        if self._writer is None:
            path = self._next_path()
            fourcc = cv2.VideoWriter_fourcc(*CODECS[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(path), fourcc, self.fps, self._size or size)
            if not self._writer.isOpened():
                raise InputError(f"--save-video {path}: OpenCV cannot write this file; try a .avi path")
            self.files.append(path)
            self._size = self._size or size
        if size != self._size:  # frames of another size (image folders): fit them to the first
            canvas = cv2.resize(canvas, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(canvas)
        self.written += 1
