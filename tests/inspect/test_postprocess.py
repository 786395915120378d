from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.errors import ConfigError, ModelError
from fabric_inspect.inspect.postprocess import PostprocessConfig, find_defects
from fabric_inspect.inspect.preprocess import Geometry, PreprocessConfig, frame_geometry, prepare

CLASSES = ("hole", "stain", "knot")
WHOLE = Geometry(0, 0, 160, 80, 1.0)


def maps(cells: list[tuple[int, int, float]], kind: int = 1, shape=(10, 20)):
    score = np.zeros(shape, np.float32)
    logits = np.zeros((len(CLASSES), *shape), np.float32)
    for row, col, value in cells:
        score[row, col] = value
        logits[kind, row, col] = 5.0
    return score, logits


def test_component_becomes_box_in_frame_pixels_at_the_stride():
    score, logits = maps([(2, 3, 0.9), (2, 4, 0.7), (3, 4, 0.8)])
    found = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE)
    assert len(found) == 1
    assert found[0].bbox == (24, 16, 40, 32)
    assert found[0].class_name == "stain"
    assert found[0].score == pytest.approx(0.9)
    assert found[0].area_px == 3 * 64


def test_roi_offset_and_scale_map_back_to_frame_pixels():
    geometry = Geometry(x0=100, y0=50, width=320, height=160, scale=0.5)
    score, logits = maps([(1, 1, 0.9)])
    (found,) = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, geometry)
    assert found.bbox == (100 + 16, 50 + 16, 100 + 32, 50 + 32)


def test_separate_components_are_separate_defects_and_empty_map_gives_none():
    score, logits = maps([(0, 0, 0.9), (8, 18, 0.95)])
    thresholds = np.full(3, 0.5, np.float32)
    assert len(find_defects(score, logits, thresholds, CLASSES, 8, WHOLE)) == 2
    assert find_defects(np.zeros((10, 20), np.float32), logits, thresholds, CLASSES, 8, WHOLE) == []


def test_class_threshold_makes_one_class_less_sensitive():
    score, logits = maps([(2, 2, 0.7)], kind=1)
    config = PostprocessConfig(threshold=0.5, class_thresholds={"stain": 0.8})
    thresholds = config.resolved(CLASSES, model_threshold=0.3)
    assert list(thresholds) == pytest.approx([0.5, 0.8, 0.5])
    assert find_defects(score, logits, thresholds, CLASSES, 8, WHOLE) == []


def test_min_cells_drops_single_cell_specks():
    score, logits = maps([(2, 2, 0.9), (6, 6, 0.9), (6, 7, 0.9)])
    found = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE, min_cells=2)
    assert [d.bbox for d in found] == [(48, 48, 64, 56)]


def test_unknown_class_threshold_names_the_close_match():
    with pytest.raises(ConfigError, match="did you mean 'stain'"):
        PostprocessConfig(class_thresholds={"stian": 0.4}).resolved(CLASSES, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": 1.5}, "--threshold"),
        ({"class_thresholds": {"hole": 0.0}}, "hole"),
        ({"min_cells": 0}, "--min-cells"),
    ],
)
def test_bad_postprocess_settings_are_refused(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        PostprocessConfig(**kwargs)


def test_output_shapes_that_do_not_fit_are_a_model_error():
    with pytest.raises(ModelError, match="class_logits"):
        find_defects(
            np.zeros((4, 4), np.float32), np.zeros((2, 4, 4), np.float32), np.full(3, 0.5), CLASSES, 8, WHOLE
        )


def test_roi_is_cut_and_scaled_and_must_lie_in_the_frame():
    frame = np.arange(100 * 200, dtype=np.uint32).reshape(100, 200).astype(np.uint8)
    geometry = frame_geometry(PreprocessConfig(roi=(10, 20, 110, 60), scale=0.5), 200, 100)
    assert prepare(frame, geometry).shape == (20, 50)
    assert np.shares_memory(
        prepare(frame, frame_geometry(PreprocessConfig(roi=(10, 20, 110, 60)), 200, 100)), frame
    )
    with pytest.raises(ConfigError, match="outside"):
        frame_geometry(PreprocessConfig(roi=(0, 0, 300, 50)), 200, 100)
    with pytest.raises(ConfigError, match="--roi"):
        PreprocessConfig(roi=(50, 0, 10, 10))


def test_a_frame_full_of_components_keeps_only_the_strongest():
    cells = [(row, col, 0.6 + 0.001 * (row * 20 + col)) for row in range(0, 10, 2) for col in range(0, 20, 2)]
    score, logits = maps(cells)
    found = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE, max_defects=5)
    assert len(found) == 5
    assert [d.score for d in found] == sorted((d.score for d in found), reverse=True)
    assert found[0].bbox == (144, 64, 152, 72)  # the strongest: row 8, column 18


def _cells(row_cols: list[tuple[int, int]], value: float = 0.9) -> list[tuple[int, int, float]]:
    return [(r, c, value) for r, c in row_cols]


def test_pieces_of_a_line_across_the_fabric_become_one_defect():
    # a broken pick lit in pieces along row 4 (gaps of 2 to 6 cells), one piece a row lower (skew)
    pieces = [(4, c) for c in (0, 1, 2)] + [(4, c) for c in (5, 6, 7, 8)] + [(5, c) for c in range(14, 18)]
    score, logits = maps(_cells([*pieces, (4, 11)]), shape=(10, 20))
    (found,) = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE)
    assert found.bbox == (0, 32, 18 * 8, 48)
    assert found.area_px == 12 * 64
    unjoined = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE, join_lines=False)
    assert len(unjoined) == 4


def test_pieces_of_a_line_along_the_fabric_become_one_defect():
    pieces = [(r, 9) for r in (0, 1, 2, 3)] + [(r, 9) for r in (6, 7, 8, 9)]
    score, logits = maps(_cells(pieces), shape=(10, 20))
    (found,) = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE)
    assert found.bbox == (72, 0, 80, 80)


def test_round_defects_on_one_row_stay_separate_and_thick_blobs_do_not_join_a_line():
    holes = [(2, 2), (2, 3), (3, 2), (3, 3), (2, 12), (2, 13), (3, 12), (3, 13)]
    # a blob three cells thick beside a line piece on rows 7..9: too thick to be part of the line
    blob = [(r, c) for r in (6, 7, 8) for c in (1, 2, 3)]
    line = [(7, c) for c in range(8, 14)]
    score, logits = maps(_cells(holes + blob + line), shape=(10, 20))
    found = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE)
    assert sorted(d.bbox for d in found) == [
        (8, 48, 32, 72),
        (16, 16, 32, 32),
        (64, 56, 112, 64),
        (96, 16, 112, 32),
    ]


def test_a_joined_line_takes_the_class_most_of_its_cells_vote_for():
    score = np.zeros((10, 20), np.float32)
    logits = np.zeros((3, 10, 20), np.float32)
    score[4, 0:6] = 0.9
    score[4, 10:12] = 0.95
    logits[2, 4, 0:6] = 5.0  # knot on six cells
    logits[1, 4, 10:12] = 5.0  # stain on two, the highest score
    (found,) = find_defects(score, logits, np.full(3, 0.5, np.float32), CLASSES, 8, WHOLE)
    assert found.class_name == "knot"
    assert found.score == pytest.approx(0.95)


def test_draft_cells_paint_each_reported_component_in_its_class_and_nothing_else():
    from fabric_inspect.inspect.postprocess import draft_cells

    score, logits = maps([(2, 3, 0.9), (2, 4, 0.7)], kind=2)  # a knot over its threshold
    weak, weak_logits = maps([(7, 15, 0.6)], kind=0)  # a hole under the hole threshold
    score, logits = score + weak, logits + weak_logits
    thresholds = np.array([0.65, 0.5, 0.5], np.float32)
    cells = draft_cells(score, logits, thresholds)
    assert cells.dtype == np.uint8 and cells.shape == score.shape
    assert cells[2, 3] == cells[2, 4] == 3  # knot is class 2: mask value 3
    assert np.count_nonzero(cells) == 2  # the weak hole is no defect, so no draft either
    assert not draft_cells(np.zeros((4, 4), np.float32), np.zeros((3, 4, 4), np.float32), thresholds).any()
    thresholds[0] = 0.55
    assert draft_cells(score, logits, thresholds)[7, 15] == 1
    assert draft_cells(score, logits, thresholds, min_cells=2)[7, 15] == 0
