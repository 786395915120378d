"""The newest captured frames, handed from a capture thread to the pipeline through a tiny buffer.

At most `depth` frames wait for the pipeline. A frame arriving when they are all waiting pushes out
the oldest, which is dropped and counted: a slow model never builds a backlog longer than `depth`
frames, so the verdict stays within about `depth` inferences of the camera. With the default of two,
a single slow inference (an operating-system hiccup) of up to three frame periods loses no frame;
with one, only the newest frame is kept and any inference over two frame periods drops one.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator

import numpy as np

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.frames import Frame

DEFAULT_DEPTH = 2  # frames that may wait for the pipeline (live capture and the camera-paced bench)
MAX_DEPTH = 8


def check_depth(depth: int) -> None:
    """Refuse a buffer depth outside 1..MAX_DEPTH, naming the option (`live` and `bench --buffer`)."""
    if not 1 <= depth <= MAX_DEPTH:
        raise ConfigError(f"--buffer must be 1..{MAX_DEPTH} frames, got {depth}")


class LatestFrame:
    """Up to `depth` waiting frames: `publish` from the capture thread, iterate in the pipeline
    (oldest waiting first, so frames stay in order), `end` when capture stops."""

    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        check_depth(depth)
        self.depth = depth
        self._cond = threading.Condition()
        self._waiting: deque[Frame] = deque()
        self._ended = False
        self.published = 0
        self.dropped = 0

    def publish(self, image: np.ndarray) -> None:
        """Stamp `image` at capture and queue it (dropping the oldest waiting frame if `depth` wait)."""
        frame = Frame(image, self.published, time.perf_counter(), time.time())
        self.published += 1
        with self._cond:
            if len(self._waiting) == self.depth:
                self._waiting.popleft()
                self.dropped += 1  # the consumer never took it: a stale frame
            self._waiting.append(frame)
            self._cond.notify()

    def skip(self, count: int) -> None:
        """Number past `count` frames the source never delivered (a camera gap), so that the next
        frame's index says how many frame periods passed: the motion estimate then carries the
        fabric's travel across the gap instead of losing it."""
        if count < 0:
            raise ValueError(f"cannot skip {count} frames")
        self.published += count

    def end(self) -> None:
        """No more frames will come; the consumer's loop ends once it has taken the last one."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Each waiting frame, oldest first, as they come, until the capture ends or `stop` is set."""
        while True:
            with self._cond:
                while not self._waiting and not self._ended and not stop.is_set():
                    self._cond.wait(timeout=0.1)
                if stop.is_set() or not self._waiting:
                    return
                frame = self._waiting.popleft()
            yield frame
