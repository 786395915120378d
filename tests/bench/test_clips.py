"""The benchmark's input: sizes parsed strictly, frames cropped to each aspect, one clip per size."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from fabric_inspect.bench.clips import fit, make_clips, parse_sizes
from fabric_inspect.errors import ConfigError, SourceError


@pytest.mark.parametrize(
    ("text", "sizes"),
    [
        ("640x480", ((640, 480),)),
        ("640x480,1280x720, 1920X1080", ((640, 480), (1280, 720), (1920, 1080))),
    ],
)
def test_sizes_are_parsed(text, sizes):
    assert parse_sizes(text) == sizes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("640", "WxH"),
        ("640x480,", "WxH"),
        ("640*480", "WxH"),
        ("32x32", "outside 64..8192"),
        ("640x480,640x480", "twice"),
    ],
)
def test_bad_sizes_are_refused_with_the_option_named(text, message):
    with pytest.raises(ConfigError, match=f"--sizes.*{message}|{message}.*"):
        parse_sizes(text)


def test_fit_crops_a_wide_frame_around_its_centre_to_the_target_aspect():
    image = np.zeros((90, 160, 3), np.uint8)
    image[:, :20] = 255  # a white band on the far left: outside a centred 4:3 crop (120 px wide)
    out = fit(image, 64, 48)
    assert out.shape == (48, 64, 3)
    assert out.max() == 0


def test_fit_crops_a_tall_frame_top_and_bottom():
    image = np.zeros((200, 100), np.uint8)
    image[:40] = 255  # the top 40 rows: outside a centred 100x100 crop
    out = fit(image, 64, 64)
    assert out.shape == (64, 64) and out.max() == 0


def test_make_clips_writes_the_same_frames_at_every_size(tmp_path, clip_writer):
    source = clip_writer(tmp_path / "in.avi", 6, size=(160, 120), fps=25.0)
    clips = make_clips(((64, 64), (128, 96)), tmp_path, 6, input_path=source)
    assert [(c.size, c.frames, c.fps, c.px_per_mm) for c in clips] == [
        ("64x64", 6, 25.0, None),
        ("128x96", 6, 25.0, None),
    ]
    for clip in clips:
        cap = cv2.VideoCapture(str(clip.path))
        levels = []
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (clip.height, clip.width, 3)
            levels.append(round(float(frame.mean())))
        cap.release()
        assert levels == pytest.approx([0, 10, 20, 30, 40, 50], abs=3)


def test_a_synthetic_roll_carries_its_fabric_scale_per_size(tmp_path):
    clips = make_clips(((64, 64), (128, 64), (128, 128)), tmp_path, 3, fps=30.0, seed=1)
    assert [c.frames for c in clips] == [3, 3, 3]
    # rendered at 128x128 with 4 px/mm: 64x64 is it shrunk by half; 128x64 is a crop, not shrunk
    assert [c.px_per_mm for c in clips] == [2.0, 4.0, 4.0]
    assert all(c.speed_m_per_min == 20.0 for c in clips)


def test_a_missing_input_video_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"--input .*none\.mp4 does not exist"):
        make_clips(((64, 64),), tmp_path, 5, input_path=tmp_path / "none.mp4")


def test_an_unreadable_input_video_is_named(tmp_path):
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SourceError, match=r"--input .*noise\.mp4 could not be opened by OpenCV"):
        make_clips(((64, 64),), tmp_path, 5, input_path=noise)
