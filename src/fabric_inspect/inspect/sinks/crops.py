"""`--crops DIR`: one PNG per defect, named by roll, id and class."""

from __future__ import annotations

from pathlib import Path

from fabric_inspect.errors import InputError
from fabric_inspect.inspect.tracker import DefectEvent


def prepare_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"--crops {path}: cannot create the folder ({err.strerror})") from None
    return path


def save_crop(folder: Path, event: DefectEvent, prefix: str = "defect") -> str | None:
    """Write the event's best crop; return its path (None when there is no crop or writing fails)."""
    import cv2

    if event.crop is None or event.crop.size == 0:
        return None
    path = folder / f"{prefix}_{event.id:05d}_{event.class_name}.png"
    if cv2.imwrite(str(path), event.crop):
        return str(path)
    path.unlink(missing_ok=True)  # what a full disk took of it is no PNG
    return None
