"""`fabric-inspect data ...`: look at labeled datasets (check: summary and every problem found)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fabric_inspect.cli._common import handles_errors, stderr_bar
from fabric_inspect.errors import InputError

FORMAT_HELP = "Dataset layout: auto|labeled|folders|mvtec|aitex (auto tells them apart by folder names)."


def register(app: typer.Typer) -> None:
    data_app = typer.Typer(help="Check labeled datasets (own format, image folders, MVTec AD, AITEX).")
    data_app.command(
        "check",
        help="Decode every image and mask of a dataset; print a summary and every problem found. "
        "Exit code 2 if there is any problem.",
    )(check)
    app.add_typer(data_app, name="data")


@handles_errors
def check(
    path: Annotated[Path, typer.Argument(help="Dataset folder.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "auto",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print problems only.")] = False,
) -> None:
    from fabric_inspect.datasets.check import check_dataset, summary_lines

    with stderr_bar("checking", disable=quiet) as update:
        report = check_dataset(path, fmt, progress=update)
    if not quiet:
        for line in summary_lines(report):
            typer.echo(line)
        if report.notes:
            typer.echo(f"notes ({len(report.notes)}, handled):")
            for note in report.notes:
                typer.echo(f"  {note}")
    if report.ok:
        typer.echo("problems  none")
        return
    typer.echo(f"problems ({len(report.problems)}):")
    for problem in report.problems:
        typer.echo(f"  {problem}")
    count = len(report.problems)
    what = "1 problem" if count == 1 else f"{count} problems"
    raise InputError(f"dataset {path} has {what} (listed above); fix them and re-run")
