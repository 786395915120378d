"""Inline SVG figures for the roll report: the defect map drawn to scale and the defects-per-metre chart.

Plain string building (no matplotlib), so the report works on the base install. Every text that
comes from data goes through ``html.escape``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from fabric_inspect.datasets.classes import DEFECT_CLASSES

# Okabe-Ito colours (safe for colour-blind readers), one per class; unknown classes are grey.
CLASS_COLOURS: dict[str, str] = dict(
    zip(
        DEFECT_CLASSES,
        ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#111111", "#E69F00", "#56B4E9", "#A08C00", "#7F3C8D"),
        strict=True,
    )
)
UNKNOWN_COLOUR = "#8C8C8C"
NICE_STEPS = (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000)
FIGURE_WIDTH = 760.0
MAP_LEFT = 44.0  # room for the band's start label
MAX_BANDS = 24
MAX_BAND_HEIGHT = 96.0


@dataclass(frozen=True, slots=True)
class MapDefect:
    """A defect as the map draws it: number in the table, class, centre along/across, size, score."""

    number: int
    cls: str
    roll_y_mm: float
    roll_x_mm: float | None
    length_mm: float
    width_mm: float
    score: float | None


def class_colour(cls: str) -> str:
    return CLASS_COLOURS.get(cls, UNKNOWN_COLOUR)


def band_length_units(length_mm: float, width_mm: float, unit_mm: float) -> int:
    """Length of roll, in whole units, per band of the map: to scale, few bands, none too tall."""
    drawable = FIGURE_WIDTH - MAP_LEFT - 8
    for step in NICE_STEPS:
        band_mm = step * unit_mm
        bands = math.ceil(length_mm / band_mm)
        if bands <= MAX_BANDS and width_mm * drawable / band_mm <= MAX_BAND_HEIGHT:
            return step
    return NICE_STEPS[-1]


def defect_map_svg(
    defects: Sequence[MapDefect],
    length_mm: float,
    width_mm: float,
    unit_mm: float,
    unit: str,
    unseen: Sequence[tuple[float, float]] = (),
) -> str:
    """The roll as bands of equal length drawn to scale (along: left to right; across: top to bottom);
    `unseen` stretches (from_mm, to_mm: fabric no inspected frame saw) hatched across the width."""
    step = band_length_units(length_mm, width_mm, unit_mm)
    band_mm = step * unit_mm
    drawable = FIGURE_WIDTH - MAP_LEFT - 8
    scale = drawable / band_mm  # px per mm, the same along and across
    band_h = max(width_mm * scale, 4.0)
    gap = 22.0
    bands = max(1, math.ceil(length_mm / band_mm))
    height = 6 + bands * (band_h + gap)
    parts = [_svg_open(FIGURE_WIDTH, height, "Defect map of the roll drawn to scale")]
    if unseen:
        parts.append(
            '<defs><pattern id="unseen" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#e4e4e4"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c8c8c" stroke-width="2"/></pattern></defs>'
        )
    for band in range(bands):
        start = band * band_mm
        top = 6 + band * (band_h + gap)
        parts.append(_band(start, min(band_mm, length_mm - start), top, band_h, scale, step, unit_mm, unit))
        parts.extend(_unseen(a, b, start, band_mm, top, band_h, scale) for a, b in unseen)
        for defect in defects:
            parts.append(_marker(defect, start, band_mm, top, band_h, scale, width_mm))
    parts.append("</svg>")
    return "".join(parts)


def _band(
    start: float, span: float, top: float, band_h: float, scale: float, step: int, unit_mm: float, unit: str
) -> str:
    """One band: the fabric rectangle, its start label and ticks along it."""
    width = max(span, 0.0) * scale
    out = [
        f'<rect class="fabric" x="{MAP_LEFT:.1f}" y="{top:.1f}" width="{width:.1f}" height="{band_h:.1f}"/>',
        f'<text class="axis" x="{MAP_LEFT - 4:.1f}" y="{top + min(band_h, 14) / 2 + 4:.1f}" '
        f'text-anchor="end">{_fmt(start / unit_mm)} {unit}</text>',
    ]
    tick = _tick_step(step)
    n_ticks = math.floor(span / (tick * unit_mm) + 1e-9)
    base = top + band_h
    for i in range(1, n_ticks + 1):
        x = MAP_LEFT + i * tick * unit_mm * scale
        out.append(f'<line class="tick" x1="{x:.1f}" y1="{base:.1f}" x2="{x:.1f}" y2="{base + 4:.1f}"/>')
        if i * tick < step or span < step * unit_mm:
            label = _fmt((start + i * tick * unit_mm) / unit_mm)
            out.append(
                f'<text class="axis" x="{x:.1f}" y="{base + 14:.1f}" text-anchor="middle">{label}</text>'
            )
    return "".join(out)


def _unseen(
    from_mm: float, to_mm: float, start: float, band_mm: float, top: float, band_h: float, scale: float
) -> str:
    """The part of a stretch no inspected frame saw that lies in this band (at least 1 px wide)."""
    a, b = max(from_mm, start), min(to_mm, start + band_mm)
    if b <= a:
        return ""
    x = MAP_LEFT + (a - start) * scale
    title = f"<title>not inspected: {from_mm / 1000:.2f}-{to_mm / 1000:.2f} m</title>"
    return (
        f'<rect class="unseen" x="{x:.1f}" y="{top:.1f}" width="{max((b - a) * scale, 1.0):.1f}" '
        f'height="{band_h:.1f}" fill="url(#unseen)">{title}</rect>'
    )


def _marker(
    d: MapDefect, start: float, band_mm: float, top: float, band_h: float, scale: float, width_mm: float
) -> str:
    """A defect's true-size outline (the part inside this band) and, at its centre, a numbered dot."""
    y0, y1 = d.roll_y_mm - d.length_mm / 2, d.roll_y_mm + d.length_mm / 2
    if y1 < start or y0 >= start + band_mm:
        return ""
    across = d.roll_x_mm if d.roll_x_mm is not None else width_mm / 2
    across = min(max(across, 0.0), width_mm)
    colour = class_colour(d.cls)
    title = (
        f"<title>#{d.number} {escape(d.cls)} at {d.roll_y_mm / 1000:.2f} m, {across:.0f} mm across</title>"
    )
    x0 = MAP_LEFT + (max(y0, start) - start) * scale
    x1 = MAP_LEFT + (min(y1, start + band_mm) - start) * scale
    cy = top + min(across * scale, band_h)
    r0 = max(cy - d.width_mm * scale / 2, top)
    r1 = min(cy + d.width_mm * scale / 2, top + band_h)
    out = [f'<g class="defect">{title}']
    if x1 - x0 >= 2 or r1 - r0 >= 2:
        out.append(
            f'<rect x="{x0:.1f}" y="{r0:.1f}" width="{max(x1 - x0, 1):.1f}" height="{max(r1 - r0, 1):.1f}" '
            f'fill="{colour}" fill-opacity="0.35" stroke="{colour}"/>'
        )
    if start <= d.roll_y_mm < start + band_mm:
        cx = MAP_LEFT + (d.roll_y_mm - start) * scale
        out.append(
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3.2" fill="{colour}" stroke="#fff" stroke-width="0.8"/>'
        )
        out.append(f'<text class="num" x="{cx + 4:.1f}" y="{max(cy - 4, top + 7):.1f}">{d.number}</text>')
    out.append("</g>")
    return "".join(out)


def bin_edges(length_mm: float, unit_mm: float, max_bins: int = 60) -> tuple[float, list[float]]:
    """Bin length (whole units) and bin edges in mm along the roll; a last bin shorter than half a bin
    joins the one before it, so no bar stands for a sliver of fabric."""
    units = next((s for s in NICE_STEPS if math.ceil(length_mm / (s * unit_mm)) <= max_bins), NICE_STEPS[-1])
    size = units * unit_mm
    edges = [i * size for i in range(math.ceil(length_mm / size))] + [length_mm]
    if len(edges) > 2 and edges[-1] - edges[-2] < size / 2:
        del edges[-2]
    return units, edges


def defects_per_length_svg(
    defects: Sequence[MapDefect], length_mm: float, unit_mm: float, unit: str, classes: Sequence[str]
) -> str:
    """Stacked bars: defects per unit length (metre or yard) along the roll, coloured by class."""
    length_mm = max(length_mm, 1.0)
    units, edges = bin_edges(length_mm, unit_mm)
    counts = [dict.fromkeys(classes, 0) for _ in edges[1:]]
    for d in defects:
        i = next((k for k, end in enumerate(edges[1:-1]) if d.roll_y_mm < end), len(edges) - 2)
        counts[i][d.cls] = counts[i].get(d.cls, 0) + 1
    spans = [(end - start) / unit_mm for start, end in itertools.pairwise(edges)]
    rates = [{c: n / span for c, n in row.items()} for row, span in zip(counts, spans, strict=True)]
    y_max, y_step = _nice_axis(max((sum(r.values()) for r in rates), default=0.0))
    box = _Plot(left=52.0, right=FIGURE_WIDTH - 8.0, top=10.0, bottom=160.0, length_mm=length_mm, y_max=y_max)
    title = f"Defects per {unit} along the roll (bins of {units} {unit})"
    parts = [_svg_open(FIGURE_WIDTH, box.bottom + 34, title), *_y_axis(box, y_step, unit)]
    for (start, end), rate in zip(itertools.pairwise(edges), rates, strict=True):
        parts.extend(_stack(box, start, end, rate, unit_mm, unit))
    parts.extend(_x_axis(box, unit_mm, unit))
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class _Plot:
    left: float
    right: float
    top: float
    bottom: float
    length_mm: float
    y_max: float

    def x(self, mm: float) -> float:
        return self.left + mm / self.length_mm * (self.right - self.left)

    def h(self, value: float) -> float:
        return value / self.y_max * (self.bottom - self.top)


def _y_axis(box: _Plot, step: float, unit: str) -> list[str]:
    out = []
    for k in range(round(box.y_max / step) + 1):
        y = box.bottom - box.h(k * step)
        out.append(f'<line class="grid" x1="{box.left}" y1="{y:.1f}" x2="{box.right}" y2="{y:.1f}"/>')
        out.append(
            f'<text class="axis" x="{box.left - 4}" y="{y + 3:.1f}" text-anchor="end">{_fmt(k * step)}</text>'
        )
    middle = (box.top + box.bottom) / 2
    out.append(
        f'<text class="axis" transform="translate(12 {middle:.1f}) rotate(-90)" '
        f'text-anchor="middle">defects per {unit}</text>'
    )
    return out


def _stack(
    box: _Plot, start: float, end: float, rate: dict[str, float], unit_mm: float, unit: str
) -> list[str]:
    """One bar from ``start`` to ``end`` mm, a segment per class."""
    out, base = [], box.bottom
    x0, x1 = box.x(start), box.x(end)
    where = f"{_fmt(round(start / unit_mm, 2))}-{_fmt(round(end / unit_mm, 2))} {unit}"
    for cls, value in rate.items():
        if value <= 0:
            continue
        h = box.h(value)
        base -= h
        out.append(
            f'<rect x="{x0 + 0.5:.1f}" y="{base:.1f}" width="{max(x1 - x0 - 1, 0.5):.1f}" height="{h:.1f}" '
            f'fill="{class_colour(cls)}"><title>{escape(cls)}: {_fmt(round(value, 3))} per {unit} '
            f"at {where}</title></rect>"
        )
    return out


def _x_axis(box: _Plot, unit_mm: float, unit: str) -> list[str]:
    length_units = box.length_mm / unit_mm
    step = next((s for s in (0.1, 0.2, 0.5, *NICE_STEPS) if length_units / s <= 12), NICE_STEPS[-1])
    out = []
    for k in range(math.floor(length_units / step + 1e-9) + 1):
        x = box.x(k * step * unit_mm)
        out.append(
            f'<text class="axis" x="{x:.1f}" y="{box.bottom + 14:.1f}" text-anchor="middle">'
            f"{_fmt(round(k * step, 2))}</text>"
        )
    out.append(
        f'<text class="axis" x="{(box.left + box.right) / 2:.1f}" y="{box.bottom + 30:.1f}" '
        f'text-anchor="middle">position along the roll ({unit})</text>'
    )
    return out


def _svg_open(width: float, height: float, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" role="img" aria-label="{escape(label)}">'
    )


def _tick_step(step: int) -> float:
    """Tick spacing (in units) for a band ``step`` units long: about 5 to 10 ticks."""
    for candidate in (0.1, 0.2, 0.5, *NICE_STEPS):
        if step / candidate <= 10:
            return candidate
    return float(step)


def _nice_axis(top: float) -> tuple[float, float]:
    """An axis maximum >= top and a round step (1, 2, 2.5 or 5 x 10^k) that splits it into <= 5 parts."""
    if top <= 0:
        return 1.0, 0.5
    magnitude = 10 ** math.floor(math.log10(top)) / 10
    for mult in (1, 2, 2.5, 5, 10, 20, 25, 50):
        step = mult * magnitude
        parts = math.ceil(top / step - 1e-9)
        if parts <= 5:
            return parts * step, step
    return top, top


def _fmt(value: float) -> str:
    """A number without trailing zeros: 12, 2.5, 0.25."""
    if value == int(value):
        return str(int(value))
    return f"{value:.3f}".rstrip("0").rstrip(".")
