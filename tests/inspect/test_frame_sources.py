from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError, InputError, SourceError
from fabric_inspect.inspect.frames import Frame
from fabric_inspect.inspect.sources import SourceConfig, open_source, source_kind


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0", "camera"),
        ("/dev/video2", "camera"),
        ("rtsp://cam/1", "stream"),
        ("http://h:8080/v.mjpg", "stream"),
        ("rolls/*.png", "images"),
        ("strip.png", "images"),
        ("roll.mp4", "video"),
    ],
)
def test_input_kind_is_decided_from_its_form(text, kind):
    assert source_kind(SourceConfig(text)) == kind


def test_video_file_gives_every_frame_in_order_with_time_stamps(tmp_path: Path, synth):
    roll = synth.make_roll(length=400, height=64, width=96)
    path = synth.write_video(roll, tmp_path / "roll.avi", frames=25)
    with open_source(SourceConfig(str(path), queue_size=2)) as source:
        frames = list(source)
    assert [f.index for f in frames] == list(range(25))
    assert frames[0].image.shape == (64, 96, 3)
    stamps = [f.t_capture for f in frames]
    assert stamps == sorted(stamps)
    assert source.dropped == 0 and source.skipped == 0 and source.fps == pytest.approx(30.0)


def write_grey_alpha_png(path: Path, grey: int, shape: tuple[int, int]) -> None:
    """A PNG of colour type 4 (grey + alpha), as some AITEX strips are stored; cv2 cannot write these."""
    import struct
    import zlib

    height, width = shape
    row = b"\x00" + bytes([grey, 255]) * width

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 4, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def test_image_folder_skips_and_counts_unreadable_files_and_takes_grey_alpha(tmp_path: Path):
    import cv2

    folder = tmp_path / "strips"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((32, 256), 50, np.uint8))
    (folder / "b.png").write_bytes(b"not a png at all")
    write_grey_alpha_png(folder / "c.png", 90, (32, 256))
    (folder / "notes.txt").write_text("ignored")
    with open_source(SourceConfig(str(folder))) as source:
        frames = list(source)
    assert [f.index for f in frames] == [0, 2]
    assert frames[1].image.shape[:2] == (32, 256)
    assert np.all(frames[1].image == 90)  # the grey channel, not the alpha
    assert source.skipped == 1


def test_missing_inputs_say_what_was_expected(tmp_path: Path):
    with pytest.raises(SourceError, match="does not exist"):
        open_source(SourceConfig(str(tmp_path / "nope.mp4")))
    with pytest.raises(SourceError, match="no images found"):
        open_source(SourceConfig(str(tmp_path / "*.png")))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(SourceError, match="could not be opened"):
        open_source(SourceConfig(str(broken)))


def test_an_mp4_cut_off_before_it_was_finalized_is_named_as_such(tmp_path: Path, synth):
    """A recorder stopped by a power loss leaves media data without the index (moov) an mp4 ends with."""
    roll = synth.make_roll(length=400, height=64, width=96)
    whole = synth.write_video(roll, tmp_path / "roll.mp4", frames=25)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"cut\.mp4 holds video data but no index .*cut off"):
        open_source(SourceConfig(str(cut)))
    with open_source(SourceConfig(str(whole))) as source:  # the whole file reads
        assert len(list(source)) == 25
    not_mp4 = tmp_path / "noise.mp4"
    not_mp4.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(SourceError, match="could not be opened by OpenCV"):
        open_source(SourceConfig(str(not_mp4)))


def test_a_camera_that_cannot_be_opened_says_what_was_tried_and_what_to_try():
    with pytest.raises(SourceError, match=r"camera /dev/video99 could not be opened .*try --camera 0"):
        open_source(SourceConfig("/dev/video99", width=1280, height=720, fps=30))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input": ""}, "input"),
        ({"input": "0", "width": -1}, "--width"),
        ({"input": "0", "fourcc": "MJ"}, "fourcc"),
        ({"input": "x", "queue_size": 0}, "queue"),
    ],
)
def test_bad_source_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        SourceConfig(**kwargs)


def test_frames_are_validated_at_the_boundary():
    with pytest.raises(InputError, match="uint8"):
        Frame(np.zeros((4, 4), np.float32), 0, 0.0, 0.0)
    with pytest.raises(InputError, match="shape"):
        Frame(np.zeros((4, 4, 4), np.uint8), 0, 0.0, 0.0)
