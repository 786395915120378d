"""Making planned defects in a yarn field: edit the yarns, cut them, paint what lies on top.

`apply_edits` changes the yarns themselves (missing yarns, forced floats, double picks...),
`apply_cuts` cuts yarns for holes, `apply_paint` adds what lies on the surface (slubs, knots,
stains), and `footprint` gives the defect's pixel mask in the field. Everything follows from the
plan and absolute positions, so a defect split over two roll chunks renders as one.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from fabric_inspect.datasets.defects import DefectPlan, blob_shape, box_grid, stain_alpha
from fabric_inspect.datasets.render import Geometry, draw_yarn_segment
from fabric_inspect.datasets.weave import FabricSpec, YarnField


def _rows(f: YarnField, ua: float, ub: float) -> slice:
    return slice(
        int(np.clip(math.floor(ua) - f.u0, 0, f.height)), int(np.clip(math.ceil(ub) - f.u0, 0, f.height))
    )


def _pick_rows(f: YarnField, picks: tuple[int, ...]) -> np.ndarray:
    return np.nonzero(np.isin(f.weft_ids, picks))[0]


def _insert_double_picks(f: YarnField, picks: tuple[int, ...], fill: float, darken: float) -> None:
    rows = _pick_rows(f, picks)
    if len(rows) == 0:
        return
    band = np.concatenate([rows, [min(rows[-1] + 1, len(f.weft_c) - 1)]])
    f.weft_b[band] *= 1 - darken
    new_c = 0.5 * (f.weft_c[rows] + f.weft_c[np.minimum(rows + 1, len(f.weft_c) - 1)])
    new_w = np.roll(f.weft_w[rows], 7, axis=1) * fill / f.spec.weft_fill * 0.7
    order = np.argsort(np.concatenate([f.weft_c, new_c]), kind="stable")
    f.weft_c = np.concatenate([f.weft_c, new_c])[order]
    f.weft_w = np.concatenate([f.weft_w, new_w])[order]
    f.weft_b = np.concatenate([f.weft_b, np.roll(f.weft_b[rows], 13, axis=1)])[order]
    f.weft_col = np.concatenate([f.weft_col, f.weft_col[rows]])[order]
    f.weft_ids = np.concatenate([f.weft_ids, f.weft_ids[rows]])[order]
    f.top = np.concatenate([f.top, f.top[rows]])[order]
    f.weft_wav = np.concatenate([f.weft_wav, f.weft_wav[rows]])[order]


def _gap(f: YarnField, d: DefectPlan) -> tuple[float, float, float, float]:
    """Where a broken end's yarn is missing: (x0, u0, x1, u1), its loose tail aside."""
    half = 0.5 * f.spec.warp_pitch
    return (
        float(f.warp_c[d.yarns[0]] - half),
        d.params[1],
        float(f.warp_c[d.yarns[-1]] + half),
        d.params[2],
    )


def apply_edits(f: YarnField, d: DefectPlan) -> None:
    """Change the yarns themselves (before geometry and compositing)."""
    x0, ua, x1, ub = d.bbox
    name = d.class_name
    if name == "broken_end":
        gx0, gu0, gx1, gu1 = _gap(f, d)
        f.warp_w[_rows(f, gu0, gu1), list(d.yarns)] *= d.params[0]
        # without the end to lift them, the picks sink into the gap: they lie deeper, in shadow
        half = 0.5 * f.spec.weft_pitch
        picks = _pick_rows_between(f, gu0 + half, gu1 - half)
        xa, xb = max(int(gx0), 0), min(math.ceil(gx1), f.width)
        f.weft_b[picks[:, None], np.arange(xa, xb)[None, :]] *= 1 - 0.4 * d.strength
    elif name == "reed_mark":
        rows = _rows(f, ua, ub)
        f.warp_w[rows, list(d.yarns)] *= d.params[0]
        f.warp_b[rows, list(d.yarns)] *= d.params[1]
    elif name == "broken_pick":
        f.weft_w[_pick_rows(f, d.yarns), max(int(x0), 0) : math.ceil(x1)] *= d.params[0]
        ends = np.nonzero((f.warp_c >= x0) & (f.warp_c <= x1))[0]
        f.warp_b[_rows(f, ua, ub), ends[0] : ends[-1] + 1] *= 1 - 0.4 * d.strength
    elif name == "thick_place":
        _insert_double_picks(f, d.yarns, d.params[0], d.params[1])
        # the crowded picks bend the ends more: the ends look darker across the bar
        f.warp_b[_rows(f, ua, ub)] *= 1 - d.params[1]
    elif name == "float":
        i0, i1, j0, j1 = d.yarns
        rows = _pick_rows(f, tuple(range(j0, j1)))
        f.top[rows, i0:i1] = bool(d.params[0])
        if d.params[0]:
            f.warp_b[_rows(f, ua, ub), i0:i1] *= 1.06
        else:
            f.weft_b[rows, max(int(x0), 0) : int(x1) + 1] *= 1.06
    elif name == "slub":
        warp, cx, cu, length = d.params[:4]
        if warp:
            f.top[_pick_rows_between(f, cu - length / 2, cu + length / 2), d.yarns[0]] = True
        else:
            i0, i1 = np.searchsorted(f.warp_c, [cx - length / 2, cx + length / 2])
            f.top[_pick_rows(f, d.yarns), i0:i1] = False


def _pick_rows_between(f: YarnField, ua: float, ub: float) -> np.ndarray:
    return np.nonzero((f.weft_c >= ua) & (f.weft_c <= ub))[0]


def _local_grid(f: YarnField, d: DefectPlan) -> tuple[int, int, int, int] | None:
    """Integer window (gx0, gu0, w, h) of the defect box, if it overlaps the field."""
    gx0, gu0, w, h = box_grid(d)
    if gu0 + h <= f.u0 or gu0 >= f.u0 + f.height or w <= 0 or h <= 0:
        return None
    return gx0, gu0, w, h


def _overlap(
    f: YarnField, grid: tuple[int, int, int, int]
) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    gx0, gu0, w, h = grid
    fy0, fy1 = max(gu0 - f.u0, 0), min(gu0 + h - f.u0, f.height)
    fx0, fx1 = max(gx0, 0), min(gx0 + w, f.width)
    local = (slice(fy0 + f.u0 - gu0, fy1 + f.u0 - gu0), slice(fx0 - gx0, fx1 - gx0))
    return (slice(fy0, fy1), slice(fx0, fx1)), local


def apply_cuts(f: YarnField, g: Geometry, d: DefectPlan) -> None:
    """Holes: cut warp and weft inside the blob, each yarn at its own depth (frayed ends)."""
    if d.class_name != "hole":
        return
    grid = _local_grid(f, d)
    if grid is None:
        return
    radius, fray = d.params
    blob = blob_shape(d, grid, radius, 0.3)
    depth = cv2.distanceTransform(blob, cv2.DIST_L2, 3)
    (fy, fx), (ly, lx) = _overlap(f, grid)
    rng = np.random.default_rng(d.seed + 1)
    fray_end = np.minimum(rng.exponential(fray * 0.6, size=len(f.warp_c) + 1), 2.5 * fray)
    fray_pick = np.minimum(rng.exponential(fray * 0.6, size=4096), 2.5 * fray)
    dep = depth[ly, lx]
    keep_w = (dep <= fray_end[g.wi[fx]][None, :]).astype(np.float32)
    keep_f = (dep <= fray_pick[f.weft_ids[g.fi[fy]] % 4096][:, None]).astype(np.float32)
    f.cuts.append((fy.start, fy.stop, fx.start, fx.stop, keep_w, keep_f))


def _colour_of(spec: FabricSpec, warp: bool, yarn: int) -> np.ndarray:
    pal, seq = (spec.warp_palette, spec.warp_sequence) if warp else (spec.weft_palette, spec.weft_sequence)
    return pal[seq[yarn % len(seq)]]


def _paint_slub(img: np.ndarray, f: YarnField, d: DefectPlan, alpha: np.ndarray) -> None:
    warp, cx, cu, length, yw, peak, gain = d.params
    rng = np.random.default_rng(d.seed)
    t = np.linspace(0, 1, 33)
    prof = yw * (1 + (peak - 1) * np.sin(np.pi * t) ** 1.5 * (1 + 0.15 * rng.normal(size=33)))
    angle = math.pi / 2 if warp else 0.0
    colour = _colour_of(f.spec, bool(warp), d.yarns[0])
    draw_yarn_segment(img, alpha, (cx, cu - f.u0), angle, length, prof, colour, gain)


def _paint_knot(img: np.ndarray, f: YarnField, d: DefectPlan, alpha: np.ndarray) -> None:
    x, u, size, tail, a1, a2, gain, yw = d.params
    y = u - f.u0
    colour = _colour_of(f.spec, True, int(x / f.spec.warp_pitch)) * 0.5
    colour = colour + 0.5 * _colour_of(f.spec, False, int(u / f.spec.weft_pitch))
    local = np.zeros(img.shape[:2], np.float32)
    for ang in (a1, a2):
        cx, cy = x + 0.5 * (tail + size / 2) * math.cos(ang), y + 0.5 * (tail + size / 2) * math.sin(ang)
        draw_yarn_segment(img, local, (cx, cy), ang, tail + size / 2, 0.5 * yw, colour, gain * 0.95)
    # drop shadow under the lump (drawn in the defect's own window, so that regions split anywhere
    # render it the same), then the lump itself: a bulb wound from several turns of yarn
    grid = _local_grid(f, d)
    if grid is not None:
        gx0, gu0, w, h = grid
        shadow = np.zeros((h, w), np.float32)
        centre = (round((x + 0.12 * size - gx0) * 4), round((u + 0.15 * size - gu0) * 4))
        cv2.circle(shadow, centre, round(size * 2.4), 1.0, -1, cv2.LINE_AA, 2)
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(size * 0.25, 0.8))
        (fy, fx), (ly, lx) = _overlap(f, grid)
        sh = shadow[ly, lx]
        img[fy, fx] *= (1 - (0.25 + 0.25 * gain) * sh)[..., None]
        np.maximum(local[fy, fx], (sh > 0.25).astype(np.float32), out=local[fy, fx])
    for k, ang in enumerate(np.linspace(0, math.pi, 4, endpoint=False) + a1):
        prof = size * np.array([0.35, 0.8, 1.0, 0.8, 0.35]) * (1 - 0.08 * k)
        draw_yarn_segment(img, local, (x, y), ang, size * 1.1, prof * 0.75, colour, gain)
    np.maximum(alpha, local, out=alpha)


def _paint_stain(img: np.ndarray, f: YarnField, d: DefectPlan, alpha: np.ndarray) -> None:
    grid = _local_grid(f, d)
    if grid is None:
        return
    peak = d.params[1]
    tint = np.asarray(d.params[2:5], np.float32)
    soft = stain_alpha(d, grid)
    (fy, fx), (ly, lx) = _overlap(f, grid)
    a = soft[ly, lx]
    roi = img[fy, fx]
    roi *= 1 - (peak * a)[..., None] * (1 - tint)[None, None, :]
    np.maximum(alpha[fy, fx], (a > 0.3).astype(np.float32), out=alpha[fy, fx])


def _paint_loose_end(img: np.ndarray, f: YarnField, d: DefectPlan, alpha: np.ndarray) -> None:
    tail, angle, bx, bu = d.params[3:7]
    if tail <= 0:
        return
    centre = (bx + 0.5 * tail * math.cos(angle), bu - f.u0 + 0.5 * tail * math.sin(angle))
    width = 0.8 * f.spec.warp_fill * f.spec.warp_pitch
    colour = _colour_of(f.spec, True, d.yarns[0])
    draw_yarn_segment(img, alpha, centre, angle, tail, width, colour, 1.08)


_PAINTERS = {
    "slub": _paint_slub,
    "knot": _paint_knot,
    "stain": _paint_stain,
    "broken_end": _paint_loose_end,
}


def paints(d: DefectPlan) -> bool:
    """Whether `apply_paint` may paint this defect onto the image (else it leaves it untouched)."""
    return d.class_name in _PAINTERS


def apply_paint(img: np.ndarray, f: YarnField, d: DefectPlan) -> np.ndarray | None:
    """Paint what lies on the surface (slub, knot, stain, a broken end's loose tail); returns its
    coverage, or None."""
    painter = _PAINTERS.get(d.class_name)
    if painter is None or _local_grid(f, d) is None:
        return None
    alpha = np.zeros(img.shape[:2], np.float32)
    painter(img, f, d, alpha)
    return alpha


def footprint(f: YarnField, d: DefectPlan, painted: np.ndarray | None) -> np.ndarray:
    """The defect's pixel mask in the field (bool HxW)."""
    mask = np.zeros((f.height, f.width), bool)
    grid = _local_grid(f, d)
    if grid is None:
        return mask
    if d.class_name == "broken_end":
        gx0, gu0, gx1, gu1 = _gap(f, d)
        mask[_rows(f, gu0, gu1), max(math.floor(gx0), 0) : max(math.ceil(gx1), 0)] = True
        return mask | (painted > 0.5)
    if painted is not None:
        return painted > 0.5
    (fy, fx), (ly, lx) = _overlap(f, grid)
    if d.class_name == "hole":
        blob = cv2.dilate(blob_shape(d, grid, d.params[0], 0.3), np.ones((3, 3), np.uint8))
        mask[fy, fx] = blob[ly, lx] > 0
    else:
        mask[fy, fx] = True
    return mask
