"""A fabric roll moving past a fixed camera: frames, ground truth (roll.json) and a video file.

Fabric moves DOWN the image. Fabric row `u` sits at image row `y = u + t * shift` in frame t, with
`shift = speed * px_per_mm / fps` pixels per frame; in frame 0 fabric row u is image row u. The roll
starts at the fabric under the bottom row of frame 0 (u = height - 1): roll_y_mm = (height - 1 - u)
/ px_per_mm. The long strip is rendered in chunks ahead of the camera window and the window slides
over it with sub-pixel interpolation, so the weave is continuous between frames.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.camera import CameraSpec, add_noise, fuzz, lighting
from fabric_inspect.datasets.classes import DEFECT_CLASSES, VISIBILITIES
from fabric_inspect.datasets.defects import DefectPlan, Loom, plan_defect, tight_box
from fabric_inspect.datasets.scene import render_region
from fabric_inspect.datasets.weave import sample_fabric
from fabric_inspect.errors import ConfigError

log = logging.getLogger(__name__)

_CHUNK = 192  # rows rendered at a time
_MARGIN = 8  # extra rows rendered around a chunk so blurs do not see its edge
VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG"}


@dataclass(frozen=True, slots=True)
class RollConfig:
    """One synthetic roll video. speed in metres per minute; defects_per_m 0 = defect-free roll."""

    seconds: float = 60.0
    fps: float = 30.0
    width: int = 1280
    height: int = 720
    speed_m_per_min: float = 20.0
    px_per_mm: float = 4.0
    seed: int = 0
    defects_per_m: float = 1.5
    grey: bool = False
    motion_blur: bool = False
    flicker: bool = False

    def __post_init__(self) -> None:
        checks = [
            (self.seconds > 0, f"--seconds must be > 0, got {self.seconds}"),
            (0 < self.fps <= 1000, f"--fps must be in (0, 1000], got {self.fps}"),
            (64 <= self.width <= 8192, f"--width must be 64..8192 pixels, got {self.width}"),
            (64 <= self.height <= 8192, f"--height must be 64..8192 pixels, got {self.height}"),
            (self.speed_m_per_min >= 0, f"--speed must be >= 0 m/min, got {self.speed_m_per_min}"),
            (0.5 <= self.px_per_mm <= 100, f"--px-per-mm must be 0.5..100, got {self.px_per_mm}"),
            (0 <= self.defects_per_m <= 20, f"--defects-per-m must be 0..20, got {self.defects_per_m}"),
            (self.frames >= 1, f"--seconds x --fps gives {self.frames} frames; need at least 1"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    @property
    def frames(self) -> int:
        return round(self.seconds * self.fps)

    @property
    def shift_px(self) -> float:
        """How far the fabric moves between two frames, in pixels."""
        return self.speed_m_per_min * 1000.0 / 60.0 * self.px_per_mm / self.fps

    @property
    def length_mm(self) -> float:
        """Length of fabric that passes through the view during the video."""
        return ((self.frames - 1) * self.shift_px + self.height) / self.px_per_mm


@dataclass(frozen=True, slots=True, eq=False)
class RollPlan:
    loom: Loom
    camera: CameraSpec
    defects: tuple[DefectPlan, ...]


def plan_roll(config: RollConfig) -> RollPlan:
    """The fabric, camera and defects of a roll: all decided from the seed, before any pixel."""
    rng = np.random.default_rng([int(config.seed) & 0xFFFFFFFF, 0x2011])
    spec = sample_fabric(rng)
    camera = CameraSpec(
        exposure=float(rng.uniform(0.9, 1.1)),
        gradient=float(rng.uniform(0.0, 0.15)),
        gradient_dir=float(rng.uniform(0, 2 * math.pi)),
        vignette=float(rng.uniform(0.05, 0.25)),
        blur=float(rng.uniform(0.0, 0.6)),
        noise=float(rng.uniform(1.0, 3.0)),
    )
    loom = Loom(spec=spec, seed=int(rng.integers(2**31)), width=config.width)
    return RollPlan(loom=loom, camera=camera, defects=tuple(_place_defects(config, loom, rng)))


def _place_defects(config: RollConfig, loom: Loom, rng: np.random.Generator) -> list[DefectPlan]:
    if config.defects_per_m <= 0:
        return []
    spacing = 1000.0 / config.defects_per_m  # mm between defect centres
    count = int(config.length_mm // spacing)
    order = list(rng.permutation(len(DEFECT_CLASSES)))
    span = min(0.45 * spacing, 400.0) * config.px_per_mm  # longest run along the warp, px
    w = config.width
    plans = []
    for k in range(count):
        roll_y = spacing * (k + 0.5 + rng.uniform(-0.15, 0.15))
        u = config.height - 1 - roll_y * config.px_per_mm
        x = w * rng.uniform(0.15, 0.85)
        cls = DEFECT_CLASSES[order[k % len(order)]]
        vis = VISIBILITIES[int(rng.integers(len(VISIBILITIES)))]
        plans.append(plan_defect(loom, rng, cls, vis, x, u, span))
    return plans


def roll_truth(config: RollConfig, plan: RollPlan | None = None) -> dict:
    """The roll.json ground truth: each defect's roll position, size and box in every frame it is in."""
    plan = plan or plan_roll(config)
    v, h, w, ppm = config.shift_px, config.height, config.width, config.px_per_mm
    defects = []
    for k, d in enumerate(plan.defects, start=1):
        x0, ua, x1, ub = (float(v) for v in tight_box(d))
        x0, x1 = max(x0, 0.0), min(x1, float(w))
        boxes = {}
        if v > 0:
            first = max(0, math.ceil((-ub + 1) / v))
            last = min(config.frames - 1, math.floor((h - ua) / v))
        else:
            first, last = (0, config.frames - 1) if ub > 0 and ua < h else (1, 0)
        for t in range(first, last + 1):
            y0, y1 = max(ua + t * v, 0.0), min(ub + t * v, float(h))
            if y1 - y0 >= 1.0:
                boxes[str(t)] = [round(x0), round(y0), round(x1), round(y1)]
        defects.append(
            {
                "id": k,
                "class": d.class_name,
                "visibility": d.visibility,
                "roll_x_mm": round((x0 + x1) / 2 / ppm, 2),
                "roll_y_mm": round((h - 1 - (ua + ub) / 2) / ppm, 2),
                "length_mm": round((ub - ua) / ppm, 2),
                "width_mm": round((x1 - x0) / ppm, 2),
                "frames": boxes,
            }
        )
    return {
        "fps": config.fps,
        "width": w,
        "height": h,
        "px_per_mm": ppm,
        "speed_m_per_min": config.speed_m_per_min,
        "frames": config.frames,
        "seed": config.seed,
        "defects": defects,
    }


class _Strip:
    """Rendered fabric rows (uint8), extended upwards (towards smaller u) a chunk at a time."""

    def __init__(self, plan: RollPlan, height: int) -> None:
        self.plan = plan
        self.u0 = height + 1  # first row held
        self.rows = np.zeros((0, plan.loom.width, 3), np.uint8)

    def window(self, u_top: int, n: int) -> np.ndarray:
        """Rows u_top .. u_top+n-1."""
        while u_top < self.u0:
            start = self.u0 - _CHUNK
            defects = list(self.plan.defects)
            loom = self.plan.loom
            img, _ = render_region(loom, defects, start - _MARGIN, _CHUNK + 2 * _MARGIN, as_uint8=True)
            img = fuzz(img, loom.spec.hairiness)
            keep = self.rows[: max(u_top + n - self.u0, 0)]
            self.rows = np.concatenate([img[_MARGIN:-_MARGIN], keep])
            self.u0 = start
        return self.rows[u_top - self.u0 : u_top - self.u0 + n]


def roll_frames(config: RollConfig, plan: RollPlan | None = None) -> Iterator[np.ndarray]:
    """Yield the roll's frames: uint8 HxWx3 BGR, or HxW when config.grey."""
    import cv2

    plan = plan or plan_roll(config)
    cam = plan.camera
    strip = _Strip(plan, config.height)
    h, v = config.height, config.shift_px
    light = lighting((h, config.width), cam, channels=3)
    blur_len = max(2, round(0.1 * v)) if config.motion_blur else 0
    for t in range(config.frames):
        u_top = -t * v
        ui = math.floor(u_top)
        frac = float(u_top - ui)
        rows = strip.window(ui, h + 1)
        frame = cv2.addWeighted(rows[:h], 1.0 - frac, rows[1:], frac, 0.0) if frac > 1e-6 else rows[:h]
        gain = 1.0 + (0.06 * math.sin(2 * math.pi * 0.37 * t + 0.5) if config.flicker else 0.0)
        frame = cv2.multiply(frame, light, scale=gain / 128)
        if config.grey:
            frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        if blur_len:
            frame = cv2.blur(frame, (1, blur_len))
        if cam.blur > 0.05:
            frame = cv2.GaussianBlur(frame, (0, 0), cam.blur)
        rng = np.random.default_rng([int(config.seed) & 0xFFFFFFFF, 0xF4A, t])
        yield add_noise(frame, cam.noise, rng)


def write_roll_video(config: RollConfig, out: Path, progress: bool = True) -> dict:
    """Write the roll video to `out` (.mp4 with mp4v, or .avi with MJPG) and its ground truth to
    `out` with suffix .json beside it. Returns the truth."""
    import cv2

    from fabric_inspect.datasets.progress import steps

    out = Path(out)
    fourcc = VIDEO_SUFFIXES.get(out.suffix.lower())
    if fourcc is None:
        raise ConfigError(f"--out {out}: video must end in .mp4 or .avi, got {out.suffix or 'no suffix'!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    plan = plan_roll(config)
    truth = roll_truth(config, plan)
    size = (config.width, config.height)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*fourcc), config.fps, size, True)
    if not writer.isOpened():
        raise ConfigError(f"--out {out}: OpenCV cannot write {fourcc} video here; try a .avi file")
    try:
        frames = roll_frames(config, plan)
        for frame in steps(frames, f"roll {out.name}", progress, total=config.frames):
            writer.write(cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame)
    finally:
        writer.release()
    out.with_suffix(".json").write_text(json.dumps(truth, indent=1) + "\n")
    log.info("wrote %s (%d frames) and %s", out, config.frames, out.with_suffix(".json").name)
    return truth
