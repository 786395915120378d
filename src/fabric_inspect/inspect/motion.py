"""How far the fabric moved between two frames, and where each frame sits along the roll.

Phase correlation (`cv2.phaseCorrelate`) of downscaled grey frames measures the shift; `--speed`
gives the expected shift, used to reject implausible measurements and as the fallback when the
texture gives no reliable peak. The fabric moves DOWN the image (towards larger y).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from fabric_inspect.errors import ConfigError

log = logging.getLogger(__name__)

MODES = ("auto", "phase", "speed", "tile", "none")


@dataclass(frozen=True, slots=True)
class MotionConfig:
    """How the travel is found.

    auto: phase correlation, checked against the speed hint when there is one; phase: correlation only;
    speed: the hint only; tile: each frame is the next piece of the roll (image folders of line-scan
    strips); none: the fabric does not move.
    """

    mode: str = "auto"
    speed_m_per_min: float | None = None  # --speed: a hint (auto) or the motion itself (speed)
    px_per_mm: float = 1.0
    work_width: int = 320  # frames are downscaled to this width before correlating
    min_downscale: float = 4.0  # ... and by at least this factor
    min_response: float = 0.05  # phase-correlation peak below this is not trusted
    max_deviation: float = 0.5  # with a speed hint: reject measurements off by more than this fraction
    max_change: float = 0.25  # without a hint: a step this far off the recent speed needs a second opinion
    key_fraction: float = 0.15  # move the key frame on after this fraction of the frame height

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"--motion must be one of {MODES}, got {self.mode!r}")
        if self.mode == "speed" and not self.speed_m_per_min:
            raise ConfigError("--motion speed needs --speed (m/min) and --px-per-mm")
        if self.speed_m_per_min is not None and self.speed_m_per_min < 0:
            raise ConfigError(f"--speed must be >= 0 m/min, got {self.speed_m_per_min}")
        if self.px_per_mm <= 0:
            raise ConfigError(f"--px-per-mm must be > 0, got {self.px_per_mm}")
        if not 32 <= self.work_width <= 4096:
            raise ConfigError(f"motion work width must be in 32..4096, got {self.work_width}")
        if not 0.0 < self.max_deviation <= 1.0 or not 0.0 < self.max_change <= 1.0:
            raise ConfigError("motion max_deviation and max_change must be in (0, 1]")
        if not 1.0 <= self.min_downscale <= 16.0:
            raise ConfigError(f"motion min_downscale must be in 1..16, got {self.min_downscale}")
        if not 0.0 < self.key_fraction <= 0.5:
            raise ConfigError(f"motion key_fraction must be in (0, 0.5], got {self.key_fraction}")


def speed_px_per_frame(speed_m_per_min: float, px_per_mm: float, fps: float) -> float:
    """Fabric speed in image pixels per frame."""
    return speed_m_per_min * 1000.0 / 60.0 * px_per_mm / fps


class MotionEstimator:
    """Accumulates the fabric's travel in frame pixels: `offset_px` is how far it has moved since frame 0.

    Each frame is correlated with a key frame (not just the previous frame), so the sub-pixel bias of a
    measurement is paid once per key frame rather than once per frame; the key frame moves on once the
    fabric has travelled `key_fraction` of the frame height.
    """

    def __init__(self, config: MotionConfig, fps: float) -> None:
        self.config = config
        self.fps = fps
        self.expected: float | None = None  # px per frame from the speed hint
        if config.speed_m_per_min is not None and fps > 0:
            self.expected = speed_px_per_frame(config.speed_m_per_min, config.px_per_mm, fps)
        self.offset_px = 0.0
        self.last_shift = self.expected or 0.0
        self.fallbacks = 0
        self._started = False
        self._previous_index = 0
        self._key: np.ndarray | None = None
        self._previous: np.ndarray | None = None
        self._accepted = 0
        self._key_offset = 0.0
        self._window: np.ndarray | None = None
        self._factor = 1.0

    def follow_rate(self, fps: float) -> None:
        """The source now delivers `fps` frames a second (a camera that slowed its rate for a longer
        exposure): the fabric moves further per frame, so the speed hint's step and the recent step
        scale with it. A no-op while the rate is unchanged."""
        if fps == self.fps or fps <= 0:
            return
        ratio = self.fps / fps
        self.fps = fps
        self.last_shift *= ratio
        if self.config.speed_m_per_min is not None:
            self.expected = speed_px_per_frame(self.config.speed_m_per_min, self.config.px_per_mm, fps)

    def update(self, image: np.ndarray, index: int) -> float:
        """Measure the travel since the previous frame, add it to the offset, and return the offset."""
        mode = self.config.mode
        if not self._started:
            self._started = True
            self._previous_index = index
            if mode in ("auto", "phase"):
                self._key = self._previous = self._small_grey(image)
            return self.offset_px
        frames = max(1, index - self._previous_index)
        self._previous_index = index
        if mode == "none":
            offset = self.offset_px
        elif mode == "tile":
            offset = self.offset_px + image.shape[0]
        elif mode == "speed":
            offset = self.offset_px + (self.expected or 0.0) * frames
        else:
            offset = self._measure(image, frames)
        self.last_shift = (offset - self.offset_px) / frames
        self.offset_px = offset
        return offset

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        import cv2

        grey = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        # At most a quarter of the frame size (min_downscale): averaging 4x4 pixels drowns the camera's
        # fixed-pattern noise (the same in every frame: it pulls the peak to zero shift) and the fine,
        # periodic yarn texture (ambiguous); the coarse irregularities of the fabric can be followed.
        self._factor = min(1.0 / self.config.min_downscale, self.config.work_width / grey.shape[1])
        grey = cv2.resize(grey, None, fx=self._factor, fy=self._factor, interpolation=cv2.INTER_AREA)
        small = np.float32(grey)
        # Warp yarns run along the motion: their stripes are the same in every frame and would pull the
        # correlation peak to zero shift. Remove what is constant down each column (the column means).
        small -= cv2.reduce(small, 0, cv2.REDUCE_AVG)
        if self._window is None or self._window.shape != small.shape:
            self._window = cv2.createHanningWindow((small.shape[1], small.shape[0]), cv2.CV_32F)
        return small

    def _measure(self, image: np.ndarray, frames: int) -> float:
        """Travel from two correlations: against the key frame and against the previous frame.

        When both agree the value is taken as is (no history needed, so speed changes are followed);
        otherwise the one consistent with the expected step (speed hint or recent speed) is taken, and
        with none the expected step is used and counted as a fallback.
        """
        small = self._small_grey(image)
        previous, self._previous = self._previous, small
        step = self.expected if self.expected is not None else self.last_shift
        predicted = self.offset_px + step * frames
        if self._key is None or previous is None or self._key.shape != small.shape:
            self._key, self._key_offset = small, predicted
            return predicted
        by_key = self._correlate(self._key, small, self._key_offset)
        if (
            by_key is not None
            and self._accepted >= 3
            and self._plausible(by_key - self.offset_px, step * frames)
        ):
            chosen: float | None = by_key  # the usual case: one correlation per frame
        else:
            chosen = self._second_opinion(by_key, previous, small, step * frames)
        if chosen is None:
            self.fallbacks += 1
            log.debug("motion: no plausible measurement; using %.2f", predicted)
            self._key, self._key_offset = small, predicted
            return predicted
        if chosen != by_key or abs(chosen - self._key_offset) * self._factor >= self._key_limit(small):
            self._key, self._key_offset = small, chosen
        self._accepted += 1
        return chosen

    def _second_opinion(
        self, by_key: float | None, previous: np.ndarray, small: np.ndarray, expected: float
    ) -> float | None:
        """Also correlate with the previous frame: take the two when they agree, else the plausible one."""
        by_previous = self._correlate(previous, small, self.offset_px)
        found = [m for m in (by_key, by_previous) if m is not None]
        agree = len(found) == 2 and abs(found[0] - found[1]) <= 1.5 + 0.05 * abs(expected)
        if agree and self._plausible(found[0] - self.offset_px, expected, strict=False):
            return found[0]
        usable = [m for m in found if self._plausible(m - self.offset_px, expected)]
        return usable[0] if usable else None

    def _correlate(self, reference: np.ndarray, small: np.ndarray, reference_offset: float) -> float | None:
        import cv2

        (_, dy), response = cv2.phaseCorrelate(reference, small, self._window)
        if response < self.config.min_response:
            return None
        return reference_offset + dy / self._factor

    def _key_limit(self, small: np.ndarray) -> float:
        return self.config.key_fraction * small.shape[0]

    def _plausible(self, shift: float, expected: float, strict: bool = True) -> bool:
        """Near the speed hint (always, in auto mode with a hint); near the recent speed when strict."""
        if self.expected is not None and self.config.mode == "auto":
            return abs(shift - expected) <= self.config.max_deviation * max(abs(expected), 2.0)
        if not strict or self._accepted < 3:
            return True
        return abs(shift - expected) <= self.config.max_change * max(abs(expected), 2.0)
