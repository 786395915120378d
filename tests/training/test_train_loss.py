"""Loss targets on the stride-8 grid and the terms that train image scores."""

from __future__ import annotations

import pytest
import torch

from fabric_inspect.training.data import _image_label, to_batch
from fabric_inspect.training.loss import IGNORE, cell_targets, defect_loss


def test_one_pixel_line_marks_every_cell_it_crosses_with_its_class():
    masks = torch.zeros(1, 37, 50, dtype=torch.uint8)  # not a multiple of 8: padded
    masks[0, :, 13] = 1  # a vertical 1-px line (class 1 -> index 0)
    masks[0, 20, 40:] = 3  # a short horizontal line (class 3 -> index 2)
    positive, cls, ignore = cell_targets(masks, n_classes=3)
    assert positive.shape == (1, 5, 7)
    assert positive[0, :, 1].tolist() == [1.0] * 5
    assert cls[0, :, 1].tolist() == [0] * 5
    assert positive[0, 2, 5:].tolist() == [1.0, 1.0] and cls[0, 2, 5:].tolist() == [2, 2]
    assert positive.sum() == 7 and (cls[positive == 0] == -1).all()
    assert not ignore.any()


def test_cell_class_is_the_majority_class():
    masks = torch.zeros(1, 8, 8, dtype=torch.uint8)
    masks[0, :2, :] = 1
    masks[0, 2:6, :] = 2
    assert cell_targets(masks, n_classes=2)[1].item() == 1


def _batch(has_mask: bool):
    image = torch.zeros(16, 16, 3, dtype=torch.uint8).numpy()
    good, bad = image.copy(), image.copy()
    mask_bad = torch.zeros(16, 16, dtype=torch.uint8).numpy()
    mask_bad[4:12, 4:12] = 2
    masks = [mask_bad * 0, mask_bad] if has_mask else [mask_bad * 0, mask_bad * 0]
    return to_batch([good, bad], masks, [has_mask, has_mask], [0, 2])


def test_loss_rewards_a_map_that_is_hot_only_on_the_defect():
    for has_mask in (True, False):
        batch = _batch(has_mask)
        right = torch.full((2, 1, 2, 2), -6.0)
        right[1, 0, 0, 0] = 6.0  # hot cell in the defective image only
        wrong = torch.full((2, 1, 2, 2), -6.0)
        wrong[0, 0, 0, 0] = 6.0  # hot cell in the defect-free image
        logits = torch.zeros(2, 3, 2, 2)
        logits[:, 1] = 4.0  # class 2 -> index 1
        good = defect_loss(right, logits, batch)
        bad = defect_loss(wrong, logits, batch)
        assert good["loss"] < bad["loss"] and good["mil"] < bad["mil"]
        assert good["cls"] < 0.1


def test_ignored_pixels_make_cells_that_count_neither_way_unless_a_defect_shares_them():
    masks = torch.zeros(1, 16, 24, dtype=torch.uint8)
    masks[0, 2:5, 2:5] = IGNORE  # cell (0, 0): ignored only
    masks[0, 10, 10] = IGNORE  # cell (1, 1): ignored and a real defect pixel
    masks[0, 12, 12] = 4
    positive, cls, ignore = cell_targets(masks, n_classes=5)
    assert ignore[0].tolist() == [[True, False, False], [False, False, False]]
    assert positive[0, 1, 1] == 1.0 and cls[0, 1, 1] == 3


def test_image_label_is_minus_one_when_only_ignored_defects_are_present():
    mask = torch.zeros(8, 8, dtype=torch.uint8).numpy()
    assert _image_label(mask) == 0
    mask[1, 1] = IGNORE
    assert _image_label(mask) == -1
    mask[2, 2] = 3
    assert _image_label(mask) == 3


def test_a_hot_map_on_an_ignored_defect_costs_nothing():
    image = torch.zeros(16, 16, 3, dtype=torch.uint8).numpy()
    mask = torch.zeros(16, 16, dtype=torch.uint8).numpy()
    mask[0:8, 0:8] = IGNORE
    batch = to_batch([image], [mask], [True], [_image_label(mask)])
    cold = torch.full((1, 1, 2, 2), -6.0)
    hot = cold.clone()
    hot[0, 0, 0, 0] = 6.0  # fires on the ignored cell only
    logits = torch.zeros(1, 3, 2, 2)
    assert torch.isclose(defect_loss(hot, logits, batch)["loss"], defect_loss(cold, logits, batch)["loss"])
    hot_elsewhere = cold.clone()
    hot_elsewhere[0, 0, 1, 1] = 6.0  # fires on plain fabric: that still costs
    assert defect_loss(hot_elsewhere, logits, batch)["loss"] > defect_loss(cold, logits, batch)["loss"] + 0.5


def test_small_defects_are_weighted_up_to_the_boost_and_large_ones_and_fabric_stay_at_one():
    from fabric_inspect.training.loss import SMALL_DEFECT_CELLS, small_defect_weights

    target = torch.zeros(1, 6, 20)
    target[0, 0, 0] = 1.0  # one cell
    target[0, 3, 5:7] = 1.0  # two cells
    target[0, 5, :] = 1.0  # a full-width line, 20 cells
    weights = small_defect_weights(target, boost=6.0)
    assert weights[0, 0, 0] == 6.0  # 8 / 1 = 8, held at the boost
    assert weights[0, 3, 5] == weights[0, 3, 6] == SMALL_DEFECT_CELLS / 2
    assert (weights[0, 5] == 1.0).all() and weights[0, 1:3].eq(1.0).all()
    assert small_defect_weights(target, boost=1.0).eq(1.0).all()


def test_the_boost_makes_a_missed_small_defect_cost_more_than_a_missed_large_one():
    masks = torch.zeros(1, 64, 64, dtype=torch.uint8)
    masks[0, 0:8, 0:8] = 4  # one cell of defect
    masks[0, 40:48, :] = 2  # a full row of cells
    batch = to_batch([torch.zeros(64, 64, 3, dtype=torch.uint8).numpy()], [masks[0].numpy()], [True], [4])
    logit = torch.full((1, 1, 8, 8), -4.0)  # the map misses everything
    class_logits = torch.zeros(1, 9, 8, 8)
    plain = defect_loss(logit, class_logits, batch)["focal"]
    boosted = defect_loss(logit, class_logits, batch, small_defect_boost=4.0)["focal"]
    # nine missed defect cells: 1 small (weight 4 instead of 1) + 8 of the row (weight 1)
    assert float(boosted / plain) == pytest.approx((4 + 8) / 9, rel=0.02)


def test_distillation_is_zero_where_the_student_matches_the_teacher_and_pulls_it_there():
    from fabric_inspect.training.loss import binary_kl, distill_loss

    teacher = torch.randn(2, 2, 2, generator=torch.Generator().manual_seed(3)) * 3
    assert float(distill_loss(teacher.clone(), teacher, 1.0)) == pytest.approx(0.0, abs=1e-6)
    student = torch.zeros(2, 2, 2, requires_grad=True)
    loss = distill_loss(student, teacher, 1.0)
    assert float(loss.detach()) > 0.0
    assert (binary_kl(torch.zeros(3), torch.tensor([-2.0, 0.0, 2.0])) >= 0).all()
    loss.backward()
    # a step down the gradient moves every cell toward the teacher's logit, except each image's
    # maximum (the first cell, as the student's map is flat), where the image-score term also pulls
    # it toward the teacher's maximum
    grad, want = student.grad.flatten(1), teacher.flatten(1)
    assert (torch.sign(-grad[:, 1:]) == torch.sign(want[:, 1:])).all()
    cells_only = (torch.sigmoid(torch.zeros(2)) - torch.sigmoid(want[:, 0])) / 8.0  # per 8 defect cells
    image_pull = torch.sign(torch.sigmoid(want.max(1).values) - 0.5)
    assert (torch.sign(-(grad[:, 0] - cells_only)) == image_pull).all()


def test_distillation_refuses_a_teacher_map_of_another_size():
    from fabric_inspect.training.loss import distill_loss

    with pytest.raises(ValueError, match="teacher map"):
        distill_loss(torch.zeros(2, 2, 2), torch.zeros(2, 3, 2), 1.0)


def test_ranking_costs_a_defect_below_the_hottest_fabric_cell_of_the_batch_and_pulls_both_apart():
    from fabric_inspect.training.loss import rank_loss

    labels = torch.tensor([0, 0, 3, 5, -1])
    peaks = torch.tensor([-2.0, 1.0, 4.0, 0.0, 9.0], requires_grad=True)  # the 9.0 is ignored
    loss = rank_loss(peaks, labels)
    # against the hottest defect-free peak (1.0): softplus(1 - 4) and softplus(1 - 0), averaged
    expected = (
        torch.nn.functional.softplus(torch.tensor(-3.0)) + torch.nn.functional.softplus(torch.tensor(1.0))
    ) / 2
    assert float(loss.detach()) == pytest.approx(float(expected))
    loss.backward()
    grad = peaks.grad
    assert grad[1] > 0 and grad[0] == 0 and grad[4] == 0  # only the hottest fabric peak is pushed down
    assert grad[3] < grad[2] < 0  # the defect under it is pulled up hardest
    assert float(rank_loss(torch.tensor([0.5, 2.0]), torch.tensor([0, 0]))) == 0.0  # no defect: nothing


def test_the_ranking_term_joins_the_total_only_when_weighted():
    batch = _batch(has_mask=True)
    logit = torch.full((2, 1, 2, 2), -1.0)
    logit[0, 0, 1, 1] = 2.0  # the defect-free image's hottest cell beats the defect's (-1)
    class_logits = torch.zeros(2, 3, 2, 2)
    plain = defect_loss(logit, class_logits, batch)
    ranked = defect_loss(logit, class_logits, batch, rank_weight=2.0)
    assert "rank" not in plain
    assert float(ranked["rank"]) == pytest.approx(float(torch.nn.functional.softplus(torch.tensor(3.0))))
    assert float(ranked["loss"]) == pytest.approx(float(plain["loss"]) + 2.0 * float(ranked["rank"]))
