"""`fabric-inspect eval`: table, JSON and curves on a tiny set; one clear line and exit 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fabric_inspect.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory, training_fixtures) -> tuple[Path, Path]:
    fixtures = training_fixtures
    root = tmp_path_factory.mktemp("eval_cli")
    model = fixtures.build_contrast_model(root / "contrast.onnx")
    data = fixtures.write_labeled_dataset(root / "tiny")
    return model, data


def test_eval_prints_a_table_and_writes_json_and_curves(setup, tmp_path):
    model, data = setup
    out = tmp_path / "metrics.json"
    result = runner.invoke(app, ["eval", "--model", str(model), "--data", str(data), "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "image AUROC" in result.output
    assert "hole" in result.output  # per-class table
    metrics = json.loads(out.read_text())
    for key in (
        "image_auroc",
        "image_ap",
        "pixel_auroc",
        "aupro",
        "defect_recall",
        "defect_precision",
        "false_alarm_rate",
        "per_class",
        "threshold",
        "images",
        "per_visibility",
    ):
        assert key in metrics, key
    assert metrics["images"] == 8
    assert metrics["image_auroc"] == 1.0
    assert [row["auroc_loss"] for row in metrics["per_image"]] == [0.0] * 8  # nothing ranked wrong
    assert "cost the most" not in result.output
    for name in ("metrics_roc.png", "metrics_pr.png", "metrics_pro.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_images_that_cost_the_auroc_most_are_listed_worst_first_by_kind():
    from rich.console import Console

    from fabric_inspect.cli.evaluate import _costly_images

    rows = [
        {"stem": "fine", "label": "hole", "score": 0.9, "auroc_loss": 0.0},
        {"stem": "faint", "label": "hole", "score": 0.2, "auroc_loss": 0.04},
        {"stem": "fainter", "label": "stain", "score": 0.1, "auroc_loss": 0.08},
        {"stem": "hot", "label": "good", "score": 0.5, "auroc_loss": 0.12},
    ]
    console = Console(record=True, width=120)
    console.print(_costly_images(rows))
    lines = [line for line in console.export_text().splitlines() if "0." in line]
    assert [line.split()[1] for line in lines] == ["fainter", "faint", "hot"]
    assert _costly_images(rows[:1]) is None


def test_eval_threshold_option_overrides_the_model(setup, tmp_path):
    model, data = setup
    out = tmp_path / "m.json"
    args = [
        "eval",
        "-m",
        str(model),
        "-d",
        str(data),
        "--threshold",
        "0.02",
        "--json",
        str(out),
        "--plots",
        str(tmp_path / "p"),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    metrics = json.loads(out.read_text())
    assert metrics["threshold"] == 0.02
    assert metrics["false_alarm_rate"] == 1.0
    assert (tmp_path / "p" / "roc.png").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "{tmp}/missing.onnx"], "does not exist"),
        (["--model", "{tmp}/fake.onnx"], "could not be loaded by onnxruntime"),
        (["--data", "{tmp}/no_such_dir"], "does not exist"),
        (["--threshold", "1.5"], "--threshold"),
        (["--threshold", "0"], "--threshold"),
        (["--json", "{tmp}"], "is a folder"),
        (["--json", "{tmp}/nowhere/m.json"], "does not exist"),
    ],
)
def test_eval_rejects_bad_input_with_one_line_and_exit_2(setup, tmp_path, args, message):
    model, data = setup
    (tmp_path / "fake.onnx").write_bytes(b"this is not an onnx model")
    base = {"--model": str(model), "--data": str(data)}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value.format(tmp=tmp_path)
    argv = ["eval", *[x for kv in base.items() for x in kv]]
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_eval_rejects_an_onnx_file_that_is_not_a_fabric_inspect_model(setup, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    plain = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(plain))
    _, data = setup
    result = runner.invoke(app, ["eval", "--model", str(plain), "--data", str(data)])
    assert result.exit_code == 2
    assert "not a fabric-inspect model" in result.output


def test_eval_as_a_subprocess_exits_2_with_one_red_line_for_a_missing_model(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fabric_inspect",
            "eval",
            "--model",
            str(tmp_path / "nope.onnx"),
            "--data",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: model file {tmp_path / 'nope.onnx'} does not exist"]
    assert proc.stdout == ""


def test_eval_runs_without_importing_torch(setup, tmp_path):
    model, data = setup
    argv = ["eval", "-m", str(model), "-d", str(data), "--json", str(tmp_path / "m.json")]
    code = (
        "import sys\n"
        "from fabric_inspect.cli import app\n"
        "try:\n"
        f"    app({argv!r})\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "heavy = [m for m in ('torch', 'albumentations') if m in sys.modules]\n"
        "sys.exit(f'imported {heavy}' if heavy else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "m.json").is_file()
