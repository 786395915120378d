"""benchmarks/edge_position.py: the crops that put a defect at the centre or near two edges, and the
scores and summary it builds from them (with the shipped model, on a few rendered defects)."""

from __future__ import annotations

import pytest

from fabric_inspect.models.runtime import default_model_path, load_model


@pytest.fixture
def edge(load_benchmark):
    return load_benchmark("edge_position")


def test_windows_put_the_point_at_the_centre_or_edge_px_from_two_edges(edge):
    point, side, near = (300, 200), 224, 40
    crops = edge.windows(point, (512, 512), side, near)
    assert set(crops) == {"centre", "edge_tl", "edge_tr", "edge_bl", "edge_br"}
    where = {k: (point[0] - left, point[1] - top) for k, (top, left) in crops.items()}  # (x, y) in crop
    assert where["centre"] == (side // 2, side // 2)
    assert where["edge_tl"] == (near, near)
    assert where["edge_br"] == (side - near, side - near)
    assert where["edge_tr"] == (side - near, near)
    assert where["edge_bl"] == (near, side - near)


def test_windows_that_leave_the_image_are_left_out(edge):
    # 60 px from the left edge: no crop with the point 184 px from its left fits, nor a centred one
    crops = edge.windows((60, 256), (512, 512), 224, 40)
    assert set(crops) == {"edge_tl", "edge_bl"}
    assert all(0 <= top <= 512 - 224 and 0 <= left <= 512 - 224 for top, left in crops.values())


def test_defect_rows_score_every_crop_and_the_summary_counts_them(edge):
    if not default_model_path().is_file():
        pytest.skip("the shipped model default.onnx is not there yet (make model)")
    model = load_model(None)
    rows = [r for r in (edge.defect_rows(model, s, "hole", "high") for s in range(4)) if r is not None]
    assert rows
    for r in rows:
        assert all(0.0 <= r[k] <= 1.0 for k in ("whole", "centre", "edge"))
        corners = [r[k] for k in r if k.startswith("edge_")]
        assert r["edge"] == pytest.approx(sum(corners) / len(corners))
    summary = edge.summarize(rows, threshold=0.5)
    assert summary["all"]["defects"] == len(rows) == summary["by_class"]["hole"]["defects"]
    found = sum(r["centre"] >= 0.5 for r in rows) / len(rows)
    assert summary["all"]["centre_found"] == pytest.approx(found, abs=1e-4)
    above = sum(r["centre"] > r["edge"] for r in rows) / len(rows)
    assert summary["all"]["centre_above_edge"] == pytest.approx(above, abs=1e-4)
