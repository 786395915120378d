"""load_dataset on the project's labeled format and image-level folders; format detection; splits."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fabric_inspect.datasets.formats import detect_format
from fabric_inspect.datasets.loader import (
    Dataset,
    Sample,
    load_dataset,
    read_image,
    read_mask,
    split_by_group,
)
from fabric_inspect.errors import ConfigError, InputError


@pytest.fixture
def labeled(tmp_path: Path, layouts) -> Path:
    return layouts.labeled(tmp_path / "set")


def stems(dataset: Dataset) -> dict[str, Sample]:
    return {s.stem: s for s in dataset.samples}


def test_labeled_label_is_the_class_covering_most_mask_pixels(labeled: Path) -> None:
    dataset = load_dataset(labeled)
    assert dataset.format == "labeled" and dataset.classes == ("hole", "stain")
    samples = stems(dataset)
    assert samples["d1"].label == "hole"
    assert samples["d2"].label == "stain"  # 600 px of class 2 against 10 px of class 1
    assert samples["good_0"].label == "good" and samples["good_0"].mask_paths == ()
    assert len(dataset.defect_free) == 3 and len(dataset.defective) == 2


def test_labeled_mask_is_read_as_stored_and_defect_free_gets_zeros(labeled: Path, layouts) -> None:
    dataset = load_dataset(labeled)
    samples = stems(dataset)
    mask = read_mask(dataset, samples["d2"])
    expected = layouts.box_mask(2, (0, 0, 30, 20))
    expected[40:42, 0:5] = 1
    assert mask is not None and np.array_equal(mask, expected)
    zeros = read_mask(dataset, samples["good_1"])
    assert zeros is not None and zeros.shape == (48, 64) and not zeros.any()


def test_read_image_keeps_grey_grey_and_colour_bgr(labeled: Path, layouts) -> None:
    samples = stems(load_dataset(labeled))
    assert np.array_equal(read_image(samples["good_2"]), layouts.texture(2))
    assert np.array_equal(read_image(samples["d2"]), layouts.texture(101, colour=True))


def test_annotations_json_is_attached_to_its_samples(labeled: Path) -> None:
    entry = {"class": "hole", "visibility": "low", "bbox": [10, 10, 20, 15]}
    (labeled / "annotations.json").write_text(json.dumps({"d1": [entry], "good_0": []}))
    samples = stems(load_dataset(labeled))
    assert samples["d1"].annotations == (entry,)
    assert samples["d2"].annotations == ()


def test_folders_classes_are_folder_names_and_have_no_pixel_masks(tmp_path: Path, layouts) -> None:
    root = layouts.folders(tmp_path / "f", {"good": 2, "stain": 1, "hole": 2})
    dataset = load_dataset(root)
    assert dataset.format == "folders" and dataset.classes == ("hole", "stain")
    assert dataset.label_counts() == {"good": 2, "hole": 2, "stain": 1}
    assert all(read_mask(dataset, s) is None for s in dataset.samples)


def test_folders_classes_txt_fixes_the_class_order(tmp_path: Path, layouts) -> None:
    root = layouts.folders(tmp_path / "f", {"good": 1, "stain": 1, "hole": 1})
    (root / "classes.txt").write_text("stain\nhole\nknot\n")
    assert load_dataset(root).classes == ("stain", "hole", "knot")


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (lambda r, L: L.labeled(r), "labeled"),
        (lambda r, L: L.folders(r, {"good": 1, "hole": 1}), "folders"),
        (lambda r, L: L.mvtec(r, {"hole": 1}), "mvtec"),
        (lambda r, L: L.aitex(r), "aitex"),
    ],
)
def test_auto_format_tells_the_layouts_apart(tmp_path: Path, layouts, build, expected: str) -> None:
    build(tmp_path / "d", layouts)
    assert detect_format(tmp_path / "d") == expected


def test_unknown_format_name_suggests_the_close_one(labeled: Path) -> None:
    with pytest.raises(ConfigError, match=r"--format 'mvtek' is not one of .*did you mean 'mvtec'"):
        load_dataset(labeled, fmt="mvtek")


def test_missing_folder_and_empty_folder_are_one_line_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="is empty or in no known layout") as err:
        load_dataset(tmp_path / "empty")
    assert "\n" not in str(err.value)


def test_load_raises_with_one_line_per_problem_unless_validation_is_off(labeled: Path, layouts) -> None:
    layouts.write(labeled / "masks" / "ghost.png", layouts.box_mask(1, (0, 0, 2, 2)))
    layouts.truncate(labeled / "images" / "good_0.png")
    with pytest.raises(InputError) as err:
        load_dataset(labeled)
    lines = str(err.value).splitlines()
    assert lines[0].endswith("has 2 problems:")
    assert any("masks/ghost.png: orphan mask" in line for line in lines[1:])
    assert any("images/good_0.png: is truncated" in line for line in lines[1:])
    assert len(load_dataset(labeled, validate=False)) == 5


def _grouped(tmp_path: Path, layouts) -> Dataset:
    """6 rolls of 4 images; rolls r0..r2 hold one defect each."""
    samples = []
    for roll in range(6):
        for i in range(4):
            path = layouts.write(tmp_path / f"r{roll}_{i}.png", layouts.texture(roll * 10 + i, size=(8, 8)))
            label = "hole" if roll < 3 and i == 0 else "good"
            samples.append(Sample(path, (), label, group=f"r{roll}"))
    return Dataset(tmp_path, "folders", ("hole",), tuple(samples))


def test_group_split_keeps_rolls_whole_and_both_sides_mixed(tmp_path: Path, layouts) -> None:
    dataset = _grouped(tmp_path, layouts)
    train, val = split_by_group(dataset, 0.34, seed=1)
    assert not set(train.groups) & set(val.groups)
    assert len(train) + len(val) == len(dataset)
    for part in (train, val):
        assert part.defect_free and part.defective
    again = split_by_group(dataset, 0.34, seed=1)[1]
    assert [s.stem for s in again.samples] == [s.stem for s in val.samples]


def test_image_split_is_stratified_by_label(tmp_path: Path, layouts) -> None:
    dataset = _grouped(tmp_path, layouts)
    train, val = split_by_group(dataset, 0.34, seed=7, by="image")
    assert len(val.defect_free) == 7  # round(21 * 0.34)
    assert len(val.defective) == 1 and len(train.defective) == 2
    assert set(train.groups) & set(val.groups)  # rolls are not kept whole in this mode


@pytest.mark.parametrize(("fraction", "by"), [(0.0, "auto"), (1.0, "image"), (0.2, "roll")])
def test_bad_split_settings_are_config_errors(tmp_path: Path, layouts, fraction: float, by: str) -> None:
    with pytest.raises(ConfigError):
        split_by_group(_grouped(tmp_path, layouts), fraction, seed=0, by=by)


def test_subset_refuses_samples_of_another_dataset(labeled: Path, tmp_path: Path, layouts) -> None:
    dataset = load_dataset(labeled)
    other = Sample(layouts.write(tmp_path / "x.png", layouts.texture(1)), (), "good")
    assert len(dataset.subset(dataset.samples[:2])) == 2
    with pytest.raises(ValueError, match="not in dataset"):
        dataset.subset([other])


def test_loading_and_checking_never_import_torch(labeled: Path) -> None:
    code = (
        "import sys\n"
        "from fabric_inspect.datasets.loader import load_dataset, read_image, read_mask, split_by_group\n"
        f"d = load_dataset({str(labeled)!r})\n"
        "[read_mask(d, s) for s in d.samples]; read_image(d.samples[0]); split_by_group(d, 0.4, 0)\n"
        "import fabric_inspect.cli.data\n"
        "assert 'torch' not in sys.modules and 'albumentations' not in sys.modules, 'torch imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
