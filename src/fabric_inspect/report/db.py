"""Read one roll and its defects from a fabric-inspect SQLite database (schema: docs/architecture.md).

The database is opened read-only, so a report can be made while the live pipeline still writes to it
(WAL mode lets readers and one writer work at once).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import logging
import math
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from fabric_inspect.errors import InputError

log = logging.getLogger(__name__)

ROLL_COLUMNS = (
    "roll_id, article, started, finished, source, length_m, width_mm, px_per_mm, speed_m_per_min, "
    "model_name, model_version, settings, frames"
)
DEFECT_COLUMNS = (
    "id, class, score, first_frame, last_frame, best_frame, roll_y_mm, roll_x_mm, length_mm, width_mm, "
    "bbox, time, crop_path"
)
REQUIRED_TABLES = ("rolls", "defects")


@dataclass(frozen=True, slots=True)
class RollRecord:
    """One row of the `rolls` table; settings parsed from JSON (the raw text under "settings" if not)."""

    roll_id: str
    article: str | None
    started: str | None
    finished: str | None
    source: str | None
    length_m: float | None
    width_mm: float | None
    px_per_mm: float | None
    speed_m_per_min: float | None
    model_name: str | None
    model_version: str | None
    settings: dict
    frames: int | None
    uninspected_m: float = 0.0  # fabric no inspected frame saw (0 in databases from before it was kept)
    uninspected: tuple[tuple[float, float], ...] = ()  # (from_m, to_m) of the largest such stretches


@dataclass(frozen=True, slots=True)
class DefectRecord:
    """One row of the `defects` table, sizes and positions in mm."""

    id: int
    cls: str
    score: float | None
    first_frame: int | None
    last_frame: int | None
    best_frame: int | None
    roll_y_mm: float
    roll_x_mm: float | None
    length_mm: float
    width_mm: float
    bbox: list | None
    time: str | None
    crop_path: str | None


def list_rolls(db_path: Path) -> list[str]:
    """The roll ids in a database, in the order they were started."""
    with _connect(db_path) as con:
        return _roll_ids(con)


def read_roll(db_path: Path, roll_id: str | None) -> tuple[RollRecord, list[DefectRecord]]:
    """The roll ``roll_id`` and its defects in order along the roll (None: the only roll there is)."""
    with _connect(db_path) as con:
        roll_id = _pick_roll(db_path, roll_id, _roll_ids(con))
        try:
            row = con.execute(f"SELECT {ROLL_COLUMNS} FROM rolls WHERE roll_id = ?", (roll_id,)).fetchone()
            rows = con.execute(
                f"SELECT {DEFECT_COLUMNS} FROM defects WHERE roll_id = ? ORDER BY roll_y_mm, id", (roll_id,)
            ).fetchall()
        except sqlite3.DatabaseError as err:
            raise InputError(
                f"--db {db_path} does not have the fabric-inspect schema ({err}); see docs/architecture.md"
            ) from None
        roll = _with_uninspected(con, _roll_record(row))
    defects = [_defect_record(db_path, roll_id, r) for r in rows]
    log.debug("read roll %s with %d defects from %s", roll_id, len(defects), db_path)
    return roll, defects


def _with_uninspected(con: sqlite3.Connection, roll: RollRecord) -> RollRecord:
    """The roll with what `run` recorded as not inspected, where the database has those columns."""
    columns = {r[1] for r in con.execute("PRAGMA table_info(rolls)")}
    if "uninspected_m" not in columns:
        return roll
    (total,) = con.execute("SELECT uninspected_m FROM rolls WHERE roll_id = ?", (roll.roll_id,)).fetchone()
    # the table comes with the column: `run` creates both (inspect.sinks.database.connect)
    stretches = con.execute(
        "SELECT from_m, to_m FROM uninspected WHERE roll_id = ? ORDER BY from_m", (roll.roll_id,)
    ).fetchall()
    return dataclasses.replace(
        roll,
        uninspected_m=_float_or_none(total) or 0.0,
        uninspected=tuple((float(a), float(b)) for a, b in stretches),
    )


def _connect(db_path: Path) -> closing[sqlite3.Connection]:
    """A read-only connection to a file with the fabric-inspect tables, closed when the block ends."""
    db_path = Path(db_path)
    if not db_path.is_file():
        what = "is a folder, not a file" if db_path.is_dir() else "does not exist"
        raise InputError(
            f"--db {db_path} {what}; give the SQLite file written by `fabric-inspect run --db FILE --roll ID`"
        )
    con = None
    try:
        con = sqlite3.connect(f"{db_path.resolve().as_uri()}?mode=ro", uri=True)
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as err:
        if con is not None:
            con.close()
        raise InputError(
            f"--db {db_path} is not a SQLite database ({err}); "
            "give the file written by `fabric-inspect run --db`"
        ) from None
    missing = [t for t in REQUIRED_TABLES if t not in names]
    if missing:
        con.close()
        raise InputError(
            f"--db {db_path} is not a fabric-inspect database: it has no table {', '.join(missing)} "
            f"(tables found: {', '.join(sorted(names)) or 'none'})"
        )
    return closing(con)


def _roll_ids(con: sqlite3.Connection) -> list[str]:
    try:
        return [r[0] for r in con.execute("SELECT roll_id FROM rolls ORDER BY started, roll_id")]
    except sqlite3.DatabaseError as err:
        raise InputError(
            f"the rolls table does not have the fabric-inspect columns ({err}); see docs/architecture.md"
        ) from None


def _pick_roll(db_path: Path, roll_id: str | None, ids: list[str]) -> str:
    if not ids:
        raise InputError(f"--db {db_path} holds no rolls yet; inspect one with `fabric-inspect run --db`")
    if roll_id is None:
        if len(ids) == 1:
            return ids[0]
        raise InputError(f"--db {db_path} holds {len(ids)} rolls; choose one with --roll: {', '.join(ids)}")
    if roll_id in ids:
        return roll_id
    close = difflib.get_close_matches(roll_id, ids, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    shown = ", ".join(ids[:20]) + (f" ... ({len(ids)} in all)" if len(ids) > 20 else "")
    raise InputError(f"--roll {roll_id!r} is not in {db_path}; {hint}rolls there: {shown}")


def _roll_record(row: tuple) -> RollRecord:
    settings_text = row[11]
    try:
        settings = json.loads(settings_text) if settings_text else {}
    except json.JSONDecodeError:
        settings = {"settings": settings_text}
    if not isinstance(settings, dict):
        settings = {"settings": settings}
    return RollRecord(
        roll_id=str(row[0]),
        article=row[1],
        started=row[2],
        finished=row[3],
        source=row[4],
        length_m=_float_or_none(row[5]),
        width_mm=_float_or_none(row[6]),
        px_per_mm=_float_or_none(row[7]),
        speed_m_per_min=_float_or_none(row[8]),
        model_name=row[9],
        model_version=row[10],
        settings=settings,
        frames=row[12],
    )


def _defect_record(db_path: Path, roll_id: str, row: tuple) -> DefectRecord:
    where = f"defect {row[0]} of roll {roll_id!r} in {db_path}"
    for name, value in (("roll_y_mm", row[6]), ("length_mm", row[8]), ("width_mm", row[9])):
        number = _float_or_none(value)
        if number is None or not math.isfinite(number) or (name != "roll_y_mm" and number < 0):
            raise InputError(
                f"{where} has {name} = {value!r}; expected a finite number of mm (>= 0 for sizes)"
            )
    if not row[1]:
        raise InputError(f"{where} has no class")
    try:
        bbox = json.loads(row[10]) if row[10] else None
    except json.JSONDecodeError:
        bbox = None
    return DefectRecord(
        id=int(row[0]),
        cls=str(row[1]),
        score=_float_or_none(row[2]),
        first_frame=row[3],
        last_frame=row[4],
        best_frame=row[5],
        roll_y_mm=float(row[6]),
        roll_x_mm=_float_or_none(row[7]),
        length_mm=float(row[8]),
        width_mm=float(row[9]),
        bbox=bbox,
        time=row[11],
        crop_path=row[12],
    )


def _float_or_none(value: object) -> float | None:
    if value is None:
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
