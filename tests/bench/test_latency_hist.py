"""The latency histogram each bench run carries: fixed 1 ms bins to 200 ms plus an overflow count."""

from __future__ import annotations

import pytest

from fabric_inspect.inspect.summary import Histogram, Stats, summarize

RUN_FIELDS = {
    "source": "s",
    "model": "m",
    "dropped_frames": 0,
    "skipped_frames": 0,
    "roll_length_m": 0.0,
    "rejected_tracks": 0,
    "interrupted": False,
}


@pytest.mark.parametrize(
    ("latency_ms", "counts", "overflow"),
    [
        (0.0, [1], 0),
        (0.999, [1], 0),
        (1.0, [0, 1], 0),
        (14.5, [0] * 14 + [1], 0),
        (-0.5, [1], 0),  # a clock step backwards lands in the first bin, not nowhere
        (199.99, [0] * 199 + [1], 0),
        (200.0, [], 1),
        (5000.0, [], 1),
    ],
)
def test_a_latency_lands_in_its_one_ms_bin_or_the_overflow(latency_ms, counts, overflow):
    hist = Histogram()
    hist.append(latency_ms)
    assert hist.to_json() == {"bin_ms": 1.0, "max_ms": 200.0, "counts": counts, "overflow": overflow}


def test_known_latencies_fill_the_expected_bins_and_counts_stop_at_the_last_filled_bin():
    hist = Histogram(bin_ms=2.0, max_ms=20.0)
    for value in (0.5, 1.9, 2.0, 7.3, 7.9, 8.0, 19.9, 20.0, 31.0):
        hist.append(value)
    assert hist.to_json() == {
        "bin_ms": 2.0,
        "max_ms": 20.0,
        "counts": [2, 1, 0, 2, 1, 0, 0, 0, 0, 1],
        "overflow": 2,
    }


def test_an_empty_run_has_an_empty_histogram():
    assert Histogram().to_json()["counts"] == [] and Histogram().to_json()["overflow"] == 0


def test_the_histogram_counts_every_frame_even_past_the_percentile_ring():
    stats = Stats(capacity=10)  # percentiles see the last 10 frames; the histogram sees all 500
    for i in range(500):
        stats.add(i * 0.5, {"inference": 1.0})
    hist = summarize(stats, 1.0, **RUN_FIELDS).latency_hist_ms
    assert sum(hist["counts"]) + hist["overflow"] == 500
    assert hist["counts"][:3] == [2, 2, 2] and len(hist["counts"]) == 200
    assert hist["overflow"] == 100  # 200.0 .. 249.5 ms


def test_the_histogram_stays_bounded_on_a_long_run():
    hist = Histogram()
    for i in range(100_000):
        hist.append(float(i % 400))
    assert len(hist.to_json()["counts"]) == 200 and hist.overflow == 50_000
