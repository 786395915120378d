"""Augmentation keeps masks aligned with images and class semantics intact (no 90-degree rotation)."""

from __future__ import annotations

import numpy as np
import pytest

from fabric_inspect.training.augment import apply, build_augment


def _line_image(vertical: bool) -> tuple[np.ndarray, np.ndarray]:
    image = np.full((64, 64, 3), 100, np.uint8)
    mask = np.zeros((64, 64), np.uint8)
    if vertical:
        image[:, 30] = 255
        mask[:, 30] = 1  # broken_end
    else:
        image[30, :] = 255
        mask[30, :] = 2  # broken_pick
    return image, mask


@pytest.mark.parametrize("vertical", [True, False])
def test_augmented_lines_keep_their_orientation_and_class(vertical):
    pipeline = build_augment(color=True)
    for _ in range(30):
        image, mask = apply(pipeline, *_line_image(vertical))
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        assert set(np.unique(mask)) <= {0, 1 if vertical else 2}  # nearest-neighbour, no new classes
        ys, xs = np.nonzero(mask)
        spread_y, spread_x = np.ptp(ys), np.ptp(xs)
        assert (spread_y > spread_x) if vertical else (spread_x > spread_y)


def test_mask_stays_on_the_bright_pixels():
    pipeline = build_augment(color=True)
    for _ in range(20):
        image, mask = apply(pipeline, *_line_image(True))
        grey = image.mean(axis=2)
        assert grey[mask > 0].mean() > grey[mask == 0].mean() + 40


def test_grey_pipeline_keeps_single_channel_images():
    image, mask = _line_image(True)
    out, _ = apply(build_augment(color=False), image[:, :, 0].copy(), mask)
    assert out.shape == (64, 64)
