"""Set a model's video threshold on defect-free fabric moving past the camera (no torch).

The image threshold (`training.calibrate`) flags at most 1 % of single defect-free frames. Video
inspection asks something else: a defect is reported only when it is seen in K of N frames and
followed as the fabric moves, and a mill counts false reports per metre of roll, not per frame. So
the video threshold is found with the whole pipeline (preprocess, model, postprocess, motion,
tracker) on a defect-free roll: the lowest threshold at which at most `target_per_10m` defects are
reported per 10 m of good fabric. Lower thresholds find fainter defects; the K-of-N confirmation
keeps single-frame flicker out of the reports.

The search is a bisection on the logit scale, starting from the image threshold. The number of
reports is not strictly monotone in the threshold (a track that splits in two at a lower threshold),
so every trial is kept and reported, and the chosen threshold is one that was run and passed.

The model runs once per frame, in the first trial: its map does not depend on the threshold, so the
later trials replay it (`Replay`) and only decode, motion, postprocess and tracker run again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.inspect.pipeline import PipelineConfig, run
from fabric_inspect.inspect.sinks.bundle import SinkConfig
from fabric_inspect.inspect.sources import SourceConfig, open_source
from fabric_inspect.models.runtime import OnnxModel, Prediction
from fabric_inspect.training.calibrate import logit, sigmoid
from fabric_inspect.training.recalibrate import write_info

log = logging.getLogger(__name__)

LOWEST = 0.2  # below this a tiny net's map is mostly noise; the search does not go lower
HIGHEST = 0.999


@dataclass(frozen=True, slots=True)
class RollTrial:
    """Reports on the defect-free roll at one threshold."""

    threshold: float
    reports: int
    metres: float

    @property
    def per_10m(self) -> float:
        return 10.0 * self.reports / self.metres if self.metres > 0 else math.inf


@dataclass(frozen=True, slots=True)
class RollCalibration:
    """The chosen video threshold and every trial that led to it."""

    threshold: float
    previous: float | None
    image_threshold: float
    target_per_10m: float
    trials: tuple[RollTrial, ...]
    reached: bool  # False: even the highest threshold tried gave more reports than the target
    out: Path

    @property
    def chosen(self) -> RollTrial:
        return next(t for t in self.trials if t.threshold == self.threshold)


def search_threshold(
    trial: Callable[[float], RollTrial], start: float, target_per_10m: float, steps: int = 6
) -> tuple[float, list[RollTrial], bool]:
    """(threshold, trials, reached): the lowest passing threshold found by bisection from `start`."""
    if target_per_10m < 0:
        raise ConfigError(f"--target-per-10m must be >= 0, got {target_per_10m}")
    trials: list[RollTrial] = []

    def passes(threshold: float) -> bool:
        result = trial(threshold)
        trials.append(result)
        log.info(
            "threshold %.4f: %d reports on %.1f m (%.2f per 10 m)",
            threshold,
            result.reports,
            result.metres,
            result.per_10m,
        )
        return result.per_10m <= target_per_10m

    start = min(max(start, LOWEST), HIGHEST)
    if passes(start):
        low, high = LOWEST, start
        if passes(low):
            return low, trials, True
    else:
        low, high = start, HIGHEST
        if not passes(high):
            return high, trials, False
    for _ in range(steps):
        middle = sigmoid(float(logit(low) + logit(high)) / 2.0)
        if passes(middle):
            high = middle
        else:
            low = middle
    return high, trials, True


class Replay:
    """Stands in for the model during the search: the first trial's predictions are kept and the
    later trials get them back in the same order (a video file gives every frame, in order, every
    time). Class logits are kept only at cells scoring at least `floor`, the only cells postprocess
    reads at any threshold the search tries; the score maps take 57 kB per 1280x720 frame."""

    def __init__(self, model: OnnxModel, floor: float) -> None:
        self.model, self.info, self.path = model, model.info, model.path
        self.floor = floor
        self.recording = True
        self._kept: list[tuple[tuple[int, ...], np.ndarray, np.ndarray, np.ndarray]] = []
        self._next = 0

    def rewind(self) -> None:
        """Replay from the first frame (after the first trial has recorded)."""
        self.recording, self._next = False, 0

    def predict(self, frame: np.ndarray) -> Prediction:
        if self.recording:
            prediction = self.model.predict(frame)
            cells = np.flatnonzero(prediction.score >= self.floor)
            logits = prediction.class_logits.reshape(len(self.info.classes), -1)[:, cells]
            self._kept.append((frame.shape, prediction.score, cells, logits.copy()))
            return prediction
        if self._next >= len(self._kept):
            raise RuntimeError(f"replay out of step: more than the {len(self._kept)} frames recorded")
        shape, score, cells, logits = self._kept[self._next]
        if frame.shape != shape:
            raise RuntimeError(f"replay out of step: frame {frame.shape}, recorded {shape}")
        self._next += 1
        class_logits = np.zeros((len(self.info.classes), score.size), np.float32)
        class_logits[:, cells] = logits
        return Prediction(score=score, class_logits=class_logits.reshape(-1, *score.shape))


@contextmanager
def _quiet(logger: logging.Logger) -> Iterator[None]:
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def roll_trial(
    model: OnnxModel | Replay, videos: Sequence[Path], config: PipelineConfig, threshold: float
) -> RollTrial:
    """Run the whole pipeline on every video at `threshold`; count reports and metres of fabric."""
    at = replace(config, postprocess=replace(config.postprocess, threshold=threshold))
    reports, metres = 0, 0.0
    for video in videos:
        with _quiet(logging.getLogger("fabric_inspect.inspect.pipeline")):
            # low trial thresholds saturate frames by design; the pipeline's advice to raise the
            # threshold is for a user's run, not for the search
            summary = run(open_source(SourceConfig(str(video))), model, at, SinkConfig())  # type: ignore[arg-type]
        if summary.roll_length_m <= 0:
            raise InputError(
                f"{video}: no fabric motion measured, so no metres to count false reports on; "
                "give --speed (m/min) and --px-per-mm"
            )
        reports += summary.defects
        metres += summary.roll_length_m
    return RollTrial(threshold, reports, metres)


def calibrate_roll(
    model: OnnxModel,
    videos: Sequence[Path],
    config: PipelineConfig,
    out: Path,
    target_per_10m: float = 0.5,
    data: str = "",
    on_trial: Callable[[RollTrial], None] | None = None,
) -> RollCalibration:
    """Find the video threshold on the defect-free `videos` and write the model with it to `out`."""
    if config.independent_frames:
        raise ConfigError("roll calibration needs video (frames followed by the tracker), not still images")
    if not videos:
        raise InputError("no defect-free video to calibrate on")
    info = model.info
    floor = min([LOWEST, *config.postprocess.class_thresholds.values()])
    replay = Replay(model, floor)

    def trial(threshold: float) -> RollTrial:
        result = roll_trial(replay, videos, config, threshold)
        replay.rewind()
        if on_trial is not None:
            on_trial(result)
        return result

    threshold, trials, reached = search_threshold(trial, info.threshold, target_per_10m)
    result = RollCalibration(
        threshold, info.roll_threshold, info.threshold, target_per_10m, tuple(trials), reached, out
    )
    chosen = result.chosen
    metrics = dict(info.metrics)
    metrics.update(
        roll_calibration={
            "data": data,
            "metres": round(chosen.metres, 2),
            "reports": chosen.reports,
            "per_10m": round(chosen.per_10m, 3),
            "target_per_10m": target_per_10m,
            "confirm": f"{config.tracker.k}/{config.tracker.n}",
            "roi": list(config.preprocess.roi) if config.preprocess.roi is not None else None,
            "reached": reached,
            "trials": [[round(t.threshold, 4), t.reports] for t in trials],
        }
    )
    write_info(model.path, replace(info, roll_threshold=threshold, metrics=metrics), out)
    return result
