"""Losses for tiny, rare defects on a stride-8 score map (imports torch; training only).

- Pixel-labelled images (masks, including all-zero masks of defect-free images): focal loss on every
  cell, normalized by the number of defect cells (so a batch with one thin line still counts).
- Every image: multiple-instance learning, BCE on the maximum of the map against "is there a defect
  anywhere" (for image-level folders without masks this is the only map loss). The image score is
  that maximum, so this term trains exactly what the threshold is calibrated on: defect-free images
  must have no hot cell at all.
- No Dice term: while the net cannot yet tell defect from fabric, soft Dice lowers its loss by raising
  the probability everywhere (for a uniform p its gradient is always negative), which held a first
  synthetic run at a grey 0.2 map with an image AUROC of 0.55 after 300 steps.
- Class logits: cross-entropy at defect cells (pixel-labelled) or at the map's maximum (image-level).
- Ranking (`rank_weight` > 0, `rank_loss`): each defective image's maximum against the hottest cell
  of all the batch's defect-free images (a few thousand cells, a good part of a camera frame): the
  threshold sits above the hottest fabric cell of a whole frame, so a defect is found when it beats
  that, not when it beats its own crop's fabric. Softplus of the difference, in logits.
- Distillation (with a teacher network, `distill_loss`): the binary KL divergence from the teacher's
  map to the student's on every cell, and the same between the two maps' maxima (the image scores).

A cell is a defect cell when any pixel of its stride x stride block is; its class is the most frequent
defect class among those pixels. Mask pixels of value IGNORE (255) mark defects the net is not asked to
find (synthetic defects of low visibility, many of them invisible to a person: labelling them "defect"
teaches the net to fire on plain fabric). A cell with such a pixel and no defect pixel counts neither
way, and an image whose only defects are ignored (label -1) has no MIL term.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

FOCAL_GAMMA = 2.0
CLASS_WEIGHT = 0.5
IGNORE = 255  # mask value: a defect that counts neither as defect nor as fabric
SMALL_DEFECT_CELLS = 8.0  # a defect smaller than this many map cells gets its cells weighted up


@dataclass(frozen=True, slots=True)
class Batch:
    """A training batch. images uint8 [N,C,H,W]; masks uint8 [N,H,W] class index (0 = none);
    has_mask bool [N] (False: image-level label only); labels long [N] (0 = good, else class index;
    -1 = only ignored defects)."""

    images: torch.Tensor
    masks: torch.Tensor
    has_mask: torch.Tensor
    labels: torch.Tensor


def cell_targets(
    masks: torch.Tensor, n_classes: int, stride: int = 8
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(defect [N,h,w] float 0/1, class [N,h,w] long 0..K-1 or -1, ignore [N,h,w] bool) with
    h = ceil(H / stride)."""
    height, width = masks.shape[1:]
    pad_h, pad_w = -height % stride, -width % stride
    m = F.pad(masks.long(), (0, pad_w, 0, pad_h))
    ignored = m == IGNORE
    m = m.masked_fill(ignored, 0)
    onehot = F.one_hot(m, n_classes + 1).permute(0, 3, 1, 2).float()
    counts = F.avg_pool2d(onehot, stride) * (stride * stride)
    defect_counts = counts[:, 1:]
    positive = defect_counts.sum(1) > 0
    cls = torch.where(positive, defect_counts.argmax(1), torch.full_like(positive, -1, dtype=torch.long))
    ignore = (F.max_pool2d(ignored[:, None].float(), stride)[:, 0] > 0) & ~positive
    return positive.float(), cls, ignore


def focal_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    keep: torch.Tensor | None = None,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Sum of the binary focal loss over cells (over the `keep` cells when given), each cell's loss
    times its `weight` when given."""
    bce = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    p_t = torch.exp(-bce)
    loss = (1.0 - p_t) ** FOCAL_GAMMA * bce
    if weight is not None:
        loss = loss * weight
    return (loss[keep] if keep is not None else loss).sum()


def small_defect_weights(target: torch.Tensor, boost: float) -> torch.Tensor:
    """[N, h, w] cell weights: 1 on fabric and on large defects; on a defect (8-connected cells) of
    area A cells, SMALL_DEFECT_CELLS / A, between 1 and `boost`. A focal loss summed over cells
    otherwise weighs each defect by its area: a full-width thick place counts a hundred times a slub."""
    if boost <= 1.0:
        return torch.ones_like(target)
    import cv2
    import numpy as np

    weights = np.ones(tuple(target.shape), np.float32)
    for i, cells in enumerate(target.detach().cpu().numpy().astype(np.uint8)):
        _, labels, stats, _ = cv2.connectedComponentsWithStats(cells, connectivity=8)
        area = stats[:, cv2.CC_STAT_AREA].astype(np.float32)
        scale = np.clip(SMALL_DEFECT_CELLS / np.maximum(area, 1.0), 1.0, boost)
        scale[0] = 1.0  # the background component
        weights[i] = scale[labels]
    return torch.from_numpy(weights).to(target.device)


def defect_loss(
    logit: torch.Tensor,
    class_logits: torch.Tensor,
    batch: Batch,
    small_defect_boost: float = 1.0,
    teacher_logit: torch.Tensor | None = None,
    distill_weight: float = 1.0,
    rank_weight: float = 0.0,
) -> dict[str, torch.Tensor]:
    """Loss terms and their total ("loss") for network outputs on `batch`; cells of small defects
    weigh up to `small_defect_boost` times as much in the focal term (`small_defect_weights`). With a
    teacher's defect logit ([N, 1, h, w]), the total adds `distill_weight` times `distill_loss`."""
    n_classes = class_logits.shape[1]
    logit = logit[:, 0]
    target, cls, ignore = cell_targets(batch.masks, n_classes)
    if target.shape != logit.shape:
        raise ValueError(
            f"cell targets {tuple(target.shape)} do not match the score map {tuple(logit.shape)}"
        )
    zero = logit.sum() * 0.0
    terms = {"focal": zero, "mil": zero, "cls": zero}
    pixel = batch.has_mask
    ce_logits: list[torch.Tensor] = []
    ce_targets: list[torch.Tensor] = []
    if pixel.any():
        lg, tg = logit[pixel], target[pixel]
        weight = small_defect_weights(tg, small_defect_boost) if small_defect_boost > 1.0 else None
        terms["focal"] = focal_loss(lg, tg, ~ignore[pixel], weight) / max(float(tg.sum()), 8.0)
        cl, ct = class_logits[pixel].permute(0, 2, 3, 1), cls[pixel]
        ce_logits.append(cl[ct >= 0])
        ce_targets.append(ct[ct >= 0])
    peak, where = logit.flatten(1).max(1)
    known = batch.labels >= 0
    if known.any():
        terms["mil"] = F.binary_cross_entropy_with_logits(peak[known], (batch.labels[known] > 0).float())
    image_level = ~pixel
    if image_level.any():
        where, labels = where[image_level], batch.labels[image_level]
        at_peak = (
            class_logits[image_level].flatten(2).gather(2, where[:, None, None].expand(-1, n_classes, 1))
        )
        defective = labels > 0
        ce_logits.append(at_peak[:, :, 0][defective])
        ce_targets.append(labels[defective] - 1)
    all_logits = torch.cat(ce_logits) if ce_logits else class_logits.new_zeros((0, n_classes))
    if all_logits.shape[0]:
        terms["cls"] = CLASS_WEIGHT * F.cross_entropy(all_logits, torch.cat(ce_targets))
    terms["loss"] = terms["focal"] + terms["mil"] + terms["cls"]
    if teacher_logit is not None:
        terms["distill"] = distill_loss(logit, teacher_logit[:, 0], float(target.sum()))
        terms["loss"] = terms["loss"] + distill_weight * terms["distill"]
    if rank_weight > 0.0:
        terms["rank"] = rank_loss(peak, batch.labels)
        terms["loss"] = terms["loss"] + rank_weight * terms["rank"]
    return terms


def rank_loss(peaks: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean softplus(hottest defect-free logit - peak) over the defective images (labels > 0), the
    hottest taken over every defect-free image (label 0) of the batch; 0 without both kinds. Images
    whose only defects are ignored (-1) count as neither."""
    good, bad = labels == 0, labels > 0
    if not good.any() or not bad.any():
        return peaks.sum() * 0.0
    return F.softplus(peaks[good].max() - peaks[bad]).mean()


def binary_kl(student_logit: torch.Tensor, teacher_logit: torch.Tensor) -> torch.Tensor:
    """Per-element KL(teacher || student) of two Bernoulli distributions given as logits (>= 0, 0 when
    they agree): the BCE against the teacher's probability minus the teacher's own entropy."""
    p = torch.sigmoid(teacher_logit)
    bce = F.binary_cross_entropy_with_logits(student_logit, p, reduction="none")
    entropy = F.binary_cross_entropy_with_logits(teacher_logit, p, reduction="none")
    return bce - entropy


def distill_loss(
    student_logit: torch.Tensor, teacher_logit: torch.Tensor, defect_cells: float
) -> torch.Tensor:
    """What a student learns from a teacher's defect map ([N, h, w] logits each): the binary KL on
    every cell, summed and divided by the batch's `defect_cells` (at least 8, as the focal term, so the
    two weigh alike however rare the defects), plus the KL of each image's maximum (the image score)."""
    if student_logit.shape != teacher_logit.shape:
        raise ValueError(
            f"teacher map {tuple(teacher_logit.shape)} does not match "
            f"the student's {tuple(student_logit.shape)}"
        )
    teacher_logit = teacher_logit.detach()
    cells = binary_kl(student_logit, teacher_logit).sum() / max(defect_cells, 8.0)
    peaks = binary_kl(student_logit.flatten(1).max(1).values, teacher_logit.flatten(1).max(1).values)
    return cells + peaks.mean()
