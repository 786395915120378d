"""Reading a sample's pixel labels as one uint8 class-index mask.

Labeled masks are class indices as stored. MVTec and AITEX masks are binary or anti-aliased:
defect = value > 127 (any channel), several masks of one image are united, and the result carries
the sample's class index. A defect image with no usable mask (AITEX 0100_025_08 has none; AITEX
0106_010_03's mask is empty) has no pixel labels: `read_mask` returns None for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.files import decode_file, image_size
from fabric_inspect.datasets.samples import Dataset, Sample
from fabric_inspect.errors import InputError

BINARY_FORMATS: tuple[str, ...] = ("mvtec", "aitex")
SOFT_MASK_THRESHOLD = 127


def binary_union(masks: Sequence[np.ndarray]) -> np.ndarray:
    """bool HxW: pixels above the threshold in any channel of any mask."""
    union: np.ndarray | None = None
    for mask in masks:
        on = mask > SOFT_MASK_THRESHOLD
        if on.ndim == 3:
            on = on.any(axis=2)
        union = on if union is None else union | on
    if union is None:
        raise ValueError("binary_union needs at least one mask")
    return union


def _decode_masks(paths: Sequence[Path]) -> list[np.ndarray]:
    arrays = []
    for path in paths:
        decoded, problem = decode_file(path)
        if decoded is None:
            raise InputError(f"mask {path} {problem}; replace it (see `fabric-inspect data check`)")
        if arrays and decoded.array.shape[:2] != arrays[0].shape[:2]:
            raise InputError(f"mask {path} is {decoded.size[0]}x{decoded.size[1]}, unlike {paths[0].name}")
        arrays.append(decoded.array)
    return arrays


def read_mask(dataset: Dataset, sample: Sample) -> np.ndarray | None:
    """uint8 HxW class index (1-based into dataset.classes, 0 = no defect), or None without pixel labels.

    None for image-level formats and for defect images without a usable mask; an all-zero mask for a
    defect-free image of a pixel-level format.
    """
    if not dataset.pixel_level:
        return None
    if not sample.mask_paths:
        if sample.is_defective:
            return None
        width, height = image_size(sample.image_path)
        return np.zeros((height, width), np.uint8)
    arrays = _decode_masks(sample.mask_paths)
    if dataset.format not in BINARY_FORMATS:
        mask = arrays[0]
        if mask.ndim != 2:
            raise InputError(
                f"mask {sample.mask_paths[0]} has {mask.shape[2]} channels; expected a grey class-index PNG"
            )
        if int(mask.max(initial=0)) > len(dataset.classes):
            raise InputError(
                f"mask {sample.mask_paths[0]} holds value {int(mask.max())}, "
                f"above the {len(dataset.classes)} classes"
            )
        return mask
    union = binary_union(arrays)
    if sample.is_defective and not union.any():
        return None
    return union.astype(np.uint8) * np.uint8(dataset.class_index(sample.label))
