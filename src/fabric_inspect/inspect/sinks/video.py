"""`--save-video out.mp4`: the annotated frames. mp4 is written with mp4v, avi with MJPG.

pip's OpenCV cannot encode H.264; convert with ffmpeg if a player needs it. The file is finalized
when the sink closes (also on Ctrl-C / SIGTERM, which the pipeline turns into a clean stop).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError, InputError

log = logging.getLogger(__name__)

CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".mov": "mp4v", ".avi": "MJPG", ".mkv": "MJPG"}


class VideoSink:
    """Opens the writer at the first frame (when the size is known)."""

    def __init__(self, path: Path, fps: float) -> None:
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

    def __enter__(self) -> VideoSink:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.release()
            log.info("video %s: %d frames", self.path, self.written)

    def write(self, canvas: np.ndarray) -> None:
        import cv2

        size = (canvas.shape[1], canvas.shape[0])
        if self._writer is None:
            fourcc = cv2.VideoWriter_fourcc(*CODECS[self.path.suffix.lower()])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, size)
            if not self._writer.isOpened():
                raise InputError(f"--save-video {self.path}: OpenCV cannot write this file; try a .avi path")
            self._size = size
        if size != self._size:  # frames of another size (image folders): fit them to the first
            canvas = cv2.resize(canvas, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(canvas)
        self.written += 1
