"""Cut the fabric region (ROI) out of a frame and scale it; map model-map cells back to frame pixels.

The model converts the frame itself (see models/metadata.py), so this is at most one slice and one
`cv2.resize`: no per-pixel numpy work.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabric_inspect.errors import ConfigError


@dataclass(frozen=True, slots=True)
class PreprocessConfig:
    """roi = (x0, y0, x1, y1) in frame pixels (None = whole frame); scale resizes the ROI for the model."""

    roi: tuple[int, int, int, int] | None = None
    scale: float = 1.0

    def __post_init__(self) -> None:
        if self.roi is not None:
            x0, y0, x1, y1 = self.roi
            if x0 < 0 or y0 < 0 or x1 <= x0 or y1 <= y0:
                raise ConfigError(
                    f"--roi must be x0,y0,x1,y1 with x1 > x0 >= 0 and y1 > y0 >= 0, got {self.roi}"
                )
        if not 0.05 <= self.scale <= 4.0:
            raise ConfigError(f"--scale must be in 0.05..4, got {self.scale}")


@dataclass(frozen=True, slots=True)
class Geometry:
    """Where the model's input sits in the frame: ROI origin, ROI size and scale."""

    x0: int
    y0: int
    width: int
    height: int
    scale: float

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        """A point in model-input pixels -> frame pixels."""
        return self.x0 + x / self.scale, self.y0 + y / self.scale


def frame_geometry(config: PreprocessConfig, frame_width: int, frame_height: int) -> Geometry:
    """Validate the ROI against the frame size once (not per frame)."""
    if config.roi is None:
        return Geometry(0, 0, frame_width, frame_height, config.scale)
    x0, y0, x1, y1 = config.roi
    if x1 > frame_width or y1 > frame_height:
        raise ConfigError(f"--roi {config.roi} lies outside the {frame_width}x{frame_height} frame")
    return Geometry(x0, y0, x1 - x0, y1 - y0, config.scale)


def region(image: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The ROI of a frame, unscaled (a view, no copy)."""
    return image[geometry.y0 : geometry.y0 + geometry.height, geometry.x0 : geometry.x0 + geometry.width]


def prepare(image: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The model's input: the ROI (a view, no copy) scaled when asked."""
    import cv2

    roi = region(image, geometry)
    if geometry.scale == 1.0:
        return roi
    size = (max(1, round(geometry.width * geometry.scale)), max(1, round(geometry.height * geometry.scale)))
    interpolation = cv2.INTER_AREA if geometry.scale < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(roi, size, interpolation=interpolation)
