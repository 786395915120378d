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
from typer.core import TyperGroup

from fabric_inspect.errors import FabricInspectError

P = ParamSpec("P")
R = TypeVar("R")


def configure_logging(level: int) -> None:
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("fabric_inspect").setLevel(level)


def _debug_enabled() -> bool:
    """`--debug` sets the package logger to DEBUG; then errors show their traceback too."""
    return logging.getLogger("fabric_inspect").isEnabledFor(logging.DEBUG)


def error_line(message: str) -> None:
    """Print one red line to stderr: how every command reports bad input."""
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red line to stderr and return the Exit to raise."""
    error_line(message)
    return typer.Exit(code)


# click's UsageError (missing argument, unknown option, a value of the wrong type), whichever click
# typer uses: its own copy since typer 0.2x, the click package before. BadParameter derives from it.
_USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]


class OneLineErrors(TyperGroup):
    """The app's command group: a usage error (a missing argument, an unknown option, a value of the
    wrong type) becomes one red line naming the option and what is wrong, with where to find help,
    instead of click's usage block, and exit code 2, as every other bad input here. Help asked
    for by giving no arguments is still printed whole."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # type: ignore[override]
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _USAGE_ERROR as err:
            if type(err).__name__ == "NoArgsIsHelpError":  # `fabric-inspect` alone: the help
                err.show()  # type: ignore[attr-defined]
            else:
                ctx = getattr(err, "ctx", None)
                command = ctx.command_path if ctx is not None else self._path_in(args, kwargs)
                message = err.format_message().rstrip(".")  # type: ignore[attr-defined]
                error_line(f"{command}: {message} (see '{command} --help')")
            code = err.exit_code  # type: ignore[attr-defined]
        except typer.Abort:
            typer.echo("Aborted!", err=True)
            code = 1
        # Without standalone mode click returns the exit code of a typer.Exit, or the command's own
        # return value (None here: no command returns one).
        raise SystemExit(code if isinstance(code, int) and not isinstance(code, bool) else 0)

    def _path_in(self, args: tuple, kwargs: dict) -> str:
        """The command a command line names, for an error that carries no context (click raises
        "Option '--data' requires an argument" without one): `fabric-inspect train`, not the app."""
        argv = list(args[0] if args and args[0] is not None else kwargs.get("args") or sys.argv[1:])
        names, group = ["fabric-inspect"], self
        for word in argv:
            command = group.commands.get(word) if isinstance(group, TyperGroup) else None
            if command is None:
                if not word.startswith("-"):
                    break
                continue
            names.append(word)
            group = command
        return " ".join(names)


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
