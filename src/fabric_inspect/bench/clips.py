"""The benchmark's input: the same frames at every size, as MJPG clips in a scratch folder.

Frames come from a recorded video (``--input``) or a synthetic roll rendered once at the largest
size. Each size gets the frames cropped to its aspect ratio around the centre and resized, written
as an MJPG .avi (the offline mode reads it as `fabric-inspect run` reads a file) and decoded once
more into raw frames (the live mode replays those as a camera delivers them), so both modes see
the very same pixels.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.bench.paced import (
    JpegFrames,
    RawFrames,
    bus_quality,
    write_jpeg_frames,
    write_raw_frames,
)
from fabric_inspect.errors import ConfigError, SourceError
from fabric_inspect.inspect.sources import unopenable_video

log = logging.getLogger(__name__)

SIZE_PATTERN = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")
SYNTHETIC_PX_PER_MM = 4.0  # at the largest size; smaller sizes scale it
SYNTHETIC_SPEED_M_PER_MIN = 20.0


@dataclass(frozen=True, slots=True)
class Clip:
    """One size's clip: video file, raw frames, size, frames, frame rate, fabric scale (None: unknown),
    and the frames as an MJPG camera sends them (`jpeg`, when asked for)."""

    path: Path
    raw: RawFrames
    width: int
    height: int
    frames: int
    fps: float
    px_per_mm: float | None
    speed_m_per_min: float | None
    jpeg: JpegFrames | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def parse_sizes(text: str) -> tuple[tuple[int, int], ...]:
    """'640x480,1280x720' -> ((640, 480), (1280, 720)); each side 64..8192."""
    sizes = []
    for part in text.split(","):
        match = SIZE_PATTERN.match(part)
        if not match:
            raise ConfigError(f"--sizes must be WxH[,WxH...] such as 640x480,1280x720; got {part.strip()!r}")
        width, height = int(match[1]), int(match[2])
        if not (64 <= width <= 8192 and 64 <= height <= 8192):
            raise ConfigError(f"--sizes: {width}x{height} is outside 64..8192 pixels a side")
        sizes.append((width, height))
    if len(set(sizes)) != len(sizes):
        raise ConfigError(f"--sizes lists a size twice: {text}")
    return tuple(sizes)


def fit(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Crop ``image`` around its centre to the aspect of width x height, then resize to it."""
    import cv2

    h, w = image.shape[:2]
    if w * height > h * width:  # too wide: crop the sides
        new_w = round(h * width / height)
        x0 = (w - new_w) // 2
        image = image[:, x0 : x0 + new_w]
    elif w * height < h * width:  # too tall: crop top and bottom
        new_h = round(w * height / width)
        y0 = (h - new_h) // 2
        image = image[y0 : y0 + new_h]
    if image.shape[1] == width and image.shape[0] == height:
        return np.ascontiguousarray(image)
    shrink = image.shape[1] > width
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def video_frames(path: Path, frames: int) -> tuple[Iterator[np.ndarray], float]:
    """Up to ``frames`` frames of a video file, and its frame rate."""
    import cv2

    if not path.is_file():
        raise SourceError(f"--input {path} does not exist; give a video file or use --synthetic")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise SourceError(unopenable_video(path, "--input"))
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 30.0

    def read() -> Iterator[np.ndarray]:
        try:
            for _ in range(frames):
                ok, image = cap.read()
                if not ok:
                    return
                yield image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        finally:
            cap.release()

    return read(), fps


def synthetic_frames(width: int, height: int, frames: int, fps: float, seed: int) -> Iterator[np.ndarray]:
    from fabric_inspect.datasets.roll import RollConfig, roll_frames

    config = RollConfig(
        seconds=frames / fps, fps=fps, width=width, height=height, seed=seed,
        speed_m_per_min=SYNTHETIC_SPEED_M_PER_MIN, px_per_mm=SYNTHETIC_PX_PER_MM,
    )  # fmt: skip
    return roll_frames(config)


def make_clips(
    sizes: tuple[tuple[int, int], ...],
    folder: Path,
    frames: int,
    input_path: Path | None = None,
    fps: float = 30.0,
    seed: int = 0,
    jpeg_quality: int | None = None,
    camera_fps: float = 30.0,
) -> list[Clip]:
    """Write one MJPG clip per size into ``folder`` from the same source frames. With ``jpeg_quality``,
    also the frames as JPEG images for the MJPG camera replay: of that quality, or with 0, of the
    highest quality a USB 2.0 camera sends at ``camera_fps`` (`paced.bus_quality`, per size)."""
    import cv2

    if frames < 2:
        raise ConfigError(f"--frames must be >= 2, got {frames}")
    big_w, big_h = max(sizes, key=lambda s: s[0] * s[1])
    if input_path is not None:
        source, fps = video_frames(input_path, frames)
    else:
        source = synthetic_frames(big_w, big_h, frames, fps, seed)
    writers = {}
    for width, height in sizes:
        path = folder / f"clip_{width}x{height}.avi"
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height), True)
        if not writer.isOpened():
            raise ConfigError(f"OpenCV cannot write MJPG video in {folder}; check the scratch folder")
        writers[(width, height)] = (path, writer)
    count = 0
    try:
        for image in source:
            for (width, height), (_, writer) in writers.items():
                writer.write(fit(image, width, height))
            count += 1
    finally:
        for _, writer in writers.values():
            writer.release()
    if count < 2:
        raise SourceError(f"--input {input_path}: fewer than 2 frames could be read")
    log.info("wrote %d frames at %d sizes into %s", count, len(sizes), folder)
    clips = []
    for (width, height), (path, _) in writers.items():
        # `fit` keeps the full height or the full width of the source: the larger of the two ratios
        scale = max(width / big_w, height / big_h)
        ppm = None if input_path is not None else SYNTHETIC_PX_PER_MM * scale
        speed = None if input_path is not None else SYNTHETIC_SPEED_M_PER_MIN
        raw = write_raw_frames(path, path.with_suffix(".raw"))
        jpegs = None
        if jpeg_quality is not None:
            quality = jpeg_quality or bus_quality(raw, camera_fps)
            jpegs = write_jpeg_frames(raw, path.with_suffix(".jpegs"), quality)
        clips.append(Clip(path, raw, width, height, raw.frames, fps, ppm, speed, jpegs))
    return clips
