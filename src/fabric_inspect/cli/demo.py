"""`fabric-inspect demo`: render a synthetic roll, inspect it with the shipped model, grade it."""

from __future__ import annotations

from pathlib import Path

import typer

from fabric_inspect.cli._common import handles_errors, path_value


def register(app: typer.Typer) -> None:
    app.command(help="Render a synthetic roll, inspect it with the shipped model, and write its report.")(
        demo
    )


@handles_errors
def demo(
    out: Path = typer.Option(
        Path("demo-out"), "--out", "-o", parser=path_value, help="Folder for every output."
    ),
    seconds: float = typer.Option(20.0, "--seconds", help="Length of the synthetic roll video."),
    seed: int = typer.Option(7, "--seed", help="Seed of the synthetic roll."),
) -> None:
    from fabric_inspect.datasets.roll import RollConfig
    from fabric_inspect.demo import DemoConfig, describe, run_demo

    result = run_demo(DemoConfig(out=out, roll=RollConfig(seconds=seconds, seed=seed)))
    for line in describe(result):
        typer.echo(line)
