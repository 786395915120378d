"""benchmarks/aitex_cv.py: per-fold and pooled figures of a cross-validation, hand-computed cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def cv(load_benchmark):
    return load_benchmark("aitex_cv")


def _image(stem: str, label: str, score: float, threshold: float, regions: int = 0, found: int = 0) -> dict:
    return {
        "stem": stem,
        "label": label,
        "group": "00",
        "score": score,
        "flagged": score >= threshold,
        "regions": regions,
        "found": found,
        "false_regions": 0,
    }


def _eval_file(path: Path, threshold: float, auroc: float, images: list[tuple]) -> Path:
    per_image = [_image(*spec[:3], threshold, *spec[3:]) for spec in images]
    for row, spec in zip(per_image, images, strict=True):
        if spec[-1] == "no mask":  # eval writes no region counts for an image without a pixel mask
            del row["regions"], row["found"], row["false_regions"]
    path.write_text(json.dumps({"threshold": threshold, "image_auroc": auroc, "per_image": per_image}))
    return path


def _two_folds(tmp_path: Path) -> list[Path]:
    # fold A, threshold 0.5: the defect outscores both defect-free images (AUROC 1)
    a = _eval_file(
        tmp_path / "a.json",
        0.5,
        1.0,
        [("d1", "knots", 0.9, 1, 1), ("g1", "good", 0.2), ("g2", "good", 0.85)],
    )
    # fold B, threshold 0.9, a model with higher scores: d2 and d4 beat both defect-free images, d3
    # only g3 (AUROC 5/6); d4 has no pixel mask
    b = _eval_file(
        tmp_path / "b.json",
        0.9,
        5 / 6,
        [
            ("d2", "nep", 0.95, 2, 1),
            ("d3", "nep", 0.85, 1, 0),
            ("d4", "nep", 0.99, "no mask"),
            ("g3", "good", 0.7),
            ("g4", "good", 0.92),
        ],
    )
    return [a, b]


def test_summary_gives_per_fold_mean_and_pooled_figures(cv, tmp_path):
    cv = cv
    summary = cv.summarize([json.loads(p.read_text()) for p in _two_folds(tmp_path)])
    assert [f["found"] for f in summary["folds"]] == [1, 1]
    assert [f["regions"] for f in summary["folds"]] == [1, 3]
    assert [f["false_alarms"] for f in summary["folds"]] == [1, 1]
    assert summary["image_auroc_mean"] == pytest.approx((1 + 5 / 6) / 2)
    assert summary["image_auroc_sd"] == pytest.approx((1 / 6) / 2**0.5)
    pooled = summary["pooled"]
    assert pooled["images"] == 8
    assert pooled["defect_recall"] == pytest.approx(2 / 4)
    assert pooled["false_alarm_rate"] == pytest.approx(2 / 4)
    # raw scores, 4 x 4 pairs: d1 0.9 beats 0.2, 0.85, 0.7 (not 0.92); d2 0.95 and d4 0.99 beat all
    # four; d3 0.85 beats 0.2 and 0.7 and ties 0.85 (a half): 3 + 4 + 4 + 2.5
    assert pooled["image_auroc_raw"] == pytest.approx(13.5 / 16)
    # from each model's threshold (logits): d1 +2.20 and d4 +2.40 beat all; d2 +0.75 loses to
    # g2 +1.73; d3 -0.46 beats g1 -1.39 and g3 -1.35 only: 4 + 4 + 3 + 2
    assert pooled["image_auroc_from_threshold"] == pytest.approx(13 / 16)


def test_cli_prints_and_writes_the_summary(cv, tmp_path, capsys):
    out = tmp_path / "cv.json"
    assert cv.main([*map(str, _two_folds(tmp_path)), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "0.917 (sd 0.118)" in printed and "defect recall 0.500" in printed
    assert json.loads(out.read_text())["pooled"]["images"] == 8


def test_an_image_in_two_files_is_refused(cv, tmp_path, capsys):
    a, _ = _two_folds(tmp_path)
    assert cv.main([str(a), str(a)]) == 2
    assert "d1" in capsys.readouterr().err


def test_a_file_that_is_not_an_eval_json_is_refused_with_its_name(cv, tmp_path, capsys):
    bad = tmp_path / "metrics.json"
    bad.write_text(json.dumps({"epochs": []}))
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    for path in (bad, broken):
        assert cv.main([str(path)]) == 2
        assert str(path) in capsys.readouterr().err
