"""`--show`: a live window with the overlay. Keys: q quit, p pause, s snapshot.

`cv2.imshow` without a display aborts the whole process (uncatchably), so the window is only opened
after `fabric_inspect.environment.display_available()` says yes; otherwise `--show` is refused at start.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from fabric_inspect.errors import ConfigError

TITLE = "fabric-inspect"


class WindowSink:
    def __init__(self, snapshot_dir: Path) -> None:
        from fabric_inspect.environment import display_available

        if not display_available():
            raise ConfigError(
                "--show needs a display and the GUI build of OpenCV (see `fabric-inspect doctor`); "
                "drop --show or use --save-video"
            )
        self.snapshot_dir = snapshot_dir
        self.paused = False
        self.quit = False

    def __enter__(self) -> WindowSink:
        return self

    def __exit__(self, *exc: object) -> None:
        import cv2

        cv2.destroyWindow(TITLE)

    def show(self, canvas: np.ndarray) -> None:
        """Show a frame and handle keys; while paused, keep the window alive until p or q."""
        import cv2

        cv2.imshow(TITLE, canvas)
        self._key(cv2.waitKey(1) & 0xFF, canvas)
        while self.paused and not self.quit:
            self._key(cv2.waitKey(50) & 0xFF, canvas)

    def _key(self, key: int, canvas: np.ndarray) -> None:
        import cv2

        if key == ord("q"):
            self.quit = True
        elif key == ord("p"):
            self.paused = not self.paused
        elif key == ord("s"):
            path = self.snapshot_dir / f"snapshot_{time.strftime('%Y%m%d_%H%M%S')}.png"
            cv2.imwrite(str(path), canvas)
