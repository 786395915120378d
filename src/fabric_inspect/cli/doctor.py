"""`fabric-inspect doctor`: what is installed, which OpenCV build is loaded, and what this PC can show."""

from __future__ import annotations

import typer

from fabric_inspect.cli._common import handles_errors


def register(app: typer.Typer) -> None:
    app.command(help="Print versions, the loaded cv2 build, display availability and ONNX providers.")(doctor)


@handles_errors
def doctor() -> None:
    from fabric_inspect.environment import collect_facts

    facts = collect_facts()
    width = max(len(k) for k in facts)
    for key, value in facts.items():
        typer.echo(f"{key:<{width}}  {value}")
