"""`fabric-inspect train` and `export`: bad input gives one clear line and exit code 2; a tiny real run
goes data folder -> training -> calibration -> model.onnx + weights.pt -> export."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from fabric_inspect.cli import app
from fabric_inspect.models.runtime import load_model

runner = CliRunner()


def _fail(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--out", "{tmp}/run"], "exactly one of --data DIR or --synthetic"),
        (["train", "--data", "{tmp}/nowhere", "--out", "{tmp}/run"], "is not a folder"),
        (["train", "--data", "{tmp}/empty", "--out", "{tmp}/run"], "is empty or in no known layout"),
        (["train", "--synthetic", "--epochs", "0", "--out", "{tmp}/run"], "--epochs must be at least 1"),
        (["train", "--synthetic", "--crop", "100", "--out", "{tmp}/run"], "--crop must be a multiple of 8"),
        (["train", "--synthetic", "--patience", "0", "--out", "{tmp}/run"], "--patience must be at least 1"),
        (["train", "--synthetic", "--preset", "defualt", "--out", "{tmp}/run"], "did you mean 'default'"),
        (["train", "--synthetic", "--init", "{tmp}/missing.pt", "--out", "{tmp}/run"], "--init"),
        (["train", "--synthetic", "--resume", "--out", "{tmp}/run"], "last.pt does not exist"),
        (["train", "--synthetic", "--keep", "middle", "--out", "{tmp}/run"], "--keep must be one of"),
        (["train", "--synthetic", "--split", "rolls", "--out", "{tmp}/run"], "--split must be one of"),
        (["train", "--synthetic", "--widths", "16,16", "--out", "{tmp}/run"], "--widths must be 3 channel"),
        (["train", "--synthetic", "--widths", "16,16,x", "--out", "{tmp}/run"], "comma-separated integers"),
        (["train", "--synthetic", "--dilations", "0,2", "--out", "{tmp}/run"], "--dilations must be 1 to 8"),
        (
            ["train", "--synthetic", "--widths", "8,8,16", "--init", "default", "--out", "{tmp}/run"],
            "shape a fresh network",
        ),
        (
            ["train", "--synthetic", "--branches", "2", "--resume", "--out", "{tmp}/run"],
            "leave out --branches",
        ),
        (["train", "--synthetic", "--branches", "0", "--out", "{tmp}/run"], "--branches must be 1..8"),
        (
            ["train", "--synthetic", "--residual", "linear", "--resume", "--out", "{tmp}/run"],
            "leave out --residual",
        ),
        (["train", "--synthetic", "--residual", "gated", "--out", "{tmp}/run"], "--residual must be"),
        (["train", "--synthetic", "--kernel", "4", "--out", "{tmp}/run"], "--kernel must be 3, 5 or 7"),
        (
            ["train", "--synthetic", "--kernel", "5", "--init", "default", "--out", "{tmp}/run"],
            "shape a fresh",
        ),
        (["train", "--synthetic", "--teacher", "{tmp}/missing.pt", "--out", "{tmp}/run"], "--teacher"),
        (["train", "--synthetic", "--distill-weight", "2", "--out", "{tmp}/run"], "give --teacher too"),
        (["train", "--synthetic", "--device", "gpu", "--out", "{tmp}/run"], "--device must be auto, cpu"),
        (["train", "--synthetic", "--workers", "-1", "--out", "{tmp}/run"], "--workers must be in 0..64"),
        (["train", "--data", "{tmp}", "--workers", "2", "--out", "{tmp}/run"], "--workers renders synthetic"),
        (["export", "{tmp}/missing.pt", "--out", "{tmp}/m.onnx"], "does not exist"),
        (["export", "{tmp}/foreign.pt", "--out", "{tmp}/m.onnx"], "not a fabric-inspect checkpoint"),
        (["export", "{tmp}/foreign.pt", "--out", "{tmp}/m.txt"], "must end in .onnx"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    torch.save({"state_dict": {}}, tmp_path / "foreign.pt")
    (tmp_path / "empty").mkdir()
    line = _fail([a.replace("{tmp}", str(tmp_path)) for a in args])
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "run").exists()  # refused before anything is made


def test_bad_input_through_a_real_process(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_inspect", "export", str(tmp_path / "nope.pt"), "--out", "m.onnx"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "nope.pt does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr


def _aitex_like(root: Path) -> Path:
    """Two fabrics, each with three defect images (one roll's worth) and a roll of three good ones."""
    blank, mask = np.full((64, 64), 120, np.uint8), np.zeros((64, 64), np.uint8)
    mask[20:30, 20:30] = 255
    for folder in ("Defect_images", "Mask_images", "NoDefect_images"):
        (root / folder).mkdir(parents=True)
    for fabric, roll in (("00", "2311694-2040n7u"), ("05", "2306881-210020u")):
        for i in range(3):
            stem = f"{int(fabric) * 10 + i + 1:04d}_002_{fabric}"
            cv2.imwrite(str(root / "Defect_images" / f"{stem}.png"), blank)
            cv2.imwrite(str(root / "Mask_images" / f"{stem}_mask.png"), mask)
            good = root / "NoDefect_images" / roll / f"{i + 1:04d}_000_{fabric}.png"
            good.parent.mkdir(exist_ok=True)
            cv2.imwrite(str(good), blank)
    return root


@pytest.mark.parametrize(
    ("split", "fabrics_held_out"),
    [
        ("group", 1),  # whole groups: one fabric's defect images all go to validation
        ("image_within_fabric", 2),  # images of every fabric on both sides
        ("auto", 2),  # on AITEX's layout, whose defect images have a fabric but no roll: within fabric
    ],
)
def test_train_holds_out_its_validation_images_as_split_says(tmp_path, split, fabrics_held_out):
    from fabric_inspect.cli.model import _training_data
    from fabric_inspect.training.config import TrainConfig

    data = _aitex_like(tmp_path / "aitex")
    config = TrainConfig(split=split, val_fraction=0.34)
    _, _, val = _training_data(tmp_path / "run", data, "aitex", False, config)
    assert len({s.fabric for s in val.defective}) == fabrics_held_out
    assert val.defect_free  # something to calibrate on either way


@pytest.mark.slow
def test_train_on_a_folder_then_export_gives_calibrated_models(synthetic_dataset, tmp_path):
    out = tmp_path / "run"
    args = ["train", "--data", str(synthetic_dataset), "--out", str(out), "--preset", "quick"]
    args += ["--epochs", "1", "--steps", "3", "--batch-size", "4", "--crop", "64", "--no-progress"]
    args += ["--widths", "8,8,16", "--dilations", "1,3"]  # a fresh network of the shape asked for
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    model = load_model(out / "model.onnx")
    assert 0.0 < model.info.threshold < 1.0
    assert model.info.training["train_images"] > 0 and model.info.training["format"] == "labeled"
    assert model.info.metrics["calibration_images"] >= 1
    assert "val_image_auroc" in model.info.metrics
    assert not list(out.glob("*.onnx.data")) and not (out / "draft.onnx").exists()
    state = torch.load(out / "weights.pt", weights_only=True)
    assert state["threshold"] == pytest.approx(model.info.threshold)
    assert state["config"]["widths"] == [8, 8, 16] and state["config"]["dilations"] == [1, 3]
    assert state["model"]["head.weight"].shape[1] == 16  # the head reads the stride-8 width
    assert model.info.version == state["version"] == "run"  # no --model-version: the run folder's name

    exported = tmp_path / "again.onnx"
    result = runner.invoke(app, ["export", str(out / "weights.pt"), "--out", str(exported)])
    assert result.exit_code == 0, result.output
    again = load_model(exported)
    assert again.info.threshold == pytest.approx(model.info.threshold)
    assert again.info.classes == model.info.classes
    assert again.info.version == "run"
    result = runner.invoke(
        app, ["export", str(out / "weights.pt"), "--out", str(exported), "--version", "7b"]
    )
    assert result.exit_code == 0, result.output
    assert load_model(exported).info.version == "7b"


def test_registering_train_and_export_does_not_import_torch():
    code = "import sys, fabric_inspect.cli; print('torch' in sys.modules, 'onnx' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["False", "False"]


@pytest.mark.slow
def test_keep_best_exports_the_best_epoch_and_a_finished_run_can_be_re_exported_with_the_last(
    synthetic_dataset, tmp_path
):
    out = tmp_path / "run"
    args = ["train", "--data", str(synthetic_dataset), "--out", str(out), "--preset", "quick"]
    args += ["--epochs", "3", "--steps", "2", "--batch-size", "4", "--crop", "64", "--lr", "0.05"]
    args += ["--no-progress"]
    assert runner.invoke(app, [*args, "--keep", "best"]).exit_code == 0
    best = torch.load(out / "best.pt", weights_only=True)
    last = torch.load(out / "last.pt", weights_only=True)
    kept = torch.load(out / "weights.pt", weights_only=True)
    assert kept["epoch"] == best["epoch"] and kept["training"]["kept"] == "best"
    assert all(torch.equal(kept["model"][k], best["model"][k]) for k in best["model"])

    result = runner.invoke(app, [*args, "--resume", "--model-version", "5"])  # export only, the default
    assert result.exit_code == 0, result.output
    kept = torch.load(out / "weights.pt", weights_only=True)
    assert kept["epoch"] == last["epoch"] == 2
    assert kept["training"]["exported_epoch"] == 3 and kept["training"]["kept"] == "last"
    assert all(torch.equal(kept["model"][k], last["model"][k]) for k in last["model"])
    history = json.loads((out / "metrics.json").read_text())["epochs"]
    assert kept["metrics"]["val_loss"] == pytest.approx(history[-1]["val_loss"])
    reexported = load_model(out / "model.onnx").info
    assert reexported.training["exported_epoch"] == 3 and reexported.version == kept["version"] == "5"


@pytest.mark.slow
def test_a_branched_student_of_a_teacher_trains_and_keeps_the_plain_network(synthetic_dataset, tmp_path):
    """`--branches 2 --teacher T`: the run learns from T's map too, its checkpoints hold the branches
    (to resume), and weights.pt and model.onnx hold the plain network computing the same map."""
    from fabric_inspect.models.checkpoint import network_from_checkpoint, save_checkpoint
    from fabric_inspect.models.network import DefectNet, NetworkConfig, normalize

    teacher = DefectNet(NetworkConfig(widths=(4, 4, 12), dilations=(1,)))  # any shape that reads BGR
    state = {"model": teacher.state_dict(), "config": teacher.config.to_dict(), "classes": ["x"]}
    save_checkpoint(tmp_path / "teacher.pt", state)
    out = tmp_path / "run"
    args = ["train", "--data", str(synthetic_dataset), "--out", str(out), "--preset", "quick"]
    args += ["--epochs", "1", "--steps", "3", "--batch-size", "4", "--crop", "64", "--no-progress"]
    args += ["--widths", "8,8,16", "--branches", "2", "--teacher", str(tmp_path / "teacher.pt")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "metrics.json").read_text())["epochs"][0]["train_distill"] > 0
    last = torch.load(out / "last.pt", weights_only=True)
    kept = torch.load(out / "weights.pt", weights_only=True)
    assert last["config"]["branches"] == 2 and kept["config"]["branches"] == 1
    assert len(kept["model"]) < len(last["model"])
    frame = cv2.imread(str(next((synthetic_dataset / "images").iterdir())))
    x = normalize(torch.from_numpy(frame).permute(2, 0, 1)[None])
    with torch.no_grad():
        want = torch.sigmoid(network_from_checkpoint(last).eval()(x)[0])[0, 0].numpy()
    got = load_model(out / "model.onnx").predict(frame).score
    np.testing.assert_allclose(got, want, atol=1e-4)

    resumed = [a for a in args if a not in ("--widths", "8,8,16", "--branches", "2")] + ["--resume"]
    result = runner.invoke(app, resumed)  # the run's own shape and branches, from last.pt
    assert result.exit_code == 0, result.output
    assert torch.load(out / "weights.pt", weights_only=True)["config"]["widths"] == [8, 8, 16]


@pytest.mark.slow
def test_a_run_started_from_a_checkpoint_of_another_shape_resumes_with_that_shape(
    synthetic_dataset, tmp_path
):
    """--init gives the run the checkpoint's shape (here 16 channels at stride 8 and 5x5 kernels, where the
    preset says 64 and 3x3); --resume must rebuild that network, not the preset's (it raised a
    state_dict size mismatch before)."""
    from fabric_inspect.models.checkpoint import save_checkpoint
    from fabric_inspect.models.network import DefectNet, NetworkConfig

    narrow = DefectNet(NetworkConfig(widths=(8, 8, 16), dilations=(1, 2), kernel=5, line_pool=True))
    state = {
        "model": narrow.state_dict(),
        "config": narrow.config.to_dict(),
        "classes": list(narrow.config.classes),
    }
    save_checkpoint(tmp_path / "narrow.pt", state)
    out = tmp_path / "run"
    args = ["train", "--data", str(synthetic_dataset), "--out", str(out), "--preset", "quick"]
    args += ["--epochs", "1", "--steps", "2", "--batch-size", "4", "--crop", "64", "--no-progress"]
    assert runner.invoke(app, [*args, "--init", str(tmp_path / "narrow.pt")]).exit_code == 0
    result = runner.invoke(app, [*args, "--resume"])
    assert result.exit_code == 0, result.output
    kept = torch.load(out / "weights.pt", weights_only=True)["config"]
    assert (kept["widths"], kept["kernel"], kept["dilations"]) == ([8, 8, 16], 5, [1, 2])
