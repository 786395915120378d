"""Training batches made ahead of the step that needs them: in one background thread (`prefetched`),
or in worker processes (`RenderPool`, for synthetic fabric on a machine whose network outruns one
rendering core).

`RenderPool` keeps 2 x workers steps in flight and yields their results in step order, so memory stays
bounded however far the workers run ahead. Workers are started with "spawn" (a fork of a process
that holds torch's and OpenCV's threads can deadlock), once per training run, and each renders with
one OpenCV thread so that N workers use N cores. They ignore Ctrl-C: the main process gets it, and
`close` (the training loop's `finally`) stops them.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from typing import Generic, TypeVar

T = TypeVar("T")


def prefetched(make: Callable[[int], T], steps: range) -> Iterator[T]:
    """make(step) for each step in order, the next one made in a background thread meanwhile."""
    if not len(steps):
        return
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(make, steps[0])
        for step in steps[1:]:
            result = pending.result()
            pending = pool.submit(make, step)
            yield result
        yield pending.result()


def _start_worker() -> None:
    """One OpenCV thread; Ctrl-C left to the main process, which stops the workers (`close`)
    instead of each of them printing a traceback."""
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.setNumThreads(1)


class RenderPool(Generic[T]):
    """`workers` processes, each running `render(step)`; `render` must pickle (a module-level function,
    or a functools.partial of one) and depend on nothing but its step and its bound arguments."""

    def __init__(self, render: Callable[[int], T], workers: int) -> None:
        if workers < 1:
            raise ValueError(f"RenderPool needs at least one worker, got {workers}")
        self.render, self.workers = render, workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, steps: range) -> Iterator[T]:
        """render(step) for each step, in order, 2 x workers of them in flight."""
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=get_context("spawn"), initializer=_start_worker
            )
        pool, todo = self._pool, iter(steps)
        window: deque[Future[T]] = deque()
        for step in todo:
            window.append(pool.submit(self.render, step))
            if len(window) == 2 * self.workers:
                break
        while window:
            result = window.popleft().result()
            step = next(todo, None)
            if step is not None:
                window.append(pool.submit(self.render, step))
            yield result

    def close(self) -> None:
        """Stop the workers (steps still queued are dropped)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
