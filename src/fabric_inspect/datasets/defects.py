"""Weaving defects, planned: what kind, how visible, and where on the fabric.

A `DefectPlan` is pure data: class, visibility, strength (0..1) and where it lies in fabric
coordinates (x across, u along the roll; pixels), decided before any pixel is rendered.
`datasets.faults` then makes it in the yarns; `tight_box` gives its box for roll ground truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES
from fabric_inspect.datasets.weave import FabricSpec, warp_centres, weft_centres

STRENGTH: dict[str, tuple[float, float]] = {"low": (0.1, 0.3), "medium": (0.4, 0.6), "high": (0.75, 1.0)}


@dataclass(frozen=True, slots=True)
class DefectPlan:
    """One defect on the fabric. bbox = (x0, u0, x1, u1) in fabric pixels, end exclusive."""

    class_name: str
    visibility: str
    strength: float
    bbox: tuple[float, float, float, float]
    seed: int
    yarns: tuple[int, ...] = ()
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.class_name not in DEFECT_CLASSES:
            raise ValueError(f"unknown defect class {self.class_name!r}; expected one of {DEFECT_CLASSES}")
        if self.visibility not in VISIBILITIES:
            raise ValueError(f"unknown visibility {self.visibility!r}; expected one of {VISIBILITIES}")


@dataclass(frozen=True, slots=True, eq=False)
class Loom:
    """What a planner needs to know about the fabric: its spec, weaving seed and width."""

    spec: FabricSpec
    seed: int
    width: int

    def warp_x(self) -> np.ndarray:
        return warp_centres(self.spec, self.seed, self.width)

    def pick_u(self, j: int) -> float:
        return float(weft_centres(self.spec, self.seed, j, j + 1)[0])

    def nearest_end(self, x: float) -> int:
        return int(np.argmin(np.abs(self.warp_x() - x)))

    def nearest_pick(self, u: float) -> int:
        return round(u / self.spec.weft_pitch)


Box = tuple[float, float, float, float]
# what a planner returns: box (x0, u0, x1, u1), the yarns it touches, and class-specific numbers
Planned = tuple[Box, tuple[int, ...], tuple[float, ...]]


def _yarn_width(spec: FabricSpec, warp: bool) -> float:
    return spec.warp_fill * spec.warp_pitch if warp else spec.weft_fill * spec.weft_pitch


def _ends_box(loom: Loom, i0: int, i1: int, ua: float, ub: float) -> tuple[float, float, float, float]:
    wx = loom.warp_x()
    half = 0.5 * loom.spec.warp_pitch
    return (float(wx[i0] - half), ua, float(wx[i1] + half), ub)


def _plan_broken_end(
    loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float
) -> Planned:
    i = loom.nearest_end(x)
    n = 2 if s > 0.85 and rng.random() < 0.4 else 1
    whole = rng.random() < 0.5
    length = span if whole else span * rng.uniform(0.35, 0.9)
    keep = float(np.clip(0.6 - 0.75 * s, 0.0, 1.0))
    ua, ub = u - length / 2, u + length / 2
    box = _ends_box(loom, i, i + n - 1, ua, ub)
    if whole or rng.random() < 0.3:
        return box, tuple(range(i, i + n)), (keep, ua, ub, 0.0, 0.0, 0.0, 0.0)
    # a broken end: its loose tail hangs from the break into the gap, lying on the fabric
    at_top = rng.random() < 0.5
    tail = loom.spec.weft_pitch * rng.uniform(3.0, 8.0) * (0.5 + s)
    angle = math.pi / 2 + rng.uniform(0.15, 0.8) * (1 if rng.random() < 0.5 else -1)
    if not at_top:
        angle += math.pi
    bx, bu = float(loom.warp_x()[i]), ua if at_top else ub
    ex, eu = bx + tail * math.cos(angle), bu + tail * math.sin(angle)
    reach = _yarn_width(loom.spec, True)
    box = (
        min(box[0], ex - reach),
        min(box[1], eu - reach),
        max(box[2], ex + reach),
        max(box[3], eu + reach),
    )
    return box, tuple(range(i, i + n)), (keep, ua, ub, tail, angle, bx, bu)


def _plan_reed_mark(
    loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float
) -> Planned:
    i = loom.nearest_end(x)
    length = span if rng.random() < 0.7 else span * rng.uniform(0.6, 0.95)
    thin = 1.0 - 0.15 - 0.45 * s
    gain = 1.0 + (0.03 + 0.12 * s) * (1 if rng.random() < 0.5 else -1)
    return _ends_box(loom, i, i + 1, u - length / 2, u + length / 2), (i, i + 1), (thin, gain)


def _plan_broken_pick(
    loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float
) -> Planned:
    j = loom.nearest_pick(u)
    w = loom.width
    length = w if rng.random() < 0.6 else w * rng.uniform(0.35, 0.9)
    x0 = float(np.clip(x - length / 2, 0, w - length))
    c, half = loom.pick_u(j), 0.5 * loom.spec.weft_pitch
    keep = float(np.clip(0.6 - 0.75 * s, 0.0, 1.0))
    return (x0, c - half, x0 + length, c + half), (j,), (keep,)


def _plan_thick_place(
    loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float
) -> Planned:
    j = loom.nearest_pick(u)
    n_extra = 1 + int(s * 2.99)
    fill = 0.55 + 0.45 * s
    pf = loom.spec.weft_pitch
    top, bottom = loom.pick_u(j) - 0.5 * pf, loom.pick_u(j + n_extra) + 0.5 * pf
    return (0.0, top, float(loom.width), bottom), tuple(range(j, j + n_extra)), (fill, 0.08 + 0.14 * s)


def _plan_float(loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float) -> Planned:
    spec = loom.spec
    n_ends = max(2, int((2 + 12 * s) * rng.uniform(0.7, 1.3)))
    n_picks = max(2, int((2 + 6 * s) * rng.uniform(0.7, 1.3)))
    i0 = loom.nearest_end(x) - n_ends // 2
    j0 = loom.nearest_pick(u) - n_picks // 2
    # the floating yarns are the ones the weave mostly hides, or the float would change nothing
    face = float(spec.pattern.mean())
    warp_up = face < 0.5 if face != 0.5 else bool(rng.random() < 0.5)
    wx = loom.warp_x()
    n_ends = min(n_ends, max(2, len(wx) - 4))
    i0 = int(np.clip(i0, 1, max(len(wx) - n_ends - 1, 1)))
    box = _ends_box(loom, i0, i0 + n_ends - 1, 0, 0)
    ua = loom.pick_u(j0) - 0.5 * spec.weft_pitch
    ub = loom.pick_u(j0 + n_picks - 1) + 0.5 * spec.weft_pitch
    return (box[0], ua, box[2], ub), (i0, i0 + n_ends, j0, j0 + n_picks), (float(warp_up),)


def _plan_slub(loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float) -> Planned:
    spec = loom.spec
    warp = rng.random() < 0.5
    pitch = spec.weft_pitch if warp else spec.warp_pitch  # crossings along the slubbed yarn
    length = pitch * rng.uniform(3, 5) * (1 + 2.0 * s)
    peak = 1.25 + 1.2 * s
    yw = _yarn_width(spec, warp)
    half_w = 0.5 * peak * yw + 1
    if warp:
        i = loom.nearest_end(x)
        cx = float(loom.warp_x()[i])
        box = (cx - half_w, u - length / 2, cx + half_w, u + length / 2)
        return box, (i,), (1.0, cx, u, length, yw, peak, 1 + 0.12 * s)
    j = loom.nearest_pick(u)
    cu = loom.pick_u(j)
    box = (x - length / 2, cu - half_w, x + length / 2, cu + half_w)
    return box, (j,), (0.0, x, cu, length, yw, peak, 1 + 0.12 * s)


def _plan_knot(loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float) -> Planned:
    spec = loom.spec
    yw = min(_yarn_width(spec, True), _yarn_width(spec, False))
    size = max(yw * (1.8 + 2.2 * s), 4.0 + 4.0 * s)
    tail = max(spec.warp_pitch, spec.weft_pitch) * (1.2 + 2.5 * s) * rng.uniform(0.7, 1.3)
    a1 = rng.uniform(0, 2 * math.pi)
    a2 = a1 + math.pi + rng.uniform(-0.8, 0.8)
    r = max(size / 2 + tail, size) + 2
    return (x - r, u - r, x + r, u + r), (), (x, u, size, tail, a1, a2, 1.08 + 0.2 * s, yw)


def _plan_hole(loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float) -> Planned:
    pitch = max(loom.spec.warp_pitch, loom.spec.weft_pitch)
    radius = pitch * (0.9 + 4.5 * s) * rng.uniform(0.8, 1.2)
    fray = pitch * rng.uniform(0.8, 2.0)
    r = radius * 1.35 + 2
    return (x - r, u - r, x + r, u + r), (), (radius, fray)


def _plan_stain(loom: Loom, rng: np.random.Generator, s: float, x: float, u: float, span: float) -> Planned:
    pitch = max(loom.spec.warp_pitch, loom.spec.weft_pitch)
    radius = pitch * rng.uniform(2.5, 8.0)
    tints = [(0.42, 0.5, 0.55), (0.3, 0.5, 0.82), (0.55, 0.55, 0.55), (0.35, 0.42, 0.5)]
    tint = tints[int(rng.integers(len(tints)))]
    r = radius * 1.6 + 2
    return (x - r, u - r, x + r, u + r), (), (radius, 0.12 + 0.55 * s, *tint)


_PLANNERS = {
    "broken_end": _plan_broken_end,
    "broken_pick": _plan_broken_pick,
    "thick_place": _plan_thick_place,
    "slub": _plan_slub,
    "hole": _plan_hole,
    "stain": _plan_stain,
    "knot": _plan_knot,
    "float": _plan_float,
    "reed_mark": _plan_reed_mark,
}


def plan_defect(
    loom: Loom, rng: np.random.Generator, class_name: str, visibility: str, x: float, u: float, span: float
) -> DefectPlan:
    """Plan a defect of `class_name` centred near (x, u); `span` is the most it may run along the warp."""
    lo, hi = STRENGTH[visibility]
    s = float(rng.uniform(lo, hi))
    box, yarns, params = _PLANNERS[class_name](loom, rng, s, x, u, span)
    box = tuple(float(v) for v in box)
    return DefectPlan(
        class_name=class_name,
        visibility=visibility,
        strength=s,
        bbox=box,  # type: ignore[arg-type]
        seed=int(rng.integers(2**31)),
        yarns=tuple(int(v) for v in yarns),
        params=tuple(float(v) for v in params),
    )


def tight_box(d: DefectPlan) -> tuple[float, float, float, float]:
    """The defect's box (x0, u0, x1, u1) in fabric pixels, as close as its shape allows without
    rendering the fabric (used for roll ground truth)."""
    name = d.class_name
    if name in ("hole", "stain"):
        grid = box_grid(d)
        hole = name == "hole"
        shape = blob_shape(d, grid, d.params[0], 0.3) if hole else stain_alpha(d, grid) > 0.3
        ys, xs = np.nonzero(shape)
        if len(ys) == 0:
            return d.bbox
        return (grid[0] + xs.min(), grid[1] + ys.min(), grid[0] + xs.max() + 1.0, grid[1] + ys.max() + 1.0)
    if name == "knot":
        x, u, size, tail, a1, a2 = d.params[:6]
        reach = tail + size / 2
        lump = 1.0 * size  # the wound bulb and its drop shadow
        px = [x - lump, x + lump] + [x + reach * math.cos(a) for a in (a1, a2)]
        pu = [u - lump, u + lump] + [u + reach * math.sin(a) for a in (a1, a2)]
        return (min(px) - 1, min(pu) - 1, max(px) + 1, max(pu) + 1)
    return d.bbox


def box_grid(d: DefectPlan) -> tuple[int, int, int, int]:
    x0, ua, x1, ub = d.bbox
    gx0, gu0 = math.floor(x0), math.floor(ua)
    return gx0, gu0, math.ceil(x1) - gx0, math.ceil(ub) - gu0


def stain_alpha(d: DefectPlan, grid: tuple[int, int, int, int]) -> np.ndarray:
    radius = d.params[0]
    return cv2.GaussianBlur(blob_shape(d, grid, radius, 0.45).astype(np.float32), (0, 0), radius * 0.3)


def blob_shape(d: DefectPlan, grid: tuple[int, int, int, int], radius: float, rough: float) -> np.ndarray:
    """An irregular filled blob centred in the defect window (uint8 0/1), from the plan's seed."""
    gx0, gu0, w, h = grid
    rng = np.random.default_rng(d.seed)
    n = 72
    ang = np.linspace(0, 2 * math.pi, n, endpoint=False)
    k = np.fft.irfft(rng.normal(size=n // 2 + 1) * np.exp(-np.arange(n // 2 + 1) / 2.5), n)
    rad = radius * (1 + rough * k / (np.abs(k).max() + 1e-6))
    cx, cy = (d.bbox[0] + d.bbox[2]) / 2 - gx0, (d.bbox[1] + d.bbox[3]) / 2 - gu0
    pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], axis=1)
    out = np.zeros((h, w), np.uint8)
    cv2.fillPoly(out, [np.round(pts * 4).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=2)
    return out
