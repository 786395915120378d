"""The `fabric-inspect` command: a typer app whose command groups live in sibling modules.

Each module here parses options, builds configuration dataclasses and calls library code; heavy
libraries (cv2, onnxruntime, torch) are imported inside the command functions so that
`fabric-inspect --help` stays fast.
"""

from __future__ import annotations

import logging
import os

import typer

from fabric_inspect import __version__
from fabric_inspect.cli import bench, calibrate, data, demo, doctor, evaluate, model, report, run, synth
from fabric_inspect.cli._common import OneLineErrors, configure_logging

app = typer.Typer(
    name="fabric-inspect",
    cls=OneLineErrors,
    help="Find weaving defects in fabric, in real time, with a small CNN in ONNX.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"fabric-inspect {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks and debug logs."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show progress logs."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    configure_logging(logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING)
    if not debug:
        # FFmpeg (inside OpenCV) prints its own line before ours for a file or stream it cannot open
        # ("moov atom not found", "Connection refused"), and for every corrupt frame of a run, which
        # the pipeline counts. OpenCV reads this once, at its first use of FFmpeg in the process.
        os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET; --debug keeps them


for _module in (demo, run, synth, data, model, evaluate, calibrate, report, bench, doctor):
    _module.register(app)


def main() -> None:
    app(prog_name="fabric-inspect")  # also under `python -m fabric_inspect`
