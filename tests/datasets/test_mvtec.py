"""MVTec AD categories read in place: classes from test/<type>, masks from ground_truth, and its problems."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fabric_inspect.datasets.check import check_dataset
from fabric_inspect.datasets.formats import detect_format
from fabric_inspect.datasets.loader import load_dataset, read_mask
from fabric_inspect.errors import InputError


@pytest.fixture
def carpet(tmp_path: Path, layouts) -> Path:
    return layouts.mvtec(tmp_path / "carpet", {"hole": 2, "color": 1})


def test_classes_are_test_types_and_stems_stay_unique(carpet: Path) -> None:
    dataset = load_dataset(carpet)
    assert dataset.format == "mvtec"
    assert dataset.classes == ("color", "hole")
    stems = [s.stem for s in dataset.samples]
    assert len(set(stems)) == len(stems) == 3 + 2 + 3  # 000.png repeats in every folder
    assert {s.split for s in dataset.samples} == {"train", "test"}
    assert sum(s.split == "train" for s in dataset.samples) == 3
    assert all(s.fabric == "carpet" for s in dataset.samples)
    assert dataset.label_counts() == {"good": 5, "hole": 2, "color": 1}


def test_mask_is_the_class_index_of_its_test_type(carpet: Path) -> None:
    dataset = load_dataset(carpet)
    sample = next(s for s in dataset.samples if s.stem == "test_hole_001")
    mask = read_mask(dataset, sample)
    hole = dataset.class_index("hole")
    assert hole == 2
    expected = np.zeros((48, 64), np.uint8)
    expected[5:12, 5:16] = hole  # box (5, 5, 15 + 1, 12) written by the fixture
    assert mask is not None and np.array_equal(mask, expected)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r, L: (r / "ground_truth/hole/001_mask.png").unlink(), "test/hole/001.png: missing mask"),
        (
            lambda r, L: L.write(r / "ground_truth/hole/007_mask.png", L.box_mask(255, (0, 0, 3, 3))),
            "ground_truth/hole/007_mask.png: orphan mask",
        ),
        (
            lambda r, L: L.write(r / "train/hole/000.png", L.texture(1)),
            "train/hole/: MVTec train/ holds only good/",
        ),
        (
            lambda r, L: L.write(r / "ground_truth/color/000_mask.png", np.zeros((8, 8), np.uint8)),
            "ground_truth/color/000_mask.png: size mismatch",
        ),
    ],
    ids=["missing-mask", "orphan-mask", "defects-in-train", "size-mismatch"],
)
def test_broken_mvtec_category_reports_one_problem(carpet: Path, layouts, mutate, expected: str) -> None:
    mutate(carpet, layouts)
    report = check_dataset(carpet)
    assert len(report.problems) == 1, report.problems
    assert expected in report.problems[0]


def test_whole_mvtec_download_asks_for_one_category(tmp_path: Path, layouts) -> None:
    layouts.mvtec(tmp_path / "mvtec_ad" / "carpet", {"hole": 1})
    layouts.mvtec(tmp_path / "mvtec_ad" / "grid", {"bent": 1})
    with pytest.raises(InputError, match=r"holds 2 MVTec AD categories \(carpet, grid\); pass one of them"):
        detect_format(tmp_path / "mvtec_ad")
