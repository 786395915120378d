"""What every command shares: turning library errors into one clear red line and an exit code, and a
progress bar on stderr."""

from __future__ import annotations

import contextlib
import functools
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer

from fabric_inspect.errors import FabricInspectError

P = ParamSpec("P")
R = TypeVar("R")


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("fabric_inspect").setLevel(level)


def _debug_enabled() -> bool:
    """`--debug` sets the package logger to DEBUG; then errors show their traceback too."""
    return logging.getLogger("fabric_inspect").isEnabledFor(logging.DEBUG)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red line to stderr and return the Exit to raise."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


def path_value(text: str | Path) -> Path:
    """Every path option's parser. An empty value (an unset shell variable: --out "$OUT") is refused:
    as a Path it is the current folder, where `run --crops` or `train --out` would write unasked.
    (A command's own default, such as report's Path("report.html"), comes through here too.)"""
    if isinstance(text, Path):
        return text
    if not text.strip():
        raise typer.BadParameter("is empty (an unset variable?); give a path")
    return Path(text)


def handles_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so a FabricInspectError becomes one line on stderr and a non-zero exit."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except FabricInspectError as err:
            if _debug_enabled():
                raise
            raise fail(str(err), err.exit_code) from None

    return wrapper


@contextlib.contextmanager
def stderr_bar(label: str, disable: bool = False) -> Iterator[Callable[..., None]]:
    """A transient progress bar on stderr, shown only on an interactive terminal. Yields
    `update(done, total=None)` (a None total leaves the bar's total as it is)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    err = Console(stderr=True)
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True, disable=disable or not err.is_terminal) as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total=None: bar.update(task, completed=done, total=total)
