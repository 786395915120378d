"""Facts about this PC that decide what fabric-inspect can do: versions, OpenCV build, display."""

from __future__ import annotations

import importlib.metadata as md
import os
import platform
import sys

from fabric_inspect import __version__


def _version(dist: str) -> str:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return "not installed"


def cv2_gui_backend() -> str:
    """The GUI backend of the loaded cv2 build ('NONE' for the headless build)."""
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            return line.split(":", 1)[1].strip() or "NONE"
    return "NONE"


def display_available() -> bool:
    """True when a window can be opened: the GUI build is loaded and a display server is set.

    `cv2.imshow` with no display aborts the whole process (uncatchably), so callers check this first.
    """
    if sys.platform.startswith("linux"):
        has_display = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    else:
        has_display = True
    return has_display and cv2_gui_backend() != "NONE"


def collect_facts() -> dict[str, str]:
    import cv2
    import numpy
    import onnxruntime

    gui = cv2_gui_backend()
    both = (
        _version("opencv-python") != "not installed" and _version("opencv-python-headless") != "not installed"
    )
    build = "GUI build (opencv-python)" if gui != "NONE" else "headless build (no windows)"
    if both:
        build += "; opencv-python and opencv-python-headless are both installed"
    return {
        "fabric-inspect": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores",
        "numpy": numpy.__version__,
        "cv2": f"{cv2.__version__} from {os.path.dirname(cv2.__file__)}",
        "cv2 build": f"{build}, GUI: {gui}",
        "display": "available for --show" if display_available() else "none (--show is disabled)",
        "onnxruntime": onnxruntime.__version__,
        "onnx providers": ", ".join(onnxruntime.get_available_providers()),
        "torch": _version("torch") + " (training only)",
        "torchvision": _version("torchvision"),
        "albumentations": _version("albumentations"),
        "onnx": _version("onnx"),
    }
