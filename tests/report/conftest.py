"""Real SQLite databases with the schema of docs/architecture.md, built row by row in tmp_path."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

SCHEMA = """
CREATE TABLE rolls (
  roll_id TEXT PRIMARY KEY, article TEXT, started TEXT, finished TEXT, source TEXT,
  length_m REAL, width_mm REAL, px_per_mm REAL, speed_m_per_min REAL,
  model_name TEXT, model_version TEXT, settings TEXT, frames INTEGER);
CREATE TABLE defects (
  roll_id TEXT REFERENCES rolls(roll_id), id INTEGER, class TEXT, score REAL,
  first_frame INTEGER, last_frame INTEGER, best_frame INTEGER, roll_y_mm REAL, roll_x_mm REAL,
  length_mm REAL, width_mm REAL, bbox TEXT, time TEXT, crop_path TEXT,
  PRIMARY KEY (roll_id, id));
"""

ROLL_DEFAULTS = {
    "article": "TW-2210 twill 240 g/m²",
    "started": "2026-11-28T21:00:00+00:00",
    "finished": "2026-11-28T21:12:00+00:00",
    "source": "roll.mp4",
    "length_m": 10.0,
    "width_mm": 1600.0,
    "px_per_mm": 0.5,
    "speed_m_per_min": 30.0,
    "model_name": "fabric-cnn",
    "model_version": "1.2.0",
    "settings": json.dumps({"threshold": 0.5, "min_area_px": 24, "confirm_frames": 3}),
    "frames": 600,
}


def make_defect_row(
    id: int, cls: str, roll_y_mm: float, size: tuple[float, float] = (20.0, 10.0), **extra
) -> dict:
    """A defects row: id, class, centre along the roll, (length, width) in mm; other columns via extra."""
    row = {
        "id": id,
        "class": cls,
        "score": 0.9,
        "first_frame": 10 * id,
        "last_frame": 10 * id + 5,
        "best_frame": 10 * id + 2,
        "roll_y_mm": roll_y_mm,
        "roll_x_mm": 400.0,
        "length_mm": size[0],
        "width_mm": size[1],
        "bbox": json.dumps([10, 10, 40, 30]),
        "time": "2026-11-28T21:05:00+00:00",
        "crop_path": None,
    }
    row.update(extra)
    return row


def write_db(path: Path, rolls: dict[str, dict], defects: dict[str, list[dict]]) -> Path:
    """Create ``path`` in WAL mode with the given rolls (id -> overrides of ROLL_DEFAULTS) and defects."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.executescript(SCHEMA)
    for roll_id, overrides in rolls.items():
        row = {"roll_id": roll_id, **ROLL_DEFAULTS, **overrides}
        con.execute(
            f"INSERT INTO rolls ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})", tuple(row.values())
        )
    for roll_id, rows in defects.items():
        for row in rows:
            full = {"roll_id": roll_id, **row}
            con.execute(
                f"INSERT INTO defects ({', '.join(full)}) VALUES ({', '.join('?' * len(full))})",
                tuple(full.values()),
            )
    con.commit()
    con.close()
    return path


@pytest.fixture
def make_db(tmp_path: Path) -> Callable[..., Path]:
    """make_db(rolls={"R1": {...}}, defects={"R1": [defect_row(...)]}) -> path of a fresh database."""
    counter = iter(range(1000))

    def make(rolls: dict[str, dict] | None = None, defects: dict[str, list[dict]] | None = None) -> Path:
        return write_db(tmp_path / f"inspect{next(counter)}.db", rolls or {"R1": {}}, defects or {})

    return make


@pytest.fixture
def defect_row() -> Callable[..., dict]:
    """defect_row(id, cls, roll_y_mm, (length_mm, width_mm), **other_columns) -> a defects row."""
    return make_defect_row


@pytest.fixture(scope="session")
def db_builders() -> tuple[Callable[..., Path], Callable[..., dict]]:
    """(write_db, defect_row) for fixtures wider than one test."""
    return write_db, make_defect_row
