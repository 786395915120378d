"""Detection metrics in plain numpy (and cv2 for connected components). Never imports torch.

- Image level, exact: ROC curve, AUROC (ties count one half, as in the Mann-Whitney statistic) and
  average precision (the step-wise sum of precision x recall increments, no interpolation).
- Pixel level, streamed: `PixelStats` keeps histograms of pixel scores instead of the pixels, so a
  data set of any size (AITEX images are 4096x256) costs a few hundred kilobytes. Scores are binned on
  the logit scale (`N_BINS` bins over logit -40..17), which resolves both the crowded low end and the
  high end of a probability map down to p ~ 4e-18 (a confident model puts most background there);
  pixels that share a bin count as tied. Pixel AUROC and AUPRO (the
  area under the per-region-overlap curve up to a false-positive rate of 0.3, divided by 0.3, as in
  MVTec AD) are computed from these histograms.
- Defect level: connected components (8-connected) of the ground truth, one class at a time, and of
  the predicted defect mask. A ground-truth region is found when a predicted region overlaps it by at
  least one pixel; a predicted region is a true detection when it overlaps any ground-truth region.

A pixel, cell or image counts as flagged when its score is at or above the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

N_BINS = 8192
LOGIT_MIN, LOGIT_MAX = -40.0, 17.0  # float32 probabilities saturate at 1 - 6e-8 (logit ~16.6)
AUPRO_FPR_LIMIT = 0.3


# ---------------------------------------------------------------------------------------------------
# Image level (exact)


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """Trapezoid rule (numpy 1.26 has no np.trapezoid and numpy 2 deprecates np.trapz)."""
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def _check_scores_labels(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).astype(bool).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f"scores and labels differ in length: {scores.size} vs {labels.size}")
    if not np.all(np.isfinite(scores)):
        raise ValueError("scores contain NaN or infinity")
    return scores, labels


def roc_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1).

    Returns (fpr, tpr, thresholds); thresholds[0] is +inf (nothing flagged). A rate whose class is
    absent is all zeros.
    """
    scores, labels = _check_scores_labels(scores, labels)
    tps, fps, thresholds = _cumulative_counts(scores, labels)
    n_pos, n_neg = labels.sum(), labels.size - labels.sum()
    tpr = tps / n_pos if n_pos else np.zeros_like(tps, dtype=np.float64)
    fpr = fps / n_neg if n_neg else np.zeros_like(fps, dtype=np.float64)
    return fpr, tpr, thresholds


def _cumulative_counts(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of positives and negatives at or above each distinct score, highest score first."""
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    last_of_value = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
    tps = np.cumsum(sorted_labels)[last_of_value].astype(np.float64)
    fps = (last_of_value + 1) - tps
    return np.r_[0.0, tps], np.r_[0.0, fps], np.r_[np.inf, sorted_scores[last_of_value]]


def auroc(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Area under the ROC curve; None when only one class is present."""
    scores, labels = _check_scores_labels(scores, labels)
    if labels.all() or not labels.any():
        return None
    fpr, tpr, _ = roc_curve(scores, labels)
    return float(_trapezoid(tpr, fpr))


def auroc_losses(scores: np.ndarray, labels: np.ndarray) -> np.ndarray | None:
    """Each image's share of the image AUROC's shortfall (1 - AUROC); None when one class is absent.

    A defective image loses one pair for each defect-free image scoring above it (ties one half), a
    defect-free image one for each defective image scoring below it; divided by all pairs. Over the
    defective images the shares sum to 1 - AUROC, and over the defect-free ones as well, so on a small
    set they say which few images hold the figure down.
    """
    scores, labels = _check_scores_labels(scores, labels)
    if labels.all() or not labels.any():
        return None
    pos, neg = np.sort(scores[labels]), np.sort(scores[~labels])
    pairs = float(pos.size * neg.size)
    losses = np.empty(scores.size, np.float64)
    s = scores[labels]
    losses[labels] = (neg.size - np.searchsorted(neg, s, "right") + 0.5 * _ties(neg, s)) / pairs
    s = scores[~labels]
    losses[~labels] = (np.searchsorted(pos, s, "left") + 0.5 * _ties(pos, s)) / pairs
    return losses


def _ties(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_values, values, "right") - np.searchsorted(sorted_values, values, "left")


def precision_recall_curve(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at every distinct threshold, highest threshold first."""
    scores, labels = _check_scores_labels(scores, labels)
    tps, fps, _ = _cumulative_counts(scores, labels)
    tps, fps = tps[1:], fps[1:]
    n_pos = labels.sum()
    recall = tps / n_pos if n_pos else np.zeros_like(tps)
    precision = tps / np.maximum(tps + fps, 1)
    return precision, recall


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float | None:
    """Sum over thresholds of precision x recall increment; None when there are no positives."""
    scores, labels = _check_scores_labels(scores, labels)
    if not labels.any():
        return None
    precision, recall = precision_recall_curve(scores, labels)
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


# ---------------------------------------------------------------------------------------------------
# Pixel level (binned, streamed)


def score_bins(scores: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Bin index (0..n_bins-1, increasing with score) of each probability, on the logit scale."""
    p = np.clip(np.asarray(scores, dtype=np.float32), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logit = np.log(p) - np.log1p(-p)
    scaled = (np.clip(logit, LOGIT_MIN, LOGIT_MAX) - LOGIT_MIN) * (n_bins / (LOGIT_MAX - LOGIT_MIN))
    return np.minimum(scaled.astype(np.int64), n_bins - 1)


def _above(hist: np.ndarray) -> np.ndarray:
    """Counts at or above each bin, from 'above the top bin' (0) down to 'everything'."""
    return np.r_[0.0, np.cumsum(hist[::-1], dtype=np.float64)]


@dataclass(slots=True)
class PixelStats:
    """Running histograms of pixel scores: negatives, positives, and the per-region overlap sums."""

    n_bins: int = N_BINS
    neg: np.ndarray = field(init=False)
    pos: np.ndarray = field(init=False)
    pro_sum: np.ndarray = field(init=False)
    n_regions: int = 0

    def __post_init__(self) -> None:
        if self.n_bins < 2:
            raise ValueError(f"n_bins must be >= 2, got {self.n_bins}")
        self.neg = np.zeros(self.n_bins, np.int64)
        self.pos = np.zeros(self.n_bins, np.int64)
        # pro_sum[k]: sum over regions of the region's fraction in the top k bins (k = 0..n_bins).
        self.pro_sum = np.zeros(self.n_bins + 1, np.float64)

    def add(self, scores: np.ndarray, defect: np.ndarray) -> None:
        """Add one image: `scores` float HxW at image resolution, `defect` bool HxW ground truth."""
        if scores.shape != defect.shape:
            raise ValueError(f"score map {scores.shape} and mask {defect.shape} differ in shape")
        bins = score_bins(scores, self.n_bins)
        defect = defect.astype(bool)
        self.neg += np.bincount(bins[~defect], minlength=self.n_bins)
        self.pos += np.bincount(bins[defect], minlength=self.n_bins)
        n_lab, labels = _components(defect)
        if n_lab <= 1:
            return
        region = labels[defect].astype(np.int64) - 1
        per_region = np.bincount(region * self.n_bins + bins[defect], minlength=(n_lab - 1) * self.n_bins)
        per_region = per_region.reshape(n_lab - 1, self.n_bins)
        above = np.cumsum(per_region[:, ::-1], axis=1, dtype=np.float64)
        sizes = per_region.sum(axis=1, keepdims=True)
        self.pro_sum[1:] += (above / sizes).sum(axis=0)
        self.n_regions += n_lab - 1

    def roc(self) -> tuple[np.ndarray, np.ndarray]:
        """(fpr, tpr) from 'nothing flagged' to 'everything flagged'."""
        n_neg, n_pos = self.neg.sum(), self.pos.sum()
        fpr = _above(self.neg) / max(n_neg, 1)
        tpr = _above(self.pos) / max(n_pos, 1)
        return fpr, tpr

    def auroc(self) -> float | None:
        if not self.neg.any() or not self.pos.any():
            return None
        fpr, tpr = self.roc()
        return float(_trapezoid(tpr, fpr))

    def pro_curve(self) -> tuple[np.ndarray, np.ndarray]:
        """(fpr, mean per-region overlap) from 'nothing flagged' to 'everything flagged'."""
        fpr, _ = self.roc()
        return fpr, self.pro_sum / max(self.n_regions, 1)

    def aupro(self, fpr_limit: float = AUPRO_FPR_LIMIT) -> float | None:
        """Area under the PRO curve for FPR in [0, fpr_limit], divided by fpr_limit."""
        if self.n_regions == 0 or not self.neg.any():
            return None
        fpr, pro = self.pro_curve()
        return integrate_to(fpr, pro, fpr_limit) / fpr_limit


def integrate_to(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoid area under y(x) for x in [0, limit]; x ascending, interpolated at the limit."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = x <= limit
    xs, ys = x[keep], y[keep]
    if xs.size == 0 or xs[-1] < limit:
        nxt = np.flatnonzero(~keep)
        if nxt.size:
            i = nxt[0]
            x0, y0 = (x[i - 1], y[i - 1]) if i > 0 else (0.0, y[i])
            y_at = y0 + (y[i] - y0) * (limit - x0) / (x[i] - x0) if x[i] > x0 else y[i]
            xs, ys = np.r_[xs, limit], np.r_[ys, y_at]
    return float(_trapezoid(ys, xs))


# ---------------------------------------------------------------------------------------------------
# Defect level (connected components)


def _components(mask: np.ndarray) -> tuple[int, np.ndarray]:
    import cv2

    n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return int(n), labels


@dataclass(frozen=True, slots=True)
class GtRegion:
    """One connected ground-truth region of one class, and whether a prediction touched it."""

    class_value: int
    bbox: tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
    area: int
    found: bool


@dataclass(frozen=True, slots=True)
class RegionMatch:
    """Defect-level outcome on one image."""

    gt: tuple[GtRegion, ...]
    predicted: int  # predicted regions
    predicted_true: int  # predicted regions that overlap a ground-truth region

    @property
    def found(self) -> int:
        return sum(r.found for r in self.gt)


def match_regions(predicted: np.ndarray, gt: np.ndarray) -> RegionMatch:
    """Match predicted regions (bool HxW) with ground-truth regions (uint8 HxW class index, 0 = none)."""
    import cv2

    if predicted.shape != gt.shape:
        raise ValueError(f"predicted mask {predicted.shape} and ground truth {gt.shape} differ in shape")
    predicted = predicted.astype(bool)
    n_pred, pred_labels = _components(predicted)
    touched = np.unique(pred_labels[gt > 0])
    predicted_true = int(np.count_nonzero(touched))
    regions: list[GtRegion] = []
    for value in np.unique(gt[gt > 0]):
        n, labels, stats, _ = cv2.connectedComponentsWithStats((gt == value).astype(np.uint8), connectivity=8)
        hit = np.bincount(labels[predicted], minlength=n) > 0
        for r in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[r])
            regions.append(GtRegion(int(value), (x, y, x + w, y + h), area, bool(hit[r])))
    return RegionMatch(tuple(regions), n_pred - 1, predicted_true)


def assign_visibility(region: GtRegion, class_name: str, annotations: tuple[dict, ...] | list[dict]) -> str:
    """The visibility of the annotation whose bbox overlaps the region most (same class first)."""
    best, best_area = "unknown", 0
    for same_class in (True, False):
        for ann in annotations:
            if (ann.get("class") == class_name) != same_class or "bbox" not in ann:
                continue
            area = _overlap(region.bbox, ann["bbox"])
            if area > best_area:
                best, best_area = str(ann.get("visibility", "unknown")), area
        if best_area:
            return best
    return best


def _overlap(a: tuple[int, int, int, int], b: list | tuple) -> float:
    """Intersection area of two [x0, y0, x1, y1) boxes (the synthetic generator's annotations give
    the mask's bounding box with x1, y1 exclusive, exactly as `GtRegion.bbox`)."""
    w = min(a[2], float(b[2])) - max(a[0], float(b[0]))
    h = min(a[3], float(b[3])) - max(a[1], float(b[1]))
    return max(w, 0.0) * max(h, 0.0)


def ratio(num: float, den: float) -> float | None:
    """num / den, or None when den is 0 (a rate over nothing is undefined, not zero)."""
    return float(num) / float(den) if den else None
