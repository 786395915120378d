"""evaluate(): decisions at the threshold, defect-level counting, and a real onnxruntime run."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError, ModelError
from fabric_inspect.training.evaluate import (
    EvalTally,
    cells_to_mask,
    check_map_size,
    check_threshold,
    upsample_scores,
)

CLASSES = ("hole", "stain")


def _mask(size: int = 32, boxes: tuple[tuple[int, int, int, int, int], ...] = ()) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    for value, x0, y0, x1, y1 in boxes:
        mask[y0:y1, x0:x1] = value
    return mask


def _tally_with(score_value: float) -> EvalTally:
    """Two defect-free and two defective 32x32 images, all scored `score_value` everywhere (stride 4)."""
    tally = EvalTally(threshold=0.5, classes=CLASSES)
    flat = np.full((8, 8), score_value, np.float32)
    tally.add("g0", "good", flat, 4, _mask())
    tally.add("g1", "good", flat, 4, _mask())
    tally.add("d0", "hole", flat, 4, _mask(boxes=((1, 4, 4, 8, 8),)))
    tally.add("d1", "stain", flat, 4, _mask(boxes=((2, 20, 20, 28, 24), (1, 2, 20, 6, 30))))
    return tally


def test_a_model_that_predicts_nothing_finds_nothing_and_raises_no_alarm():
    result = _tally_with(0.01).result()
    assert result["defect_recall"] == 0.0
    assert result["false_alarm_rate"] == 0.0
    assert result["image_recall"] == 0.0
    assert result["predicted_regions"] == 0
    assert result["defect_precision"] is None  # no predictions: precision undefined, not 0 or 1


def test_a_model_that_flags_everything_alarms_on_every_defect_free_image():
    result = _tally_with(0.99).result()
    assert result["false_alarm_rate"] == 1.0
    assert result["false_alarm_images"] == ["g0", "g1"]
    assert result["defect_recall"] == 1.0
    assert result["gt_regions"] == 3
    # One whole-image predicted region per image; only those on the defective images are true.
    assert result["defect_precision"] == pytest.approx(2 / 4)
    assert result["image_auroc"] == pytest.approx(0.5)  # all scores tie


def test_recall_is_split_by_class_and_by_visibility_from_annotations():
    tally = EvalTally(threshold=0.5, classes=CLASSES)
    score = np.full((8, 8), 0.1, np.float32)
    score[1, 1] = 0.9  # covers pixels 4..7: the hole at 4..8
    annotations = (
        {"class": "hole", "visibility": "high", "bbox": [4, 4, 7, 7]},
        {"class": "stain", "visibility": "low", "bbox": [20, 20, 27, 23]},
    )
    tally.add("d0", "hole", score, 4, _mask(boxes=((1, 4, 4, 8, 8), (2, 20, 20, 28, 24))), annotations)
    tally.add("g0", "good", np.full((8, 8), 0.1, np.float32), 4, _mask())
    result = tally.result()
    assert result["per_class"]["hole"]["recall"] == 1.0
    assert result["per_class"]["stain"]["recall"] == 0.0
    assert result["per_class"]["hole"]["by_visibility"] == {"high": {"regions": 1, "found": 1, "recall": 1.0}}
    assert result["per_visibility"] == {
        "low": {"regions": 1, "found": 0, "recall": 0.0},
        "high": {"regions": 1, "found": 1, "recall": 1.0},
    }
    assert [(m["class"], m["visibility"]) for m in result["missed"]] == [("stain", "low")]
    assert result["image_auroc"] == 1.0
    assert result["pixel_auroc"] > 0.5


def test_image_auroc_is_split_by_the_most_visible_defect_of_each_image():
    tally = EvalTally(threshold=0.5, classes=CLASSES)
    flat = np.full((8, 8), 0.3, np.float32)
    hot = flat.copy()
    hot[1, 1] = 0.9
    low = ({"class": "stain", "visibility": "low", "bbox": [20, 20, 27, 23]},)
    both = (*low, {"class": "hole", "visibility": "high", "bbox": [4, 4, 7, 7]})
    # a faint stain scored like fabric; a hole (beside a faint stain) scored above all fabric
    tally.add("d0", "stain", flat * 0.9, 4, _mask(boxes=((2, 20, 20, 28, 24),)), low)
    tally.add("d1", "hole", hot, 4, _mask(boxes=((1, 4, 4, 8, 8), (2, 20, 20, 28, 24))), both)
    tally.add("g0", "good", flat, 4, _mask())
    tally.add("g1", "good", flat * 0.5, 4, _mask())
    result = tally.result()
    assert result["image_auroc_by_visibility"] == {"low": 0.5, "high": 1.0, "medium_high": 1.0}
    assert result["image_auroc"] == pytest.approx(0.75)
    # the faint stain (0.27) is outscored by g0 (0.3) alone: the whole 0.25 shortfall is its own and g0's
    losses = {row["stem"]: row["auroc_loss"] for row in result["per_image"]}
    assert losses == pytest.approx({"d0": 0.25, "d1": 0.0, "g0": 0.25, "g1": 0.0})


def test_defective_image_without_pixel_mask_counts_at_image_level_only():
    tally = EvalTally(threshold=0.5, classes=CLASSES)
    tally.add("d0", "hole", np.full((8, 8), 0.9, np.float32), 4, None)
    tally.add("g0", "good", np.full((8, 8), 0.1, np.float32), 4, _mask())
    result = tally.result()
    assert result["image_recall"] == 1.0
    assert result["gt_regions"] == 0
    assert result["defect_recall"] is None
    assert result["pixel_mask_images"] == 1
    assert result["per_class"]["hole"]["image_recall"] == 1.0


def test_upsampling_covers_the_image_when_sizes_do_not_divide_by_the_stride():
    score = np.arange(12, dtype=np.float32).reshape(3, 4)
    full = upsample_scores(score, 8, 20, 30)  # 3x4 cells cover 24x32 pixels: cropped
    assert full.shape == (20, 30)
    padded = upsample_scores(score, 8, 26, 34)  # cover 24x32: edge-padded
    assert padded.shape == (26, 34)
    assert padded[25, 33] == padded[23, 31]
    mask = cells_to_mask(score == 11, 8, 20, 30)
    assert mask.shape == (20, 30)
    assert mask.sum() == 4 * 6  # the last cell's 8x8 block (rows 16..23, cols 24..31), cropped
    assert mask[16:20, 24:30].all()


def test_score_map_of_the_wrong_size_for_the_stride_is_a_model_error():
    with pytest.raises(ModelError, match="stride 8"):
        check_map_size(np.zeros((10, 10), np.float32), 8, 256, 256)
    check_map_size(np.zeros((32, 32), np.float32), 8, 256, 256)


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.1, 1.5, float("nan")])
def test_threshold_outside_zero_one_is_rejected(bad):
    with pytest.raises(ConfigError, match="--threshold"):
        check_threshold(bad)


def test_evaluate_scores_a_labeled_dataset_through_onnxruntime(contrast_model_path, tiny_dataset):
    from fabric_inspect.datasets.loader import load_dataset
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.evaluate import evaluate

    result = evaluate(load_model(contrast_model_path), load_dataset(tiny_dataset), progress=False)
    assert result["images"] == 8
    assert (result["defective_images"], result["defect_free_images"]) == (4, 4)
    assert result["threshold"] == 0.5  # the model's own
    assert result["image_auroc"] == 1.0
    assert result["false_alarm_rate"] == 0.0
    # Every strong 'hole' is found, every faint 'stain' is missed.
    assert result["per_class"]["hole"]["recall"] == 1.0
    assert result["per_class"]["stain"]["recall"] == 0.0
    assert result["per_visibility"]["high"]["recall"] == 1.0
    assert result["per_visibility"]["low"]["recall"] == 0.0
    assert result["defect_recall"] == pytest.approx(4 / 6)
    assert result["defect_precision"] == 1.0
    assert 0.5 < result["pixel_auroc"] <= 1.0
    assert 0.0 < result["aupro"] < 1.0
    for key in ("image_ap", "per_class", "threshold", "images", "curves"):
        assert key in result


def test_a_threshold_override_changes_the_decisions(contrast_model_path, tiny_dataset):
    from fabric_inspect.datasets.loader import load_dataset
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.evaluate import evaluate

    result = evaluate(load_model(contrast_model_path), load_dataset(tiny_dataset), 0.01, progress=False)
    assert result["threshold"] == 0.01
    assert result["false_alarm_rate"] == 1.0


def test_metrics_modules_do_not_import_torch():
    import subprocess

    code = (
        "import sys; import fabric_inspect.training.evaluate, fabric_inspect.training.metrics, "
        "fabric_inspect.training.calibrate, fabric_inspect.training.plots; "
        "sys.exit(1 if 'torch' in sys.modules or 'albumentations' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_image_scores_are_the_scores_evaluate_decides_on(contrast_model_path, tiny_dataset):
    from fabric_inspect.datasets.loader import load_dataset
    from fabric_inspect.models.runtime import load_model
    from fabric_inspect.training.evaluate import evaluate, image_scores

    model, dataset = load_model(contrast_model_path), load_dataset(tiny_dataset)
    scores = image_scores(model, dataset)
    result = evaluate(model, dataset, progress=False)
    assert scores.tolist() == pytest.approx([row["score"] for row in result["per_image"]])
    assert result["per_group"] == {"": {"defect_free": 4, "false_alarms": 0, "defective": 4, "flagged": 4}}
