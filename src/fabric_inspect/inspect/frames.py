"""The value that flows from a source into the pipeline: one time-stamped frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabric_inspect.errors import InputError


@dataclass(frozen=True, slots=True)
class Frame:
    """A uint8 image (BGR HxWx3 or grey HxW) stamped when it was captured or decoded.

    `t_capture` is `time.perf_counter()` (monotonic, for latency); `wall_time` is `time.time()` (for
    event time stamps).
    """

    image: np.ndarray
    index: int
    t_capture: float
    wall_time: float

    def __post_init__(self) -> None:
        image = self.image
        if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
            got = getattr(image, "dtype", type(image).__name__)
            raise InputError(f"frame {self.index}: expected a uint8 image, got {got}")
        if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
            raise InputError(f"frame {self.index}: expected HxW or HxWx3, got shape {image.shape}")
        if self.index < 0:
            raise InputError(f"frame index must be >= 0, got {self.index}")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
