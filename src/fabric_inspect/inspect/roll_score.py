"""Score reported defects against a roll's ground truth (roll.json): found once, duplicated, or false.

Used by the end-to-end tests and the benchmarks. An event matches a ground-truth defect when its
position lies within the defect's extent plus `slack_mm` across the roll, and along the roll within
the extent plus `slack_mm` plus `slack_fraction` of the defect's distance from the start of the roll.
Positions along the roll are the integral of the measured motion, so their error grows with the
distance: #4 allows 5 %; on the demo camera's rolls the estimate ran up to 0.23 % short, 15 mm at
6.4 m, more than a fixed 10 mm slack. The fraction is kept near that error (0.25 %), not at #4's
5 %: at 0.5 % a report on a column 113 mm beside a full-width thick place, 34 mm along the roll from
it at 5.7 m, counted as finding it.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RollScore:
    truths: int  # ground-truth defects that were in view
    found: int
    duplicates: int  # extra reports of a defect already reported
    false_reports: int  # reports matching no defect
    events: int
    recall_by_visibility: dict[str, float] = field(default_factory=dict)
    position_errors: list[float] = field(default_factory=list)  # |roll_y - truth| / truth, per found defect

    @property
    def recall(self) -> float:
        return self.found / self.truths if self.truths else 1.0

    @property
    def duplicate_rate(self) -> float:
        return self.duplicates / self.events if self.events else 0.0


def _matches(event: dict, truth: dict, slack_mm: float, slack_fraction: float) -> bool:
    dy = abs(event["roll_y_mm"] - truth["roll_y_mm"])
    dx = abs(event["roll_x_mm"] - truth["roll_x_mm"])
    along = truth["length_mm"] / 2 + slack_mm + slack_fraction * abs(truth["roll_y_mm"])
    return dy <= along and dx <= truth["width_mm"] / 2 + slack_mm


def score_roll(
    events: list[dict],
    truth: dict,
    slack_mm: float = 10.0,
    visibilities=None,
    slack_fraction: float = 0.0025,
) -> RollScore:
    """Match events to the visible ground-truth defects (optionally only those of `visibilities`)."""
    defects = [d for d in truth["defects"] if d.get("frames")]
    hits: dict[int, list[dict]] = {d["id"]: [] for d in defects}
    false_reports = 0
    for event in events:
        near = [d for d in defects if _matches(event, d, slack_mm, slack_fraction)]
        if not near:
            false_reports += 1
            continue
        best = min(near, key=lambda d: abs(event["roll_y_mm"] - d["roll_y_mm"]))
        hits[best["id"]].append(event)
    scored = [d for d in defects if visibilities is None or d["visibility"] in visibilities]
    by_visibility: dict[str, list[bool]] = {}
    errors = []
    for d in scored:
        by_visibility.setdefault(d["visibility"], []).append(bool(hits[d["id"]]))
        if hits[d["id"]]:
            nearest = min(abs(e["roll_y_mm"] - d["roll_y_mm"]) for e in hits[d["id"]])
            errors.append(nearest / max(d["roll_y_mm"], 1e-6))
    return RollScore(
        truths=len(scored),
        found=sum(1 for d in scored if hits[d["id"]]),
        duplicates=sum(max(0, len(found) - 1) for found in hits.values()),
        false_reports=false_reports,
        events=len(events),
        recall_by_visibility={v: sum(f) / len(f) for v, f in sorted(by_visibility.items())},
        position_errors=errors,
    )
