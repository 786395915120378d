"""benchmarks/candidate_summary.py: candidate.sh's folders summed up side by side, hand-made files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.fixture
def summary(load_benchmark):
    return load_benchmark("candidate_summary")


def _write(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc))


def _eval(auroc: float, recall: float) -> dict:
    return {
        "image_auroc": auroc,
        "image_auroc_by_visibility": {"medium_high": auroc + 0.05},
        "aupro": 0.8,
        "defect_recall": recall,
        "false_alarm_rate": 0.005,
        "image_ap": 0.7,
        "pixel_auroc": 0.9,
    }


def _kinds(yarn: tuple[int, float], fine: tuple[int, float], knot: tuple[int, float] = (0, 0.0)) -> dict:
    return {
        "by_kind": {
            "colouring": {"yarn_dyed": {"medium_high": yarn[0], "medium_high_against_all": yarn[1]}},
            "pitch": {"2.2-2.8 px": {"medium_high": fine[0], "medium_high_against_all": fine[1]}},
        },
        "by_class": {"knot": {"medium_high": knot[0], "medium_high_against_all": knot[1]}},
    }


def _roll(truths: int, found: int, false: int) -> dict:
    return {"metres": 6.8, "truths": truths, "found": found, "duplicates": 0, "false_reports": false}


def test_a_full_folder_gives_every_row_and_a_partial_one_dashes(summary, tmp_path, capsys):
    full = tmp_path / "full"
    full.mkdir()
    for seed, auroc in (("9999", 0.9), ("777", 0.8), ("4242", 0.7)):
        _write(full / f"syn_{seed}.json", _eval(auroc, 0.5))
    # pooled by medium/high counts: yarn-dyed (10 x 0.9 + 30 x 0.7 + 0 x ...) / 40 = 0.75
    _write(full / "kinds_9999.json", _kinds((10, 0.9), (5, 0.8), (3, 1.0)))
    _write(full / "kinds_777.json", _kinds((30, 0.7), (15, 0.6), (1, 0.6)))
    _write(full / "kinds_4242.json", _kinds((0, 0.1), (0, 0.2), (0, 0.0)))
    _write(full / "aitex_zeroshot.json", _eval(0.78, 0.4))
    _write(
        full / "edge.json", {"summary": {"all": {"whole_found": 0.6, "centre_found": 0.7, "edge_found": 0.5}}}
    )
    rolls = {"defects-7": _roll(8, 6, 1), "defects-13": _roll(7, 2, 30), "clean-12": _roll(0, 0, 2)}
    _write(full / "rolls_demo.json", {"results": [{"threshold": 0.9, "rolls": rolls}]})
    _write(full / "cv_s0.json", {"image_auroc_mean": 0.96})
    _write(full / "cv_s1.json", {"image_auroc_mean": 0.94})
    partial = tmp_path / "partial"
    partial.mkdir()
    _write(partial / "syn_9999.json", _eval(0.95, 0.9))

    rows = summary.figures(full)
    assert rows["(a) seed 9999: image AUROC (medium/high) / AUPRO"] == "0.900 (0.950) / 0.800"
    assert rows["seed 4242: recall at threshold (false alarms)"] == "0.500 (0.5%)"
    assert rows["medium/high by kind, 3 sets: yarn-dyed / 2.2-2.8 px per yarn"] == "0.750 / 0.650"
    # knots (3 x 1.0 + 1 x 0.6) / 4; a class no set holds is a dash
    hard = "medium/high by class, 3 sets: slub / knot / broken end / broken pick / float"
    assert rows[hard] == "- / 0.900 / - / - / -"
    assert rows["(b) AITEX zero-shot: image AUROC / AP / pixel AUROC"] == "0.780 / 0.700 / 0.900"
    assert rows["edge probe: found whole / centred / 40 px from two edges"] == "0.60 / 0.70 / 0.50"
    video = "video, nine demo rolls: medium/high found / false reports (on roll 13)"
    assert rows[video] == "8 of 15 / 3 (30)"
    clean = "video, nine demo rolls: false reports on the defect-free rolls / metres"
    assert rows[clean] == "2 / 6.8 m"  # clean-12 alone, not the defect rolls' false reports
    assert rows["video, 320x240 rolls: false reports on the defect-free rolls / metres"] is None  # no file
    assert rows["(c) AITEX fine-tuned, 3 folds: image AUROC mean (per seed)"] == "0.950 (0.960, 0.940)"
    assert rows["image / video threshold"] is None  # no calibrated model.onnx in the folder

    assert summary.main([str(full), str(partial), "--json", str(tmp_path / "t.json")]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0] == f"| | {full} | {partial} |"
    assert "| (b) AITEX zero-shot: image AUROC / AP / pixel AUROC | 0.780 / 0.700 / 0.900 | - |" in table
    written = json.loads((tmp_path / "t.json").read_text())
    assert written[str(partial)]["(a) seed 9999: recall at threshold (false alarms)"] == "0.900 (0.5%)"


def test_a_missing_folder_is_one_line_and_exit_2(summary, tmp_path, capsys):
    assert summary.main([str(tmp_path / "nowhere")]) == 2
    assert (
        capsys.readouterr().err.strip()
        == f"error: {tmp_path / 'nowhere'} is not a folder (benchmarks/candidate.sh writes one)"
    )
