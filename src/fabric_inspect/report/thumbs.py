"""Defect crops as small inline PNG images (data: URIs), so the report is one self-contained file."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

log = logging.getLogger(__name__)


def resolve_crop(crop_path: str | None, db_path: Path) -> Path | None:
    """The crop file a defect row names: absolute, else relative to the database's folder, else to cwd."""
    if not crop_path:
        return None
    path = Path(crop_path)
    candidates = [path] if path.is_absolute() else [Path(db_path).parent / path, path]
    return next((c for c in candidates if c.is_file()), None)


def thumbnail_uri(path: Path, max_px: int) -> str | None:
    """A PNG data URI of the image at ``path`` scaled to at most ``max_px`` a side; None if unreadable."""
    import cv2
    import numpy as np

    data = np.fromfile(str(path), dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if image is None:
        log.warning("defect crop %s is not a readable image; the report shows a placeholder", path)
        return None
    height, width = image.shape[:2]
    scale = min(1.0, max_px / max(height, width))
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    ok, png = cv2.imencode(".png", image)
    if not ok:
        log.warning("defect crop %s could not be encoded as PNG; the report shows a placeholder", path)
        return None
    return "data:image/png;base64," + base64.b64encode(png.tobytes()).decode("ascii")
