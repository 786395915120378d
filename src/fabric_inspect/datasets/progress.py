"""A rich progress bar around an iterable, or the iterable itself when progress is off."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")


def steps(items: Iterable[T], label: str, show: bool, total: int | None = None) -> Iterator[T]:
    if not show:
        yield from items
        return
    from rich.progress import track

    yield from track(items, description=label, total=total, transient=True)
