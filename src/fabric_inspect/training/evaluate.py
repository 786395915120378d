"""Score a labeled data set with an exported model through onnxruntime. Never imports torch.

This is the very path the pipeline uses (`OnnxModel.predict` on the uint8 image), so the figures it
gives are the figures of the shipped .onnx file, not of a torch checkpoint.

Resolution: the model's score map is at its stride (h is about H / stride). For pixel metrics (pixel
AUROC, AUPRO) the map is upsampled to the image with cv2.resize (INTER_LINEAR) over the area the model
cells cover (w * stride by h * stride, then cropped or edge-padded to the image), and compared with
the full-resolution mask. For decisions (image flagged, predicted regions), a model cell at or above
the threshold marks its whole stride x stride block, which is what the pipeline acts on; so an image
is flagged exactly when it has a predicted region, and its score is the maximum of the raw map.

Images without a pixel mask (image-level folders, AITEX 0100_025_08) count at image level only.
Defect-free images count as all-negative pixels.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from fabric_inspect.datasets.classes import VISIBILITIES
from fabric_inspect.errors import ConfigError, InputError, ModelError
from fabric_inspect.training.metrics import (
    AUPRO_FPR_LIMIT,
    PixelStats,
    assign_visibility,
    auroc,
    auroc_losses,
    average_precision,
    match_regions,
    precision_recall_curve,
    ratio,
    roc_curve,
)

if TYPE_CHECKING:
    from fabric_inspect.datasets.loader import Dataset
    from fabric_inspect.models.runtime import OnnxModel

log = logging.getLogger(__name__)

GOOD = "good"
CURVE_POINTS = 400


def check_threshold(threshold: float, option: str = "--threshold") -> float:
    """A decision threshold must be a probability strictly inside 0..1."""
    if not np.isfinite(threshold) or not 0.0 < threshold < 1.0:
        raise ConfigError(f"{option} must be a probability strictly between 0 and 1, got {threshold}")
    return float(threshold)


def _fit_to(image_like: np.ndarray, height: int, width: int) -> np.ndarray:
    """Crop or edge-pad a map that covers h*stride x w*stride pixels to the image's height x width."""
    out = image_like[:height, :width]
    pad_h, pad_w = height - out.shape[0], width - out.shape[1]
    if pad_h or pad_w:
        out = np.pad(out, ((0, pad_h), (0, pad_w)), mode="edge")
    return out


def check_map_size(score: np.ndarray, stride: int, height: int, width: int, source: str = "model") -> None:
    """The score map must be about (height / stride) x (width / stride)."""
    h, w = score.shape
    if abs(h * stride - height) >= 2 * stride or abs(w * stride - width) >= 2 * stride:
        raise ModelError(
            f"{source} gave a {h}x{w} score map for a {height}x{width} image; with stride {stride} "
            f"expected about {height / stride:.0f}x{width / stride:.0f}; check the model's 'stride' metadata"
        )


def upsample_scores(score: np.ndarray, stride: int, height: int, width: int) -> np.ndarray:
    """Bilinear upsampling of a stride-resolution score map to the image (float32 HxW)."""
    import cv2

    h, w = score.shape
    full = cv2.resize(score.astype(np.float32), (w * stride, h * stride), interpolation=cv2.INTER_LINEAR)
    return _fit_to(full, height, width)


def cells_to_mask(flagged: np.ndarray, stride: int, height: int, width: int) -> np.ndarray:
    """Each flagged model cell marks its stride x stride block of the image (bool HxW)."""
    block = np.repeat(np.repeat(flagged.astype(bool), stride, axis=0), stride, axis=1)
    return _fit_to(block, height, width)


@dataclass(slots=True)
class EvalTally:
    """Everything evaluate() counts, image by image; `result()` turns it into the metrics dict."""

    threshold: float
    classes: tuple[str, ...]
    pixels: PixelStats = field(default_factory=PixelStats)
    scores: list[float] = field(default_factory=list)
    defective: list[bool] = field(default_factory=list)
    per_image: list[dict] = field(default_factory=list)
    regions: list[dict] = field(default_factory=list)
    predicted_regions: int = 0
    predicted_true: int = 0
    masked_images: int = 0

    def class_name(self, value: int) -> str:
        return self.classes[value - 1] if 1 <= value <= len(self.classes) else f"class_{value}"

    def add(
        self,
        stem: str,
        label: str,
        score: np.ndarray,
        stride: int,
        mask: np.ndarray | None,
        annotations: tuple[dict, ...] | list[dict] = (),
        group: str = "",
    ) -> None:
        """Count one image: `score` is the raw model map, `mask` the class-index mask or None."""
        image_score = float(score.max())
        flagged = image_score >= self.threshold
        self.scores.append(image_score)
        self.defective.append(label != GOOD)
        row: dict[str, Any] = {"stem": stem, "label": label, "group": group, "score": image_score}
        row["flagged"] = flagged
        if mask is not None:
            height, width = mask.shape
            check_map_size(score, stride, height, width)
            self.pixels.add(upsample_scores(score, stride, height, width), mask > 0)
            predicted = cells_to_mask(score >= self.threshold, stride, height, width)
            match = match_regions(predicted, mask)
            self.masked_images += 1
            self.predicted_regions += match.predicted
            self.predicted_true += match.predicted_true
            seen = set()
            for region in match.gt:
                name = self.class_name(region.class_value)
                visibility = assign_visibility(region, name, annotations)
                seen.add(visibility)
                self.regions.append(
                    {
                        "stem": stem,
                        "class": name,
                        "visibility": visibility,
                        "bbox": list(region.bbox),
                        "area": region.area,
                        "found": region.found,
                    }
                )
            row.update(
                regions=len(match.gt), found=match.found, false_regions=match.predicted - match.predicted_true
            )
            known = [v for v in VISIBILITIES if v in seen]
            if known:
                row["visibility"] = known[-1]  # the most visible of the image's defects
        self.per_image.append(row)

    def result(self) -> dict[str, Any]:
        scores = np.asarray(self.scores, np.float64)
        defective = np.asarray(self.defective, bool)
        free = scores[~defective]
        found = sum(r["found"] for r in self.regions)
        out: dict[str, Any] = {
            "threshold": self.threshold,
            "images": int(scores.size),
            "defective_images": int(defective.sum()),
            "defect_free_images": int((~defective).sum()),
            "pixel_mask_images": self.masked_images,
            "image_auroc": auroc(scores, defective) if scores.size else None,
            "image_ap": average_precision(scores, defective) if scores.size else None,
            "pixel_auroc": self.pixels.auroc(),
            "aupro": self.pixels.aupro(AUPRO_FPR_LIMIT),
            "aupro_fpr_limit": AUPRO_FPR_LIMIT,
            "defect_recall": ratio(found, len(self.regions)),
            "defect_precision": ratio(self.predicted_true, self.predicted_regions),
            "gt_regions": len(self.regions),
            "predicted_regions": self.predicted_regions,
            "image_recall": ratio(int((scores[defective] >= self.threshold).sum()), int(defective.sum())),
            "false_alarm_rate": ratio(int((free >= self.threshold).sum()), free.size),
            "false_alarm_images": [r["stem"] for r in self.per_image if r["label"] == GOOD and r["flagged"]],
        }
        out["per_class"] = self._per_class()
        out["per_group"] = self._per_group()
        out["per_visibility"] = _recall_by(self.regions, "visibility", _visibility_order)
        out["image_auroc_by_visibility"] = self._auroc_by_visibility(scores, defective)
        out["missed"] = [r for r in self.regions if not r["found"]]
        losses = auroc_losses(scores, defective) if scores.size else None
        if losses is not None:  # both kinds of image present
            for row, loss in zip(self.per_image, losses, strict=True):
                row["auroc_loss"] = float(loss)  # share of 1 - image AUROC (metrics.auroc_losses)
        out["per_image"] = self.per_image
        out["curves"] = self._curves(scores, defective)
        return out

    def _per_class(self) -> dict[str, dict]:
        by_class = _recall_by(self.regions, "class", sorted)
        for name in sorted({r["label"] for r in self.per_image if r["label"] != GOOD} | set(by_class)):
            entry = by_class.setdefault(name, {"regions": 0, "found": 0, "recall": None})
            rows = [r for r in self.per_image if r["label"] == name]
            entry["images"] = len(rows)
            entry["images_flagged"] = sum(r["flagged"] for r in rows)
            entry["image_recall"] = ratio(entry["images_flagged"], len(rows))
            regions = [r for r in self.regions if r["class"] == name]
            entry["by_visibility"] = _recall_by(regions, "visibility", _visibility_order)
        return dict(sorted(by_class.items()))

    def _auroc_by_visibility(self, scores: np.ndarray, defective: np.ndarray) -> dict[str, float | None]:
        """Image AUROC of the defective images whose most visible defect is of each visibility (and of
        medium or high together) against all defect-free images; empty without visibility labels."""
        seen = np.asarray([r.get("visibility", "") for r in self.per_image])
        out: dict[str, float | None] = {}
        groups = [(v, (v,)) for v in VISIBILITIES] + [("medium_high", ("medium", "high"))]
        for name, members in groups:
            chosen = defective & np.isin(seen, members)
            if chosen.any():
                keep = chosen | ~defective
                out[name] = auroc(scores[keep], defective[keep])
        return out

    def _per_group(self) -> dict[str, dict]:
        """Images and decisions per roll or fabric: where false alarms cluster."""
        groups: dict[str, dict] = {}
        for row in self.per_image:
            g = groups.setdefault(
                row["group"], {"defect_free": 0, "false_alarms": 0, "defective": 0, "flagged": 0}
            )
            if row["label"] == GOOD:
                g["defect_free"] += 1
                g["false_alarms"] += int(row["flagged"])
            else:
                g["defective"] += 1
                g["flagged"] += int(row["flagged"])
        return dict(sorted(groups.items()))

    def _curves(self, scores: np.ndarray, defective: np.ndarray) -> dict[str, dict]:
        curves: dict[str, dict] = {}
        if defective.any() and not defective.all():
            fpr, tpr, _ = roc_curve(scores, defective)
            precision, recall = precision_recall_curve(scores, defective)
            curves["image_roc"] = {"fpr": _thin(fpr), "tpr": _thin(tpr)}
            curves["image_pr"] = {"recall": _thin(recall), "precision": _thin(precision)}
        if self.pixels.auroc() is not None:
            fpr, tpr = self.pixels.roc()
            curves["pixel_roc"] = {"fpr": _thin(fpr), "tpr": _thin(tpr)}
        if self.pixels.aupro() is not None:
            fpr, pro = self.pixels.pro_curve()
            keep = fpr <= AUPRO_FPR_LIMIT * 1.5
            curves["pro"] = {"fpr": _thin(fpr[keep]), "pro": _thin(pro[keep])}
        return curves


def _visibility_order(names: set[str]) -> list[str]:
    return [v for v in VISIBILITIES if v in names] + sorted(names - set(VISIBILITIES))


def _recall_by(regions: list[dict], key: str, order: Any) -> dict[str, dict]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for r in regions:
        counts[r[key]][0] += 1
        counts[r[key]][1] += int(r["found"])
    return {
        k: {"regions": counts[k][0], "found": counts[k][1], "recall": ratio(counts[k][1], counts[k][0])}
        for k in order(set(counts))
    }


def _thin(values: np.ndarray, points: int = CURVE_POINTS) -> list[float]:
    """At most `points` values of a curve, evenly spaced by index, ends kept (for JSON and plots)."""
    values = np.asarray(values, np.float64)
    if values.size > points:
        values = values[np.unique(np.linspace(0, values.size - 1, points).round().astype(int))]
    return [round(float(v), 6) for v in values]


def evaluate(
    model: OnnxModel, dataset: Dataset, threshold: float | None = None, progress: bool = True
) -> dict[str, Any]:
    """Score every image of `dataset` with `model` and return the metrics dict (JSON-ready).

    `threshold` defaults to the model's calibrated threshold (its metadata).
    """
    from fabric_inspect.datasets.loader import read_image, read_mask

    threshold = check_threshold(model.info.threshold if threshold is None else threshold)
    if not dataset.samples:
        raise InputError(f"data set {dataset.root} has no images to evaluate")
    tally = EvalTally(threshold=threshold, classes=tuple(dataset.classes))
    started = time.perf_counter()
    for sample in _track(dataset.samples, progress, f"eval {dataset.root}"):
        image = read_image(sample)
        score = model.predict(image).score
        mask = read_mask(dataset, sample)
        if mask is None and sample.label == GOOD:
            mask = np.zeros(image.shape[:2], np.uint8)
        if mask is not None and mask.shape != image.shape[:2]:
            raise InputError(
                f"mask of {sample.image_path} is {mask.shape[1]}x{mask.shape[0]} but the image is "
                f"{image.shape[1]}x{image.shape[0]}; masks must match their image"
            )
        tally.add(
            sample.stem,
            sample.label,
            score,
            model.info.stride,
            mask,
            tuple(sample.annotations),
            sample.group,
        )
    out = tally.result()
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["model"] = {"path": str(model.path), "name": model.info.name, "version": model.info.version}
    out["dataset"] = {"root": str(dataset.root), "format": dataset.format}
    log.info("evaluated %d images in %.1f s", out["images"], out["seconds"])
    return out


def image_scores(model: OnnxModel, dataset: Dataset, progress: bool = False) -> np.ndarray:
    """Each image's score (maximum of the model's map), through onnxruntime, in sample order; e.g.
    the defect-free validation images to give `calibrate_threshold`."""
    from fabric_inspect.datasets.loader import read_image

    scores = [
        float(model.predict(read_image(s)).score.max())
        for s in _track(dataset.samples, progress, f"score {dataset.root}")
    ]
    return np.asarray(scores, np.float64)


def _track(items: Any, enabled: bool, description: str) -> Any:
    if not enabled:
        yield from items
        return
    from rich.console import Console
    from rich.progress import track

    yield from track(items, description=description, console=Console(stderr=True), transient=True)
