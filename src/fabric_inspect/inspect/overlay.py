"""Draw what the pipeline saw on a frame: boxes with class, score and defect id, heat map, HUD.

Only called when a video sink or a window is on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fabric_inspect.inspect.postprocess import Detection
from fabric_inspect.inspect.preprocess import Geometry
from fabric_inspect.inspect.tracker import Track

CONFIRMED = (0, 0, 255)  # BGR red
TENTATIVE = (0, 200, 255)  # amber


@dataclass(frozen=True, slots=True)
class Hud:
    """The numbers printed in the corner."""

    frame: int
    fps: float
    latency_ms: float
    roll_m: float
    defects: int
    dropped: int | None = None  # live: camera frames dropped so far (None: a file, nothing is dropped)


def draw(
    image: np.ndarray,
    current: list[tuple[Detection, Track]],
    hud: Hud,
    heat: np.ndarray | None = None,
    geometry: Geometry | None = None,
) -> np.ndarray:
    """A BGR copy of `image` with the overlay."""
    import cv2

    canvas = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR) if image.ndim == 2 else image.copy()
    if heat is not None and geometry is not None:
        _blend_heat(canvas, heat, geometry)
    for detection, track in current:
        x0, y0, x1, y1 = detection.bbox
        colour = CONFIRMED if track.confirmed else TENTATIVE
        cv2.rectangle(canvas, (x0, y0), (x1 - 1, y1 - 1), colour, 2)
        label = f"#{track.defect_id} " if track.confirmed else ""
        label += f"{detection.class_name} {detection.score:.2f}"
        cv2.putText(
            canvas, label, (x0, max(12, y0 - 4)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA
        )
    text = (
        f"frame {hud.frame}  {hud.fps:5.1f} fps  latency {hud.latency_ms:5.1f} ms  "
        f"roll {hud.roll_m:7.2f} m  defects {hud.defects}"
    )
    if hud.dropped is not None:
        text += f"  dropped {hud.dropped}"
    font = cv2.FONT_HERSHEY_SIMPLEX
    (width, height), _ = cv2.getTextSize(text, font, 0.42, 1)
    scale = 0.42 * min(1.0, (canvas.shape[1] - 8) / width)  # shrink to fit narrow frames
    bar = max(10, round((height + 8) * scale / 0.42))
    cv2.rectangle(canvas, (0, 0), (min(canvas.shape[1], round(width * scale / 0.42) + 8), bar), (0, 0, 0), -1)
    cv2.putText(canvas, text, (4, bar - 5), font, scale, (255, 255, 255), 1, cv2.LINE_AA)
    return canvas


def _blend_heat(canvas: np.ndarray, heat: np.ndarray, geometry: Geometry) -> None:
    import cv2

    region = canvas[geometry.y0 : geometry.y0 + geometry.height, geometry.x0 : geometry.x0 + geometry.width]
    scaled = cv2.resize(heat, (region.shape[1], region.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.applyColorMap(cv2.convertScaleAbs(scaled, alpha=255.0), cv2.COLORMAP_JET)
    cv2.addWeighted(region, 0.6, colour, 0.4, 0.0, dst=region)
