"""`write_report`: database in, one HTML file out, and the roll's grade back to the caller."""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.report.db import DefectRecord, read_roll
from fabric_inspect.report.html import ReportContent, Thumbnail, render_report
from fabric_inspect.report.points import DefectSize, PointsConfig, assess
from fabric_inspect.report.thumbs import resolve_crop, thumbnail_uri

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReportConfig:
    """What a report contains beyond the database: grading rules, overrides, and image budget."""

    points: PointsConfig = field(default_factory=PointsConfig)
    length_m: float | None = None  # length inspected; None: the length recorded for the roll
    max_thumbnails: int = 200  # defect crops embedded; later defects get a placeholder
    thumbnail_px: int = 128

    def __post_init__(self) -> None:
        if self.length_m is not None and not (math.isfinite(self.length_m) and self.length_m > 0):
            raise ConfigError(f"--length-m must be a positive length in metres, got {self.length_m}")
        if self.max_thumbnails < 0:
            raise ConfigError(f"--thumbnails must be >= 0, got {self.max_thumbnails}")
        if not 16 <= self.thumbnail_px <= 1024:
            raise ConfigError(f"thumbnail_px must be in 16..1024, got {self.thumbnail_px}")


@dataclass(frozen=True, slots=True)
class ReportSummary:
    """The roll's result, for a command to print: grade "PASS" or "FAIL", points and points per 100."""

    roll_id: str
    out_path: Path
    defects: int
    points: int  # after the cap of 4 per linear metre (yard)
    raw_points: int
    points_per_100: float
    limit: float
    area_unit: str  # "m²" or "yd²": points_per_100 and limit are per 100 of these
    passed: bool

    @property
    def grade(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        """One line a command prints, e.g. 'roll R1: 12 defects, 18 points, 11.3 points/100 m² ...'."""
        return (
            f"roll {self.roll_id}: {self.defects} defects, {self.points} points, "
            f"{self.points_per_100:.2f} points per 100 {self.area_unit} "
            f"(limit {self.limit:.2f}): {self.grade}"
        )


def write_report(
    db_path: Path | str, roll_id: str | None, out_path: Path | str, config: ReportConfig | None = None
) -> ReportSummary:
    """Read roll ``roll_id`` (None: the only one) from ``db_path``, grade it and write the HTML report."""
    config = config or ReportConfig()
    db_path, out_path = Path(db_path), Path(out_path)
    if out_path.is_dir():
        raise ConfigError(
            f"--out {out_path} is a folder; give a file name such as {out_path / 'report.html'}"
        )
    roll, defects = read_roll(db_path, roll_id)
    width_mm = config.points.width_mm or roll.width_mm
    if not width_mm or width_mm <= 0:
        raise InputError(
            f"roll {roll.roll_id!r} in {db_path} has no width_mm; give the cuttable width with --width-mm"
        )
    length_m = config.length_m or roll.length_m
    if not length_m or length_m <= 0:
        state = "is still being inspected or " if not roll.finished else ""
        raise InputError(
            f"roll {roll.roll_id!r} in {db_path} {state}has no length_m; "
            "give the length inspected with --length-m"
        )
    sizes = [DefectSize(d.roll_y_mm, d.length_mm, d.width_mm, d.cls) for d in defects]
    # points per area over the fabric the camera saw: a stretch no inspected frame showed holds no
    # found defect, and counting it would flatter the roll (a length given by hand is taken as it is)
    graded_m = length_m if config.length_m else max(length_m - roll.uninspected_m, 1e-3)
    assessment = assess(sizes, graded_m, width_mm, config.points)
    content = ReportContent(
        roll=roll,
        defects=tuple(defects),
        assessment=assessment,
        points=config.points,
        length_m=length_m,
        width_mm=width_mm,
        thumbnails=_thumbnails(defects, db_path, config),
        generated=datetime.now(UTC).isoformat(timespec="seconds"),
        inspected_m=graded_m,
    )
    _write_atomically(out_path, render_report(content))
    log.info("wrote the report of roll %s to %s", roll.roll_id, out_path)
    return ReportSummary(
        roll_id=roll.roll_id,
        out_path=out_path,
        defects=len(defects),
        points=assessment.points,
        raw_points=assessment.raw_points,
        points_per_100=assessment.points_per_100,
        limit=assessment.limit,
        area_unit=config.points.area_unit,
        passed=assessment.passed,
    )


def _thumbnails(defects: list[DefectRecord], db_path: Path, config: ReportConfig) -> tuple[Thumbnail, ...]:
    out = []
    for i, d in enumerate(defects):
        if not d.crop_path:
            out.append(Thumbnail(None, "no crop"))
            continue
        if i >= config.max_thumbnails:
            out.append(Thumbnail(None, "not embedded"))
            continue
        path = resolve_crop(d.crop_path, db_path)
        if path is None:
            log.warning("defect %s: crop %s not found; the report shows a placeholder", d.id, d.crop_path)
            out.append(Thumbnail(None, "crop missing"))
            continue
        uri = thumbnail_uri(path, config.thumbnail_px)
        out.append(Thumbnail(uri, "" if uri else "unreadable"))
    return tuple(out)


def _write_atomically(out_path: Path, text: str) -> None:
    """Write beside the target, then rename: a failed run never leaves a half-written report."""
    tmp = out_path.with_name(f".{out_path.name}.{os.getpid()}.tmp")
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out_path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ConfigError(
            f"--out {out_path} cannot be written ({err.strerror}); choose another path"
        ) from None
