"""Pick the operating threshold from defect-free image scores. Plain numpy; never imports torch.

An image is flagged when its score (the maximum of its score map) is at or above the threshold. Given
the scores of n defect-free validation images and a target false-alarm rate f, at most k = floor(f * n)
of them may be flagged:

- k >= 1: the threshold lies half-way (on the logit scale) between the k-th highest score and the next
  lower distinct one, so exactly k' <= k images are flagged (k' < k only when scores tie).
- k == 0 (fewer than 1/f images, e.g. under 100 for 1 %): the rate cannot be measured, only
  extrapolated. The threshold is the higher of (a) just above the highest score (its logit plus
  `MARGIN_LOGIT`) and (b) the (1 - f) quantile of a normal distribution fitted to the scores' logits
  (needs n >= 3). So no calibration image is flagged, and a wide spread of defect-free scores pushes
  the threshold up rather than trusting a maximum taken over a handful of images.

The result is clipped to [`MIN_THRESHOLD`, `MAX_THRESHOLD`] so that it is a valid model threshold
(strictly inside 0..1).
"""

from __future__ import annotations

import logging
import math
from statistics import NormalDist

import numpy as np

from fabric_inspect.errors import ConfigError, InputError

log = logging.getLogger(__name__)

MARGIN_LOGIT = 0.1
MIN_THRESHOLD = 1e-6
MAX_THRESHOLD = 1.0 - 1e-6
_LOGIT_CLIP = 20.0


def logit(p: np.ndarray | float) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), 1e-12, 1.0 - 1e-12)
    return np.clip(np.log(p) - np.log1p(-p), -_LOGIT_CLIP, _LOGIT_CLIP)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def calibrate_threshold(free_scores: np.ndarray, target_far: float = 0.01) -> float:
    """The threshold at which at most `target_far` of these defect-free image scores are flagged."""
    if not 0.0 < target_far < 1.0:
        raise ConfigError(f"target false-alarm rate must be in (0, 1), got {target_far}")
    scores = np.asarray(free_scores, np.float64).ravel()
    if scores.size == 0:
        raise InputError("threshold calibration needs at least one defect-free image score, got none")
    if not np.all(np.isfinite(scores)) or scores.min() < 0.0 or scores.max() > 1.0:
        raise InputError(
            "threshold calibration expects defect-free image scores in 0..1 (probabilities), got "
            f"values from {np.nanmin(scores):.4g} to {np.nanmax(scores):.4g}"
        )
    logits = np.sort(logit(scores))[::-1]  # highest first
    allowed = math.floor(target_far * scores.size + 1e-9)
    if allowed >= 1:
        threshold = _between(logits, allowed)
    else:
        threshold = _extrapolated(logits, target_far)
        log.info(
            "only %d defect-free scores for a %.3g false-alarm target (needs %d to measure it); "
            "threshold set above the highest score",
            scores.size,
            target_far,
            math.ceil(1.0 / target_far),
        )
    return float(min(max(sigmoid(threshold), MIN_THRESHOLD), MAX_THRESHOLD))


def _between(logits: np.ndarray, allowed: int) -> float:
    """Logit half-way below the lowest of the top-`allowed` scores (fewer when scores tie)."""
    for k in range(allowed, 0, -1):
        if k >= logits.size:
            return float(logits[-1] - MARGIN_LOGIT)  # every image may be flagged
        if logits[k - 1] > logits[k]:
            return float((logits[k - 1] + logits[k]) / 2.0)
    return float(logits[0] + MARGIN_LOGIT)


def _extrapolated(logits: np.ndarray, target_far: float) -> float:
    above_max = float(logits[0] + MARGIN_LOGIT)
    if logits.size < 3:
        return above_max
    std = float(np.std(logits, ddof=1))
    gaussian = float(np.mean(logits)) + NormalDist().inv_cdf(1.0 - target_far) * std
    return max(above_max, gaussian)


def false_alarm_rate(free_scores: np.ndarray, threshold: float) -> float:
    """Fraction of defect-free image scores at or above `threshold`."""
    scores = np.asarray(free_scores, np.float64).ravel()
    if scores.size == 0:
        raise InputError("false-alarm rate needs at least one defect-free image score, got none")
    return float(np.mean(scores >= threshold))
