"""Make the GUI build of OpenCV the one that `import cv2` loads, whatever pip installed last.

albumentations depends on opencv-python-headless; opencv-python and opencv-python-headless both write
the same `cv2/` folder, and whichever is installed last wins, silently. We reinstall opencv-python
(same version, no dependencies) last, so its files are the ones on disk, and then check it.
"""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys


def main() -> int:
    try:
        version = md.version("opencv-python")
    except md.PackageNotFoundError:
        print("fix_opencv: opencv-python is not installed", file=sys.stderr)
        return 1
    try:
        md.version("opencv-python-headless")
        headless = True
    except md.PackageNotFoundError:
        headless = False
    if headless:
        subprocess.check_call(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--force-reinstall",
                "--no-deps",
                f"opencv-python=={version}",
            ]
        )
    out = subprocess.run(
        [sys.executable, "-c", "from fabric_inspect.environment import cv2_gui_backend as g; print(g())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if out == "NONE":
        print("fix_opencv: the headless cv2 build is still loaded", file=sys.stderr)
        return 1
    print(f"fix_opencv: cv2 {version} GUI build loaded (GUI: {out})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
