"""K-fold splits (`fabric-inspect data split`): the K held-out parts are disjoint and hold every image
once, each class is spread evenly, whole rolls stay together, and the written train/ and val/ folders
read back in the input's layout with the right images, masks, classes and annotations."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.datasets.folds import fold_parts, write_fold
from fabric_inspect.datasets.loader import load_dataset
from fabric_inspect.datasets.samples import Dataset, Sample
from fabric_inspect.errors import ConfigError, InputError

runner = CliRunner()


def _fake(labels: dict[str, int], groups: int = 0) -> Dataset:
    """A dataset of `labels[name]` images per label (never read: folds use names and labels only)."""
    samples, i = [], 0
    for label, count in labels.items():
        for _ in range(count):
            group = f"roll{i % groups}" if groups else ""
            samples.append(Sample(f"/x/{i:03d}.png", (), label, group=group, stem=f"{i:03d}"))
            i += 1
    classes = tuple(sorted(name for name in labels if name != "good"))
    return Dataset("/x", "labeled", classes, samples)


@pytest.mark.parametrize("folds", [2, 3, 5])
def test_parts_are_disjoint_complete_and_stratified(folds):
    dataset = _fake({"good": 23, "hole": 10, "slub": 4, "knot": 1})
    parts = fold_parts(dataset, folds, seed=3, by="image")
    stems = [s.stem for part in parts for s in part]
    assert sorted(stems) == sorted(s.stem for s in dataset.samples)  # each image exactly once
    sizes = [len(part) for part in parts]
    assert max(sizes) - min(sizes) <= 1
    for label, total in dataset.label_counts().items():
        per_part = [sum(s.label == label for s in part) for part in parts]
        assert max(per_part) - min(per_part) <= 1, (label, per_part)
        assert sum(per_part) == total


def test_the_seed_changes_the_deal_and_the_same_seed_repeats_it():
    dataset = _fake({"good": 12, "hole": 9})
    first = [[s.stem for s in p] for p in fold_parts(dataset, 3, seed=0)]
    assert first == [[s.stem for s in p] for p in fold_parts(dataset, 3, seed=0)]
    assert first != [[s.stem for s in p] for p in fold_parts(dataset, 3, seed=1)]


def test_by_group_keeps_each_roll_in_one_part():
    dataset = _fake({"good": 30, "hole": 12}, groups=6)
    parts = fold_parts(dataset, 3, seed=0, by="group")
    where = {}
    for k, part in enumerate(parts):
        for sample in part:
            assert where.setdefault(sample.group, k) == k
    assert sorted(Counter(where.values()).values()) == [2, 2, 2]


@pytest.mark.parametrize(
    ("folds", "by", "message"),
    [
        (1, "image", "--folds must be in 2..20, got 1"),
        (21, "image", "--folds must be in 2..20"),
        (4, "image", "has only 3 images; use --folds 3 or fewer"),
        (2, "rolls", "--by must be one of"),
    ],
)
def test_impossible_folds_are_refused(folds, by, message):
    with pytest.raises(ConfigError, match=message):
        fold_parts(_fake({"good": 2, "hole": 1}), folds, by=by)


def test_written_folds_read_back_as_the_same_labeled_dataset(synthetic_dataset, tmp_path):
    source = load_dataset(synthetic_dataset)
    annotations = json.loads((synthetic_dataset / "annotations.json").read_text())
    seen: list[str] = []
    for fold in range(3):
        record = write_fold(source, tmp_path / f"f{fold}", folds=3, fold=fold, seed=1)
        train = load_dataset(tmp_path / f"f{fold}" / "train")
        val = load_dataset(tmp_path / f"f{fold}" / "val")
        assert train.format == val.format == "labeled" and train.classes == source.classes
        assert sorted(s.stem for s in val.samples) == record["val"]
        assert not {s.stem for s in train.samples} & {s.stem for s in val.samples}
        assert len(train) + len(val) == len(source)
        labels = {s.stem: s.label for s in source.samples}
        assert all(s.label == labels[s.stem] for s in (*train.samples, *val.samples))
        kept = json.loads((tmp_path / f"f{fold}" / "val" / "annotations.json").read_text())
        assert kept == {stem: annotations[stem] for stem in record["val"] if stem in annotations}
        assert (tmp_path / f"f{fold}" / "val" / "images").iterdir().__next__().is_symlink()
        seen += record["val"]
    assert sorted(seen) == sorted(s.stem for s in source.samples)


def test_aitex_folds_keep_the_aitex_layout_and_every_fabric(layouts, tmp_path):
    source = load_dataset(layouts.aitex(tmp_path / "aitex"))
    record = write_fold(source, tmp_path / "f0", folds=2, fold=0)
    assert record["by"] == "image_within_fabric"
    parts = [load_dataset(tmp_path / "f0" / part) for part in ("train", "val")]
    assert [p.format for p in parts] == ["aitex", "aitex"]
    assert sum(len(p) for p in parts) == len(source)
    two_masks = [s for p in parts for s in p.samples if s.stem == "0044_019_04"]
    assert len(two_masks) == 1 and len(two_masks[0].mask_paths) == 2


def test_a_full_out_folder_and_mvtec_are_refused(layouts, synthetic_dataset, tmp_path):
    source = load_dataset(synthetic_dataset)
    write_fold(source, tmp_path / "f0", folds=3, fold=0)
    with pytest.raises(InputError, match="is not empty; give a new folder"):
        write_fold(source, tmp_path / "f0", folds=3, fold=1)
    with pytest.raises(ConfigError, match=r"--fold must be in 0\.\.2"):
        write_fold(source, tmp_path / "f9", folds=3, fold=3)
    mvtec = load_dataset(layouts.mvtec(tmp_path / "mvtec", {"hole": 2}))
    with pytest.raises(ConfigError, match="MVTec AD, whose train/ and test/ are its own split"):
        write_fold(mvtec, tmp_path / "m0", folds=2, fold=0)


def test_data_split_cli_prints_both_parts_and_refuses_bad_options_in_one_line(synthetic_dataset, tmp_path):
    result = runner.invoke(
        app, ["data", "split", str(synthetic_dataset), "--out", str(tmp_path / "f1"), "--fold", "1"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("train") and lines[1].startswith("val") and "fold 1 of 3" in lines[2]
    bad = runner.invoke(
        app, ["data", "split", str(synthetic_dataset), "--out", str(tmp_path / "x"), "--folds", "1"]
    )
    assert bad.exit_code == 2
    assert bad.output.strip() == "error: --folds must be in 2..20, got 1"
    missing = runner.invoke(app, ["data", "split", str(tmp_path / "nowhere"), "--out", str(tmp_path / "y")])
    assert missing.exit_code == 2 and "is not a folder" in missing.output
