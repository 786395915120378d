"""Score map -> defects: threshold, connected components, class by logits, box in frame pixels.

Works on the model's small map (frame / stride), and only on the cells above threshold.

Line joining: a broken pick or thick place runs the full width of the fabric, a broken end or reed
mark along it, and the map rarely lights up every cell of such a line; its pieces would be reported
as several defects at one roll position. So components on one row band (or one column band) that are
at most `LINE_CELLS` cells thick are joined into one defect when at least one of them is a line
piece (`LINE_ASPECT` times longer than thick), or when both run along the band and are at most
`LINE_GAP` cells apart (a line just entering the view is no piece yet). Round defects (holes, knots,
stains) never join each other.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

import numpy as np

from fabric_inspect.errors import ConfigError, ModelError
from fabric_inspect.inspect.preprocess import Geometry

log = logging.getLogger(__name__)

LINE_CELLS = 2  # a line piece is at most this many map cells thick
LINE_ASPECT = 3  # ... and at least this many times longer than thick
LINE_GAP = 2  # thin bits on one band this few cells apart join even when neither is a piece yet
MAX_JOIN = 256  # components per frame beyond which lines are not joined (a saturated frame)


@dataclass(frozen=True, slots=True)
class PostprocessConfig:
    """Sensitivity: `threshold` (None = the model's calibrated one) and per-class overrides."""

    threshold: float | None = None
    class_thresholds: dict[str, float] = field(default_factory=dict)
    min_cells: int = 1  # smallest component, in score-map cells
    max_defects: int = 64  # per frame, strongest first
    join_lines: bool = True  # pieces of one line across (or along) the fabric become one defect

    def __post_init__(self) -> None:
        values = dict(self.class_thresholds)
        if self.threshold is not None:
            values["--threshold"] = self.threshold
        for name, value in values.items():
            if not 0.0 < value < 1.0:
                raise ConfigError(f"threshold for {name} must be in (0, 1), got {value}")
        if self.min_cells < 1:
            raise ConfigError(f"--min-cells must be >= 1, got {self.min_cells}")
        if not 1 <= self.max_defects <= 10_000:
            raise ConfigError(f"max_defects per frame must be in 1..10000, got {self.max_defects}")

    def resolved(self, classes: tuple[str, ...], model_threshold: float) -> np.ndarray:
        """One threshold per model class; raises ConfigError naming an unknown class (and a close match)."""
        for name in self.class_thresholds:
            if name not in classes:
                close = difflib.get_close_matches(name, classes, n=1)
                hint = (
                    f"; did you mean {close[0]!r}?" if close else f"; the model's classes are {list(classes)}"
                )
                raise ConfigError(f"--class-threshold {name}: the model has no class {name!r}{hint}")
        base = model_threshold if self.threshold is None else self.threshold
        return np.array([self.class_thresholds.get(name, base) for name in classes], dtype=np.float32)


@dataclass(frozen=True, slots=True)
class Detection:
    """One defect in one frame: box in frame pixels [x0, y0, x1, y1), class, max score, area."""

    bbox: tuple[int, int, int, int]
    class_name: str
    score: float
    area_px: int

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.bbox
        if x1 <= x0 or y1 <= y0:
            raise ValueError(f"detection bbox must have x1 > x0 and y1 > y0, got {self.bbox}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"detection score must be in 0..1, got {self.score}")


def find_defects(
    score: np.ndarray,
    class_logits: np.ndarray,
    thresholds: np.ndarray,
    classes: tuple[str, ...],
    stride: int,
    geometry: Geometry,
    min_cells: int = 1,
    max_defects: int = 64,
    join_lines: bool = True,
) -> list[Detection]:
    """Components of `score >= threshold` on the map (one threshold per class), strongest first.

    At most `max_defects` are kept: a frame with more (a wrong threshold, a lens cap, a splice) would
    otherwise stall the real-time loop (the pipeline counts such frames as `saturated_frames`).
    """
    if score.ndim != 2 or class_logits.shape[1:] != score.shape or class_logits.shape[0] != len(classes):
        raise ModelError(
            f"model output shapes do not fit: score {score.shape}, class_logits {class_logits.shape}, "
            f"{len(classes)} classes"
        )
    found = _components(score, class_logits, thresholds, min_cells)
    if found is None:
        return []
    _, stats, best, votes, kinds, keep = found
    boxes = stats[:, :5].astype(np.int64)  # left, top, width, height, area
    if join_lines and 1 < keep.size <= MAX_JOIN and (joined := _join(keep, boxes, best, votes)):
        keep, boxes, best, kinds = joined
    if keep.size > max_defects:
        log.debug("%d defects in one frame; kept the %d strongest", keep.size, max_defects)
        keep = keep[np.argsort(-best[keep], kind="stable")[:max_defects]]
    else:
        keep = keep[np.argsort(-best[keep], kind="stable")]
    return [_detection(boxes[i], classes[int(kinds[i])], float(best[i]), stride, geometry) for i in keep]


def _components(
    score: np.ndarray, class_logits: np.ndarray, thresholds: np.ndarray, min_cells: int
) -> tuple[np.ndarray, ...] | None:
    """Connected components of the cells over the lowest threshold, each classed by its summed logits:
    (labels [h, w], stats, best score, votes [K, count], class index, the components kept: over their
    class's threshold and at least `min_cells`), or None when no cell is over."""
    import cv2

    mask = score >= float(thresholds.min())
    if not mask.any():
        return None
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.view(np.uint8), connectivity=8)
    cells = np.flatnonzero(mask)
    owner = labels.ravel()[cells]
    best = np.zeros(count, dtype=np.float32)
    np.maximum.at(best, owner, score.ravel()[cells])
    logits = class_logits.reshape(class_logits.shape[0], -1)[:, cells]
    votes = np.stack([np.bincount(owner, weights=row, minlength=count) for row in logits])  # [K, count]
    kinds = votes.argmax(axis=0)
    keep = np.flatnonzero((best >= thresholds[kinds]) & (stats[:, cv2.CC_STAT_AREA] >= min_cells))
    return labels, stats, best, votes, kinds, keep[keep > 0]  # label 0 is the background


def draft_cells(
    score: np.ndarray, class_logits: np.ndarray, thresholds: np.ndarray, min_cells: int = 1
) -> np.ndarray:
    """The map's defects as a class-index image of its cells (uint8 [h, w]; 0 none, k = class k - 1):
    the cells of every component `find_defects` would report, before line joining, each in its class.
    A draft of a labeled mask, for a person to correct."""
    found = _components(score, class_logits, thresholds, min_cells)
    if found is None:
        return np.zeros(score.shape, dtype=np.uint8)
    labels, _, _, _, kinds, keep = found
    lookup = np.zeros(labels.max() + 1, dtype=np.uint8)
    lookup[keep] = kinds[keep] + 1
    return lookup[labels]


def line_pairs(boxes: np.ndarray) -> np.ndarray:
    """[n, n] bool: which components (rows of left, top, width, height) join as pieces of one line."""
    left, top, width, height = (boxes[:, i] for i in range(4))
    right, bottom = left + width, top + height

    def along(
        lo: np.ndarray,
        hi: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        thick: np.ndarray,
        long: np.ndarray,
    ) -> np.ndarray:
        thin = thick <= LINE_CELLS
        piece = thin & (long >= LINE_ASPECT * thick)
        # the bands share or touch a row (column): a slightly skewed line steps by one cell
        overlap = (lo[:, None] <= hi[None, :]) & (lo[None, :] <= hi[:, None])
        gap = np.maximum(start[:, None] - end[None, :], start[None, :] - end[:, None])
        # a line piece joins its band whatever the gap; two short bits that both run along the band
        # join when nearly touching (a line just entering the view is no piece yet)
        bit = thin & (long > thick)
        linked = piece[:, None] | piece[None, :] | ((gap <= LINE_GAP) & bit[:, None] & bit[None, :])
        return overlap & thin[:, None] & thin[None, :] & linked

    rows = along(top, bottom, left, right, height, width)
    return rows | along(left, right, top, bottom, width, height)  # rows | columns


def _join(
    keep: np.ndarray, boxes: np.ndarray, best: np.ndarray, votes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Join line pieces among the `keep` components: each group becomes its first member, with the
    union box, the summed area, the best score and the class of the summed logits. None when no two
    components join."""
    parent = list(range(keep.size))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(*np.nonzero(np.triu(line_pairs(boxes[keep]), 1)), strict=True):
        ra, rb = root(int(a)), root(int(b))
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for i in range(keep.size):
        groups.setdefault(root(i), []).append(int(keep[i]))
    if len(groups) == keep.size:
        return None
    boxes, best, votes = boxes.copy(), best.copy(), votes.copy()
    for members in groups.values():
        first, rest = members[0], members[1:]
        if not rest:
            continue
        b = boxes[members]
        x0, y0 = b[:, 0].min(), b[:, 1].min()
        x1, y1 = (b[:, 0] + b[:, 2]).max(), (b[:, 1] + b[:, 3]).max()
        boxes[first] = (x0, y0, x1 - x0, y1 - y0, b[:, 4].sum())
        best[first] = best[members].max()
        votes[:, first] = votes[:, members].sum(axis=1)
    return np.array([m[0] for m in groups.values()]), boxes, best, votes.argmax(axis=0)


def _detection(stat: np.ndarray, class_name: str, score: float, stride: int, geometry: Geometry) -> Detection:
    left, top, width, height, cells = (int(v) for v in stat[:5])  # cv2.CC_STAT_LEFT .. CC_STAT_AREA
    x0, y0 = geometry.to_frame(left * stride, top * stride)
    x1, y1 = geometry.to_frame((left + width) * stride, (top + height) * stride)
    x1 = min(x1, geometry.x0 + geometry.width)
    y1 = min(y1, geometry.y0 + geometry.height)
    area = cells * (stride / geometry.scale) ** 2
    box = (int(x0), int(y0), max(int(x0) + 1, round(x1)), max(int(y0) + 1, round(y1)))
    return Detection(box, class_name, min(1.0, score), int(area))
