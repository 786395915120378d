"""benchmarks/defect_contrast.py: the contrast of rendered defects against their defect-free twins,
and the recall tables by contrast band (with the shipped model, on small synthetic images)."""

from __future__ import annotations

import pytest

from fabric_inspect.datasets.synthetic import render_sample
from fabric_inspect.models.runtime import default_model_path, load_model


@pytest.fixture
def contrast(load_benchmark):
    return load_benchmark("defect_contrast")


@pytest.fixture(scope="module")
def model():
    if not default_model_path().is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    return load_model(None)


def test_a_defect_free_image_has_no_regions(contrast, model):
    seed = next(s for s in range(100) if not render_sample(s, 96).defects)
    assert contrast.region_rows(seed, 96, model) == []


def test_a_strong_hole_stands_out_more_than_a_faint_reed_mark(contrast, model):
    seeds = range(6)
    holes = [contrast.region_rows(s, 192, model, "hole", "high")[0] for s in seeds]
    marks = [contrast.region_rows(s, 192, model, "reed_mark", "low")[0] for s in seeds]
    assert all(r["class"] == "hole" and r["visibility"] == "high" for r in holes)
    # measured here: holes 3.6-37, faint reed marks 0.35-0.97 (below the weave's own variation)
    assert min(r["contrast"] for r in holes) > 2 * max(r["contrast"] for r in marks)
    assert all(r["contrast"] == pytest.approx(r["signal"] / r["noise"], rel=1e-2) for r in holes + marks)
    assert all(0.0 <= r["score"] <= 1.0 for r in holes + marks)


def test_recall_table_counts_each_band(contrast):
    rows = [
        {"class": "knot", "visibility": "high", "contrast": 0.5, "score": 0.99},
        {"class": "knot", "visibility": "high", "contrast": 4.0, "score": 0.2},
        {"class": "slub", "visibility": "low", "contrast": 4.9, "score": 0.95},
        {"class": "slub", "visibility": "high", "contrast": 5.0, "score": 0.9},
    ]
    every = contrast.recall_table(rows, 0.9, None)["all"]
    assert every["0-1"] == {"regions": 1, "found": 1, "recall": 1.0}
    assert every["3-5"] == {"regions": 2, "found": 1, "recall": 0.5}
    assert every[">= 5"] == {"regions": 1, "found": 1, "recall": 1.0}
    assert every["1-2"] == {"regions": 0, "found": 0, "recall": None}
    by_class = contrast.recall_table(rows, 0.9, "class")
    assert set(by_class) == {"knot", "slub"}
    assert by_class["knot"]["3-5"]["found"] == 0
    assert by_class["slub"]["3-5"]["found"] == 1
