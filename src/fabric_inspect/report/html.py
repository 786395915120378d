"""Render a roll's inspection report as one self-contained, printable HTML document.

Everything is inline: CSS, SVG figures and the defect crops as data: URIs, so the file opens with no
network and prints to PDF from any browser. Every value from the database is escaped.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from html import escape

from fabric_inspect import __version__
from fabric_inspect.datasets.classes import DEFECT_CLASSES
from fabric_inspect.report.db import DefectRecord, RollRecord
from fabric_inspect.report.points import MAX_POINTS_PER_UNIT, MM_PER_INCH, Assessment, PointsConfig
from fabric_inspect.report.style import CSS
from fabric_inspect.report.svg import MapDefect, class_colour, defect_map_svg, defects_per_length_svg


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A defect's image in the table: a data: URI, or None with the reason shown in its place."""

    uri: str | None
    note: str = ""


@dataclass(frozen=True, slots=True)
class ReportContent:
    """All a report shows: the roll, its defects (along the roll), their points and their images."""

    roll: RollRecord
    defects: tuple[DefectRecord, ...]
    assessment: Assessment
    points: PointsConfig
    length_m: float
    width_mm: float
    thumbnails: tuple[Thumbnail, ...]
    generated: str  # ISO 8601 time the report was made
    inspected_m: float | None = None  # the length graded: length_m less what no frame saw (None: length_m)

    @property
    def verdict(self) -> str:
        return "PASS" if self.assessment.passed else "FAIL"


def render_report(content: ReportContent) -> str:
    """The whole HTML document."""
    roll = content.roll
    body = "".join(
        (
            _head(content),
            _summary(content),
            _facts(content),
            _map(content),
            _classes(content),
            _defect_table(content),
            _rules(content.points),
            _signatures(),
            _footer(content),
        )
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Roll {escape(roll.roll_id)}: inspection report</title><style>{CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def _footer(c: ReportContent) -> str:
    made = escape(_when(c.generated))
    return (
        f"<footer><span>fabric-inspect {escape(__version__)} · report made {made}</span>"
        f"<span>Roll {escape(c.roll.roll_id)}</span></footer>"
    )


def _head(c: ReportContent) -> str:
    a, p = c.assessment, c.points
    article = f"Article {escape(c.roll.article)} · " if c.roll.article else ""
    sign = "≤" if a.passed else ">"
    return (
        '<header class="doc-head"><div>'
        '<div class="doc-kind">Fabric roll inspection report · 4-point system</div>'
        f'<h1 id="roll">Roll {escape(c.roll.roll_id)}</h1>'
        f'<div class="doc-sub">{article}{escape(_when(c.roll.started))}</div></div>'
        f'<div class="verdict {c.verdict.lower()}" id="grade"><span class="word">{c.verdict}</span>'
        f'<span class="why">{a.points_per_100:.2f} {sign} {a.limit:.2f} points / 100 {p.area_unit}</span>'
        "</div></header>"
    )


def _summary(c: ReportContent) -> str:
    a, p = c.assessment, c.points
    cap_note = (
        f"{a.raw_points} points before the cap of 4 per linear {_unit_name(p)}; "
        f"{a.raw_points - a.points} removed by it."
        if a.raw_points != a.points
        else f"No linear {_unit_name(p)} reached the cap of 4 points."
    )
    state = "pass" if a.passed else "fail"
    kpis = (
        (str(len(c.defects)), "defects", ""),
        (str(a.points), "penalty points", ""),
        (f"{a.points_per_100:.2f}", f"points per 100 {p.area_unit}", state),
        (f"{a.limit:.2f}", f"acceptance limit per 100 {p.area_unit}", ""),
    )
    cells = "".join(
        f'<div class="kpi {cls}"><span class="v">{v}</span><span class="k">{k}</span></div>'
        for v, k, cls in kpis
    )
    return f'<section class="keep"><div class="kpis">{cells}</div><p class="note">{cap_note}</p></section>'


def _facts(c: ReportContent) -> str:
    roll, p = c.roll, c.points
    inspected_m = c.length_m if c.inspected_m is None else c.inspected_m
    length = f"{inspected_m:.2f} m" + (f" ({c.assessment.length_units:.1f} yd)" if p.imperial else "")
    width = f"{c.width_mm:.0f} mm" + (f" ({c.width_mm / MM_PER_INCH:.1f} in)" if p.imperial else "")
    width_note = " (set for this report)" if p.width_mm is not None else ""
    model = " ".join(x for x in (roll.model_name, roll.model_version) if x) or "unknown"
    left = (
        ("Roll", roll.roll_id),
        ("Article", roll.article or "-"),
        ("Started", _when(roll.started)),
        ("Finished", _when(roll.finished) if roll.finished else "in progress"),
        *_uninspected_rows(c, inspected_m),
        ("Length inspected", length),
        ("Cuttable width", width + width_note),
    )
    right = (
        ("Model", model),
        ("Source", roll.source or "-"),
        ("Line speed", f"{roll.speed_m_per_min:g} m/min" if roll.speed_m_per_min else "-"),
        ("Resolution", f"{roll.px_per_mm:g} px/mm" if roll.px_per_mm else "-"),
        ("Frames", f"{roll.frames:,}" if roll.frames is not None else "-"),
        ("Units", "imperial (yd, in)" if p.imperial else "metric (m, mm)"),
    )
    settings_html = _settings(c.roll.settings)
    columns = f'<div class="cols">{_dl(left)}{_dl(right)}</div>'
    return f'<section class="keep"><h2>Roll</h2>{columns}{settings_html}</section>'


def _uninspected_rows(c: ReportContent, inspected_m: float) -> tuple[tuple[str, str], ...]:
    """Roll length and the stretches no inspected frame saw, when there were any (else nothing)."""
    roll = c.roll
    if not roll.uninspected_m or inspected_m == c.length_m:
        return ()
    shown = ", ".join(f"{a:.2f}-{b:.2f} m" for a, b in roll.uninspected[:5])
    more = len(roll.uninspected) - 5
    where = f" ({shown}{f' and {more} more' if more > 0 else ''})" if shown else ""
    return (
        ("Roll length", f"{c.length_m:.2f} m"),
        ("Not inspected", f"{roll.uninspected_m:.2f} m, graded without it{where}"),
    )


def _settings(settings: dict) -> str:
    """The recorded settings, nested keys flattened ('tracker.k'), in two columns when there are many."""
    items = sorted(_flatten(settings).items())
    if not items:
        return '<h2>Inspection settings</h2><p class="note">None recorded.</p>'
    halves = [items] if len(items) <= 8 else [items[: (len(items) + 1) // 2], items[(len(items) + 1) // 2 :]]
    lists = "".join(
        '<dl class="facts settings">'
        + "".join(f"<dt>{escape(k)}</dt><dd>{escape(_setting(v))}</dd>" for k, v in half)
        + "</dl>"
        for half in halves
    )
    return f'<h2>Inspection settings</h2><div class="{"cols" if len(halves) > 1 else ""}">{lists}</div>'


def _flatten(value: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, dict) and item:
            flat.update(_flatten(item, f"{name}."))
        else:
            flat[name] = item
    return flat


def _map(c: ReportContent) -> str:
    p = c.points
    defects = [_map_defect(d) for d in c.defects]
    # a defect past the recorded length (a length given by hand) still gets a band to be drawn in
    drawn_mm = max([c.length_m * 1000] + [d.roll_y_mm + d.length_mm / 2 for d in c.defects])
    unseen = [(a * 1000, b * 1000) for a, b in c.roll.uninspected]
    svg = defect_map_svg(defects, drawn_mm, c.width_mm, p.unit_mm, p.length_unit, unseen)
    hatched = " Hatched: fabric that passed while no inspected frame saw it." if unseen else ""
    return (
        f"<section><h2>Defect map</h2>{_legend(c.defects)}{svg}"
        '<p class="note">The roll to scale, cut in bands laid one under the other: '
        "length runs left to right, width top (0 mm) to bottom "
        f"({c.width_mm:.0f} mm). Numbers are the defect numbers in the table.{hatched}</p></section>"
    )


def _classes(c: ReportContent) -> str:
    counts = Counter(d.cls for d in c.defects)
    points: Counter[str] = Counter()
    for d, pts in zip(c.defects, c.assessment.defect_points, strict=True):
        points[d.cls] += pts
    order = [k for k in DEFECT_CLASSES if k in counts] + sorted(k for k in counts if k not in DEFECT_CLASSES)
    rows = "".join(
        f'<tr><td><span class="swatch" style="background:{class_colour(k)}"></span>{escape(k)}</td>'
        f'<td class="n">{counts[k]}</td><td class="n">{points[k]}</td></tr>'
        for k in order
    )
    total = (
        f'<tr><th>Total</th><th class="n">{len(c.defects)}</th>'
        f'<th class="n">{c.assessment.raw_points}</th></tr>'
    )
    table = (
        '<table id="class-counts" class="narrow"><thead><tr><th>Class</th><th class="n">Defects</th>'
        '<th class="n">Points (before cap)</th></tr></thead>'
        f"<tbody>{rows}</tbody><tfoot>{total}</tfoot></table>"
    )
    p = c.points
    chart = defects_per_length_svg(
        [_map_defect(d) for d in c.defects], c.length_m * 1000, p.unit_mm, p.length_unit, order
    )
    return (
        f'<section class="keep"><h2>Defects by class</h2>{table}'
        f"<h2>Defects per {_unit_name(p)}</h2>{chart}</section>"
    )


def _defect_table(c: ReportContent) -> str:
    p = c.points
    head = (
        '<tr><th>No.</th><th class="n">Position ({u})</th><th class="n">Across ({w})</th>'
        '<th class="n">Size L × W ({w})</th><th>Class</th><th class="n">Score</th><th class="n">Points</th>'
        "<th>Image</th></tr>"
    ).format(u=p.length_unit, w="in" if p.imperial else "mm")
    rows = "".join(
        _defect_row(d, pts, thumb, p)
        for d, pts, thumb in zip(c.defects, c.assessment.defect_points, c.thumbnails, strict=True)
    )
    if not rows:
        rows = '<tr><td colspan="8" class="note">No defects were recorded on this roll.</td></tr>'
    table = f'<table id="defects"><thead>{head}</thead><tbody>{rows}</tbody></table>'
    return f"<section><h2>Defects</h2>{table}</section>"


def _defect_row(d: DefectRecord, pts: int, thumb: Thumbnail, p: PointsConfig) -> str:
    to_w = (lambda mm: mm / MM_PER_INCH) if p.imperial else (lambda mm: mm)
    digits = 1 if p.imperial else 0
    position = d.roll_y_mm / p.unit_mm
    across = f"{to_w(d.roll_x_mm):.{digits}f}" if d.roll_x_mm is not None else "-"
    size = f"{to_w(d.length_mm):.{digits}f} × {to_w(d.width_mm):.{digits}f}"
    score = f"{d.score:.2f}" if d.score is not None else "-"
    if thumb.uri:
        image = f'<img src="{thumb.uri}" alt="defect {d.id}">'
    else:
        image = f'<div class="noimg">{escape(thumb.note or "no image")}</div>'
    running = '<span class="sub">running</span>' if pts > MAX_POINTS_PER_UNIT else ""
    swatch = f'<span class="swatch" style="background:{class_colour(d.cls)}"></span>'
    return (
        f'<tr class="defect"><td>{d.id}</td><td class="n">{position:.2f}</td><td class="n">{across}</td>'
        f'<td class="n">{size}</td><td>{swatch}{escape(d.cls)}</td><td class="n">{score}</td>'
        f'<td class="n">{pts}{running}</td><td class="thumb">{image}</td></tr>'
    )


def _rules(p: PointsConfig) -> str:
    def band(mm: float) -> str:
        return f"{mm / MM_PER_INCH:g} in" if p.imperial else f"{mm:g} mm"

    (b1, _), (b2, _), (b3, _) = p.bands_mm(hole=False)
    ((h1, _),) = p.bands_mm(hole=True)
    rows = (
        (f"up to {band(b1)}", "1", f"up to {band(h1)}", "2"),
        (f"over {band(b1)} up to {band(b2)}", "2", f"over {band(h1)}", "4"),
        (f"over {band(b2)} up to {band(b3)}", "3", "", ""),
        (f"over {band(b3)}", "4", "", ""),
    )
    body = "".join("<tr>" + "".join(f"<td>{x}</td>" for x in r) + "</tr>" for r in rows)
    unit = _unit_name(p)
    formula = (
        "points × 3600 / (yards inspected × cuttable width in inches)"
        if p.imperial
        else "points × 100000 / (metres inspected × cuttable width in mm)"
    )
    return (
        '<section class="rules keep"><h2>How the points are counted</h2>'
        "<table><thead><tr><th>Defect size (largest dimension)</th><th>Points</th>"
        f"<th>Holes and openings</th><th>Points</th></tr></thead><tbody>{body}</tbody></table>"
        f"<p>At most 4 points per linear {unit}; a defect longer than one {unit} along the roll "
        f"counts 4 points in every {unit} it touches. Points per 100 {p.area_unit} = {formula}. "
        "ASTM D5430 4-point system.</p></section>"
    )


def _signatures() -> str:
    return '<section class="sign keep"><div>Inspected by</div><div>Approved by</div><div>Date</div></section>'


def _legend(defects: tuple[DefectRecord, ...]) -> str:
    present = {d.cls for d in defects}
    names = [k for k in DEFECT_CLASSES if k in present] + sorted(present - set(DEFECT_CLASSES))
    items = "".join(
        f'<span><span class="swatch" style="background:{class_colour(k)}"></span>{escape(k)}</span>'
        for k in names
    )
    return f'<div class="legend">{items}</div>' if items else ""


def _map_defect(d: DefectRecord) -> MapDefect:
    return MapDefect(d.id, d.cls, d.roll_y_mm, d.roll_x_mm, d.length_mm, d.width_mm, d.score)


def _dl(items: tuple[tuple[str, str], ...]) -> str:
    return (
        '<dl class="facts">' + "".join(f"<dt>{k}</dt><dd>{escape(str(v))}</dd>" for k, v in items) + "</dl>"
    )


def _setting(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _unit_name(p: PointsConfig) -> str:
    return "yard" if p.imperial else "metre"


def _when(stamp: str | None) -> str:
    """An ISO 8601 time as 'YYYY-MM-DD HH:MM:SS' (the zone kept); '-' when unknown."""
    if not stamp:
        return "-"
    return stamp.replace("T", " ", 1)
