"""`--db inspect.db --roll R1`: rolls and defects in SQLite (WAL), one commit per defect.

The schema is docs/architecture.md's (the roll report reads it). WAL mode lets the report or a
dashboard read the database while a run is writing it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from fabric_inspect.errors import ConfigError, InputError
from fabric_inspect.inspect.tracker import DefectEvent

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS rolls (
  roll_id TEXT PRIMARY KEY, article TEXT, started TEXT, finished TEXT, source TEXT,
  length_m REAL, width_mm REAL, px_per_mm REAL, speed_m_per_min REAL,
  model_name TEXT, model_version TEXT, settings TEXT, frames INTEGER, uninspected_m REAL);
CREATE TABLE IF NOT EXISTS uninspected (
  roll_id TEXT REFERENCES rolls(roll_id), from_m REAL, to_m REAL);
CREATE TABLE IF NOT EXISTS defects (
  roll_id TEXT REFERENCES rolls(roll_id), id INTEGER, class TEXT, score REAL,
  first_frame INTEGER, last_frame INTEGER, best_frame INTEGER, roll_y_mm REAL, roll_x_mm REAL,
  length_mm REAL, width_mm REAL, bbox TEXT, time TEXT, crop_path TEXT,
  PRIMARY KEY (roll_id, id));
"""


@dataclass(frozen=True, slots=True)
class RollInfo:
    """What the rolls row records about a run."""

    roll_id: str
    source: str
    article: str | None = None
    width_mm: float | None = None
    px_per_mm: float | None = None
    speed_m_per_min: float | None = None
    model_name: str = ""
    model_version: str = ""
    settings: str = "{}"  # JSON

    def __post_init__(self) -> None:
        if not self.roll_id.strip():
            raise ConfigError("--roll must name the roll (e.g. --roll R1)")


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating) the database in WAL mode with the schema."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), timeout=10.0, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.executescript(SCHEMA)
        columns = {row[1] for row in connection.execute("PRAGMA table_info(rolls)")}
        if "uninspected_m" not in columns:  # a database written before this column existed
            connection.execute("ALTER TABLE rolls ADD COLUMN uninspected_m REAL")
    except sqlite3.Error as err:
        raise InputError(
            f"--db {path}: cannot open as SQLite ({err}); give a new file or a fabric-inspect db"
        ) from None
    return connection


class DatabaseSink:
    """Adds the roll at start, a defect row (committed) per event, and the totals at the end."""

    def __init__(self, path: Path, roll: RollInfo) -> None:
        self.path = path
        self.roll = roll
        self._db = connect(path)
        exists = self._db.execute("SELECT 1 FROM rolls WHERE roll_id = ?", (roll.roll_id,)).fetchone()
        if exists:
            self._db.close()
            raise ConfigError(
                f"--roll {roll.roll_id} is already in {path}; give a new roll id (or another --db)"
            )
        self._db.execute(
            "INSERT INTO rolls (roll_id, article, started, source, width_mm, px_per_mm, speed_m_per_min, "
            "model_name, model_version, settings, frames) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            (
                roll.roll_id,
                roll.article,
                now_iso(),
                roll.source,
                roll.width_mm,
                roll.px_per_mm,
                roll.speed_m_per_min,
                roll.model_name,
                roll.model_version,
                roll.settings,
            ),
        )
        self._db.commit()
        self.written = 0
        self.error: str | None = None  # the first write that failed, as one line
        self.length_m: float | None = None
        self.frames = 0
        self.uninspected_m = 0.0
        self.stretches: list[list[float]] = []  # [from_m, to_m] of each stretch not inspected

    def __enter__(self) -> DatabaseSink:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self.error is None:
                self._finish()
        except sqlite3.Error as err:
            self._failed(err)
        finally:
            self._db.close()

    def _finish(self) -> None:
        self._db.execute(
            "UPDATE rolls SET finished = ?, length_m = ?, frames = ?, uninspected_m = ? WHERE roll_id = ?",
            (now_iso(), self.length_m, self.frames, self.uninspected_m, self.roll.roll_id),
        )
        self._db.executemany(
            "INSERT INTO uninspected (roll_id, from_m, to_m) VALUES (?, ?, ?)",
            [(self.roll.roll_id, start, end) for start, end in self.stretches],
        )
        self._db.commit()

    def _failed(self, err: sqlite3.Error) -> None:
        if self.error is None:
            self.error = f"--db {self.path}: cannot write ({err}) after {self.written} defects"
            log.error("%s; the run goes on without it", self.error)
        with contextlib.suppress(sqlite3.Error):  # the failed transaction, so close() does not retry it
            self._db.rollback()

    def write(self, event: DefectEvent) -> None:
        """Add the defect's row (and the roll's totals so far) in one commit; after a failed write
        (a full disk) nothing more is written and `error` says why."""
        if self.error is not None:
            return
        try:
            self._write(event)
        except sqlite3.Error as err:
            self._failed(err)

    def _write(self, event: DefectEvent) -> None:
        self._db.execute(
            "INSERT INTO defects (roll_id, id, class, score, first_frame, last_frame, best_frame, roll_y_mm, "
            "roll_x_mm, length_mm, width_mm, bbox, time, crop_path) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.roll.roll_id,
                event.id,
                event.class_name,
                event.score,
                event.first_frame,
                event.last_frame,
                event.best_frame,
                event.roll_y_mm,
                event.roll_x_mm,
                event.length_mm,
                event.width_mm,
                json.dumps(list(event.bbox)),
                event.time,
                event.crop_path,
            ),
        )
        self._db.execute(  # keep the roll's totals current for readers during the run
            "UPDATE rolls SET length_m = ?, frames = ?, uninspected_m = ? WHERE roll_id = ?",
            (self.length_m, self.frames, self.uninspected_m, self.roll.roll_id),
        )
        self._db.commit()
        self.written += 1

    def progress(
        self, frames: int, length_m: float, uninspected_m: float = 0.0, stretches: list | None = None
    ) -> None:
        """Remember the totals (and the stretches not inspected, written at the end); written with
        the next defect and at the end (not per frame)."""
        self.frames = frames
        self.length_m = length_m
        self.uninspected_m = uninspected_m
        if stretches is not None:
            self.stretches = stretches
