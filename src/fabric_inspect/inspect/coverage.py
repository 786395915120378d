"""Which lengths of the roll no inspected frame saw.

Every inspected frame shows the model one stretch of the roll: its fabric region (the ROI, or the
whole frame) from `offset + H - y1` to `offset + H - y0` in roll pixels (the tracker's coordinates:
row y of a frame, after `offset` pixels of travel, lies at `offset + H - y`). While consecutive
inspected frames overlap, every millimetre of fabric is seen. When the fabric travels further than
the region's height between two inspected frames (frames dropped by a slow PC on a fast line, or a
camera that stopped delivering and was reopened) the stretch between them was never inspected: a
defect there cannot have been found, so the roll's grade rests on less fabric than its length.
"""

from __future__ import annotations

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

    def add(self, near_px: float, far_px: float) -> Gap | None:
        """One inspected frame showing the roll from `near_px` to `far_px`; the gap it closes, if any."""
        if far_px < near_px:
            raise ValueError(f"a frame's far edge {far_px} lies before its near edge {near_px}")
        if self.seen_to is None:
            self.seen_to = far_px
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
