"""`--on-defect CMD` and `--webhook URL`: tell another system about a defect without slowing the frames.

A worker thread takes events from a bounded queue; when the queue is full the alarm is dropped and
logged, never waited for. A command gets the event JSON on stdin (no shell; shlex.split) and is killed
after `timeout_s`; a webhook is a JSON POST with the same timeout.
"""

from __future__ import annotations

import json
import logging
import queue
import shlex
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Callable

from fabric_inspect.errors import ConfigError
from fabric_inspect.inspect.tracker import DefectEvent

log = logging.getLogger(__name__)

_STOP = object()


def command_sender(command: str, timeout_s: float) -> Callable[[bytes], None]:
    """Run `command` with the payload on stdin; a hung command is killed after timeout_s."""
    argv = shlex.split(command)
    if not argv:
        raise ConfigError("--on-defect is empty; give a command, e.g. --on-defect 'notify-send defect'")
    if shutil.which(argv[0]) is None:
        raise ConfigError(f"--on-defect: command {argv[0]!r} not found; give its full path or check PATH")

    def send(payload: bytes) -> None:
        try:
            result = subprocess.run(argv, input=payload, capture_output=True, timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired:
            log.warning("--on-defect %s did not finish in %.1f s; killed", argv[0], timeout_s)
            return
        except OSError as err:
            log.warning("--on-defect %s could not run: %s", argv[0], err)
            return
        if result.returncode != 0:
            log.warning(
                "--on-defect %s exited with %d: %s",
                argv[0],
                result.returncode,
                result.stderr.decode(errors="replace").strip()[:200],
            )

    return send


def webhook_sender(url: str, timeout_s: float) -> Callable[[bytes], None]:
    """POST the payload as JSON to `url`."""
    if not url.lower().startswith(("http://", "https://")):
        raise ConfigError(f"--webhook must be an http:// or https:// URL, got {url!r}")

    def send(payload: bytes) -> None:
        request = urllib.request.Request(
            url, data=payload, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                response.read()
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            log.warning("--webhook %s failed: %s", url, err)

    return send


class AlarmWorker:
    """Runs `send(payload)` for each event on its own thread; `notify` never blocks."""

    def __init__(self, name: str, send: Callable[[bytes], None], queue_size: int = 32) -> None:
        self.name = name
        self._send = send
        self._queue: queue.Queue[object] = queue.Queue(maxsize=queue_size)
        self._thread = threading.Thread(target=self._work, name=f"fabric-inspect-{name}", daemon=True)
        self.sent = 0
        self.dropped = 0

    def __enter__(self) -> AlarmWorker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(timeout_s=10.0)

    def notify(self, event: DefectEvent) -> None:
        try:
            self._queue.put_nowait((json.dumps(event.to_json()) + "\n").encode())
        except queue.Full:
            self.dropped += 1
            log.warning("%s: too many alarms waiting; alarm for defect %d dropped", self.name, event.id)

    def close(self, timeout_s: float) -> None:
        """Let queued alarms go out (up to timeout_s), then stop the worker."""
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            log.warning("%s: alarms still queued at the end were not sent", self.name)
            return
        self._thread.join(timeout=timeout_s)

    def _work(self) -> None:
        while True:
            payload = self._queue.get()
            if not isinstance(payload, bytes):  # the stop marker
                return
            self._send(payload)
            self.sent += 1
