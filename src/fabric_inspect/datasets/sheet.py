"""Pictures for people: a contact sheet of every defect class at every visibility, and roll frames
with their ground-truth boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES
from fabric_inspect.datasets.roll import RollConfig, plan_roll, roll_frames, roll_truth
from fabric_inspect.datasets.synthetic import render_sample
from fabric_inspect.errors import ConfigError

_LABEL_W = 118
_HEAD_H = 26
_OUTLINE = (0, 0, 255)


def _bgr(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img.copy()


def _outlined(img: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = _bgr(img)
    contours, _ = cv2.findContours((mask > 0).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cv2.drawContours(out, contours, -1, _OUTLINE, 1)
    return out


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)


def _check_png(out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise ConfigError(f"--out {out}: expected a .png file name, got {out.suffix or 'no suffix'!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def contact_sheet(out: Path, seed: int, tile: int = 192) -> Path:
    """Rows = defect classes; columns = each visibility (as rendered | mask outline in red), a
    defect-free tile and a greyscale tile. Written as PNG to `out`."""
    out = _check_png(out)
    if not 64 <= tile <= 1024:
        raise ConfigError(f"--tile must be 64..1024 pixels, got {tile}")
    heads = [h for v in VISIBILITIES for h in (v, f"{v} + mask")] + ["defect-free", "grey, high"]
    rows = []
    for ci, name in enumerate(DEFECT_CLASSES):
        tiles = []
        for vi, vis in enumerate(VISIBILITIES):
            s = render_sample(seed * 1000 + ci * 10 + vi, tile, defect_class=name, visibility=vis)
            tiles += [_bgr(s.image), _outlined(s.image, s.mask)]
        tiles.append(_bgr(render_sample(seed * 1000 + ci * 10 + 5, tile, defect_rate=0.0).image))
        g = render_sample(seed * 1000 + ci * 10 + 6, tile, grey=True, defect_class=name, visibility="high")
        tiles.append(_outlined(g.image, g.mask))
        label = np.full((tile + 2, _LABEL_W, 3), 40, np.uint8)
        _text(label, name, (6, tile // 2 + 5), 0.5)
        rows.append(np.hstack([label, *[np.pad(t, ((1, 1), (1, 1), (0, 0))) for t in tiles]]))
    sheet = np.vstack(rows)
    head = np.full((_HEAD_H, sheet.shape[1], 3), 40, np.uint8)
    for k, text in enumerate(heads):
        _text(head, text, (_LABEL_W + k * (tile + 2) + 6, 18))
    cv2.imwrite(str(out), np.vstack([head, sheet]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out


def roll_sheet(out: Path, seed: int, count: int = 4) -> Path:
    """A few frames of a short roll with a defect in view, ground-truth boxes drawn in red."""
    out = _check_png(out)
    config = RollConfig(
        seconds=12, fps=10, width=640, height=360, speed_m_per_min=6, px_per_mm=4, seed=seed, defects_per_m=4
    )
    plan = plan_roll(config)
    truth = roll_truth(config, plan)
    wanted = []
    for d in truth["defects"]:
        frames = sorted(int(k) for k in d["frames"])
        if frames:
            wanted.append(frames[len(frames) // 2])
    wanted = sorted(set(wanted))[:count] or [0]
    picked = {}
    for t, frame in enumerate(roll_frames(config, plan)):
        if t in wanted:
            picked[t] = _bgr(frame)
        if t >= wanted[-1]:
            break
    tiles = []
    for t in wanted:
        img = picked[t]
        for d in truth["defects"]:
            box = d["frames"].get(str(t))
            if box:
                # drawn 3 px outside the box so the defect itself stays visible
                cv2.rectangle(img, (box[0] - 3, box[1] - 3), (box[2] + 2, box[3] + 2), _OUTLINE, 1)
                _text(img, f"{d['class']} ({d['visibility']})", (box[0], max(box[1] - 7, 12)))
        _text(img, f"frame {t}", (6, 18))
        tiles.append(np.pad(img, ((2, 2), (2, 2), (0, 0))))
    grid = [np.hstack(tiles[i : i + 2]) for i in range(0, len(tiles) - 1, 2)] or [tiles[0]]
    cv2.imwrite(str(out), np.vstack(grid), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return out
