"""What a run reports at the end: counts, throughput, latency percentiles and per-stage timings."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from fabric_inspect.errors import InputError

STAGES = ("wait", "preprocess", "inference", "postprocess", "motion", "tracker", "sinks")


class Ring:
    """The last `capacity` values (for percentiles) plus the running mean of all of them.

    Bounded, so a live run of days keeps a few MB of timings, not a list growing per frame.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._values = np.zeros(capacity, dtype=np.float32)
        self._count = 0
        self._total = 0.0

    def append(self, value: float) -> None:
        self._values[self._count % self._values.size] = value
        self._count += 1
        self._total += value

    def __len__(self) -> int:
        return min(self._count, self._values.size)

    def values(self) -> np.ndarray:
        return self._values[: len(self)]

    @property
    def mean(self) -> float:
        return self._total / self._count if self._count else 0.0


class Histogram:
    """Counts of values in fixed bins [0, bin_ms), [bin_ms, 2 bin_ms) ... up to `max_ms`, plus the
    count of values at or above `max_ms`. Bounded (max_ms / bin_ms counters) however long the run."""

    def __init__(self, bin_ms: float = 1.0, max_ms: float = 200.0) -> None:
        self.bin_ms, self.max_ms = bin_ms, max_ms
        self._counts = [0] * round(max_ms / bin_ms)
        self.overflow = 0

    def append(self, value: float) -> None:
        index = int(value // self.bin_ms) if value > 0 else 0
        if index < len(self._counts):
            self._counts[index] += 1
        else:
            self.overflow += 1

    def to_json(self) -> dict:
        """``{"bin_ms", "max_ms", "counts", "overflow"}``; `counts` stops at the last non-empty bin."""
        end = max((i + 1 for i, c in enumerate(self._counts) if c), default=0)
        return {
            "bin_ms": self.bin_ms,
            "max_ms": self.max_ms,
            "counts": self._counts[:end],
            "overflow": self.overflow,
        }


class Stats:
    """Per-frame timings collected by the loop (bounded rings; percentiles at the end)."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.latency_ms = Ring(capacity)
        self.latency_hist = Histogram()
        self.stages_ms = {name: Ring(capacity) for name in STAGES}
        self.by_class: Counter[str] = Counter()
        self.frames = 0
        self.saturated = 0

    def add(self, latency_ms: float, stages: dict[str, float]) -> None:
        self.frames += 1
        self.latency_ms.append(latency_ms)
        self.latency_hist.append(latency_ms)
        for name, value in stages.items():
            self.stages_ms[name].append(value)


def percentiles(ring: Ring, quantiles: tuple[int, ...] = (50, 95, 99)) -> dict[str, float]:
    if not len(ring):
        return {f"p{q}": 0.0 for q in quantiles}
    found = np.percentile(ring.values(), quantiles)
    return {f"p{q}": round(float(v), 3) for q, v in zip(quantiles, found, strict=True)}


@dataclass(frozen=True, slots=True)
class Summary:
    """The end-of-run report (printed and written by --summary)."""

    source: str
    model: str
    frames: int
    dropped_frames: int
    skipped_frames: int
    seconds: float
    fps: float
    latency_ms: dict[str, float]
    defects: int
    defects_by_class: dict[str, int]
    roll_length_m: float
    rejected_tracks: int
    interrupted: bool
    stages_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    saturated_frames: int = 0  # frames with more defects than max_defects (only the strongest kept)
    latency_hist_ms: dict = field(default_factory=dict)  # Histogram.to_json() of every frame's latency
    # fabric no inspected frame saw (coverage.py): metres, stretches, and [from_m, to_m] of the largest 100
    uninspected_m: float = 0.0
    uninspected_stretches: int = 0
    uninspected_at_m: list = field(default_factory=list)
    # how many inspected frames saw each point of the fabric, on average (coverage.py); --confirm K
    # needs at least K for a small defect to be reported
    looks_per_point: float = 0.0
    # one line per output that could not be written (a full disk); the CLI then exits with code 1
    output_errors: list = field(default_factory=list)
    # --label-set: {"folder", "images", "drafts", "skipped"} (LabelSetSink.report); {} without it
    label_set: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    def write(self, path: Path) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        except OSError as err:
            raise InputError(f"--summary {path}: cannot write ({err.strerror})") from None


def summarize(stats: Stats, seconds: float, **fields: object) -> Summary:
    """Build the Summary from the collected stats plus the run's counts (`fields`)."""
    stages = {
        name: {"mean": round(ring.mean, 3), **percentiles(ring, (50, 95))}
        for name, ring in stats.stages_ms.items()
    }
    return Summary(
        frames=stats.frames,
        seconds=round(seconds, 3),
        fps=round(stats.frames / seconds, 2) if seconds > 0 else 0.0,
        latency_ms=percentiles(stats.latency_ms),
        defects=sum(stats.by_class.values()),
        defects_by_class=dict(sorted(stats.by_class.items())),
        stages_ms=stages,
        saturated_frames=stats.saturated,
        latency_hist_ms=stats.latency_hist.to_json(),
        **fields,  # type: ignore[arg-type]
    )


def format_summary(summary: Summary) -> list[str]:
    """Human lines for the terminal."""
    lat = summary.latency_ms
    by_class = ", ".join(f"{k} {v}" for k, v in summary.defects_by_class.items()) or "none"
    stages = ", ".join(f"{k} {v['mean']:.1f}" for k, v in summary.stages_ms.items())
    return (
        [
            f"frames          {summary.frames} ({summary.dropped_frames} dropped, "
            f"{summary.skipped_frames} unreadable)",
            f"speed           {summary.fps:.1f} fps over {summary.seconds:.1f} s",
            f"latency ms      p50 {lat['p50']:.1f}, p95 {lat['p95']:.1f}, p99 {lat['p99']:.1f}",
            f"stages ms       {stages}",
            f"defects         {summary.defects} ({by_class})",
            f"roll length     {summary.roll_length_m:.2f} m",
            f"not inspected   {_uninspected(summary)}",
            f"looks per point {summary.looks_per_point:.1f} (inspected frames that saw each point of "
            "the fabric, on average)",
        ]
        + (["stopped early   yes (interrupted)"] if summary.interrupted else [])
        + [f"not written     {line}" for line in summary.output_errors]
        + ([f"label set       {_label_set(summary.label_set)}"] if summary.label_set else [])
        + (
            [f"saturated       {summary.saturated_frames} frames had too many defects (raise --threshold?)"]
            if summary.saturated_frames
            else []
        )
    )


def _label_set(found: dict) -> str:
    skipped = f", {found['skipped']} frames skipped: the disk was behind" if found["skipped"] else ""
    return (
        f"{found['images']} images in {found['folder']}, {found['drafts']} with the model's draft mask"
        f"{skipped}; check every one before training (docs/datasets.md)"
    )


def _uninspected(summary: Summary) -> str:
    if not summary.uninspected_stretches:
        return "none (each inspected frame overlapped the one before)"
    first = summary.uninspected_at_m[0] if summary.uninspected_at_m else None
    where = f", the first at {first[0]:.2f}-{first[1]:.2f} m" if first else ""
    return f"{summary.uninspected_m:.2f} m in {summary.uninspected_stretches} stretches{where}"
