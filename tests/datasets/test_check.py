"""check_dataset and `fabric-inspect data check`: the summary figures and one line per problem."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.datasets.check import check_dataset, summary_lines


@pytest.fixture
def labeled(tmp_path: Path, layouts) -> Path:
    return layouts.labeled(tmp_path / "set")


def test_summary_counts_sizes_and_defect_fraction_of_a_clean_dataset(labeled: Path, layouts) -> None:
    report = check_dataset(labeled)
    assert report.ok, report.problems
    assert report.label_counts == {"good": 3, "hole": 1, "stain": 1}
    assert report.sizes == {(64, 48): 5}
    assert report.kinds == {"grey": 4, "BGR": 1}
    defect_px = 10 * 5 + (30 * 20 + 2 * 5)  # d1's box; d2's two boxes
    assert report.defect_pixels == defect_px
    assert report.defect_fraction == pytest.approx(defect_px / (2 * 64 * 48))
    assert report.defect_pixels_range == (50, 610)
    assert "defective    2" in summary_lines(report)


def _mask_value_3(root: Path, L) -> None:
    L.write(root / "masks" / "d1.png", L.box_mask(3, (0, 0, 4, 4)))


def _annotation_for_no_image(root: Path, L) -> None:
    (root / "annotations.json").write_text('{"zz": []}')


PROBLEMS = [
    (
        lambda r, L: L.write(r / "masks" / "ghost.png", L.box_mask(1, (0, 0, 2, 2))),
        "masks/ghost.png: orphan mask",
    ),
    (lambda r, L: (r / "classes.txt").unlink(), "classes.txt is missing"),
    (
        lambda r, L: L.write(r / "masks" / "d1.png", np.zeros((10, 64), np.uint8)),
        "masks/d1.png: size mismatch",
    ),
    (
        lambda r, L: L.truncate(r / "images" / "good_1.png"),
        "images/good_1.png: is truncated: PNG ends without",
    ),
    (lambda r, L: L.truncate(r / "masks" / "d2.png", 0.8), "masks/d2.png: is truncated"),
    (lambda r, L: (r / "images" / "good_2.png").write_bytes(b"not a png"), "images/good_2.png: is not a PNG"),
    (lambda r, L: (r / "images" / "good_2.png").write_bytes(b""), "images/good_2.png: is empty (0 bytes)"),
    (_mask_value_3, "masks/d1.png: values 3 are unknown classes (classes.txt lists 2"),
    (_annotation_for_no_image, "annotations.json: stem 'zz' has no image in images/"),
    (lambda r, L: (r / "images" / "notes.txt").write_text("x"), "images/notes.txt: is not an image file"),
    (lambda r, L: (r / "classes.txt").write_text("hole\n\nstain\n"), "classes.txt: line 2 is blank"),
    (
        lambda r, L: L.write(r / "images" / "good_1.png", np.full((48, 64), 4000, np.uint16)),
        "images/good_1.png: is uint16 (16-bit); expected an 8-bit image",
    ),
    (
        lambda r, L: L.write(r / "masks" / "d1.png", np.zeros((48, 64, 3), np.uint8)),
        "masks/d1.png: is BGR; expected a single-channel uint8 class-index PNG",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    PROBLEMS,
    ids=[
        "orphan-mask",
        "no-classes-txt",
        "size-mismatch",
        "truncated-png",
        "truncated-mask",
        "garbage",
        "empty-file",
        "unknown-class-value",
        "annotation-without-image",
        "stray-file",
        "blank-class-line",
        "16-bit-image",
        "colour-mask",
    ],
)
def test_each_problem_is_reported_once_by_file(labeled: Path, layouts, mutate, expected: str) -> None:
    mutate(labeled, layouts)
    problems = check_dataset(labeled).problems
    assert len(problems) == 1, problems
    assert problems[0].startswith(expected), problems[0]


def test_truncated_jpeg_is_reported(tmp_path: Path, layouts) -> None:
    root = layouts.folders(tmp_path / "f", {"good": 1})
    jpg = layouts.write(root / "good" / "photo.jpg", layouts.texture(9, colour=True))
    layouts.truncate(jpg, 0.7)
    assert check_dataset(root).problems == (
        f"good/photo.jpg: is truncated: JPEG ends without its EOI marker ({jpg.stat().st_size} bytes)",
    )


def test_folder_not_in_classes_txt_is_an_unknown_class(tmp_path: Path, layouts) -> None:
    root = layouts.folders(tmp_path / "f", {"good": 1, "hole": 1, "mystery": 1})
    (root / "classes.txt").write_text("hole\n")
    problems = check_dataset(root).problems
    assert problems == ("mystery/: unknown class, not listed in classes.txt (hole)",)


def test_empty_labeled_dataset_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "set" / "images").mkdir(parents=True)
    problems = check_dataset(tmp_path / "set").problems
    assert len(problems) == 1 and problems[0].startswith("no images found: a labeled dataset has images/")


def test_cli_check_prints_summary_and_exits_0_on_a_clean_dataset(labeled: Path) -> None:
    result = CliRunner().invoke(app, ["data", "check", str(labeled)])
    assert result.exit_code == 0, result.output
    assert "format labeled" in result.output
    assert "defect-free  3" in result.output and "problems  none" in result.output


def test_cli_check_lists_every_problem_and_exits_2(labeled: Path, layouts) -> None:
    layouts.truncate(labeled / "images" / "good_0.png")
    layouts.write(labeled / "masks" / "ghost.png", layouts.box_mask(1, (0, 0, 2, 2)))
    result = CliRunner().invoke(app, ["data", "check", str(labeled), "--format", "labeled"])
    assert result.exit_code == 2
    assert "problems (2):" in result.output
    assert "  images/good_0.png: is truncated" in result.output
    assert "  masks/ghost.png: orphan mask" in result.output


def test_cli_subprocess_bad_dataset_exits_2_with_one_error_line(tmp_path: Path, layouts) -> None:
    root = layouts.labeled(tmp_path / "set")
    layouts.write(root / "masks" / "d1.png", layouts.box_mask(1, (0, 0, 4, 4), size=(32, 32)))
    cmd = [sys.executable, "-m", "fabric_inspect", "data", "check", str(root), "-q"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    errors = result.stderr.strip().splitlines()
    assert errors == [f"error: dataset {root} has 1 problem (listed above); fix them and re-run"]
    assert "masks/d1.png: size mismatch, mask is 32x32 but image is 64x48" in result.stdout


def test_cli_subprocess_missing_folder_is_one_line(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "fabric_inspect", "data", "check", str(tmp_path / "nope")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: dataset folder {tmp_path / 'nope'} does not exist; pass the folder that holds the images"
    ]
