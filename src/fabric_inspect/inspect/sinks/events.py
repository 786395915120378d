"""`--events ev.jsonl`: one JSON line per defect, flushed as it is written."""

from __future__ import annotations

import json
from pathlib import Path

from fabric_inspect.errors import InputError
from fabric_inspect.inspect.tracker import DefectEvent


class EventsSink:
    """Writes (truncates) `path`; each line is flushed at once, so readers and crashes see every event."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("w", encoding="utf-8")
        except OSError as err:
            raise InputError(
                f"--events {path}: cannot write ({err.strerror}); choose a writable path"
            ) from None
        self.written = 0

    def __enter__(self) -> EventsSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def write(self, event: DefectEvent) -> None:
        self._file.write(json.dumps(event.to_json()) + "\n")
        self._file.flush()
        self.written += 1
