"""benchmarks/fabric_kinds.py: the fabric of each image of a synth set, and figures by kind of fabric."""

from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.datasets.synthetic import render_sample


@pytest.fixture
def kinds(load_benchmark):
    return load_benchmark("fabric_kinds")


def test_the_fabric_named_for_each_image_is_the_one_synth_images_wove_it_from(kinds):
    seed = 9999
    named = [kinds.kinds_of(seed, i)["colouring"] for i in range(26)]
    assert {"yarn_dyed"} < set(named)
    for i, colouring in enumerate(named):
        as_written = render_sample(seed * 1_000_003 + i, 64).image  # write_dataset's image i
        rewoven = render_sample(seed * 1_000_003 + i, 64, colouring_shares=(0.0, 0.0, 1.0)).image
        # forcing yarn-dyed fabric leaves exactly the images that were yarn-dyed already unchanged
        assert np.array_equal(as_written, rewoven) == (colouring == "yarn_dyed"), i


def test_figures_by_kind_are_counted_within_each_group(kinds, monkeypatch):
    fabrics = {0: "greige", 1: "greige", 2: "greige", 3: "yarn_dyed", 4: "yarn_dyed", 5: "yarn_dyed"}
    monkeypatch.setattr(
        kinds, "kinds_of", lambda seed, i: {"colouring": fabrics[i], "weave": "plain", "pitch": "fine"}
    )
    rows = [  # (label, score): greige separates perfectly, yarn-dyed's defect scores under its fabric
        ("hole", 0.9), ("good", 0.2), ("good", 0.3),
        ("knot", 0.1), ("good", 0.5), ("good", 0.4),
    ]  # fmt: skip
    per_image = [
        {"stem": f"synth_{i:05d}", "label": label, "score": score, "auroc_loss": 0.0}
        for i, (label, score) in enumerate(rows)
    ]
    figures = kinds.by_kind({"per_image": per_image}, seed=1, seen={"synth_00000", "synth_00003"})
    greige, yarn = figures["colouring"]["greige"], figures["colouring"]["yarn_dyed"]
    assert (greige["defective"], greige["defect_free"], greige["auroc_within"]) == (1, 2, 1.0)
    assert (yarn["defective"], yarn["defect_free"], yarn["auroc_within"]) == (1, 2, 0.0)
    assert greige["auroc_against_all"] == 1.0 and yarn["auroc_against_all"] == 0.0
    assert yarn["defect_free_median"] == pytest.approx(0.45)
    assert figures["weave"]["plain"]["auroc_within"] == 0.5  # 0.9 above all four, 0.1 below all
    assert (greige["medium_high"], yarn["medium_high"]) == (1, 1)
    assert (greige["medium_high_against_all"], yarn["medium_high_against_all"]) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("pitch", "group"), [(2.2, "2.2-2.8 px"), (2.79, "2.2-2.8 px"), (2.8, "2.8-3.5 px"), (8.99, "6-9 px")]
)
def test_pitch_groups_hold_their_lower_end_and_not_their_upper_end(kinds, pitch, group):
    assert kinds.pitch_group(pitch) == group


def test_visible_keeps_the_images_with_a_medium_or_high_defect(kinds):
    annotations = {
        "a": [{"visibility": "low"}],
        "b": [{"visibility": "low"}, {"visibility": "high"}],
        "c": [],
        "d": [{"visibility": "medium"}],
    }
    assert kinds.visible(annotations) == {"b", "d"}


def test_by_class_ranks_each_class_medium_high_images_against_every_defect_free_image(kinds):
    rows = [  # (stem, label, score)
        ("a", "knot", 0.9), ("b", "slub", 0.1), ("c", "knot", 0.95), ("d", "good", 0.5), ("e", "good", 0.3),
    ]  # fmt: skip
    per_image = [{"stem": stem, "label": label, "score": score} for stem, label, score in rows]
    annotations = {
        "a": [{"class": "knot", "visibility": "high"}, {"class": "slub", "visibility": "medium"}],
        "b": [{"class": "slub", "visibility": "high"}],
        "c": [{"class": "knot", "visibility": "low"}],  # low only: in no class
        "d": [],
        "e": [],
    }
    figures = kinds.by_class({"per_image": per_image}, annotations)
    assert figures == {
        "knot": {"medium_high": 1, "medium_high_against_all": 1.0},
        "slub": {"medium_high": 2, "medium_high_against_all": 0.5},  # 0.9 above both, 0.1 below both
    }
