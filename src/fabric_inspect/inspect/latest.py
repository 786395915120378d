"""The newest captured frame, handed from a capture thread to the pipeline without a queue.

A frame that is replaced before the pipeline took it is dropped and counted: a slow model never
builds a backlog, so the verdict stays about one inference behind the camera.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np

from fabric_inspect.inspect.frames import Frame


class LatestFrame:
    """One slot: `publish` from the capture thread, iterate in the pipeline, `end` when capture stops."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._latest: Frame | None = None
        self._ended = False
        self.published = 0
        self.dropped = 0

    def publish(self, image: np.ndarray) -> None:
        """Stamp `image` at capture and make it the newest frame (dropping one not yet taken)."""
        frame = Frame(image, self.published, time.perf_counter(), time.time())
        self.published += 1
        with self._cond:
            if self._latest is not None:
                self.dropped += 1  # the consumer never took it: a stale frame, not queued
            self._latest = frame
            self._cond.notify()

    def end(self) -> None:
        """No more frames will come; the consumer's loop ends once it has taken the last one."""
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def frames(self, stop: threading.Event) -> Iterator[Frame]:
        """Each newest frame as it comes, until the capture ends or `stop` is set."""
        while True:
            with self._cond:
                while self._latest is None and not self._ended and not stop.is_set():
                    self._cond.wait(timeout=0.1)
                frame, self._latest = self._latest, None
            if frame is None:
                return
            yield frame
