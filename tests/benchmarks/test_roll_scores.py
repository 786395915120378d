"""benchmarks/roll_scores.py: each defect's best score in its boxes against the fabric's per-frame maximum."""

from __future__ import annotations

import numpy as np


def test_a_defect_counts_only_if_it_rises_above_the_fabrics_hottest_cells(load_benchmark):
    scores = load_benchmark("roll_scores")
    maps = [np.full((4, 6), 0.2, np.float32) for _ in range(3)]
    maps[0][1, 1] = 0.9  # defect 1 (high), in frame 0 at cell (1, 1)
    maps[1][2, 4] = 0.3  # defect 2 (medium), barely above its fabric
    maps[2][0, 5] = 0.5  # plain fabric, far from any defect: the hottest fabric cell
    truth = {
        "defects": [
            {"id": 1, "class": "hole", "visibility": "high", "frames": {"0": [8, 8, 16, 16]}},
            {"id": 2, "class": "slub", "visibility": "medium", "frames": {"1": [32, 16, 40, 24]}},
            {"id": 3, "class": "knot", "visibility": "low", "frames": {"2": [0, 24, 8, 32]}},
        ]
    }
    result = scores.roll_scores(maps, truth)
    assert [d["best"] for d in result["defects"]] == [0.9, 0.3, 0.2]
    assert result["fabric_max_per_frame"]["max"] == 0.5
    assert (result["medium_high"], result["medium_high_above_fabric_p99"]) == (2, 1)


def test_cells_of_a_box_round_outwards_and_stay_in_the_map(load_benchmark):
    scores = load_benchmark("roll_scores")
    rows, cols = scores.cells([3, 9, 17, 40], (4, 6))
    assert (rows, cols) == (slice(1, 4), slice(0, 3))  # y 9..40 -> cells 1..4 capped at 4
    rows, cols = scores.cells([0, 0, 8, 8], (4, 6), grow=1)
    assert (rows, cols) == (slice(0, 2), slice(0, 2))
