"""benchmarks/aitex_split.py: a split by image within each fabric, links only, no image in both parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def splitter(load_benchmark):
    return load_benchmark("aitex_split")


def _fake_aitex(root: Path) -> Path:
    """File names in the AITEX layout (contents are never read by the split)."""
    for sub in ("Defect_images", "Mask_images", "NoDefect_images/rollA", "NoDefect_images/rollB"):
        (root / sub).mkdir(parents=True)
    for i in range(5):
        (root / "Defect_images" / f"00{i}0_019_02.png").write_bytes(b"img")
        (root / "Mask_images" / f"00{i}0_019_02_mask.png").write_bytes(b"mask")
    (root / "Defect_images" / "0099_030_03.png").write_bytes(b"img")  # a fabric with one image
    (root / "Mask_images" / "0099_030_03_mask1.png").write_bytes(b"m1")
    (root / "Mask_images" / "0099_030_03_mask2.png").write_bytes(b"m2")
    for i in range(6):
        (root / "NoDefect_images" / "rollA" / f"00{i}1_000_02.png").write_bytes(b"img")
        (root / "NoDefect_images" / "rollB" / f"00{i}1_000_03.png").write_bytes(b"img")
    return root


def test_split_puts_every_third_image_of_each_fabric_in_val_and_links_masks(splitter, tmp_path):
    source = _fake_aitex(tmp_path / "aitex")
    out = tmp_path / "split"
    assert splitter.main([str(source), str(out)]) == 0
    parts = json.loads((out / "split.json").read_text())
    assert not set(parts["train"]) & set(parts["val"])
    assert len(parts["train"]) + len(parts["val"]) == 5 + 1 + 12
    assert sorted(parts["val"]) == [
        "Defect_images/0010_019_02.png",
        "Defect_images/0040_019_02.png",
        "NoDefect_images/rollA/0011_000_02.png",
        "NoDefect_images/rollA/0041_000_02.png",
        "NoDefect_images/rollB/0011_000_03.png",
        "NoDefect_images/rollB/0041_000_03.png",
    ]
    assert "Defect_images/0099_030_03.png" in parts["train"]  # alone in its fabric: stays in train
    val_link = out / "val" / "Defect_images" / "0010_019_02.png"
    assert (
        val_link.is_symlink() and val_link.resolve() == (source / "Defect_images/0010_019_02.png").resolve()
    )
    assert (out / "val" / "Mask_images" / "0010_019_02_mask.png").is_symlink()
    assert not (out / "val" / "Mask_images" / "0000_019_02_mask.png").exists()  # train image's mask
    assert (out / "train" / "Mask_images" / "0099_030_03_mask2.png").is_symlink()


def test_split_refuses_a_folder_that_is_not_aitex(splitter, tmp_path, capsys):
    assert splitter.main([str(tmp_path), str(tmp_path / "out")]) == 2
    assert "Defect_images" in capsys.readouterr().err


def test_the_three_folds_validate_every_image_once_and_leave_no_stale_links(splitter, tmp_path):
    source = _fake_aitex(tmp_path / "aitex")
    out = tmp_path / "split"
    vals = []
    for fold in (0, 1, 2):  # into the same folder: each run must drop the links of the one before
        assert splitter.main([str(source), str(out), "--fold", str(fold)]) == 0
        parts = json.loads((out / "split.json").read_text())
        vals.append(set(parts["val"]))
        linked = {
            str(p.relative_to(out / "val"))
            for p in (out / "val").rglob("*.png")
            if p.is_symlink() and "Mask_images" not in p.parts
        }
        assert linked == set(parts["val"])
    assert not (vals[0] & vals[1]) and not (vals[0] & vals[2]) and not (vals[1] & vals[2])
    assert len(vals[0] | vals[1] | vals[2]) == 5 + 1 + 12
    assert "Defect_images/0099_030_03.png" in vals[0]  # alone in its fabric: validated in fold 0
    assert "Defect_images/0000_019_02.png" in vals[0]
    assert "Defect_images/0020_019_02.png" in vals[2]


def test_split_refuses_a_fold_out_of_range(splitter, tmp_path, capsys):
    source = _fake_aitex(tmp_path / "aitex")
    with pytest.raises(SystemExit) as exc:
        splitter.main([str(source), str(tmp_path / "out"), "--fold", "3"])
    assert exc.value.code == 2
    assert "--fold" in capsys.readouterr().err
