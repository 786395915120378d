"""Which fabric no inspected frame saw: the Coverage sum alone, then the pipeline on real video files."""

from __future__ import annotations

import sqlite3

import pytest

from fabric_inspect.inspect.coverage import Coverage, Gap, LooksWatch
from fabric_inspect.inspect.motion import MotionConfig
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.preprocess import PreprocessConfig
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.inspect.summary import format_summary
from fabric_inspect.inspect.tracker import TrackerConfig

PX_PER_MM = 2.0


def test_overlapping_frames_leave_nothing_uninspected():
    coverage = Coverage()
    for step in range(50):
        assert coverage.add(step * 30.0, step * 30.0 + 64) is None  # 30 px of travel, 64 px seen
    assert coverage.uninspected_px == 0 and coverage.gap_count == 0 and coverage.gaps == []


def test_travel_past_the_frame_height_leaves_the_difference_uninspected():
    coverage = Coverage()
    coverage.add(0, 64)
    assert coverage.add(100, 164) == Gap(64, 100)
    assert coverage.add(150, 214) is None  # overlaps what was seen
    assert coverage.add(300, 364) == Gap(214, 300)
    assert coverage.uninspected_px == pytest.approx(36 + 86)
    assert coverage.gap_count == 2


def test_a_stopped_or_backing_line_adds_no_gap_and_unsees_nothing():
    coverage = Coverage()
    coverage.add(0, 64)
    coverage.add(200, 264)
    coverage.add(200, 264)  # stopped
    coverage.add(150, 214)  # ran back a little
    assert coverage.add(250, 314) is None
    assert coverage.uninspected_px == 136 and coverage.seen_to == 314


def test_only_the_largest_gaps_are_listed_but_the_total_counts_them_all():
    coverage = Coverage(max_gaps=3)
    top = 10.0
    coverage.add(0, top)
    for length in (5, 1, 9, 2, 7):
        coverage.add(top + length, top + length + 10)
        top += length + 10
    assert coverage.gap_count == 5 and coverage.uninspected_px == 24
    assert [g.length_px for g in coverage.gaps] == [5, 9, 7]  # in order along the roll


def test_looks_count_how_many_inspected_frames_saw_each_point():
    steady = Coverage()
    for step in range(100):
        steady.add(step * 16.0, step * 16.0 + 64)  # 64 px seen, 16 px of travel: 4 looks inside
    assert steady.looks == pytest.approx(100 * 64 / (99 * 16 + 64))  # the roll's two ends see fewer
    gappy = Coverage()
    for step in range(10):
        gappy.add(step * 80.0, step * 80.0 + 64)  # each point seen once, the gaps not at all
    assert gappy.looks == pytest.approx(1.0)
    assert Coverage().looks == 0.0


def test_the_looks_watch_warns_when_the_fabric_crosses_the_region_in_fewer_frames_than_k():
    slow, fast = LooksWatch(k=3, window=10, quiet=50), LooksWatch(k=3, window=10, quiet=50)
    once = LooksWatch(k=1)
    warned_slow = [slow.check(far_px=i * 16.0 + 64, height_px=64) for i in range(100)]  # 4 looks
    warned_fast = [fast.check(far_px=i * 32.0 + 64, height_px=64) for i in range(100)]  # 2 looks
    assert not any(warned_slow)
    assert [i for i, w in enumerate(warned_fast) if w is not None] == [9, 59]  # a full window, then quiet
    assert warned_fast[9] == pytest.approx(2.0) and fast.warnings == 2
    assert not any(once.check(far_px=i * 200.0 + 64, height_px=64) for i in range(100))  # k=1: gaps count


def test_a_frame_whose_far_edge_lies_before_its_near_edge_is_refused():
    with pytest.raises(ValueError, match="far edge"):
        Coverage().add(10, 5)


def _fast_roll(synth, tmp_path, speed_px: float):
    roll = synth.make_roll(length=3000, width=128, height=64, speed_px=speed_px, px_per_mm=PX_PER_MM)
    return roll, synth.write_video(roll, tmp_path / "roll.avi")


def _config(roll, roi=None) -> PipelineConfig:
    speed = roll.speed_px * roll.fps * 60 / 1000 / PX_PER_MM  # m/min
    return PipelineConfig(
        preprocess=PreprocessConfig(roi=roi),
        motion=MotionConfig(mode="speed", speed_m_per_min=speed, px_per_mm=PX_PER_MM),
        tracker=TrackerConfig(px_per_mm=PX_PER_MM),
    )


def test_a_line_faster_than_the_frame_is_tall_leaves_each_step_past_it_uninspected(
    synth, tiny_model, tmp_path
):
    roll, video = _fast_roll(synth, tmp_path, speed_px=80.0)  # 80 px a frame past a 64 px frame
    sinks = SinkConfig(db=tmp_path / "i.db", roll="R1")
    summary = run(open_source(SourceConfig(str(video))), tiny_model, _config(roll), sinks)
    steps = roll.frame_count - 1
    assert summary.frames == roll.frame_count
    assert summary.uninspected_stretches == steps
    assert summary.uninspected_m == pytest.approx(steps * 16 / PX_PER_MM / 1000, abs=1e-3)
    first = summary.uninspected_at_m[0]
    assert first == pytest.approx([64 / PX_PER_MM / 1000, 80 / PX_PER_MM / 1000], abs=1e-3)
    assert f"not inspected   {summary.uninspected_m:.2f} m in {steps} stretches" in "\n".join(
        format_summary(summary)
    )
    with sqlite3.connect(tmp_path / "i.db") as db:
        (total,) = db.execute("SELECT uninspected_m FROM rolls WHERE roll_id = 'R1'").fetchone()
        rows = db.execute(
            "SELECT from_m, to_m FROM uninspected WHERE roll_id = 'R1' ORDER BY from_m"
        ).fetchall()
    assert total == pytest.approx(summary.uninspected_m)
    assert [v for r in rows for v in r] == pytest.approx([v for g in summary.uninspected_at_m for v in g])


def test_only_the_fabric_region_counts_as_seen(synth, tiny_model, tmp_path):
    roll, video = _fast_roll(synth, tmp_path, speed_px=48.0)  # overlaps the 64 px frame, not a 32 px ROI
    whole = run(open_source(SourceConfig(str(video))), tiny_model, _config(roll), SinkConfig())
    assert whole.uninspected_m == 0 and whole.uninspected_stretches == 0
    region = run(
        open_source(SourceConfig(str(video))), tiny_model, _config(roll, roi=(0, 16, 128, 48)), SinkConfig()
    )
    steps = roll.frame_count - 1
    assert region.uninspected_stretches == steps
    assert region.uninspected_m == pytest.approx(steps * 16 / PX_PER_MM / 1000, abs=1e-3)
    assert "not inspected   none" in "\n".join(format_summary(whole))


def test_a_run_reports_its_looks_and_warns_when_confirmation_cannot_be_reached(
    synth, tiny_model, tmp_path, caplog
):
    roll, video = _fast_roll(synth, tmp_path, speed_px=24.0)  # a 64 px frame: 2.7 looks, K = 3
    with caplog.at_level("WARNING", logger="fabric_inspect.inspect.pipeline"):
        fast = run(open_source(SourceConfig(str(video))), tiny_model, _config(roll), SinkConfig())
    assert fast.looks_per_point == pytest.approx(64 / 24, rel=0.05)
    warnings = [r.getMessage() for r in caplog.records if "--confirm 3/5" in r.getMessage()]
    assert len(warnings) == 1 and "for 2.7 inspected frames" in warnings[0]  # once: the run is short
    assert f"looks per point {fast.looks_per_point:.1f} (inspected frames" in "\n".join(format_summary(fast))
    caplog.clear()
    roll, video = _fast_roll(synth, tmp_path, speed_px=12.0)  # 5.3 looks
    with caplog.at_level("WARNING", logger="fabric_inspect.inspect.pipeline"):
        slow = run(open_source(SourceConfig(str(video))), tiny_model, _config(roll), SinkConfig())
    assert slow.looks_per_point == pytest.approx(64 / 12, rel=0.05)
    assert not [r for r in caplog.records if "--confirm" in r.getMessage()]
