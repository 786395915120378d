"""`--events ev.jsonl`: one JSON line per defect, flushed as it is written.

A write that fails (a full disk) is logged once and kept in `error`; the sink then writes nothing
more, and the run goes on with its other outputs (the run ends with exit code 1 and says so).
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
from pathlib import Path

from fabric_inspect.errors import InputError
from fabric_inspect.inspect.tracker import DefectEvent

log = logging.getLogger(__name__)


class EventsSink:
    """Writes (truncates) `path`; each line goes to the file in one unbuffered write, so readers and
    crashes see every event. A line the disk took only part of is cut off again: the file always ends
    with a whole line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("wb", buffering=0)
        except OSError as err:
            raise InputError(
                f"--events {path}: cannot write ({err.strerror}); choose a writable path"
            ) from None
        self.written = 0
        self._size = 0  # bytes of whole lines in the file
        self.error: str | None = None  # the first write that failed, as one line

    def __enter__(self) -> EventsSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def write(self, event: DefectEvent) -> None:
        if self.error is not None:
            return
        data = (json.dumps(event.to_json()) + "\n").encode("utf-8")
        try:
            if self._file.write(data) != len(data):
                raise OSError(errno.ENOSPC, "the disk took only part of the line")
        except OSError as err:
            with contextlib.suppress(OSError):
                os.ftruncate(self._file.fileno(), self._size)
            self.error = (
                f"--events {self.path}: cannot write ({err.strerror or err}) after {self.written} events"
            )
            log.error("%s; the run goes on without it", self.error)
            return
        self._size += len(data)
        self.written += 1
