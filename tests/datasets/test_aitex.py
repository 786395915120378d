"""AITEX read in place: codes, groups, and the release's quirks (soft masks, two masks, a missing mask,
grey+alpha PNGs), on a miniature copy; and `data check` on the real folder against its listing."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.datasets import aitex
from fabric_inspect.datasets.check import check_dataset
from fabric_inspect.datasets.loader import load_dataset, read_image, read_mask, split_by_group
from fabric_inspect.errors import InputError

REAL_AITEX = Path(__file__).resolve().parents[2].parent / "shared/data/aitex"


@pytest.fixture
def tiny(tmp_path: Path, layouts) -> Path:
    return layouts.aitex(tmp_path / "aitex")


def by_stem(dataset):
    return {s.stem: s for s in dataset.samples}


def test_codes_become_class_names_and_groups_follow_rolls_and_fabrics(tiny: Path) -> None:
    dataset = load_dataset(tiny)
    assert dataset.format == "aitex"
    assert dataset.classes == tuple(aitex.DEFECT_CODES.values())
    samples = by_stem(dataset)
    assert samples["0001_002_00"].label == "broken_end"
    assert samples["0044_019_04"].label == "fuzzyball"
    assert samples["0044_019_04"].group == "04" and samples["0044_019_04"].fabric == "04"
    good = samples["2311694-2040n7u_0002_000_00"]
    assert (good.label, good.group, good.fabric) == ("good", "2311694-2040n7u", "00")
    assert len(dataset.defect_free) == 6 and len(dataset.defective) == 5


def test_soft_mask_counts_only_values_above_127(tmp_path: Path, layouts) -> None:
    root = layouts.aitex(tmp_path / "aitex")
    ramp = np.zeros((48, 64), np.uint8)
    ramp[0, :4] = (126, 127, 128, 255)
    layouts.write(root / "Mask_images" / "0001_002_00_mask.png", ramp)
    dataset = load_dataset(root)
    mask = read_mask(dataset, by_stem(dataset)["0001_002_00"])
    assert mask is not None and mask.dtype == np.uint8 and mask.shape == (48, 64)
    broken_end = dataset.class_index("broken_end")
    assert mask[0, :4].tolist() == [0, 0, broken_end, broken_end]
    assert int(np.count_nonzero(mask)) == 2


def test_two_masks_of_one_image_are_united(tiny: Path) -> None:
    dataset = load_dataset(tiny)
    sample = by_stem(dataset)["0044_019_04"]
    assert [p.name for p in sample.mask_paths] == ["0044_019_04_mask1.png", "0044_019_04_mask2.png"]
    mask = read_mask(dataset, sample)
    fuzzyball = dataset.class_index("fuzzyball")
    assert mask is not None
    assert (mask[2:6, 2:6] == fuzzyball).all() and (mask[30:36, 50:54] == fuzzyball).all()
    assert int(np.count_nonzero(mask)) == 16 + 24


def test_image_released_without_mask_is_image_level_only(tiny: Path) -> None:
    report = check_dataset(tiny)
    assert report.ok, report.problems
    assert any("0100_025_08" in note for note in report.notes)
    sample = by_stem(report.dataset)["0100_025_08"]
    assert sample.label == "warp_ball" and sample.mask_paths == ()
    assert read_mask(report.dataset, sample) is None
    assert report.pixel_labeled == len(report.dataset) - 1


def test_empty_mask_makes_a_defect_image_level_only(tiny: Path, layouts) -> None:
    layouts.write(tiny / "Mask_images" / "0003_002_00_mask.png", np.full((48, 64), 100, np.uint8))
    report = check_dataset(tiny)
    assert report.ok, report.problems
    assert any("0003_002_00.png: mask marks no pixel" in note for note in report.notes)
    assert read_mask(report.dataset, by_stem(report.dataset)["0003_002_00"]) is None


def test_grey_alpha_image_reads_as_its_grey_channel(tiny: Path, layouts) -> None:
    dataset = load_dataset(tiny)
    image = read_image(by_stem(dataset)["0044_019_04"])
    assert image.shape == (48, 64) and image.dtype == np.uint8
    assert np.array_equal(image, layouts.texture(44))
    assert check_dataset(tiny).kinds == {"grey": 10, "grey+alpha": 1}


def test_defect_free_image_has_an_all_zero_mask(tiny: Path) -> None:
    dataset = load_dataset(tiny)
    mask = read_mask(dataset, dataset.defect_free[0])
    assert mask is not None and mask.shape == (48, 64) and not mask.any()


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r, layouts: (r / "Mask_images" / "0003_002_00_mask.png").unlink(),
            "0003_002_00.png: missing mask",
        ),
        (
            lambda r, layouts: layouts.write(
                r / "Mask_images" / "0077_002_00_mask.png", layouts.box_mask(255, (0, 0, 2, 2))
            ),
            "Mask_images/0077_002_00_mask.png: orphan mask",
        ),
        (
            lambda r, layouts: layouts.write(r / "Defect_images" / "0078_099_00.png", layouts.texture(5)),
            "0078_099_00.png: unknown class, defect code 099",
        ),
        (
            lambda r, layouts: layouts.write(
                r / "NoDefect_images" / "2306881-210020u" / "0009_019_05.png", layouts.texture(5)
            ),
            "defect code 019 in NoDefect_images",
        ),
        (
            lambda r, layouts: layouts.write(
                r / "Mask_images" / "0001_002_00_mask.png", np.zeros((10, 10), np.uint8)
            ),
            "0001_002_00_mask.png: size mismatch, mask is 10x10 but image is 64x48",
        ),
    ],
    ids=["missing-mask", "orphan-mask", "unknown-code", "defect-code-in-good-roll", "size-mismatch"],
)
def test_broken_aitex_folder_reports_one_clear_problem(tiny: Path, layouts, mutate, expected: str) -> None:
    mutate(tiny, layouts)
    report = check_dataset(tiny)
    assert len(report.problems) == 1, report.problems
    assert expected in report.problems[0]
    with pytest.raises(InputError, match=re.escape(expected)):
        load_dataset(tiny)


def test_split_by_image_within_fabric_keeps_each_fabric_on_both_sides(tmp_path: Path, layouts) -> None:
    root = layouts.aitex(tmp_path / "aitex", good_per_roll=6)
    dataset = load_dataset(root)
    train, val = split_by_group(dataset, 0.34, seed=3, by="image_within_fabric")
    assert len(train) + len(val) == len(dataset)
    for fabric in ("05", "00"):  # 6 defect-free images each, so both sides get some
        assert any(s.fabric == fabric for s in val.defect_free)
        assert any(s.fabric == fabric for s in train.defect_free)
    # fabrics 00 and 04 hold two defect images each: one each way; fabric 08's single one stays in train
    val_defects = Counter(s.fabric for s in val.defective)
    assert val_defects == Counter({"00": 1, "04": 1})
    assert any(s.stem == "0100_025_08" for s in train.samples)


def _listing(root: Path) -> tuple[int, int, Counter[str], int]:
    """Counts computed from the directory listing alone: defect, defect-free, per code, masked images."""
    defects = sorted((root / "Defect_images").glob("*.png"))
    good = sorted((root / "NoDefect_images").glob("*/*.png"))
    codes = Counter(p.stem.split("_")[1] for p in defects)
    mask_stems = {re.sub(r"_mask\d*$", "", p.stem) for p in (root / "Mask_images").glob("*.png")}
    return len(defects), len(good), codes, sum(p.stem in mask_stems for p in defects)


@pytest.mark.slow
@pytest.mark.skipif(not REAL_AITEX.is_dir(), reason=f"real AITEX data not present at {REAL_AITEX}")
def test_data_check_on_real_aitex_matches_the_folder_listing() -> None:
    n_defect, n_good, codes, n_masked = _listing(REAL_AITEX)
    result = CliRunner().invoke(app, ["data", "check", str(REAL_AITEX)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert re.search(rf"^defect-free\s+{n_good}$", out, re.M)
    assert re.search(rf"^defective\s+{n_defect}$", out, re.M)
    for code, count in codes.items():
        assert re.search(rf"^\s+{code} {aitex.DEFECT_CODES[code]}\s+{count}$", out, re.M), code
    assert "0044_019_04_mask1.png + 0044_019_04_mask2.png" in out
    assert "0100_025_08.png: released without a mask" in out
    assert "problems  none" in out
    # Pixel-labeled: every defect-free image, and every defect image with a non-empty mask.
    empty = len(re.findall(r"mask marks no pixel > 127", out))
    assert re.search(rf"^pixel masks  {n_good + n_masked - empty} of {n_good + n_defect} images", out, re.M)
    assert re.search(rf"^sizes    4096x256 \({n_good + n_defect}\)$", out, re.M)
    assert re.search(r"^stored   .*grey\+alpha \(\d+\)", out, re.M)  # some are stored grey+alpha
