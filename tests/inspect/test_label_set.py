"""`--label-set DIR`: a roll written out as images to label, tiled, with the model's draft masks.

Real parts: the tiny ONNX model on a synthetic roll video (MJPG, real decoding), the labeled-format
reader that `train --data` uses, and RLIMIT_FSIZE for a disk that fills.
"""

from __future__ import annotations

import resource
from pathlib import Path

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.datasets.loader import load_dataset, read_mask
from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.inspect.sinks.labelset import MAX_PENDING, LabelSetSink

runner = CliRunner()
HEIGHT, SPEED = 128, 6.0


@pytest.fixture(scope="module")
def roll(synth):
    # rows near the middle of the 4th and 7th tiles (each 128 px of a 132 px step from row 1072 up)
    spots = (synth.Spot(60, 740, 10, dark=True), synth.Spot(190, 344, 10, dark=False))
    return synth.make_roll(spots, length=1200, height=HEIGHT, speed_px=SPEED, seed=3)


@pytest.fixture(scope="module")
def video(synth, roll, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synth.write_video(roll, tmp_path_factory.mktemp("label") / "roll.avi")


def _run(video: Path, model: Path, folder: Path, *more: str):
    args = ["run", str(video), "--model", str(model), "--label-set", str(folder), "--px-per-mm", "2"]
    return runner.invoke(app, [*args, "--speed", str(SPEED * 30 / 2 * 60 / 1000), *more])


def test_the_roll_is_written_once_in_tiles_with_draft_masks_a_dataset_train_reads(
    video, roll, tiny_model_path, tmp_path, synth
):
    folder = tmp_path / "to-label"
    result = _run(video, tiny_model_path, folder, "--roll", "R7")
    assert result.exit_code == 0, result.output
    stems = sorted(p.stem for p in (folder / "images").glob("*.png"))
    indices = [int(stem.removeprefix("R7_")) for stem in stems]
    # each tile starts where the last one ended: 128 px of fabric at 6 px a frame is 22 frames
    steps = np.diff(indices)
    assert steps.min() * SPEED >= HEIGHT - SPEED and steps.max() * SPEED <= HEIGHT + 2 * SPEED
    assert len(stems) >= (roll.frame_count * SPEED) // (HEIGHT + 2 * SPEED)
    assert f"label set       {len(stems)} images in {folder}" in result.output

    dataset = load_dataset(folder)  # what train --data reads; raises on any problem
    assert dataset.classes == synth.TINY_CLASSES
    drafted = {s.stem: read_mask(dataset, s) for s in dataset.samples if s.mask_paths}
    assert 1 <= len(drafted) <= 4
    for spot, value in ((roll.spots[0], 2), (roll.spots[1], 1)):  # dark: stain (2), bright: hole (1)
        hits = []
        for stem, index in zip(stems, indices, strict=True):
            top = roll.strip.shape[0] - HEIGHT - round(index * SPEED)
            if top + spot.radius <= spot.row < top + HEIGHT - spot.radius:  # the whole spot in view
                hits.append(stem)
                assert drafted[stem][spot.row - top, spot.x] == value
        assert hits, f"no tile shows the spot at row {spot.row}"
    image = cv2.imread(str(folder / "images" / f"{stems[0]}.png"))
    first_top = roll.strip.shape[0] - HEIGHT - round(indices[0] * SPEED)
    assert np.abs(image.astype(int) - roll.strip[first_top : first_top + HEIGHT]).mean() < 8  # MJPG


def test_a_roll_already_in_the_folder_is_refused_and_nothing_is_overwritten(video, tiny_model_path, tmp_path):
    folder = tmp_path / "to-label"
    assert _run(video, tiny_model_path, folder, "--roll", "R1", "--max-frames", "30").exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in folder.rglob("*.png")}
    result = _run(video, tiny_model_path, folder, "--roll", "R1")
    assert result.exit_code == 2 and "already holds frames of roll 'R1'" in result.output
    assert {p: p.stat().st_mtime_ns for p in folder.rglob("*.png")} == before
    assert _run(video, tiny_model_path, folder, "--roll", "R2", "--max-frames", "30").exit_code == 0


def test_a_folder_made_with_other_classes_is_refused(video, tiny_model_path, tmp_path):
    folder = tmp_path / "to-label"
    folder.mkdir()
    (folder / "classes.txt").write_text("hole\nslub\n")
    result = _run(video, tiny_model_path, folder)
    assert result.exit_code == 2 and "classes.txt lists hole, slub" in result.output


def test_frames_due_while_the_writer_is_behind_are_skipped_not_queued(tmp_path):
    frame = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)  # ~100 ms a PNG
    cells = np.zeros((135, 240), np.uint8)
    with LabelSetSink(tmp_path, ("hole",), "R", 8) as sink:
        for index in range(3 * MAX_PENDING):
            assert sink.due(index * 1080.0)
            sink.write(index, frame, cells, (index + 1) * 1080.0)
        assert not sink.due(3 * MAX_PENDING * 1080.0 - 100)  # overlaps the last tile
    assert sink.images + sink.skipped == 3 * MAX_PENDING and sink.skipped >= MAX_PENDING
    assert len(list((tmp_path / "images").glob("*.png"))) == sink.images and sink.error is None


def test_a_full_disk_stops_the_sink_and_leaves_no_image_without_its_mask(tmp_path):
    frame = np.random.default_rng(1).integers(0, 256, (240, 320, 3), dtype=np.uint8)  # ~230 kB a PNG
    cells = np.zeros((30, 40), np.uint8)
    cells[3, 4] = 1
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    sink = LabelSetSink(tmp_path, ("hole",), "R", 8)
    sink.write(0, frame, cells, 240.0)
    sink.close()
    assert sink.images == 1 and sink.drafts == 1
    sink = LabelSetSink(tmp_path, ("hole",), "S", 8)
    resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, old[1]))  # the writer thread is this process
    try:
        sink.write(0, frame, cells, 240.0)
        sink.close()
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
    assert sink.error is not None and "--label-set" in sink.error and sink.images == 0
    assert not sink.due(480.0)  # it writes nothing more
    assert sorted(p.name for p in tmp_path.rglob("*.png")) == ["R_000000.png", "R_000000.png"]


def test_the_folder_must_be_one_it_can_create(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match=r"--label-set .*cannot create the folder"):
        LabelSetSink(tmp_path / "file" / "sub", ("hole",), "R", 8)
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "classes.txt").write_text("stain\n")
    with pytest.raises(ConfigError, match="lists stain, the model hole"):
        LabelSetSink(tmp_path / "ok", ("hole",), "R", 8)
