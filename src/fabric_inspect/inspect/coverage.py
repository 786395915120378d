"""Which lengths of the roll no inspected frame saw.

Every inspected frame shows the model one stretch of the roll: its fabric region (the ROI, or the
whole frame) from `offset + H - y1` to `offset + H - y0` in roll pixels (the tracker's coordinates:
row y of a frame, after `offset` pixels of travel, lies at `offset + H - y`). While consecutive
inspected frames overlap, every millimetre of fabric is seen. When the fabric travels further than
the region's height between two inspected frames (frames dropped by a slow PC on a fast line, or a
camera that stopped delivering and was reopened) the stretch between them was never inspected: a
defect there cannot have been found, so the roll's grade rests on less fabric than its length.

Overlap alone is not enough: a defect is reported once it is seen in K of N frames (`--confirm`), so
each point of the fabric must stay in the region for at least K inspected frames. `Coverage.looks`
gives how many inspected frames saw each point, on average over the run, and `LooksWatch` warns while
a run goes on when the fabric crosses the region in fewer inspected frames than K (a line faster than
the view, a narrow band `--roi`, a low frame rate, or frames dropped by a slow PC).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

MAX_GAPS = 100  # gaps listed one by one (the largest are kept); their total is always exact


@dataclass(frozen=True, slots=True)
class Gap:
    """A stretch of the roll no inspected frame saw, in roll pixels from the start of the roll."""

    start_px: float
    end_px: float

    @property
    def length_px(self) -> float:
        return self.end_px - self.start_px


class Coverage:
    """Adds up the uninspected stretches as inspected frames come, in frame order.

    The fabric moves one way, so what has been seen is everything from the first frame's near edge
    up to `seen_to`; a frame whose near edge lies beyond `seen_to` leaves a gap. A frame lying
    wholly behind `seen_to` (the fabric stopped or ran back a little) adds nothing.
    """

    def __init__(self, max_gaps: int = MAX_GAPS) -> None:
        self.max_gaps = max_gaps
        self.seen_to: float | None = None
        self.uninspected_px = 0.0
        self.gap_count = 0
        self.gaps: list[Gap] = []  # the largest max_gaps, in order along the roll
        self.start_px = 0.0  # the first frame's near edge
        self.inspected_px = 0.0  # every inspected frame's region height, summed

    @property
    def looks(self) -> float:
        """How many inspected frames saw each point of the fabric that was seen, on average (0 before
        any frame; a stopped line sees the same stretch again in every frame)."""
        if self.seen_to is None:
            return 0.0
        seen = self.seen_to - self.start_px - self.uninspected_px
        return self.inspected_px / seen if seen > 0 else 0.0

    def add(self, near_px: float, far_px: float) -> Gap | None:
        """One inspected frame showing the roll from `near_px` to `far_px`; the gap it closes, if any."""
        if far_px < near_px:
            raise ValueError(f"a frame's far edge {far_px} lies before its near edge {near_px}")
        self.inspected_px += far_px - near_px
        if self.seen_to is None:
            self.seen_to, self.start_px = far_px, near_px
            return None
        gap = None
        if near_px > self.seen_to:
            gap = Gap(self.seen_to, near_px)
            self.uninspected_px += gap.length_px
            self.gap_count += 1
            self._keep(gap)
        self.seen_to = max(self.seen_to, far_px)
        return gap

    def _keep(self, gap: Gap) -> None:
        self.gaps.append(gap)
        if len(self.gaps) > self.max_gaps:
            self.gaps.remove(min(self.gaps, key=lambda g: g.length_px))


class LooksWatch:
    """Warns when the fabric crosses the inspected region in fewer inspected frames than `k`.

    Over the last `window` inspected frames (a sliding window) the travel per frame gives how many
    frames each point stays in the region (its height over that travel). Below `k` a small defect
    cannot be seen the K times `--confirm K/N` asks for, so it is never reported. `check` returns
    that figure when a warning is due: at most one per `quiet` inspected frames. With k = 1 it never
    warns: a region that is not crossed at least once leaves gaps, which `Coverage` counts.
    """

    def __init__(self, k: int, window: int = 30, quiet: int = 1800) -> None:
        self.k = k
        self.window = max(2, window)
        self.quiet = quiet
        self.warnings = 0
        self._far: deque[float] = deque(maxlen=self.window)
        self._frames = 0
        self._warned_at: int | None = None

    def check(self, far_px: float, height_px: float) -> float | None:
        """After each inspected frame: its region's far edge and height (roll px); the looks per point
        over the window when a warning is due."""
        self._frames += 1
        self._far.append(far_px)
        if self.k < 2 or len(self._far) < self.window:
            return None
        travel = (self._far[-1] - self._far[0]) / (len(self._far) - 1)
        looks = height_px / travel if travel > 0 else float("inf")
        quiet = self._warned_at is not None and self._frames - self._warned_at < self.quiet
        if looks >= self.k or quiet:
            return None
        self._warned_at = self._frames
        self.warnings += 1
        return looks
