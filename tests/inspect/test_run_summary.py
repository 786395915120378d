from __future__ import annotations

import pytest

from fabric_inspect.inspect.summary import Ring, Stats, format_summary, percentiles, summarize


def test_timing_rings_stay_bounded_but_keep_the_mean_of_everything():
    ring = Ring(capacity=100)
    for value in range(1000):
        ring.append(float(value))
    assert len(ring) == 100
    assert ring.mean == pytest.approx(499.5)
    assert percentiles(ring, (50,))["p50"] == pytest.approx(949.5)  # the last 100 values: 900..999


def test_summary_counts_frames_classes_and_stage_times():
    stats = Stats(capacity=10)
    for i in range(20):
        stats.add(10.0 + i, {"inference": 5.0, "wait": 1.0})
    stats.by_class.update(["hole", "hole", "stain"])
    summary = summarize(
        stats,
        2.0,
        source="s",
        model="m",
        dropped_frames=3,
        skipped_frames=1,
        roll_length_m=1.5,
        rejected_tracks=2,
        interrupted=False,
    )
    assert summary.frames == 20 and summary.fps == 10.0
    assert summary.defects == 3 and summary.defects_by_class == {"hole": 2, "stain": 1}
    assert summary.stages_ms["inference"]["mean"] == 5.0
    assert summary.stages_ms["motion"] == {"mean": 0.0, "p50": 0.0, "p95": 0.0}
    assert summary.latency_ms["p50"] == pytest.approx(24.5)  # the last 10 latencies: 20..29 ms
    assert "defects         3 (hole 2, stain 1)" in format_summary(summary)
