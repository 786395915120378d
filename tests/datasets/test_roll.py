"""Roll videos: the weave slides continuously between frames, ground-truth boxes move with the
fabric, roll.json is consistent, and the video file opens with OpenCV."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import cv2
import numpy as np
import pytest

from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES
from fabric_inspect.datasets.roll import RollConfig, plan_roll, roll_frames, roll_truth, write_roll_video
from fabric_inspect.errors import ConfigError

KEYS = {"id", "class", "visibility", "roll_x_mm", "roll_y_mm", "length_mm", "width_mm", "frames"}
SMALL = RollConfig(
    seconds=4, fps=10, width=192, height=128, speed_m_per_min=3, px_per_mm=4, seed=5, defects_per_m=16
)


def _best_shift(a: np.ndarray, b: np.ndarray, expected: int, search: int = 4) -> int:
    """The downward row shift s near `expected` minimising |b[s:] - a[:-s]| (greyscale float).
    The search stays within a few rows: a weave is periodic, so whole repeats away match too."""
    shifts = range(max(expected - search, 1), expected + search + 1)
    errors = [np.abs(b[s:] - a[: a.shape[0] - s]).mean() for s in shifts]
    return shifts[int(np.argmin(errors))]


def test_consecutive_frames_show_the_same_weave_shifted_down_by_the_speed():
    frames = [f.astype(np.float32).mean(axis=2) for f in roll_frames(SMALL)]
    v = SMALL.shift_px  # 20 px per frame
    assert v == pytest.approx(20.0)
    for t in range(len(frames) - 1):
        a, b = frames[t], frames[t + 1]
        assert _best_shift(a, b, round(v)) == round(v)
        matched = np.abs(b[20:] - a[:-20]).mean()
        assert matched < 0.35 * np.abs(b - a).mean(), (t, matched)


def test_sub_pixel_speed_moves_the_weave_by_the_fractional_shift():
    config = RollConfig(seconds=1, fps=10, width=128, height=96, speed_m_per_min=1.875, px_per_mm=4, seed=2)
    assert config.shift_px == pytest.approx(12.5)
    frames = [f.astype(np.float32).mean(axis=2) for f in roll_frames(config)]
    # two frames apart the fabric has moved exactly 25 rows
    assert _best_shift(frames[2], frames[4], 25) == 25


def test_ground_truth_boxes_move_down_with_the_fabric():
    truth = roll_truth(SMALL)
    assert truth["defects"], "the small roll should hold defects"
    v = SMALL.shift_px
    for d in truth["defects"]:
        frames = sorted(int(k) for k in d["frames"])
        assert frames == list(range(frames[0], frames[-1] + 1))
        for t in frames[1:]:
            prev, box = d["frames"][str(t - 1)], d["frames"][str(t)]
            assert box[0] == prev[0] and box[2] == prev[2]
            if prev[1] > 0 and box[3] < SMALL.height:  # not clipped by the image edges
                assert box[1] - prev[1] == pytest.approx(v, abs=1)


def test_defect_pixels_sit_inside_their_ground_truth_boxes_and_each_box_holds_some():
    """The frame differs from a defect-free render of the same roll only around the truth boxes,
    and every defect that is not of low visibility shows inside its box."""
    plan = plan_roll(SMALL)
    clean_plan = type(plan)(loom=plan.loom, camera=plan.camera, defects=())
    truth = roll_truth(SMALL, plan)
    seen = {d["id"]: 0 for d in truth["defects"]}
    for t, (frame, clean) in enumerate(
        zip(roll_frames(SMALL, plan), roll_frames(SMALL, clean_plan), strict=True)
    ):
        diff = np.abs(frame.astype(np.int16) - clean.astype(np.int16)).max(axis=2) > 12
        allowed = np.zeros_like(diff)
        for d in truth["defects"]:
            box = d["frames"].get(str(t))
            if box:
                allowed[max(box[1] - 3, 0) : box[3] + 3, max(box[0] - 3, 0) : box[2] + 3] = True
                seen[d["id"]] += int(diff[box[1] : box[3], box[0] : box[2]].sum())
        assert not (diff & ~allowed).any(), f"frame {t}: defect pixels outside the truth boxes"
    assert all(seen[d["id"]] > 0 for d in truth["defects"] if d["visibility"] != "low"), seen


def test_roll_truth_is_consistent_with_the_config():
    truth = roll_truth(SMALL)
    assert truth["frames"] == round(SMALL.seconds * SMALL.fps) == 40
    assert (truth["width"], truth["height"], truth["fps"]) == (192, 128, 10)
    assert truth["px_per_mm"] == 4 and truth["speed_m_per_min"] == 3
    rolled_mm = SMALL.length_mm
    previous_end = -math.inf
    for d in sorted(truth["defects"], key=lambda d: d["roll_y_mm"]):
        assert set(d) == {
            "id",
            "class",
            "visibility",
            "roll_x_mm",
            "roll_y_mm",
            "length_mm",
            "width_mm",
            "frames",
        }
        assert d["class"] in DEFECT_CLASSES and d["visibility"] in VISIBILITIES
        assert 0 <= d["roll_y_mm"] <= rolled_mm
        assert 0 <= d["roll_x_mm"] <= SMALL.width / SMALL.px_per_mm
        assert d["roll_y_mm"] - d["length_mm"] / 2 > previous_end, "defects overlap along the roll"
        previous_end = d["roll_y_mm"] + d["length_mm"] / 2


def test_defect_free_roll_has_no_defects():
    config = RollConfig(seconds=1, fps=5, width=96, height=64, speed_m_per_min=3, defects_per_m=0)
    assert roll_truth(config)["defects"] == []


def test_default_roll_places_a_defect_every_metre_or_so():
    truth = roll_truth(RollConfig())  # 60 s at 20 m/min: 20 m of fabric
    assert 15 <= len(truth["defects"]) <= 40
    assert {d["class"] for d in truth["defects"]} == set(DEFECT_CLASSES)


def test_grey_roll_flicker_and_motion_blur_give_single_channel_frames():
    config = RollConfig(
        seconds=0.5, fps=10, width=96, height=64, speed_m_per_min=6, grey=True, motion_blur=True, flicker=True
    )
    frames = list(roll_frames(config))
    assert len(frames) == 5 and all(f.shape == (64, 96) and f.dtype == np.uint8 for f in frames)


def test_video_file_opens_with_the_right_frame_count_and_size(roll_video):
    path, truth = roll_video
    cap = cv2.VideoCapture(str(path))
    try:
        assert cap.isOpened()
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (240, 320, 3)
            n += 1
    finally:
        cap.release()
    assert n == truth["frames"] == 40
    assert json.loads(path.with_suffix(".json").read_text()) == truth
    assert len(truth["defects"]) >= 2


def test_avi_output_uses_mjpg(tmp_path):
    config = RollConfig(seconds=0.4, fps=5, width=96, height=64, speed_m_per_min=3, seed=1)
    write_roll_video(config, tmp_path / "r.avi", progress=False)
    cap = cv2.VideoCapture(str(tmp_path / "r.avi"))
    fourcc = int(cap.get(cv2.CAP_PROP_FOURCC)).to_bytes(4, "little").decode()
    cap.release()
    assert fourcc == "MJPG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"seconds": -1}, "--seconds"),
        ({"fps": 0}, "--fps"),
        ({"width": 10}, "--width"),
        ({"speed_m_per_min": -2}, "--speed"),
        ({"px_per_mm": 0}, "--px-per-mm"),
        ({"defects_per_m": -1}, "--defects-per-m"),
    ],
)
def test_bad_roll_options_name_the_option(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        RollConfig(**kwargs)


def test_unknown_video_suffix_is_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError, match=r"\.mp4 or \.avi"):
        write_roll_video(SMALL, tmp_path / "roll.mkv", progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", DEFECT_CLASSES)
def test_a_region_rendered_in_two_pieces_equals_it_rendered_at_once(name):
    """Every random quantity is keyed by position, so chunks of a roll join without a seam, even
    with a defect lying across the join."""
    from fabric_inspect.datasets.defects import Loom, plan_defect
    from fabric_inspect.datasets.scene import render_region
    from fabric_inspect.datasets.weave import sample_fabric

    rng = np.random.default_rng(4)
    loom = Loom(spec=sample_fabric(rng), seed=9, width=160)
    plans = [plan_defect(loom, rng, name, "high", 80.0, 100.0, span=120.0)]
    whole, whole_inst = render_region(loom, plans, -20, 240)
    top, top_inst = render_region(loom, plans, -20, 120)
    bottom, bottom_inst = render_region(loom, plans, 100, 120)
    assert whole_inst[118:122].any(), "the defect should lie across the join (row 120)"
    np.testing.assert_allclose(np.concatenate([top, bottom]), whole, atol=1e-5)
    assert np.array_equal(np.concatenate([top_inst, bottom_inst]), whole_inst)


def test_motion_blur_smooths_along_the_motion_and_flicker_changes_frame_brightness():
    base = RollConfig(seconds=1, fps=10, width=128, height=96, speed_m_per_min=15, seed=6, defects_per_m=0)
    plain = [f.astype(np.float32) for f in roll_frames(base)]
    blurred = [f.astype(np.float32) for f in roll_frames(replace(base, motion_blur=True))]
    flicker = [f.astype(np.float32) for f in roll_frames(replace(base, flicker=True))]

    def energy(frames, axis):
        return float(np.mean([np.abs(np.diff(f, axis=axis)).mean() for f in frames]))

    # vertical detail (axis 0, along the motion) drops much more than horizontal detail
    assert energy(blurred, 0) / energy(plain, 0) < 0.8 * energy(blurred, 1) / energy(plain, 1)
    spread = [np.ptp([f.mean() for f in frames]) for frames in (plain, flicker)]
    assert spread[1] > 3 * spread[0] + 1, spread


def test_same_seed_gives_the_same_roll_and_another_seed_another_fabric():
    config = RollConfig(seconds=0.5, fps=10, width=96, height=64, speed_m_per_min=6, seed=8)
    first, again = list(roll_frames(config)), list(roll_frames(config))
    other = list(roll_frames(replace(config, seed=9)))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert roll_truth(config) == roll_truth(config)
