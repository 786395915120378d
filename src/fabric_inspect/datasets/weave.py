"""Woven fabric at yarn level: fabric parameters, the yarn field of a region, and its rendering.

A fabric is an endless strip, `width` pixels across, whose rows are numbered by `u` (any integer,
increasing down the image). Warp yarns run along `u` (vertical), weft yarns (picks) across it. Every
random quantity is keyed by position (yarn number, row block), so any region renders the same way
whenever it is asked for: a roll is rendered in chunks that join without a seam.

A region is first built as a `YarnField` (per-yarn 1-D arrays and the interlacing matrix), which
defects then edit, and only then composited into pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

WEAVES: tuple[str, ...] = ("plain", "twill", "satin")
COLOURINGS: tuple[str, ...] = ("greige", "dyed", "yarn_dyed")
# how often each colouring comes up: every test set, roll and demo uses these shares; training may
# draw yarn-dyed fabric more often (TrainConfig.colouring_mix), the hardest kind for the shipped model
COLOURING_SHARES: tuple[float, float, float] = (0.45, 0.3, 0.25)

_BLOCK = 64  # keyed random numbers come in blocks of this many rows


@dataclass(frozen=True, slots=True, eq=False)
class FabricSpec:
    """What kind of fabric to weave. Pitches and widths are in pixels; colours are BGR in 0..1."""

    weave: str
    pattern: np.ndarray  # R_weft x R_warp bool, True where the warp is on top
    warp_pitch: float
    weft_pitch: float
    warp_fill: float  # yarn width as a fraction of its pitch
    weft_fill: float
    irregularity: float  # coefficient of variation of yarn thickness along its length
    shade_var: float  # brightness variation between and along yarns
    hairiness: float  # 0..1: fibre fuzz over the interstices
    warp_palette: np.ndarray  # K x 3
    warp_sequence: tuple[int, ...]  # palette index per warp yarn, repeated across the width
    weft_palette: np.ndarray
    weft_sequence: tuple[int, ...]
    background: tuple[float, float, float]  # what shows through the gaps between yarns
    colouring: str = "greige"
    relief: float = 1.0  # depth of the yarn shading: 1 = round, well-lit yarns; 0.3 = flat, low contrast
    waviness: float = 0.0  # how far yarns meander from their straight path, in pitches

    def __post_init__(self) -> None:
        if self.weave not in WEAVES:
            raise ValueError(f"weave must be one of {WEAVES}, got {self.weave!r}")
        if min(self.warp_pitch, self.weft_pitch) < 2.0:
            raise ValueError(f"yarn pitch must be >= 2 px, got {self.warp_pitch}, {self.weft_pitch}")
        if not (0.3 <= self.warp_fill <= 1.0 and 0.3 <= self.weft_fill <= 1.0):
            raise ValueError(f"yarn fill must be in 0.3..1, got {self.warp_fill}, {self.weft_fill}")


def weave_pattern(weave: str, rng: np.random.Generator) -> np.ndarray:
    """The interlacing repeat: True where the warp lies over the weft (rows = picks, cols = ends)."""
    if weave == "plain":
        return np.array([[True, False], [False, True]])
    if weave == "twill":
        up, down = [(1, 1), (2, 1), (1, 2), (2, 2), (3, 1)][int(rng.integers(5))]
        r = up + down
        sign = 1 if rng.random() < 0.5 else -1
        j, i = np.mgrid[0:r, 0:r]
        return ((i - sign * j) % r) < up
    if weave == "satin":
        r, step = [(5, 2), (5, 3), (8, 3), (8, 5)][int(rng.integers(4))]
        pat = np.ones((r, r), dtype=bool)
        pat[np.arange(r), (np.arange(r) * step) % r] = False
        return pat if rng.random() < 0.6 else ~pat  # warp-faced satin or weft-faced sateen
    raise ValueError(f"unknown weave {weave!r}; expected one of {WEAVES}")


def _hsv_colour(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> np.ndarray:
    hsv = np.array([[[rng.uniform(0, 180), rng.uniform(*sat) * 255, rng.uniform(*val) * 255]]], np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0].astype(np.float32) / 255.0


def _stripes(rng: np.random.Generator, n_colours: int) -> tuple[int, ...]:
    seq: list[int] = []
    for c in rng.permutation(n_colours):
        seq += [int(c)] * int(rng.integers(2, 14))
    return tuple(seq)


def _colours(rng: np.random.Generator, colouring: str) -> tuple[np.ndarray, tuple, np.ndarray, tuple]:
    if colouring == "greige":
        base = np.array([0.78, 0.86, 0.9], np.float32) * rng.uniform(0.35, 1.05)
        tint = np.array([rng.uniform(-0.05, 0.02), 0.0, rng.uniform(-0.02, 0.04)], np.float32)
        warp = np.clip(base + tint, 0, 1)
        weft = np.clip(warp * rng.uniform(0.9, 1.08), 0, 1)
        return warp[None], (0,), weft[None], (0,)
    if colouring == "dyed":
        c = _hsv_colour(rng, (0.3, 0.9), (0.35, 0.85))
        weft = np.clip(c * rng.uniform(0.88, 1.1), 0, 1)
        return c[None], (0,), weft[None], (0,)
    k = int(rng.integers(2, 4))
    palette = np.stack([_hsv_colour(rng, (0.2, 0.9), (0.25, 0.9)) for _ in range(k)])
    warp_seq = _stripes(rng, k)
    weft_seq = _stripes(rng, k) if rng.random() < 0.6 else (int(rng.integers(k)),)  # checks or stripes
    return palette, warp_seq, palette, weft_seq


def sample_fabric(
    rng: np.random.Generator, scale: float = 1.0, colouring_shares: tuple[float, ...] = COLOURING_SHARES
) -> FabricSpec:
    """A random fabric. `scale` multiplies the yarn pitches (pixels per yarn grow with resolution);
    `colouring_shares` are the chances of greige, dyed and yarn-dyed (one draw of `rng` whatever
    they are, so the rest of the fabric comes from the same numbers)."""
    weave = WEAVES[int(rng.integers(len(WEAVES)))]
    colouring = COLOURINGS[int(rng.choice(3, p=list(colouring_shares)))]
    pitch = math.exp(rng.uniform(math.log(2.2), math.log(9.0))) * scale  # fine to coarse
    warp_palette, warp_seq, weft_palette, weft_seq = _colours(rng, colouring)
    dark = rng.random() < 0.8
    bg = (0.06, 0.06, 0.07) if dark else (0.92, 0.93, 0.95)
    return FabricSpec(
        weave=weave,
        pattern=weave_pattern(weave, rng),
        warp_pitch=pitch,
        weft_pitch=max(pitch * rng.uniform(0.75, 1.3), 2.0),
        warp_fill=rng.uniform(0.72, 0.97),
        weft_fill=rng.uniform(0.72, 0.97),
        irregularity=rng.uniform(0.03, 0.14),
        shade_var=rng.uniform(0.02, 0.08),
        hairiness=rng.uniform(0.0, 1.0),
        warp_palette=warp_palette,
        warp_sequence=warp_seq,
        weft_palette=weft_palette,
        weft_sequence=weft_seq,
        background=bg,
        colouring=colouring,
        relief=rng.uniform(0.35, 1.0),
        waviness=rng.uniform(0.0, 0.1),
    )


def _enc(b: int) -> int:
    return 2 * b if b >= 0 else -2 * b - 1


def keyed_normal(seed: int, stream: int, start: int, stop: int, m: int) -> np.ndarray:
    """Rows start..stop-1 of an endless (rows x m) standard-normal matrix, the same for every call."""
    b0, b1 = start // _BLOCK, (stop - 1) // _BLOCK
    out = np.empty((stop - b0 * _BLOCK, m), np.float32)
    for b in range(b0, b1 + 1):
        # a block's numbers come out row by row, so the last block is drawn only as far as needed
        rows = out[(b - b0) * _BLOCK : (b - b0 + 1) * _BLOCK]
        np.random.default_rng([seed, stream, _enc(b)]).standard_normal(dtype=np.float32, out=rows)
    return out[start - b0 * _BLOCK :]


def keyed_row(seed: int, stream: int, m: int) -> np.ndarray:
    """m standard-normal numbers, the same for every call with this seed and stream."""
    return np.random.default_rng([seed, stream, 0x5A5A]).standard_normal(m, dtype=np.float32)


def _smooth_along(seed: int, stream: int, pos0: int, n: int, m: int, spacing: int) -> np.ndarray:
    """(n, m) noise, smooth over `spacing` positions along axis 0, keyed by absolute position."""
    q0 = pos0 // spacing
    q1 = (pos0 + n - 1) // spacing + 2
    knots = keyed_normal(seed, stream, q0, q1, m)
    p = np.arange(pos0, pos0 + n, dtype=np.float64) / spacing
    qi = np.floor(p).astype(np.int64)
    t = (p - qi).astype(np.float32)[:, None]
    t = t * t * (3 - 2 * t)
    k = qi - q0
    return knots[k] * (1 - t) + knots[k + 1] * t


@dataclass(slots=True)
class YarnField:
    """The yarns of one region, ready to be edited by defects and composited.

    Rows are `u0 .. u0+height-1`; columns 0..width-1. Warp arrays are (height, n_warp); weft arrays
    are (n_weft, width). `top[j, i]` is True where warp i lies over weft j.
    """

    spec: FabricSpec
    seed: int
    u0: int
    height: int
    width: int
    warp_c: np.ndarray  # (n_warp,) centre x
    warp_w: np.ndarray  # (height, n_warp) width
    warp_b: np.ndarray  # (height, n_warp) brightness
    warp_col: np.ndarray  # (n_warp, 3)
    warp_ids: np.ndarray  # (n_warp,) yarn number
    weft_c: np.ndarray  # (n_weft,) centre u (absolute row)
    weft_w: np.ndarray  # (n_weft, width)
    weft_b: np.ndarray  # (n_weft, width)
    weft_col: np.ndarray  # (n_weft, 3)
    weft_ids: np.ndarray  # (n_weft,) pick number
    top: np.ndarray  # (n_weft, n_warp) bool
    warp_wav: np.ndarray  # (height, n_warp) sideways displacement of each end along its length
    weft_wav: np.ndarray  # (n_weft, width) displacement of each pick across the width
    cuts: list = field(default_factory=list)  # (y0, y1, x0, x1, keep_warp, keep_weft) alpha cuts


def warp_count(spec: FabricSpec, width: int) -> int:
    return math.ceil(width / spec.warp_pitch) + 2


def warp_centres(spec: FabricSpec, seed: int, width: int) -> np.ndarray:
    """Centre x of every warp yarn (end) of a fabric `width` pixels wide."""
    n_warp = warp_count(spec, width)
    jit = np.clip(keyed_row(seed, 1, n_warp), -2, 2)
    return (np.arange(n_warp) - 0.5) * spec.warp_pitch + jit * 0.05 * spec.warp_pitch


def weft_centres(spec: FabricSpec, seed: int, j0: int, j1: int) -> np.ndarray:
    """Centre row u of picks j0..j1-1."""
    jit = np.clip(keyed_normal(seed, 6, j0, j1, 1)[:, 0], -2, 2)
    return np.arange(j0, j1) * spec.weft_pitch + jit * 0.06 * spec.weft_pitch


def build_field(spec: FabricSpec, seed: int, u0: int, height: int, width: int) -> YarnField:
    """The yarn field of rows u0..u0+height-1 of the endless fabric `spec` woven with `seed`."""
    pw, pf = spec.warp_pitch, spec.weft_pitch
    warp_c = warp_centres(spec, seed, width)
    n_warp = len(warp_c)
    warp_ids = np.arange(n_warp)
    irr = spec.irregularity
    warp_w = (
        spec.warp_fill
        * pw
        * (
            1
            + irr * _smooth_along(seed, 2, u0, height, n_warp, 11)
            + 0.5 * irr * _smooth_along(seed, 3, u0, height, n_warp, 5)
        )
    )
    base_w = 1 + spec.shade_var * keyed_row(seed, 4, n_warp)
    warp_b = base_w * (1 + 0.7 * spec.shade_var * _smooth_along(seed, 5, u0, height, n_warp, 7))
    warp_wav = spec.waviness * pw * _smooth_along(seed, 12, u0, height, n_warp, 19)
    warp_col = spec.warp_palette[np.array(spec.warp_sequence)[warp_ids % len(spec.warp_sequence)]]

    j0 = math.floor(u0 / pf) - 1
    j1 = math.ceil((u0 + height) / pf) + 2
    weft_ids = np.arange(j0, j1)
    weft_c = weft_centres(spec, seed, j0, j1)
    kx = width // 16 + 3
    rough = keyed_normal(seed, 7, j0, j1, kx)
    fine = keyed_normal(seed, 8, j0, j1, width // 5 + 3)
    xs = np.arange(width, dtype=np.float32)
    weft_w = (
        spec.weft_fill
        * pf
        * (1 + irr * _interp_rows(rough, xs / 16.0) + 0.5 * irr * _interp_rows(fine, xs / 5.0))
    )
    base_f = 1 + spec.shade_var * keyed_normal(seed, 9, j0, j1, 1)
    weft_b = base_f * (1 + 0.7 * spec.shade_var * _interp_rows(fine[:, ::-1].copy(), xs / 5.0))
    weft_wav = spec.waviness * pf * _interp_rows(keyed_normal(seed, 13, j0, j1, width // 19 + 3), xs / 19.0)
    weft_col = spec.weft_palette[np.array(spec.weft_sequence)[weft_ids % len(spec.weft_sequence)]]

    pat = spec.pattern
    top = pat[np.ix_(weft_ids % pat.shape[0], warp_ids % pat.shape[1])]
    return YarnField(
        spec=spec,
        seed=seed,
        u0=u0,
        height=height,
        width=width,
        warp_c=warp_c.astype(np.float32),
        warp_w=warp_w.astype(np.float32, copy=False),
        warp_b=warp_b.astype(np.float32, copy=False),
        warp_col=warp_col.astype(np.float32, copy=False),
        warp_ids=warp_ids,
        weft_c=weft_c.astype(np.float32),
        weft_w=weft_w.astype(np.float32, copy=False),
        weft_b=weft_b.astype(np.float32, copy=False),
        weft_col=weft_col.astype(np.float32, copy=False),
        weft_ids=weft_ids,
        top=top,  # a fresh array (fancy indexing copies)
        warp_wav=warp_wav.astype(np.float32, copy=False),
        weft_wav=weft_wav.astype(np.float32, copy=False),
    )


def _interp_rows(knots: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Interpolate each row of `knots` at fractional positions p (smoothstep between knots), in
    p's precision (float32 for the per-column fields)."""
    q = np.floor(p)
    qi = q.astype(np.int64)
    t = p - q
    t = t * t * (3 - 2 * t)
    return take_columns(knots, qi) * (1 - t) + take_columns(knots, qi + 1) * t


def take_columns(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """`a[:, idx]` of a 2-D array, row-major. NumPy returns that gather column-major, which the
    row-wise code after it (and every array computed from it) then reads several times slower."""
    return cv2.transpose(cv2.transpose(a)[idx])


def nearest_yarn(centres: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Index of the nearest centre (centres sorted) for each position."""
    mids = (centres[1:] + centres[:-1]) * 0.5
    return np.searchsorted(mids, pos)
