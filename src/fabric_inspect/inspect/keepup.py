"""Tell a live run's operator, while it goes on, when the PC does not keep up with the camera.

The capture thread drops the frames a busy pipeline cannot take (`inspect.capture`) and the summary
counts them at the end. On a line that runs for hours the operator needs to know at the time: every
`window_s` of the run the drops of that window are counted, and a window with drops gives a warning
(at most one per `quiet_s`) with the share dropped, the rate inspected and what to change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fabric_inspect.errors import ConfigError


@dataclass(frozen=True, slots=True)
class KeepUpConfig:
    window_s: float = 10.0  # drops are counted over windows this long
    quiet_s: float = 60.0  # after a warning, the next one comes no sooner than this

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.quiet_s >= 0):
            raise ConfigError(
                f"keep-up window must be > 0 s and quiet time >= 0 s, got {self.window_s}, {self.quiet_s}"
            )


class KeepUpWatch:
    """Counts a live source's drops per window; `check` returns a warning's text when one is due."""

    def __init__(self, config: KeepUpConfig, dropped: Callable[[], int], camera_fps: float) -> None:
        self.config = config
        self.dropped = dropped
        self.camera_fps = camera_fps
        self.warnings = 0
        self._start: float | None = None
        self._frames = 0
        self._drops = 0
        self._warned_at: float | None = None

    def check(self, now: float, frames: int) -> str | None:
        """Called after each inspected frame: `now` (perf_counter s) and frames inspected so far."""
        if self._start is None:
            self._start, self._frames, self._drops = now, frames, self.dropped()
            return None
        elapsed = now - self._start
        if elapsed < self.config.window_s:
            return None
        drops = self.dropped() - self._drops
        inspected = frames - self._frames
        self._start, self._frames, self._drops = now, frames, self._drops + drops
        quiet = self._warned_at is not None and now - self._warned_at < self.config.quiet_s
        if drops <= 0 or quiet:
            return None
        self._warned_at = now
        self.warnings += 1
        sent = drops + inspected
        return (
            f"{drops} of the {sent} frames the camera sent in the last {elapsed:.0f} s were dropped "
            f"({100.0 * drops / sent:.0f} %): this PC inspects {inspected / elapsed:.1f} fps of the "
            f"camera's {self.camera_fps:g}"
        )
