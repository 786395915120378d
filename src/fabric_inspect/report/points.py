"""The 4-point system (ASTM D5430) for grading a roll of woven fabric: pure functions, no I/O.

Rules as implemented (docs/report.md explains them for a QC engineer):

- A defect's size is its largest dimension, ``max(length_mm, width_mm)``.
- Ordinary defects: size up to 75 mm 1 point, over 75 up to 150 mm 2, over 150 up to 230 mm 3,
  over 230 mm 4. "Up to" includes the boundary: exactly 75 mm is 1 point, exactly 150 mm is 2.
- Holes and openings (classes in ``PointsConfig.hole_classes``): up to 25 mm 2 points, over 25 mm 4.
- Imperial mode uses the standard's own inch bands: 3, 6 and 9 in (76.2, 152.4, 228.6 mm), holes 1 in
  (25.4 mm); so a 76 mm defect is 2 points in metric mode and 1 point in imperial mode.
- A defect belongs to the linear metre (yard in imperial mode) that holds its centre. A running
  defect, whose length along the roll is longer than one metre (yard), gets 4 points in every metre
  (yard) it touches.
- No linear metre (yard) gets more than 4 points.
- Points per 100 m² = points x 100000 / (metres inspected x cuttable width in mm);
  points per 100 yd² = points x 3600 / (yards inspected x cuttable width in inches).
- ``limit`` is in the report's own unit: points per 100 m² (metric, the default) or per 100 yd²
  (``imperial=True``). Without a limit the roll is judged against 40 points per 100 yd², which is
  47.8 points per 100 m² in metric mode, so the verdict does not depend on the unit chosen.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fabric_inspect.errors import ConfigError

MM_PER_INCH = 25.4
MM_PER_YARD = 914.4
DEFAULT_LIMIT_PER_100_YD2 = 40.0
M2_PER_100_YD2 = 100 * (MM_PER_YARD / 1000) ** 2  # 83.6127 m²
MAX_POINTS_PER_UNIT = 4
# (upper bound in mm, points): the first bound a size does not exceed gives its points.
LENGTH_BANDS_MM: tuple[tuple[float, int], ...] = ((75.0, 1), (150.0, 2), (230.0, 3))
HOLE_BANDS_MM: tuple[tuple[float, int], ...] = ((25.0, 2),)
LENGTH_BANDS_IN: tuple[tuple[float, int], ...] = ((3.0, 1), (6.0, 2), (9.0, 3))
HOLE_BANDS_IN: tuple[tuple[float, int], ...] = ((1.0, 2),)


@dataclass(frozen=True, slots=True)
class PointsConfig:
    """How a roll is graded: unit system, acceptance limit and (optionally) the cuttable width."""

    imperial: bool = False
    limit: float | None = None  # points per 100 m² (metric) or per 100 yd² (imperial); None: default
    width_mm: float | None = None  # cuttable width; None: the width recorded for the roll
    hole_classes: tuple[str, ...] = ("hole",)

    def __post_init__(self) -> None:
        if isinstance(self.hole_classes, str) or not all(isinstance(c, str) for c in self.hole_classes):
            raise ConfigError(f"hole_classes must be a tuple of class names, got {self.hole_classes!r}")
        if self.limit is not None and not (math.isfinite(self.limit) and self.limit > 0):
            raise ConfigError(
                f"--limit must be a positive number of points per 100 {self.area_unit}, got {self.limit}"
            )
        if self.width_mm is not None and not (math.isfinite(self.width_mm) and self.width_mm > 0):
            raise ConfigError(f"--width-mm must be a positive width in mm, got {self.width_mm}")

    @property
    def area_unit(self) -> str:
        return "yd²" if self.imperial else "m²"

    @property
    def length_unit(self) -> str:
        return "yd" if self.imperial else "m"

    @property
    def unit_mm(self) -> float:
        """The linear unit the 4-point cap applies to: a metre or a yard, in mm."""
        return MM_PER_YARD if self.imperial else 1000.0

    def bands_mm(self, hole: bool) -> tuple[tuple[float, int], ...]:
        """(upper bound in mm, points) bands of this unit system, for holes or other defects."""
        if not self.imperial:
            return HOLE_BANDS_MM if hole else LENGTH_BANDS_MM
        inches = HOLE_BANDS_IN if hole else LENGTH_BANDS_IN
        return tuple((round(bound * MM_PER_INCH, 6), pts) for bound, pts in inches)  # 3 in = 76.2 mm

    @property
    def effective_limit(self) -> float:
        """The acceptance limit in points per 100 area units of this config's unit system."""
        if self.limit is not None:
            return self.limit
        if self.imperial:
            return DEFAULT_LIMIT_PER_100_YD2
        return DEFAULT_LIMIT_PER_100_YD2 * 100 / M2_PER_100_YD2


@dataclass(frozen=True, slots=True)
class DefectSize:
    """What the points depend on: where the defect is along the roll, how big it is, what it is."""

    roll_y_mm: float
    length_mm: float  # along the roll
    width_mm: float  # across the roll
    cls: str


@dataclass(frozen=True, slots=True)
class Assessment:
    """The points of one roll: per defect, per linear unit, and the verdict."""

    defect_points: tuple[int, ...]  # points each defect brings, before the per-unit cap
    unit_points: dict[int, int]  # linear unit index -> points after the cap (units with points only)
    raw_points: int
    points: int  # after the per-unit cap
    length_units: float  # metres or yards inspected
    width_units: float  # cuttable width in mm (metric) or inches (imperial)
    points_per_100: float
    limit: float
    passed: bool


def points_for_size(size_mm: float, hole: bool = False, imperial: bool = False) -> int:
    """Points for one defect of largest dimension ``size_mm`` (hole: a hole or opening; imperial: the
    inch bands)."""
    if not (math.isfinite(size_mm) and size_mm >= 0):
        raise ConfigError(f"defect size must be a finite length >= 0 mm, got {size_mm}")
    for bound, points in PointsConfig(imperial=imperial).bands_mm(hole):
        if size_mm <= bound:
            return points
    return MAX_POINTS_PER_UNIT


def units_touched(defect: DefectSize, unit_mm: float) -> range:
    """Indexes of the linear units a defect is assessed in: its centre's, or all it spans if running."""
    centre = math.floor(defect.roll_y_mm / unit_mm)
    if defect.length_mm <= unit_mm:
        return range(centre, centre + 1)
    first = math.floor((defect.roll_y_mm - defect.length_mm / 2) / unit_mm)
    last = math.floor((defect.roll_y_mm + defect.length_mm / 2) / unit_mm)
    return range(first, last + 1)


def assessed_points(defect: DefectSize, config: PointsConfig) -> tuple[range, int]:
    """The linear units a defect is assessed in, and the points it brings to each of them."""
    touched = units_touched(defect, config.unit_mm)
    if len(touched) > 1:
        return touched, MAX_POINTS_PER_UNIT
    size = max(defect.length_mm, defect.width_mm)
    return touched, points_for_size(size, hole=defect.cls in config.hole_classes, imperial=config.imperial)


def defect_points(defect: DefectSize, config: PointsConfig) -> int:
    """Points one defect brings before the per-unit cap (a running defect: 4 per unit it touches)."""
    touched, each = assessed_points(defect, config)
    return each * len(touched)


def unit_points(defects: Iterable[DefectSize], config: PointsConfig) -> dict[int, int]:
    """Points per linear unit (metre or yard) that holds any, capped at 4 each."""
    raw: dict[int, int] = {}
    for defect in defects:
        touched, each = assessed_points(defect, config)
        for unit in touched:
            raw[unit] = raw.get(unit, 0) + each
    return {unit: min(points, MAX_POINTS_PER_UNIT) for unit, points in sorted(raw.items())}


def points_per_100(points: float, length_m: float, width_mm: float, imperial: bool = False) -> float:
    """Points per 100 m² (or 100 yd² when imperial) of fabric ``length_m`` long, ``width_mm`` wide."""
    if not (length_m > 0 and width_mm > 0):
        raise ConfigError(
            f"points per area need a positive inspected length and width, got {length_m} m x {width_mm} mm"
        )
    if imperial:
        yards = length_m * 1000 / MM_PER_YARD
        return points * 3600 / (yards * (width_mm / MM_PER_INCH))
    return points * 100000 / (length_m * width_mm)


def assess(
    defects: Sequence[DefectSize], length_m: float, width_mm: float, config: PointsConfig
) -> Assessment:
    """Grade a roll ``length_m`` long with cuttable width ``width_mm`` by the 4-point system."""
    per_defect = tuple(defect_points(d, config) for d in defects)
    per_unit = unit_points(defects, config)
    points = sum(per_unit.values())
    per_100 = points_per_100(points, length_m, width_mm, config.imperial)
    limit = config.effective_limit
    return Assessment(
        defect_points=per_defect,
        unit_points=per_unit,
        raw_points=sum(per_defect),
        points=points,
        length_units=length_m * 1000 / config.unit_mm,
        width_units=width_mm / MM_PER_INCH if config.imperial else width_mm,
        points_per_100=per_100,
        limit=limit,
        passed=per_100 <= limit,
    )
