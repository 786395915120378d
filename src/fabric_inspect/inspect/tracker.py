"""Associate per-frame detections into physical defects, so each defect is reported once.

Detections are placed in roll coordinates (x in frame pixels, y in pixels along the roll, from the
motion estimate), where a defect on the fabric stands still; a detection joins the track whose roll box
it overlaps (within `gate_px`). A track is confirmed once it is seen in `k` of the last `n` frames
(flicker is rejected) and is closed when it has left the view or has not been seen for `max_missed`
frames. Closed confirmed tracks become `DefectEvent`s.

A reported line along the roll (a broken end, a reed mark: a box at least `LINE_ASPECT` times as long
as it is wide) is a streak that the model rarely lights from end to end. It is held open until the
fabric `line_gap_mm` past its far end has come into view, and a detection of its class in its column
within that gap continues it: one report per streak, with its whole length, not one per lit stretch.
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.postprocess import Detection

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 (roll coordinates: y grows along the roll)
LINE_ASPECT = 3.0  # a track this many times longer along the roll than wide is a line (see above)


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """Confirm in k of n frames; close after max_missed unseen frames; gate_px of slack when matching."""

    k: int = 3
    n: int = 5
    max_missed: int = 5
    gate_px: float = 24.0
    px_per_mm: float = 1.0
    crop_margin_px: int = 16
    # a reported line along the roll that lights up again within this distance continues (0: off)
    line_gap_mm: float = 500.0

    def __post_init__(self) -> None:
        if not 1 <= self.k <= self.n:
            raise ConfigError(f"--confirm k of n needs 1 <= k <= n, got k={self.k}, n={self.n}")
        if self.n > 100:
            raise ConfigError(f"--confirm n must be <= 100 frames, got {self.n}")
        if self.max_missed < 1:
            raise ConfigError(f"--max-missed must be >= 1 frame, got {self.max_missed}")
        if self.gate_px < 0:
            raise ConfigError(f"gate_px must be >= 0, got {self.gate_px}")
        if self.px_per_mm <= 0:
            raise ConfigError(f"--px-per-mm must be > 0, got {self.px_per_mm}")
        if self.crop_margin_px < 0:
            raise ConfigError(f"crop margin must be >= 0, got {self.crop_margin_px}")
        if self.line_gap_mm < 0:
            raise ConfigError(f"--line-gap must be >= 0 mm, got {self.line_gap_mm}")

    @property
    def line_gap_px(self) -> float:
        return self.line_gap_mm * self.px_per_mm


@dataclass(frozen=True, slots=True)
class DefectEvent:
    """One physical defect, as reported (events file, database, alarms)."""

    id: int
    class_name: str
    score: float
    first_frame: int
    last_frame: int
    roll_y_mm: float
    roll_x_mm: float
    length_mm: float
    width_mm: float
    best_frame: int
    bbox: tuple[int, int, int, int]
    time: str
    crop: np.ndarray | None = field(default=None, repr=False, compare=False)
    crop_path: str | None = None

    def to_json(self) -> dict:
        """The events-file keys (docs/architecture.md); crop_path only when crops are written."""
        record = {
            "id": self.id,
            "class": self.class_name,
            "score": round(self.score, 4),
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "roll_y_mm": round(self.roll_y_mm, 1),
            "roll_x_mm": round(self.roll_x_mm, 1),
            "length_mm": round(self.length_mm, 1),
            "width_mm": round(self.width_mm, 1),
            "best_frame": self.best_frame,
            "bbox": list(self.bbox),
            "time": self.time,
        }
        if self.crop_path is not None:
            record["crop_path"] = self.crop_path
        return record


@dataclass(slots=True, eq=False)  # identity: tracks hold arrays
class Track:
    """A defect being followed (mutable, internal to the tracker)."""

    key: int
    box: Box
    first_frame: int
    first_time: float
    last_frame: int
    best: Detection
    best_frame: int
    crop: np.ndarray | None
    hits: deque[int]
    votes: dict[str, float]
    last_step: int
    defect_id: int = 0  # 0 until confirmed

    @property
    def confirmed(self) -> bool:
        return self.defect_id > 0

    @property
    def class_name(self) -> str:
        return max(self.votes, key=lambda name: self.votes[name])

    @property
    def is_streak(self) -> bool:
        """A reported line along the roll (held open across the gaps in its detection)."""
        x0, y0, x1, y1 = self.box
        return self.confirmed and y1 - y0 >= LINE_ASPECT * (x1 - x0)


def roll_box(bbox: tuple[int, int, int, int], offset_px: float, frame_height: int) -> Box:
    """Frame box -> roll coordinates: row y of a frame, after offset_px of travel, is at offset + (H - y)."""
    x0, y0, x1, y1 = bbox
    return (float(x0), offset_px + frame_height - y1, float(x1), offset_px + frame_height - y0)


def overlap_matrix(a: np.ndarray, b: np.ndarray, gate: float) -> np.ndarray:
    """Intersection areas of every box in a (Nx4) with every box in b (Mx4), each box grown by `gate`
    on every side (0 where apart): an NxM array."""
    w = np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 2 * gate
    h = np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 2 * gate
    return np.maximum(w, 0.0) * np.maximum(h, 0.0)


class Tracker:
    """Roll-coordinate tracker; `update` once per processed frame, `finish` at the end of the run."""

    def __init__(self, config: TrackerConfig, x_origin_px: float = 0.0) -> None:
        self.config = config
        self.x_origin_px = x_origin_px
        self.tracks: list[Track] = []
        self.current: list[tuple[Detection, Track]] = []  # this frame's detections and their tracks
        self.rejected = 0  # tracks dropped without confirmation (flicker)
        self._step = 0
        self._keys = 0
        self._reported = 0
        self._boxes = np.zeros((0, 4))

    def update(
        self, detections: list[Detection], frame: Frame, offset_px: float
    ) -> tuple[list[DefectEvent], list[DefectEvent]]:
        """Add one frame's detections; return (defects confirmed now, defects closed now)."""
        self._step += 1
        self.current = []
        self._rebuild()
        boxes = [roll_box(d.bbox, offset_px, frame.height) for d in detections]
        owners = self._owners(boxes)
        for detection, box, owner in zip(detections, boxes, owners, strict=True):
            if owner < 0:  # new tracks go at the end: the rows _streak_owner gives stay valid
                owner = self._streak_owner(box, detection)
            if owner < 0:
                track = self._start(box, detection, frame)
            else:
                track = self.tracks[owner]
                self._extend(track, box, detection, frame)
            self.current.append((detection, track))
        self._merge_touching()
        confirmed = [self._event(t) for t in self._confirm()]
        return confirmed, self._close(offset_px, offset_px + frame.height)

    @property
    def confirmed_count(self) -> int:
        """Defects confirmed so far (reported ones plus those still in view)."""
        return self._reported

    def finish(self) -> list[DefectEvent]:
        """Close every open track (end of run); the confirmed ones become events."""
        closing, self.tracks = self.tracks, []
        return [self._event(t) for t in closing if t.confirmed]

    def _rebuild(self) -> None:
        """The open tracks' boxes as one array, for vectorized matching."""
        self._boxes = np.array([t.box for t in self.tracks], dtype=np.float64).reshape(-1, 4)

    def _owners(self, boxes: list[Box]) -> np.ndarray:
        """For each detection box, the row of the open track it overlaps most (-1: none), in one go."""
        if not boxes or not self.tracks:
            return np.full(len(boxes), -1)
        values = overlap_matrix(np.array(boxes), self._boxes, self.config.gate_px)
        best = values.argmax(axis=1)
        return np.where(values[np.arange(len(boxes)), best] > 0, best, -1)

    def _streak_owner(self, box: Box, detection: Detection) -> int:
        """The row of the streak this unmatched detection continues: a reported line of its class, in its
        column and no wider, at most line_gap_mm from it along the roll (-1: none)."""
        gate, gap = self.config.gate_px, self.config.line_gap_px
        for row, track in enumerate(self.tracks):
            x0, y0, x1, y1 = track.box
            if (
                track.is_streak
                and track.class_name == detection.class_name
                and x0 - gate <= box[0]
                and box[2] <= x1 + gate
                and box[1] - y1 <= gap
                and y0 - box[3] <= gap
            ):
                return row
        return -1

    def _merge_touching(self) -> None:
        """Pieces of one defect (a broken line seen as fragments) that have grown into each other become
        one track. Two already-reported defects are left apart (each has had its alarm and id)."""
        touched = list({id(t): t for _, t in self.current}.values())
        if not touched:
            return
        self._rebuild()
        values = overlap_matrix(np.array([t.box for t in touched]), self._boxes, self.config.gate_px / 2)
        gone: set[int] = set()
        for i, j in zip(*np.nonzero(values > 0), strict=True):
            track, other = touched[i], self.tracks[j]
            if (
                other is track
                or id(track) in gone
                or id(other) in gone
                or (track.confirmed and other.confirmed)
            ):
                continue
            self._absorb(track, other)
            gone.add(id(other))
        if gone:
            self.tracks = [t for t in self.tracks if id(t) not in gone]
            self._rebuild()

    def _absorb(self, keep: Track, other: Track) -> None:
        a, b = keep.box, other.box
        keep.box = (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))
        if other.confirmed:
            keep.defect_id = other.defect_id
        if other.first_frame < keep.first_frame:
            keep.first_frame, keep.first_time = other.first_frame, other.first_time
        keep.last_frame = max(keep.last_frame, other.last_frame)
        keep.last_step = max(keep.last_step, other.last_step)
        keep.hits = deque(sorted(set(keep.hits) | set(other.hits)), maxlen=self.config.n)
        for name, value in other.votes.items():
            keep.votes[name] = keep.votes.get(name, 0.0) + value
        if other.best.score > keep.best.score:
            keep.best, keep.best_frame, keep.crop = other.best, other.best_frame, other.crop
        self.current = [(d, keep if t is other else t) for d, t in self.current]

    def _start(self, box: Box, detection: Detection, frame: Frame) -> Track:
        self._keys += 1
        track = Track(
            key=self._keys,
            box=box,
            first_frame=frame.index,
            first_time=frame.wall_time,
            last_frame=frame.index,
            best=detection,
            best_frame=frame.index,
            crop=self._crop(frame, detection),
            hits=deque([self._step], maxlen=self.config.n),
            votes={detection.class_name: detection.score},
            last_step=self._step,
        )
        self.tracks.append(track)
        return track

    def _extend(self, track: Track, box: Box, detection: Detection, frame: Frame) -> None:
        a = track.box
        track.box = (min(a[0], box[0]), min(a[1], box[1]), max(a[2], box[2]), max(a[3], box[3]))
        track.last_frame = frame.index
        track.votes[detection.class_name] = track.votes.get(detection.class_name, 0.0) + detection.score
        if track.last_step != self._step:
            track.hits.append(self._step)
            track.last_step = self._step
        if detection.score > track.best.score:
            track.best, track.best_frame = detection, frame.index
            track.crop = self._crop(frame, detection)

    def _crop(self, frame: Frame, detection: Detection) -> np.ndarray:
        m = self.config.crop_margin_px
        x0, y0, x1, y1 = detection.bbox
        return frame.image[max(0, y0 - m) : y1 + m, max(0, x0 - m) : x1 + m].copy()

    def _confirm(self) -> list[Track]:
        newly = []
        window_start = self._step - self.config.n + 1
        for track in self.tracks:
            if not track.confirmed and sum(1 for s in track.hits if s >= window_start) >= self.config.k:
                self._reported += 1
                track.defect_id = self._reported
                newly.append(track)
        return newly

    def _close(self, offset_px: float, view_top: float) -> list[DefectEvent]:
        """Close tracks that left the view (below the bottom row) or went unseen too long; a streak is
        held until the fabric line_gap_mm past its far end (view_top: the top row's roll y) is in view."""
        keep, closed = [], []
        unconfirmed_limit = self.config.n - self.config.k + 1
        gap = self.config.line_gap_px
        for track in self.tracks:
            missed = self._step - track.last_step
            left_view = track.box[3] < offset_px - self.config.gate_px
            limit = self.config.max_missed if track.confirmed else unconfirmed_limit
            held = gap > 0 and track.is_streak and view_top - track.box[3] <= gap
            if held or not (left_view or missed >= limit):
                keep.append(track)
            elif track.confirmed:
                closed.append(self._event(track))
            else:
                self.rejected += 1
        self.tracks = keep
        return closed

    def _event(self, track: Track) -> DefectEvent:
        ppm = self.config.px_per_mm
        x0, y0, x1, y1 = track.box
        return DefectEvent(
            id=track.defect_id,
            class_name=track.class_name,
            score=track.best.score,
            first_frame=track.first_frame,
            last_frame=track.last_frame,
            roll_y_mm=(y0 + y1) / 2 / ppm,
            roll_x_mm=((x0 + x1) / 2 - self.x_origin_px) / ppm,
            length_mm=(y1 - y0) / ppm,
            width_mm=(x1 - x0) / ppm,
            best_frame=track.best_frame,
            bbox=track.best.bbox,
            time=dt.datetime.fromtimestamp(track.first_time, dt.UTC).isoformat(timespec="milliseconds"),
            crop=track.crop,
        )
