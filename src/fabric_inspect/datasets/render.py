"""Compositing a yarn field into pixels: coverage, round-yarn shading, interlacing and fibre fuzz."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fabric_inspect.datasets.camera import to_uint8
from fabric_inspect.datasets.weave import YarnField, keyed_normal, keyed_row, nearest_yarn, take_columns


@dataclass(frozen=True, slots=True, eq=False)
class Geometry:
    """Where each pixel sits in the weave: nearest warp (per column) and weft (per row)."""

    wi: np.ndarray  # (W,) warp index
    dx: np.ndarray  # (W,) offset from that warp's centre
    fi: np.ndarray  # (H,) weft index
    dy: np.ndarray  # (H,) offset from that pick's centre


def geometry(f: YarnField) -> Geometry:
    xs = np.arange(f.width, dtype=np.float32)
    us = np.arange(f.u0, f.u0 + f.height, dtype=np.float32)
    wi = nearest_yarn(f.warp_c, xs)
    fi = nearest_yarn(f.weft_c, us)
    return Geometry(wi=wi, dx=xs - f.warp_c[wi], fi=fi, dy=us - f.weft_c[fi])


def _cell_codes(top: np.ndarray) -> np.ndarray:
    """Per crossing: bit0 warp on top; bit1/bit2 warp dives under the previous/next pick;
    bit3/bit4 weft dives under the previous/next end (a yarn at the edge is its own neighbour)."""
    t = top.view(np.uint8)
    under = 1 - t
    code = t.copy()
    code[1:] += under[:-1] * 2
    code[:1] += under[:1] * 2
    code[:-1] += under[1:] * 4
    code[-1:] += under[-1:] * 4
    code[:, 1:] += t[:, :-1] * 8
    code[:, :1] += t[:, :1] * 8
    code[:, :-1] += t[:, 1:] * 16
    code[:, -1:] += t[:, -1:] * 16
    return code


def _spacing(centres: np.ndarray, idx: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Distance from a yarn's centre to its neighbour on the side of `offset`."""
    n = len(centres)
    nb = np.clip(np.where(offset > 0, idx + 1, idx - 1), 0, n - 1)
    d = np.abs(centres[nb] - centres[idx])
    if (d > 0.5).all():  # no edge yarn (its own neighbour) and no crowded pick
        return d
    return np.where(d > 0.5, d, np.float32(np.median(np.diff(centres))))


def _yarn_tables(widths: np.ndarray, relief: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-yarn tables gathered to pixels by the caller: half width + 0.5 (for coverage) and
    shading / half width^2 (for the round-yarn profile). Computed on the small per-yarn arrays."""
    half = widths * np.float32(0.5)
    k = np.square(np.maximum(half, np.float32(0.5)) if half.min() < 0.5 else half)
    np.divide(np.float32(0.58 * relief), k, out=k)
    half += np.float32(0.5)
    return half, k


def _dive(code: np.ndarray, shift: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """1 where the yarn stays up, 1 - depth where `(code >> shift) & 1` says it dives under its
    neighbour on this side (in shadow)."""
    dive = ((code >> shift) & 1).astype(np.float32)
    dive *= depth
    np.subtract(np.float32(1.0), dive, out=dive)
    return dive


def _layer(
    half_plus: np.ndarray, wav: np.ndarray, k: np.ndarray, bright: np.ndarray, offset: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (1 px anti-aliased edge) and luminance of one yarn system over a tile, from the
    tables gathered to its pixels (fresh arrays, reused in place) and the offset of each pixel
    from its yarn's straight centre line. `bright` already holds the dive shadow."""
    # yarns meander a little: offsets from the yarn centres bent by the waviness
    adx = cv2.absdiff(offset, wav, dst=wav)
    alpha = np.subtract(half_plus, adx, out=half_plus)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    # round yarn: bright along its crown, darker towards its flanks (parabolic profile); outside
    # the yarn the value goes negative but is multiplied by zero coverage
    lum = np.square(adx, out=adx)
    lum *= k
    np.subtract(np.float32(1.0), lum, out=lum)
    lum *= bright
    return alpha, lum


_TILE = 48  # rows composited at a time: the temporaries then stay in the CPU cache


def _tables(f: YarnField, g: Geometry) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Per-yarn tables, the dive shadows folded into the brightness. Warp: rows x ends (half width
    + 0.5, waviness, shading, brightness); weft: picks x columns (the same, then whether the warp
    is on top at that crossing, and its complement)."""
    relief = f.spec.relief
    codes = _cell_codes(f.top)
    sy = g.dy / (0.5 * _spacing(f.weft_c, g.fi, g.dy))
    sx = g.dx / (0.5 * _spacing(f.warp_c, g.wi, g.dx))
    hp_w, k_w = _yarn_tables(f.warp_w, relief)
    depth_w = (0.55 * relief * np.minimum(sy * sy, 1.0)).astype(np.float32)[:, None]
    dive_w = _dive(codes[g.fi], np.where(sy > 0, 2, 1).astype(np.uint8)[:, None], depth_w)
    warp = (hp_w, f.warp_wav, k_w, np.multiply(f.warp_b, dive_w, out=dive_w))
    hp_f, k_f = _yarn_tables(f.weft_w, relief)
    code_f = take_columns(codes, g.wi)
    depth_f = (0.55 * relief * np.minimum(sx * sx, 1.0)).astype(np.float32)[None, :]
    dive_f = _dive(code_f, np.where(sx > 0, 4, 3).astype(np.uint8)[None, :], depth_f)
    top = (code_f & 1).astype(np.float32)
    weft = (hp_f, f.weft_wav, k_f, np.multiply(f.weft_b, dive_f, out=dive_f), top, np.float32(1.0) - top)
    return warp, weft


def composite(f: YarnField, g: Geometry, as_uint8: bool = False) -> np.ndarray:
    """Render the field: float32 HxWx3 BGR in about 0..1 (before fibre fuzz, see camera.fuzz), or
    with `as_uint8` that image through `camera.to_uint8`, converted tile by tile.

    The per-yarn tables are gathered to the pixels of one tile of rows at a time: warp ones by
    repeating each end's value over its columns (wi is sorted, so that is t[:, wi]), weft ones by
    taking each row's pick. Every per-pixel array is row-major (C order): NumPy runs several times
    slower on operands of mixed memory order."""
    warp, weft = _tables(f, g)
    columns = np.bincount(g.wi, minlength=len(f.warp_c))
    # fibre streaks: fixed per column along the warp, per row along the weft
    fib = 0.12 * f.spec.hairiness + 0.04
    fib_x = 1 + fib * keyed_row(f.seed, 10, f.width)
    fib_u = 1 + fib * keyed_normal(f.seed, 11, f.u0, f.u0 + f.height, 1)[:, 0]
    paint = _painter(f, g, fib_x, fib_u)
    out = np.empty((f.height, f.width, 3), np.uint8 if as_uint8 else np.float32)
    tile = np.empty((min(_TILE, f.height), f.width, 3), np.float32) if as_uint8 else None
    dx = np.repeat(g.dx[None, :], _TILE, axis=0)
    for r0 in range(0, f.height, _TILE):
        rows = slice(r0, min(r0 + _TILE, f.height))
        n = rows.stop - r0
        a_w, lum_w = _layer(*(np.repeat(t[rows], columns, axis=1) for t in warp), dx[:n])
        hp, wav, k, b, t, nt = (t.take(g.fi[rows], axis=0) for t in weft)
        a_f, lum_f = _layer(hp, wav, k, b, np.repeat(g.dy[rows, None], f.width, axis=1))
        _cut(f.cuts, rows, a_w, a_f)
        # interlacing: the yarn on top at a crossing hides the one below
        vis_w = np.multiply(a_f, nt, out=nt)  # warp hidden where the weft is on top
        np.subtract(np.float32(1.0), vis_w, out=vis_w)
        vis_w *= a_w
        vis_f = np.multiply(a_w, t, out=t)
        np.subtract(np.float32(1.0), vis_f, out=vis_f)
        vis_f *= a_f
        bg = np.subtract(np.float32(1.0), vis_w, out=a_w)
        bg -= vis_f
        lum_w *= vis_w
        lum_f *= vis_f
        if tile is None:
            paint(rows, lum_w, lum_f, bg, out[rows])
        else:
            paint(rows, lum_w, lum_f, bg, tile[:n])
            to_uint8(tile[:n], out=out[rows])
    return out


def _cut(cuts: list, rows: slice, a_w: np.ndarray, a_f: np.ndarray) -> None:
    """Apply hole cuts (y0, y1, x0, x1, keep_warp, keep_weft) that reach into these rows."""
    for y0, y1, x0, x1, keep_w, keep_f in cuts:
        lo, hi = max(y0, rows.start), min(y1, rows.stop)
        if lo < hi:
            a_w[lo - rows.start : hi - rows.start, x0:x1] *= keep_w[lo - y0 : hi - y0]
            a_f[lo - rows.start : hi - rows.start, x0:x1] *= keep_f[lo - y0 : hi - y0]


def _painter(f: YarnField, g: Geometry, fib_x: np.ndarray, fib_u: np.ndarray):
    """A function colouring one tile from its warp/weft luminance and background share."""
    spec = f.spec
    background = np.asarray(spec.background, np.float32)
    if len(spec.warp_palette) == 1 and len(spec.weft_palette) == 1:
        mix = np.stack([spec.warp_palette[0], spec.weft_palette[0], background], axis=1).astype(np.float32)
        fx = fib_x.astype(np.float32)[None, :]
        fu = fib_u.astype(np.float32)[:, None]
        merged = np.empty((min(_TILE, f.height), f.width, 3), np.float32)  # reused by every tile

        def plain(rows: slice, lum_w: np.ndarray, lum_f: np.ndarray, bg: np.ndarray, out: np.ndarray) -> None:
            lum_w *= fx
            lum_f *= fu[rows]
            cv2.transform(cv2.merge([lum_w, lum_f, bg], dst=merged[: len(bg)]), mix, dst=out)

        return plain
    col_w = np.ascontiguousarray((f.warp_col[g.wi] * fib_x[:, None]).T.astype(np.float32))
    col_f = np.ascontiguousarray((f.weft_col[g.fi] * fib_u[:, None]).T.astype(np.float32))

    def striped(rows: slice, lum_w: np.ndarray, lum_f: np.ndarray, bg: np.ndarray, out: np.ndarray) -> None:
        chans = []
        for c in range(3):
            ch = lum_w * col_w[c][None, :]
            ch += lum_f * col_f[c][rows, None]
            ch += bg * background[c]
            chans.append(ch)
        cv2.merge(chans, dst=out)

    return striped


def draw_yarn_segment(
    img: np.ndarray,
    alpha_out: np.ndarray,
    centre: tuple[float, float],
    angle: float,
    length: float,
    width: np.ndarray | float,
    colour: np.ndarray,
    gain: float = 1.0,
) -> None:
    """Paint a round yarn segment (spindle when `width` is a profile) over `img`, in place.

    centre (x, y) in pixels, angle in radians (0 = along +x), width either a number or an array of
    widths sampled evenly along the length. `alpha_out` receives the max coverage (for masks).
    """
    h, w = img.shape[:2]
    wmax = float(np.max(width))
    r = 0.5 * length + wmax
    x0, x1 = max(int(centre[0] - r) - 1, 0), min(int(centre[0] + r) + 2, w)
    y0, y1 = max(int(centre[1] - r) - 1, 0), min(int(centre[1] + r) + 2, h)
    if x0 >= x1 or y0 >= y1:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    ca, sa = np.cos(angle), np.sin(angle)
    along = (xx - centre[0]) * ca + (yy - centre[1]) * sa
    across = -(xx - centre[0]) * sa + (yy - centre[1]) * ca
    t = along / max(length, 1e-3) + 0.5
    if np.ndim(width) == 0:
        half = np.full_like(t, 0.5 * float(width))
    else:
        prof = np.asarray(width, np.float32)
        half = 0.5 * np.interp(np.clip(t, 0, 1), np.linspace(0, 1, len(prof)), prof).astype(np.float32)
    inside = (t >= 0) & (t <= 1)
    a = np.clip(half - np.abs(across) + 0.5, 0, 1) * inside
    shade = np.sqrt(np.clip(1 - (across / (half + 1e-3)) ** 2, 0, 1))
    # fibres along the segment: fine streaks across its width
    streak = 1 + 0.08 * np.sin(across * 2.7 + 1.3 * np.sin(along * 0.21))
    lum = gain * (0.42 + 0.58 * shade) * streak
    roi = img[y0:y1, x0:x1]
    roi[:] = roi * (1 - a[..., None]) + (a * lum)[..., None] * colour[None, None, :]
    np.maximum(alpha_out[y0:y1, x0:x1], a, out=alpha_out[y0:y1, x0:x1])
