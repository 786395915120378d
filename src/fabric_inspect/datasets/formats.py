"""Telling dataset layouts apart (`--format auto`) and dispatching to the right reader."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from fabric_inspect.datasets import aitex, folders, labeled, mvtec
from fabric_inspect.datasets.files import list_dirs
from fabric_inspect.datasets.samples import FORMATS, Scan
from fabric_inspect.errors import ConfigError, InputError

READERS: dict[str, Callable[[Path], Scan]] = {
    "labeled": labeled.scan,
    "folders": folders.scan,
    "mvtec": mvtec.scan,
    "aitex": aitex.scan,
}
LAYOUTS: dict[str, str] = {
    "labeled": "images/, masks/ (same stems, .png) and classes.txt",
    "folders": "good/ and one folder per defect class",
    "mvtec": "train/good/, test/<type>/ and ground_truth/<type>/*_mask.png",
    "aitex": "Defect_images/, Mask_images/ and NoDefect_images/<roll>/",
}
FORMAT_CHOICES: tuple[str, ...] = ("auto", *FORMATS)


def check_format_name(fmt: str) -> str:
    if fmt in FORMAT_CHOICES:
        return fmt
    close = difflib.get_close_matches(fmt, FORMAT_CHOICES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"--format {fmt!r} is not one of {'|'.join(FORMAT_CHOICES)}{hint}")


def expected_layouts() -> str:
    return "; ".join(f"{name}: {layout}" for name, layout in LAYOUTS.items())


def detect_format(root: Path) -> str:
    """The format of a dataset folder, judged from its folder names only."""
    if not root.is_dir():
        what = "is a file, not a folder" if root.exists() else "does not exist"
        raise InputError(f"dataset folder {root} {what}; pass the folder that holds the images")
    if aitex.is_aitex(root):
        return "aitex"
    if mvtec.is_category(root):
        return "mvtec"
    if (root / "images").is_dir():
        return "labeled"
    categories = mvtec.categories_below(root)
    if categories:
        raise InputError(
            f"dataset folder {root} holds {len(categories)} MVTec AD categories ({', '.join(categories)}); "
            f"pass one of them, e.g. {root / categories[0]}"
        )
    if list_dirs(root):
        return "folders"
    raise InputError(f"dataset folder {root} is empty or in no known layout; expected {expected_layouts()}")


def scan(root: Path, fmt: str = "auto") -> tuple[str, Scan]:
    """(format, what its reader found) for a dataset folder."""
    fmt = check_format_name(fmt)
    if not root.is_dir():
        detect_format(root)  # raises the clear message
    if fmt == "auto":
        fmt = detect_format(root)
    return fmt, READERS[fmt](root)
