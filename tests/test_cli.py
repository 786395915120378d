"""The command shell: version, doctor, and a light import (so `--help` stays fast)."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from fabric_inspect import __version__
from fabric_inspect.cli import app

runner = CliRunner()


def test_version_prints_package_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert __version__ in result.output


def test_doctor_reports_cv2_build_display_and_providers():
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    for key in ("cv2 build", "display", "onnx providers", "onnxruntime", "numpy"):
        assert key in result.output
    assert "CPUExecutionProvider" in result.output


def test_importing_the_cli_loads_no_heavy_library():
    code = (
        "import sys, fabric_inspect.cli; "
        "heavy = [m for m in ('torch', 'cv2', 'onnxruntime', 'albumentations', 'matplotlib') "
        "if m in sys.modules]; print(heavy); sys.exit(1 if heavy else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_unknown_command_exits_non_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "fabric_inspect", "no-such-command"], capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "no-such-command" in proc.stderr


def test_a_usage_error_is_one_line_naming_the_command_and_option():
    """click's usage block (usage, hint, blank line, error) becomes the one red line every other bad
    input gets; the real entry point, as a shell runs it."""
    cases = [
        (["run"], "fabric-inspect run: Missing argument 'input'"),
        (["run", "roll.mp4", "--bogus"], "fabric-inspect run: No such option: --bogus"),
        (["live", "--width", "wide"], "fabric-inspect live: Invalid value for '--width'"),
        # click raises this one without a context: the command is found from the command line
        (["synth", "images", "--count"], "fabric-inspect synth images: Option '--count' requires"),
        (["no-such-command"], "fabric-inspect: No such command 'no-such-command'"),
    ]
    for args, expected in cases:
        proc = subprocess.run([sys.executable, "-m", "fabric_inspect", *args], capture_output=True, text=True)
        lines = proc.stderr.splitlines()
        assert proc.returncode == 2 and proc.stdout == "", (args, proc)
        assert len(lines) == 1 and lines[0].startswith(f"error: {expected}"), (args, proc.stderr)
        command = expected.split(":")[0]
        assert lines[0].endswith(f"(see '{command} --help')"), lines[0]


def test_no_arguments_still_prints_the_help():
    for args, listed in (([], "Commands:"), (["synth"], "images")):
        result = runner.invoke(app, args)
        assert "Usage: fabric-inspect" in result.output and listed in result.output, result.output
        assert "error:" not in result.output


def test_a_command_error_keeps_its_exit_code_and_success_exits_zero(tmp_path):
    missing = runner.invoke(app, ["run", str(tmp_path / "nope.mp4")])
    assert missing.exit_code == 2 and "nope.mp4 does not exist" in missing.output
    assert runner.invoke(app, ["--version"]).exit_code == 0


def test_every_path_option_refuses_an_empty_value(tmp_path, monkeypatch):
    """An unset shell variable ("$OUT") must not become the current folder, for any command's path."""
    import typer.main

    monkeypatch.chdir(tmp_path)
    checked = []
    for name, command in typer.main.get_command(app).commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            if "Path" not in str(param.type_descriptor.annotation):
                continue
            option = param.opts[0]
            args = [name, option, ""] if option.startswith("-") else [name, ""]
            result = runner.invoke(app, args)
            assert result.exit_code == 2 and "is empty" in result.output, (name, option, result.output)
            checked.append(f"{name} {option}")
    assert "run --crops" in checked and "train --out" in checked and len(checked) >= 25, checked
    assert list(tmp_path.iterdir()) == []


def test_train_help_names_every_preset():
    from fabric_inspect.training.config import PRESETS

    command = typer.main.get_command(app).commands["train"]
    (option,) = [p for p in command.params if "--preset" in getattr(p, "opts", ())]
    named = option.help.removeprefix("Recipe: ").rstrip(".").split("|")
    assert sorted(named) == sorted(PRESETS)
