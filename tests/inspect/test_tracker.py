from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.postprocess import Detection
from fabric_inspect.inspect.tracker import Tracker, TrackerConfig

HEIGHT = 200
SPEED = 10  # px per frame, downwards


def frame(index: int) -> Frame:
    return Frame(np.zeros((HEIGHT, 300), np.uint8), index, float(index), 1.7e9 + index)


def moving(y_at_0: int, index: int, x: int = 100, size: int = 16, score: float = 0.9, name: str = "hole"):
    """A defect that sits on the fabric: its frame row grows by SPEED per frame."""
    y = y_at_0 + SPEED * index
    return Detection((x, y, x + size, y + size), name, score, size * size)


def run(tracker: Tracker, per_frame: list[list[Detection]]):
    confirmed, closed = [], []
    for index, detections in enumerate(per_frame):
        now, done = tracker.update(detections, frame(index), offset_px=SPEED * index)
        confirmed += now
        closed += done
    return confirmed, closed + tracker.finish()


def test_a_defect_moving_down_over_many_frames_is_one_track_reported_once():
    tracker = Tracker(TrackerConfig(k=3, n=5, px_per_mm=2.0))
    per_frame = [[moving(20, i, score=0.5 + 0.02 * i)] for i in range(12)]
    confirmed, closed = run(tracker, per_frame)
    assert [e.id for e in confirmed] == [1]
    assert confirmed[0].first_frame == 0
    (event,) = closed
    assert (event.first_frame, event.last_frame, event.best_frame) == (0, 11, 11)
    # roll coordinate of the box centre: offset + (H - y); the defect stands still on the fabric
    assert event.roll_y_mm == pytest.approx((HEIGHT - 20 - 8) / 2.0)
    assert event.roll_x_mm == pytest.approx(108 / 2.0)
    assert event.length_mm == pytest.approx(8.0) and event.width_mm == pytest.approx(8.0)
    assert event.bbox == moving(20, 11).bbox


def test_flicker_in_one_frame_of_n_is_not_confirmed():
    tracker = Tracker(TrackerConfig(k=3, n=5))
    per_frame = [[], [], [moving(50, 2)], [], [], [], [], []]
    confirmed, closed = run(tracker, per_frame)
    assert confirmed == [] and closed == []
    assert tracker.rejected == 1


def test_two_defects_give_two_tracks_and_flicker_gaps_do_not_split_a_track():
    tracker = Tracker(TrackerConfig(k=3, n=5))
    per_frame = []
    for i in range(10):
        found = [moving(10, i, x=30)]
        if i != 4:  # one missed frame in the second defect
            found.append(moving(10, i, x=220, name="stain"))
        per_frame.append(found)
    confirmed, closed = run(tracker, per_frame)
    assert len(confirmed) == 2
    assert sorted(e.class_name for e in closed) == ["hole", "stain"]
    assert len({e.id for e in closed}) == 2


def test_a_track_that_leaves_the_view_is_closed_at_once():
    tracker = Tracker(TrackerConfig(k=2, n=3, max_missed=50))
    closed_at = None
    for i in range(40):
        y = 100 + SPEED * i
        found = [Detection((10, y, 20, y + 10), "hole", 0.9, 100)] if y + 10 <= HEIGHT else []
        _, done = tracker.update(found, frame(i), offset_px=SPEED * i)
        if done:
            closed_at = i
            break
    # last seen at i=9 (rows 190..200); its roll box is below the view once offset passes it plus the gate
    assert closed_at is not None and closed_at < 15


def test_the_class_with_most_score_wins_and_the_crop_is_of_the_best_frame():
    tracker = Tracker(TrackerConfig(k=1, n=1, crop_margin_px=0))
    per_frame = [
        [moving(20, 0, name="knot", score=0.6)],
        [moving(20, 1, name="hole", score=0.95)],
        [moving(20, 2, name="hole", score=0.7)],
    ]
    _, closed = run(tracker, per_frame)
    (event,) = closed
    assert event.class_name == "hole" and event.best_frame == 1 and event.score == pytest.approx(0.95)
    assert event.crop is not None and event.crop.shape == (16, 16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 4, "n": 3}, "k of n"),
        ({"k": 0}, "k of n"),
        ({"max_missed": 0}, "--max-missed"),
        ({"px_per_mm": 0.0}, "--px-per-mm"),
        ({"gate_px": -1.0}, "gate_px"),
        ({"line_gap_mm": -1.0}, "--line-gap"),
    ],
)
def test_bad_tracker_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrackerConfig(**kwargs)


def test_fragments_of_one_defect_that_grow_together_are_reported_once():
    tracker = Tracker(TrackerConfig(k=3, n=5, gate_px=8))
    per_frame = []
    for i in range(8):
        y = 20 + SPEED * i
        upper = Detection((100, y, 108, y + 30), "broken_end", 0.8, 240)
        lower_start = y + 80 - min(i, 1) * 50  # a second piece, 50 px below, joined in the next frame
        lower = Detection((100, lower_start, 108, y + 120), "broken_end", 0.9, 300)
        per_frame.append([upper, lower])
    confirmed, closed = run(tracker, per_frame)
    assert len(confirmed) == 1 and len(closed) == 1
    assert closed[0].length_mm == pytest.approx(120.0)  # top of the upper piece to bottom of the lower


def streak(index: int, x: int = 100, name: str = "broken_end") -> Detection:
    """A line along the roll filling the view's height in one column (a broken end)."""
    return Detection((x, 0, x + 8, HEIGHT), name, 0.9, 8 * HEIGHT)


def test_a_line_along_the_roll_lit_in_two_stretches_is_one_report_with_its_whole_length():
    lit = [i < 10 or 50 <= i < 60 for i in range(120)]  # 40 dark frames: 400 px of fabric
    per_frame = [[streak(i)] if on else [] for i, on in enumerate(lit)]
    confirmed, closed = run(Tracker(TrackerConfig(k=3, n=5, px_per_mm=1.0, line_gap_mm=500)), per_frame)
    assert len(confirmed) == 1 and len(closed) == 1, closed
    # roll y from 0 (frame 0's bottom row) to frame 59's top row: 590 + 200
    assert closed[0].length_mm == pytest.approx(790.0)
    assert (closed[0].first_frame, closed[0].last_frame) == (0, 59)

    confirmed, closed = run(Tracker(TrackerConfig(k=3, n=5, px_per_mm=1.0, line_gap_mm=0)), per_frame)
    assert len(confirmed) == 2 and len(closed) == 2
    confirmed, closed = run(Tracker(TrackerConfig(k=3, n=5, px_per_mm=1.0, line_gap_mm=300)), per_frame)
    assert len(closed) == 2  # 410 px between the stretches' ends: beyond a 300 mm gap


def test_a_held_line_does_not_swallow_other_defects_in_its_column():
    per_frame = [[streak(i)] if i < 10 else [] for i in range(80)]
    for i in range(30, 40):  # a knot in the same column, 200-300 px past the line's far end
        knot = (96, 20 + SPEED * (i - 30), 112, 36 + SPEED * (i - 30))
        per_frame[i].append(Detection(knot, "knot", 0.9, 256))
    for i in range(50, 64):  # two short bits in another column, 80 px apart: not lines, not held
        first = moving(20 - SPEED * 50, i, x=200, name="broken_end")
        second = moving(-60 - SPEED * 50, i, x=200, name="broken_end")
        per_frame[i] += [d for d in (first, second) if d.bbox[1] >= 0]
    _, closed = run(Tracker(TrackerConfig(k=3, n=5, px_per_mm=1.0, line_gap_mm=500)), per_frame)
    assert sorted(e.class_name for e in closed) == ["broken_end"] * 3 + ["knot"], closed
