"""Hand-computed image, pixel and defect-level metrics on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.training.metrics import (
    PixelStats,
    assign_visibility,
    auroc,
    auroc_losses,
    average_precision,
    integrate_to,
    match_regions,
    roc_curve,
    score_bins,
)


@pytest.mark.parametrize(
    ("scores", "labels", "want_auroc", "want_ap"),
    [
        ([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1.0, 1.0),  # perfect
        ([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0.0, 0.5 * 1 / 3 + 0.5 * 2 / 4),  # inverted
        ([0.9, 0.8, 0.7, 0.6], [1, 0, 1, 0], 3 / 4, 0.5 * 1 + 0.5 * 2 / 3),  # interleaved
        ([0.5, 0.5, 0.5, 0.5, 0.5], [1, 0, 0, 1, 0], 0.5, 2 / 5),  # all tied: half credit
        ([0.3, 0.3, 0.9, 0.1], [1, 0, 1, 0], (1 + 1 + 0.5 + 1) / 4, 0.5 * 1 + 0.5 * 2 / 3),  # one tie
    ],
)
def test_image_auroc_and_ap_match_hand_computed_values(scores, labels, want_auroc, want_ap):
    assert auroc(np.array(scores), np.array(labels)) == pytest.approx(want_auroc)
    assert average_precision(np.array(scores), np.array(labels)) == pytest.approx(want_ap)


def test_auroc_losses_name_the_images_that_hold_the_figure_down():
    # defective 0.9 and 0.3, defect-free 0.5, 0.3 and 0.1: 0.3 loses the pair with 0.5, ties with 0.3
    scores = np.array([0.9, 0.3, 0.5, 0.3, 0.1])
    labels = np.array([1, 1, 0, 0, 0])
    losses = auroc_losses(scores, labels)
    assert losses.tolist() == pytest.approx([0.0, 1.5 / 6, 1 / 6, 0.5 / 6, 0.0])
    assert auroc_losses(scores, np.ones(5)) is None


def test_auroc_losses_sum_to_the_shortfall_over_either_class_on_random_scores():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(200), 2)  # many ties
    labels = rng.random(200) < 0.2
    losses = auroc_losses(scores, labels)
    shortfall = 1.0 - auroc(scores, labels)
    assert losses[labels].sum() == pytest.approx(shortfall)
    assert losses[~labels].sum() == pytest.approx(shortfall)


def test_auroc_equals_pairwise_ranking_probability_on_random_scores():
    rng = np.random.default_rng(0)
    scores = np.round(rng.random(300), 2)  # rounded: many ties
    labels = rng.random(300) < 0.3
    pos, neg = scores[labels], scores[~labels]
    pairwise = ((pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()) / (
        pos.size * neg.size
    )
    assert auroc(scores, labels) == pytest.approx(pairwise)


def test_metrics_over_a_single_class_are_undefined_not_zero():
    assert auroc(np.array([0.1, 0.9]), np.array([0, 0])) is None
    assert auroc(np.array([0.1, 0.9]), np.array([1, 1])) is None
    assert average_precision(np.array([0.1, 0.9]), np.array([0, 0])) is None


def test_roc_curve_runs_from_nothing_flagged_to_everything_flagged():
    fpr, tpr, thresholds = roc_curve(np.array([0.2, 0.4, 0.4, 0.9]), np.array([0, 1, 0, 1]))
    assert fpr.tolist() == [0.0, 0.0, 0.5, 1.0]
    assert tpr.tolist() == [0.0, 0.5, 1.0, 1.0]
    assert thresholds[0] == np.inf
    assert thresholds[1:].tolist() == [0.9, 0.4, 0.2]


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="differ in length"):
        auroc(np.array([0.1, 0.2]), np.array([0, 1, 1]))


def test_score_bins_increase_with_the_score_and_separate_low_probabilities():
    bins = score_bins(np.array([0.0, 1e-15, 1e-12, 1e-9, 1e-6, 1e-3, 0.5, 0.999, 0.99999, 1.0], np.float32))
    assert np.all(np.diff(bins) > 0)


def _pixels(*pairs: tuple[float, bool, int]) -> tuple[np.ndarray, np.ndarray]:
    """A 1-row image from (score, defect, count) runs; runs of defect pixels are separate regions
    when a non-defect run lies between them."""
    scores = np.concatenate([np.full(n, s, np.float32) for s, _, n in pairs])[None, :]
    defect = np.concatenate([np.full(n, d, bool) for _, d, n in pairs])[None, :]
    return scores, defect


def test_pixel_auroc_and_aupro_on_hand_made_map():
    # Region A (2 px at 0.99, 2 px at 0.2); negatives: 2 at 0.6, 8 at 0.1.
    # Thresholds: 0.99 -> FPR 0, PRO .5; 0.6 -> FPR .2, PRO .5; 0.2 -> FPR .2, PRO 1; 0.1 -> FPR 1.
    # AUPRO(0.3) = (0.5 * 0.2 + 1.0 * 0.1) / 0.3; pixel AUROC = (10 + 10 + 8 + 8) / 40.
    stats = PixelStats()
    stats.add(*_pixels((0.6, False, 2), (0.99, True, 2), (0.2, True, 2), (0.1, False, 8)))
    assert stats.n_regions == 1
    assert stats.auroc() == pytest.approx(36 / 40)
    assert stats.aupro() == pytest.approx(0.2 / 0.3)


def test_aupro_weights_regions_equally_whatever_their_size():
    # A 100-pixel region found at FPR 0 and a 1-pixel region below every negative: PRO is 0.5 up to
    # FPR 1, so AUPRO is 0.5 (a pixel-weighted overlap would be 100/101).
    stats = PixelStats()
    stats.add(*_pixels((0.99, True, 100), (0.5, False, 50), (0.01, True, 1)))
    assert stats.n_regions == 2
    assert stats.aupro() == pytest.approx(0.5)


def test_perfect_and_inverted_pixel_maps_give_one_and_zero():
    perfect, inverted = PixelStats(), PixelStats()
    perfect.add(*_pixels((0.1, False, 20), (0.9, True, 5), (0.1, False, 20)))
    inverted.add(*_pixels((0.9, False, 20), (0.1, True, 5), (0.9, False, 20)))
    assert perfect.auroc() == pytest.approx(1.0)
    assert perfect.aupro() == pytest.approx(1.0)
    assert inverted.auroc() == pytest.approx(0.0)
    assert inverted.aupro() == pytest.approx(0.0)


def test_binned_pixel_auroc_matches_exact_auroc_on_random_maps():
    rng = np.random.default_rng(1)
    defect = np.zeros((64, 64), bool)
    defect[10:20, 30:40] = True
    scores = np.clip(rng.normal(0.3, 0.15, defect.shape) + 0.2 * defect, 0, 1).astype(np.float32)
    stats = PixelStats()
    stats.add(scores[:32], defect[:32])  # streamed over two images
    stats.add(scores[32:], defect[32:])
    assert stats.auroc() == pytest.approx(auroc(scores, defect), abs=1e-3)


def test_pixel_metrics_without_defect_pixels_are_undefined():
    stats = PixelStats()
    stats.add(np.full((4, 4), 0.2, np.float32), np.zeros((4, 4), bool))
    assert stats.auroc() is None
    assert stats.aupro() is None


def test_integrate_to_interpolates_at_the_limit():
    assert integrate_to(np.array([0.0, 1.0]), np.array([0.0, 1.0]), 0.3) == pytest.approx(0.045)
    assert integrate_to(np.array([0.0, 0.1, 1.0]), np.array([1.0, 1.0, 1.0]), 0.3) == pytest.approx(0.3)


def _gt_and_prediction() -> tuple[np.ndarray, np.ndarray]:
    gt = np.zeros((40, 40), np.uint8)
    gt[2:6, 2:6] = 1  # class 1, found
    gt[20:24, 2:6] = 1  # class 1, missed
    gt[30:33, 30:39] = 3  # class 3, found by a small overlap
    pred = np.zeros((40, 40), bool)
    pred[4:10, 4:10] = True  # overlaps the first blob
    pred[32:36, 36:40] = True  # overlaps the class-3 blob
    pred[10:14, 25:29] = True  # false region
    return gt, pred


def test_match_regions_counts_found_missed_and_false_regions():
    gt, pred = _gt_and_prediction()
    match = match_regions(pred, gt)
    assert sorted((r.class_value, r.bbox, r.found) for r in match.gt) == [
        (1, (2, 2, 6, 6), True),
        (1, (2, 20, 6, 24), False),
        (3, (30, 30, 39, 33), True),
    ]
    assert match.found == 2
    assert match.predicted == 3
    assert match.predicted_true == 2


def test_touching_regions_of_different_classes_stay_separate():
    gt = np.zeros((10, 10), np.uint8)
    gt[2:5, 2:5] = 1
    gt[2:5, 5:8] = 2
    pred = np.zeros((10, 10), bool)
    pred[3, 6] = True
    match = match_regions(pred, gt)
    assert sorted((r.class_value, r.found) for r in match.gt) == [(1, False), (2, True)]


def test_nothing_predicted_finds_nothing():
    gt, _ = _gt_and_prediction()
    match = match_regions(np.zeros_like(gt, bool), gt)
    assert match.found == 0
    assert match.predicted == 0


def test_visibility_comes_from_the_best_overlapping_annotation_of_the_same_class():
    gt, pred = _gt_and_prediction()
    region = next(r for r in match_regions(pred, gt).gt if r.class_value == 3)
    annotations = [
        {"class": "hole", "visibility": "high", "bbox": [30, 30, 38, 32]},  # other class, full overlap
        {"class": "thick_place", "visibility": "low", "bbox": [35, 31, 45, 40]},  # same class, partial
        {"class": "thick_place", "visibility": "medium", "bbox": [0, 0, 3, 3]},  # no overlap
    ]
    assert assign_visibility(region, "thick_place", annotations) == "low"
    assert assign_visibility(region, "slub", annotations) == "high"  # no same-class box: best other
    assert assign_visibility(region, "slub", []) == "unknown"
