"""What the camera and the lighting do to the fabric: skew, light, vignetting, blur, noise, JPEG."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True, slots=True)
class CameraSpec:
    """One camera setup. Angles in degrees, blur and noise sigmas in pixels / 8-bit grey levels."""

    skew_deg: float = 0.0
    exposure: float = 1.0
    gradient: float = 0.0  # relative brightness change across the image
    gradient_dir: float = 0.0  # radians
    vignette: float = 0.0  # relative darkening in the corners
    blur: float = 0.0  # defocus, Gaussian sigma
    noise: float = 0.0  # sensor noise sigma at mid grey
    jpeg_quality: int = 0  # 0 = no JPEG round trip

    def __post_init__(self) -> None:
        if not 0.2 <= self.exposure <= 3.0:
            raise ValueError(f"exposure must be in 0.2..3, got {self.exposure}")
        if self.blur < 0 or self.noise < 0 or not 0 <= self.vignette < 1:
            raise ValueError("blur and noise must be >= 0 and vignette in 0..1")
        if self.jpeg_quality and not 10 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be 0 or 10..100, got {self.jpeg_quality}")


def sample_camera(rng: np.random.Generator) -> CameraSpec:
    return CameraSpec(
        skew_deg=float(rng.normal(0, 1.0)) if rng.random() < 0.7 else 0.0,
        exposure=float(rng.uniform(0.8, 1.15)),
        gradient=float(rng.uniform(0, 0.25)),
        gradient_dir=float(rng.uniform(0, 2 * np.pi)),
        vignette=float(rng.uniform(0, 0.3)),
        blur=float(rng.uniform(0, 0.9)) if rng.random() < 0.6 else 0.0,
        noise=float(rng.uniform(0.5, 5.0)),
        jpeg_quality=int(rng.integers(55, 96)) if rng.random() < 0.4 else 0,
    )


def skew(canvas: np.ndarray, instances: np.ndarray, angle_deg: float, size: tuple[int, int]):
    """Rotate the rendered canvas about its centre and cut the (h, w) middle out of it."""
    h, w = size
    ch, cw = canvas.shape[:2]
    if angle_deg == 0 and (ch, cw) == (h, w):
        return canvas, instances
    m = cv2.getRotationMatrix2D((cw / 2, ch / 2), angle_deg, 1.0)
    m[0, 2] -= (cw - w) / 2
    m[1, 2] -= (ch - h) / 2
    img = cv2.warpAffine(canvas, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    if not cv2.countNonZero(instances):  # no defect: nothing to move
        return img, np.zeros((h, w), np.uint8)
    inst = cv2.warpAffine(instances, m, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
    return img, inst


def lighting(shape: tuple[int, int], cam: CameraSpec, channels: int = 1) -> np.ndarray:
    """Brightness field: exposure x linear gradient x vignetting, as uint8 gain x 128 (HxW, or
    HxWxC) for `cv2.multiply(img, light, scale=1 / 128)`."""
    h, w = shape
    gy, gx = np.mgrid[-1:1:17j, -1:1:17j].astype(np.float32)
    c, s = math.cos(cam.gradient_dir), math.sin(cam.gradient_dir)
    light = cam.exposure * (1 + cam.gradient * 0.5 * (gx * c + gy * s))
    light *= 1 - cam.vignette * 0.5 * (gx * gx + gy * gy)
    small = np.clip(light * 128.0 + 0.5, 0, 255).astype(np.uint8)
    field = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    return cv2.merge([field] * channels) if channels > 1 else field  # channels resize alike


def to_uint8(img: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Float image in 0..1 to uint8 (saturating), into `out` when given."""
    return cv2.convertScaleAbs(img, dst=out, alpha=255.0)


def fuzz(img8: np.ndarray, hairiness: float) -> np.ndarray:
    """Hairiness: loose fibres soften the yarn edges and half-fill the interstices."""
    k = 0.45 * hairiness
    if k <= 0.01:
        return img8
    soft = cv2.GaussianBlur(img8, (0, 0), 1.1)
    return cv2.addWeighted(img8, 1 - k, soft, k, 0.0, dst=soft)


def expose(
    img8: np.ndarray, cam: CameraSpec, rng: np.random.Generator, grey: bool, light: np.ndarray | None = None
) -> np.ndarray:
    """Light, defocus, sensor noise and JPEG on a uint8 BGR image: uint8 BGR, or grey when asked.
    `light` (from `lighting`, the image's shape) replaces the camera's own field when given."""
    own = light is None  # a field made here can take the product
    if own:
        light = lighting(img8.shape[:2], cam, img8.shape[2] if img8.ndim == 3 else 1)
    img8 = cv2.multiply(img8, light, scale=1 / 128, dst=light if own else None)
    if grey and img8.ndim == 3:
        img8 = cv2.cvtColor(img8, cv2.COLOR_BGR2GRAY)
    if cam.blur > 0.05:
        img8 = cv2.GaussianBlur(img8, (0, 0), cam.blur)
    if cam.noise > 0:
        img8 = add_noise(img8, cam.noise, rng)
    if cam.jpeg_quality:
        _, buf = cv2.imencode(".jpg", img8, [cv2.IMWRITE_JPEG_QUALITY, cam.jpeg_quality])
        img8 = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return img8


_BANK_ROWS, _BANK_COLS = 1024, 4096


@functools.lru_cache(maxsize=1)
def _noise_bank() -> np.ndarray:
    """A fixed field of sensor noise (unit sigma, slightly correlated as after demosaicing) that
    images take windows of: much cheaper than drawing fresh noise for every image."""
    rng = np.random.default_rng(0x5E2503)
    small = rng.standard_normal((_BANK_ROWS // 2, _BANK_COLS // 2), dtype=np.float32)
    return cv2.resize(small, (_BANK_COLS, _BANK_ROWS), interpolation=cv2.INTER_LINEAR) * np.float32(1.6)


def add_noise(img8: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise of `sigma` grey levels, each channel its own, from a window of the noise bank
    placed by `rng` (fresh noise when the image is larger than the bank)."""
    h = img8.shape[0]
    flat = img8.reshape(h, -1)  # channels side by side: each gets its own noise
    w = flat.shape[1]
    if h <= _BANK_ROWS and w <= _BANK_COLS:
        y, x = int(rng.integers(_BANK_ROWS - h + 1)), int(rng.integers(_BANK_COLS - w + 1))
        noise = _noise_bank()[y : y + h, x : x + w]
    else:
        noise = rng.standard_normal((h, w), dtype=np.float32)
    out = cv2.addWeighted(flat, 1.0, noise, float(sigma), 0.0, dtype=cv2.CV_8U)
    return out.reshape(img8.shape)
