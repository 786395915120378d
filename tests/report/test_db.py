"""Reading rolls from real SQLite files: the happy path, a live writer, and one clear line per bad input."""

from __future__ import annotations

import sqlite3

import pytest

from fabric_inspect.errors import InputError
from fabric_inspect.report.db import list_rolls, read_roll


def test_reads_the_roll_and_its_defects_in_order_along_the_roll(make_db, defect_row):
    db = make_db(
        rolls={"R1": {}, "R2": {"article": "other"}},
        defects={
            "R1": [
                defect_row(1, "knot", 5000.0),
                defect_row(2, "hole", 1200.0, (30.0, 25.0), crop_path=None),
            ],
            "R2": [defect_row(1, "stain", 300.0)],
        },
    )
    roll, defects = read_roll(db, "R1")
    assert roll.roll_id == "R1"
    assert roll.width_mm == 1600.0 and roll.length_m == 10.0
    assert roll.settings == {"threshold": 0.5, "min_area_px": 24, "confirm_frames": 3}
    assert [(d.id, d.cls, d.roll_y_mm) for d in defects] == [(2, "hole", 1200.0), (1, "knot", 5000.0)]
    assert defects[0].length_mm == 30.0 and defects[0].width_mm == 25.0
    assert defects[0].bbox == [10, 10, 40, 30]


def test_the_only_roll_is_chosen_when_no_roll_is_given(make_db):
    roll, defects = read_roll(make_db(rolls={"ONLY": {}}), None)
    assert roll.roll_id == "ONLY" and defects == []


def test_settings_that_are_not_json_are_kept_as_text(make_db):
    roll, _ = read_roll(make_db(rolls={"R1": {"settings": "threshold=0.4"}}), "R1")
    assert roll.settings == {"settings": "threshold=0.4"}


def test_a_missing_database_file_is_named(tmp_path):
    with pytest.raises(InputError, match=r"--db .*nope\.db does not exist"):
        read_roll(tmp_path / "nope.db", "R1")


def test_a_folder_given_as_database_is_named(tmp_path):
    with pytest.raises(InputError, match="is a folder, not a file"):
        read_roll(tmp_path, "R1")


def test_a_file_that_is_not_sqlite_is_refused(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text('{"id": 1}\n' * 200)
    with pytest.raises(InputError, match="is not a SQLite database"):
        read_roll(path, "R1")


def test_a_sqlite_file_without_the_tables_is_not_a_fabric_inspect_database(tmp_path):
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE rolls (roll_id TEXT)")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="not a fabric-inspect database: it has no table defects"):
        read_roll(path, "R1")


def test_an_unknown_roll_lists_the_rolls_there_and_suggests_the_closest(make_db):
    db = make_db(rolls={"R-0101": {}, "R-0102": {}, "X9": {}})
    with pytest.raises(InputError) as err:
        read_roll(db, "R-0103")
    message = str(err.value)
    assert "--roll 'R-0103' is not in" in message
    assert "did you mean 'R-010" in message
    assert "R-0101, R-0102, X9" in message


def test_several_rolls_and_no_roll_given_asks_for_one(make_db):
    with pytest.raises(InputError, match="holds 2 rolls; choose one with --roll: A, B"):
        read_roll(make_db(rolls={"A": {"started": "1"}, "B": {"started": "2"}}), None)


def test_an_empty_database_says_so(make_db, tmp_path):
    db = make_db(rolls={"R1": {}})
    con = sqlite3.connect(db)
    con.execute("DELETE FROM rolls")
    con.commit()
    con.close()
    with pytest.raises(InputError, match="holds no rolls yet"):
        read_roll(db, None)


@pytest.mark.parametrize("column", ["length_mm", "width_mm", "roll_y_mm"])
def test_a_defect_without_a_size_or_position_is_named(make_db, column, defect_row):
    row = defect_row(7, "knot", 100.0)
    row[column] = None
    db = make_db(defects={"R1": [row]})
    with pytest.raises(InputError, match=f"defect 7 of roll 'R1' in .* has {column} = None"):
        read_roll(db, "R1")


def test_a_negative_size_is_refused(make_db, defect_row):
    db = make_db(defects={"R1": [defect_row(3, "knot", 100.0, (-4.0, 2.0))]})
    with pytest.raises(InputError, match=r"defect 3 .* length_mm = -4\.0"):
        read_roll(db, "R1")


def test_reading_works_while_the_pipeline_holds_an_open_write_transaction(make_db, defect_row):
    db = make_db(defects={"R1": [defect_row(1, "knot", 100.0)]})
    writer = sqlite3.connect(db)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO defects (roll_id, id, class, roll_y_mm, length_mm, width_mm) "
            "VALUES ('R1', 2, 'hole', 900.0, 10.0, 10.0)"
        )
        _, defects = read_roll(db, "R1")  # WAL: the reader sees the last commit and does not wait
        assert [d.id for d in defects] == [1]
        writer.commit()
        _, defects = read_roll(db, "R1")
        assert [d.id for d in defects] == [1, 2]
    finally:
        writer.close()


def test_list_rolls_gives_rolls_in_the_order_they_started(make_db):
    db = make_db(rolls={"B": {"started": "2026-11-28T10:00"}, "A": {"started": "2026-11-28T11:00"}})
    assert list_rolls(db) == ["B", "A"]
