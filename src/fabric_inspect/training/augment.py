"""Augmentation for fabric images (albumentations; training only).

What is varied: horizontal and vertical flips, brightness / contrast / gamma, mild blur, sensor noise,
small scale and shear, JPEG artefacts, and (for colour models) an occasional greyscale image so that
grey cameras, whose frames the runtime turns into BGR, stay in distribution.

What is NOT: 90-degree rotations. The warp runs vertically in every frame (the fabric moves down the
image), and four classes are defined by that orientation: a broken end is a vertical line, a broken
pick and a thick place are horizontal, a reed mark is a streak along the warp. Rotating by 90 degrees
would turn one class into another, so it is left out (flips keep every class what it is).
Masks are class indices and are always resampled with nearest-neighbour interpolation.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def build_augment(color: bool = True, strength: float = 1.0) -> Any:
    """The albumentations pipeline, applied as ``pipeline(image=img, mask=mask)``."""
    import albumentations as A
    import cv2

    p = min(max(strength, 0.0), 1.0)
    steps = [
        A.HorizontalFlip(p=0.5),
        A.VerticalFlip(p=0.5),
        A.Affine(
            scale=(0.9, 1.1),
            shear=(-4, 4),
            border_mode=cv2.BORDER_REFLECT_101,
            interpolation=cv2.INTER_LINEAR,
            mask_interpolation=cv2.INTER_NEAREST,
            p=0.3 * p,
        ),
        A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.25, p=0.6 * p),
        A.RandomGamma(gamma_limit=(80, 125), p=0.3 * p),
        A.GaussianBlur(blur_limit=(3, 3), sigma_limit=(0.3, 0.8), p=0.15 * p),
        A.GaussNoise(std_range=(0.005, 0.03), p=0.3 * p),
        A.ImageCompression(quality_range=(60, 95), p=0.2 * p),
    ]
    if color:
        steps.append(A.ToGray(num_output_channels=3, p=0.1 * p))
    return A.Compose(steps)


def apply(pipeline: Any, image: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Augment one image and its class-index mask together."""
    out = pipeline(image=image, mask=mask)
    return np.ascontiguousarray(out["image"]), np.ascontiguousarray(out["mask"])


def seed_augment(pipeline: Any, seed: int) -> None:
    """Make `pipeline`'s next call a function of `seed` alone. Each transform gets its own seed:
    albumentations' `Compose.set_random_seed` gives every transform the same one, and then their
    first draws agree (both flips are applied together or not at all, in 200 of 200 seeds)."""
    pipeline.set_random_seed(seed)
    for index, transform in enumerate(pipeline.transforms):
        transform.set_random_seed(seed * len(pipeline.transforms) + index)
