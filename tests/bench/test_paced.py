"""The camera-paced replay: frames arrive at their time, a slow consumer loses frames, none are queued."""

from __future__ import annotations

import time

import pytest

from fabric_inspect.bench.paced import PacedSource, RawFrames, write_raw_frames
from fabric_inspect.errors import SourceError


@pytest.fixture
def raw_clip(tmp_path, clip_writer):
    def make(frames: int) -> RawFrames:
        video = clip_writer(tmp_path / f"c{frames}.avi", frames)
        return write_raw_frames(video, tmp_path / f"c{frames}.raw")

    return make


def test_raw_frames_hold_every_decoded_frame(raw_clip):
    raw = raw_clip(5)
    assert (raw.frames, raw.shape) == (5, (64, 96, 3))
    assert raw.path.stat().st_size == 5 * 64 * 96 * 3


def test_a_fast_consumer_gets_frames_in_order_at_the_camera_rate(raw_clip):
    fps = 40.0
    with PacedSource(raw_clip(12), fps) as source:
        start = time.perf_counter()
        indexes = [frame.index for frame in source]
        elapsed = time.perf_counter() - start
    assert indexes == sorted(indexes) and indexes[-1] == 11
    assert len(indexes) + source.dropped == source.published == 12
    assert elapsed >= 11 / fps * 0.9  # paced, not as fast as possible


@pytest.mark.parametrize(
    ("buffer", "min_dropped", "max_age_s"),
    [
        (1, 8, 0.05),  # always the newest frame, never one that waited behind others
        (2, 6, 0.1),  # one consumer step behind at most, never a growing backlog
    ],
)
def test_a_slow_consumer_drops_frames_and_never_sees_a_backlog(raw_clip, buffer, min_dropped, max_age_s):
    ages = []
    with PacedSource(raw_clip(20), fps=100.0, buffer=buffer) as source:
        for frame in source:
            ages.append(time.perf_counter() - frame.t_capture)
            time.sleep(0.05)  # five frame times per frame
    assert len(ages) + source.dropped == source.published == 20
    assert source.dropped >= min_dropped
    assert max(ages) < max_age_s


def test_replayed_frames_are_the_clips_frames(raw_clip):
    with PacedSource(raw_clip(3), fps=20.0) as source:
        levels = [round(float(frame.image.mean())) for frame in source]
    assert levels == pytest.approx([0, 10, 20], abs=3)


def test_a_replay_longer_than_the_clip_starts_it_again_from_its_first_frame(raw_clip):
    with PacedSource(raw_clip(3), fps=50.0, frames=8) as source:
        frames = list(source)
    levels = [round(float(frame.image.mean())) for frame in frames]
    assert levels == pytest.approx([0, 10, 20, 0, 10, 20, 0, 10], abs=3)
    assert [frame.index for frame in frames] == list(range(8))
    assert source.published == 8 and source.dropped == 0


def test_stop_ends_the_replay_early(raw_clip):
    with PacedSource(raw_clip(50), fps=20.0) as source:
        seen = 0
        for _ in source:
            seen += 1
            if seen == 2:
                source.stop()
    assert seen <= 3 and source.published < 50


def test_missing_or_short_raw_frames_and_a_zero_rate_are_refused(tmp_path, raw_clip):
    raw = raw_clip(2)
    with pytest.raises(SourceError, match="frame rate > 0"):
        PacedSource(raw, 0.0)
    with pytest.raises(SourceError, match="needs frames >= 0"):
        PacedSource(raw, 30.0, frames=-1)
    with pytest.raises(SourceError, match="missing or shorter than 3 frames"):
        PacedSource(RawFrames(raw.path, raw.shape, 3), 30.0)
    with pytest.raises(SourceError, match="could not be opened"):
        write_raw_frames(tmp_path / "none.avi", tmp_path / "none.raw")


def test_an_mjpg_camera_sends_jpegs_that_the_capture_thread_decodes_into_the_clips_frames(raw_clip, tmp_path):
    import numpy as np

    from fabric_inspect.bench.paced import write_jpeg_frames

    raw = raw_clip(4)
    jpeg = write_jpeg_frames(raw, tmp_path / "c4.jpegs")
    assert (jpeg.frames, jpeg.shape) == (4, raw.shape)
    assert jpeg.path.stat().st_size == jpeg.offsets[-1] < raw.path.stat().st_size  # compressed
    expected = np.fromfile(raw.path, np.uint8).reshape(raw.frames, *raw.shape).astype(np.int16)
    with PacedSource(jpeg, fps=50.0, frames=6) as camera:
        frames = list(camera)
    assert [f.index for f in frames] == list(range(6))
    for frame in frames:  # JPEG is lossy: the same picture within a few grey levels
        assert frame.image.shape == raw.shape
        assert np.abs(frame.image.astype(np.int16) - expected[frame.index % 4]).mean() < 3.0
    assert len(camera.decode_ms) == 6 and (camera.decode_ms.values() > 0).all()
    with PacedSource(raw, fps=50.0) as plain:
        list(plain)
    assert len(plain.decode_ms) == 0  # an uncompressed camera costs no decoding


def test_a_short_jpeg_file_is_refused(raw_clip, tmp_path):
    from fabric_inspect.bench.paced import JpegFrames, write_jpeg_frames

    jpeg = write_jpeg_frames(raw_clip(2), tmp_path / "c2.jpegs")
    longer = JpegFrames(jpeg.path, jpeg.shape, (*jpeg.offsets, jpeg.offsets[-1] + 100))
    with pytest.raises(SourceError, match="missing or shorter than 3 frames"):
        PacedSource(longer, 30.0)


def test_the_bus_quality_is_the_highest_whose_stream_fits_the_bus(tmp_path):
    import numpy as np

    from fabric_inspect.bench.paced import JPEG_QUALITY, bus_quality, write_jpeg_frames

    images = np.random.default_rng(0).integers(
        0, 256, (6, 96, 128, 3), dtype=np.uint8
    )  # texture compresses little
    images.tofile(tmp_path / "noise.raw")
    raw = RawFrames(tmp_path / "noise.raw", (96, 128, 3), 6)
    best = write_jpeg_frames(raw, tmp_path / "q95.jpegs", JPEG_QUALITY)
    fps = 30.0
    assert bus_quality(raw, fps, bytes_per_s=best.bytes_per_s(fps) * 1.01) == JPEG_QUALITY
    budget = best.bytes_per_s(fps) * 0.6  # room for 60 % of the quality-95 stream
    quality = bus_quality(raw, fps, bytes_per_s=budget)
    assert 50 < quality < JPEG_QUALITY
    fitting = write_jpeg_frames(raw, tmp_path / "fit.jpegs", quality)
    assert fitting.quality == quality and fitting.bytes_per_s(fps) <= budget
    assert write_jpeg_frames(raw, tmp_path / "over.jpegs", quality + 1).bytes_per_s(fps) > budget
    assert bus_quality(raw, fps, bytes_per_s=1.0) == 50  # nothing fits: the lowest it tries
