"""Training and validation data: synthetic fabric generated on the fly, or a dataset folder.

Both sources give `Batch`es of fixed-size crops for training and a list of full `ValImage`s for
validation. Seeds of synthetic images live in their own ranges (render_sample uses the low 32 bits),
above those `fabric-inspect synth --seed S` uses for S < 3000 (S * 1_000_003 + i), so a test set
written with a new seed never repeats a training image:

- training:     3_000_000_000 + seed * 50_000_000 + step * batch_size + i
- validation:   3_900_000_000 + seed * 100_000 + i
- calibration:  4_000_000_000 + seed * 100_000 + i   (defect-free)

A training image's augmentation is seeded by its image seed (`augment.seed_augment`), so a synthetic
step's batch is the same in any process (`SyntheticSource(workers=N)`) and on any machine.

Folder data: images larger than the crop are cut into random crops, `defect_crop_fraction` of them
centred on a defect pixel; smaller ones are padded by reflection. Image-level samples (no masks) are
resized to the crop so that the defect the label speaks of stays in view (their loss is on the map's
maximum). Greyscale images are stacked to BGR for colour models, colour images turned grey for grey ones.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Any

import numpy as np
import torch

from fabric_inspect.errors import ConfigError
from fabric_inspect.training.augment import apply, build_augment, seed_augment
from fabric_inspect.training.config import TrainConfig
from fabric_inspect.training.loss import IGNORE, Batch
from fabric_inspect.training.render_pool import RenderPool, prefetched

log = logging.getLogger(__name__)

TRAIN_SEED_BASE = 3_000_000_000
VAL_SEED_BASE = 3_900_000_000
CALIB_SEED_BASE = 4_000_000_000


@dataclass(frozen=True, slots=True, eq=False)
class ValImage:
    """One validation image: uint8 image, class-index mask (None: image-level), label index (0 good)."""

    image: np.ndarray
    mask: np.ndarray | None
    label: int


def fit_channels(image: np.ndarray, color: bool) -> np.ndarray:
    """BGR HxWx3 for colour models, HxW for grey ones (one cv2 call when they differ)."""
    import cv2

    if color and image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if not color and image.ndim == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    return image


def to_batch(
    images: list[np.ndarray], masks: list[np.ndarray], has_mask: list[bool], labels: list[int]
) -> Batch:
    """Stack same-size uint8 images (HxWx3 or HxW) and masks into a Batch."""
    array = np.stack(images)
    if array.ndim == 3:
        array = array[:, :, :, None]
    return Batch(
        images=torch.from_numpy(array).permute(0, 3, 1, 2).contiguous(),
        masks=torch.from_numpy(np.stack(masks)),
        has_mask=torch.tensor(has_mask, dtype=torch.bool),
        labels=torch.tensor(labels, dtype=torch.long),
    )


def _image_label(mask: np.ndarray) -> int:
    """The most frequent defect class of `mask`; 0 when it has none, -1 when it has only ignored ones."""
    values = mask[(mask > 0) & (mask != IGNORE)]
    if values.size:
        return int(np.bincount(values).argmax())
    return -1 if (mask == IGNORE).any() else 0


def ignore_low_visibility(sample: Any) -> np.ndarray:
    """`sample.mask` with the pixels of its low-visibility defects set to IGNORE (training targets)."""
    low = [d for d in sample.defects if d.visibility == "low"]
    if not low:
        return sample.mask
    mask = sample.mask.copy()
    for record in low:
        x0, y0, x1, y1 = record.bbox
        box = mask[y0:y1, x0:x1]
        box[box > 0] = IGNORE
    return mask


def ignore_border(mask: np.ndarray, width: int) -> np.ndarray:
    """A copy of `mask` with the `width` pixels at each edge set to IGNORE (training targets)."""
    out = mask.copy()
    out[:width] = IGNORE
    out[-width:] = IGNORE
    out[:, :width] = IGNORE
    out[:, -width:] = IGNORE
    return out


class SyntheticSource:
    """Synthetic fabric from `fabric_inspect.datasets.synthetic.render_sample`, new images every step.

    A step's batch depends on the config and the step alone (each image's augmentation is seeded by
    the image's seed), so `workers` processes can render steps ahead and give the batches the one
    background thread would (`batches`); `close` stops them."""

    description = "synthetic fabric"

    def __init__(self, config: TrainConfig, workers: int = 0) -> None:
        self.config = config
        self.augment = build_augment(config.color)
        self._pool = RenderPool(partial(render_step, config), workers) if workers else None

    def _render(
        self, seed: int, size: int | tuple[int, int], defect_rate: float, train: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        from fabric_inspect.datasets.synthetic import render_sample
        from fabric_inspect.datasets.weave import COLOURING_SHARES

        c = self.config
        sample = render_sample(
            seed,
            size=size,
            grey=not c.color,
            defect_rate=defect_rate,
            placement=c.defect_placement if train else "central",
            colouring_shares=(c.colouring_mix or COLOURING_SHARES) if train else COLOURING_SHARES,
            class_shares=c.class_mix if train else None,
        )
        if train and c.ignore_low_visibility:
            return sample.image, ignore_low_visibility(sample)
        return sample.image, sample.mask

    def train_arrays(self, step: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
        """(images, masks, labels) of training step `step`: plain numpy, cheap to send between processes."""
        c = self.config
        side, count = c.step_crop(step)
        band = c.step_border(step)
        images, masks, labels = [], [], []
        for i in range(count):
            seed = TRAIN_SEED_BASE + c.seed * 50_000_000 + step * c.batch_size + i
            seed_augment(self.augment, seed)
            image, mask = apply(self.augment, *self._render(seed, side, c.defect_rate, train=True))
            labels.append(_image_label(mask))  # the whole image's: its maximum is trained on all cells
            images.append(image)
            masks.append(ignore_border(mask, band) if band else mask)
        return images, masks, labels

    def train_batch(self, step: int) -> Batch:
        return _arrays_batch(self.train_arrays(step))

    def batches(self, steps: range) -> Iterator[Batch]:
        """The batches of `steps`, in order, rendered ahead (in the workers' processes, if any)."""
        if self._pool is None:
            yield from prefetched(self.train_batch, steps)
            return
        for arrays in self._pool.map(steps):
            yield _arrays_batch(arrays)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()

    def val_images(self) -> list[ValImage]:
        c = self.config
        out = []
        for i in range(c.val_images):
            image, mask = self._render(VAL_SEED_BASE + c.seed * 100_000 + i, c.val_size, 0.5)
            out.append(ValImage(image, mask, _image_label(mask)))
        return out

    def calibration_images(self) -> list[np.ndarray]:
        c = self.config
        return [
            self._render(CALIB_SEED_BASE + c.seed * 100_000 + i, c.calib_size, 0.0)[0]
            for i in range(c.calib_images)
        ]

    def summary(self) -> dict[str, Any]:
        c = self.config
        steps = c.epochs * c.steps_per_epoch
        return {
            "data": "synthetic",
            "train_images": sum(c.step_crop(step)[1] for step in range(steps)),
            "crop": c.crop,
            **({"large_crops": list(c.large_crops)} if c.large_crops else {}),
            "defect_rate": c.defect_rate,
            "val_images": c.val_images,
            "calibration_images": c.calib_images,
        }


def _arrays_batch(arrays: tuple[list[np.ndarray], list[np.ndarray], list[int]]) -> Batch:
    images, masks, labels = arrays
    return to_batch(images, masks, [True] * len(images), labels)


@lru_cache(maxsize=1)
def _worker_source(config: TrainConfig) -> SyntheticSource:
    return SyntheticSource(config)


def render_step(config: TrainConfig, step: int) -> tuple[list[np.ndarray], list[np.ndarray], list[int]]:
    """`SyntheticSource(config).train_arrays(step)`, run in a RenderPool worker (one source per process)."""
    return _worker_source(config).train_arrays(step)


def _crop(
    image: np.ndarray, mask: np.ndarray, size: int, centre: tuple[int, int] | None, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    h, w = mask.shape
    pad_h, pad_w = max(size - h, 0), max(size - w, 0)
    if pad_h or pad_w:
        image = cv2.copyMakeBorder(image, 0, pad_h, 0, pad_w, cv2.BORDER_REFLECT_101)
        mask = cv2.copyMakeBorder(mask, 0, pad_h, 0, pad_w, cv2.BORDER_CONSTANT, value=0)
        h, w = mask.shape
    if centre is None:
        y0, x0 = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    else:
        jitter = rng.integers(-size // 4, size // 4 + 1, 2)
        y0 = int(np.clip(centre[0] - size // 2 + jitter[0], 0, h - size))
        x0 = int(np.clip(centre[1] - size // 2 + jitter[1], 0, w - size))
    return image[y0 : y0 + size, x0 : x0 + size], mask[y0 : y0 + size, x0 : x0 + size]


class FolderSource:
    """A loaded dataset split (train, val) read into memory once."""

    def __init__(self, config: TrainConfig, train: Any, val: Any) -> None:
        from fabric_inspect.datasets.loader import read_image, read_mask

        if config.large_crops or config.border_ignore or config.large_border_ignore:
            raise ConfigError(
                "large_crops, border_ignore and large_border_ignore are for synthetic training only; "
                "folder data trains on whole --crop crops"
            )
        self.config = config
        self.augment = build_augment(config.color)
        self.rng = np.random.default_rng(config.seed)
        self.train_ds, self.val_ds = train, val
        self.items: list[ValImage] = []
        for sample in train.samples:
            self.items.append(self._item(train, sample, read_image, read_mask))
        self.val = [self._item(val, s, read_image, read_mask) for s in val.samples]
        self.defective = [i for i, it in enumerate(self.items) if it.label > 0]
        self.good = [i for i, it in enumerate(self.items) if it.label == 0]
        self.description = f"{train.root} ({train.format})"

    def _item(self, ds: Any, sample: Any, read_image: Any, read_mask: Any) -> ValImage:
        image = read_image(sample)  # kept as stored (grey stays 1 channel); channels fitted per use
        mask = read_mask(ds, sample)
        if mask is None and not sample.is_defective and ds.pixel_level:
            mask = np.zeros(image.shape[:2], np.uint8)
        return ValImage(image, mask, ds.class_index(sample.label))

    def _train_example(self, item: ValImage) -> tuple[np.ndarray, np.ndarray, bool]:
        import cv2

        size = self.config.crop
        if item.mask is None:
            image = cv2.resize(item.image, (size, size), interpolation=cv2.INTER_AREA)
            return fit_channels(image, self.config.color), np.zeros((size, size), np.uint8), False
        centre = None
        if self.rng.random() < self.config.defect_crop_fraction:
            ys, xs = np.nonzero(item.mask)
            if ys.size:
                k = int(self.rng.integers(ys.size))
                centre = (int(ys[k]), int(xs[k]))
        image, mask = _crop(item.image, item.mask, size, centre, self.rng)
        return fit_channels(image, self.config.color), mask, True

    def train_batch(self, step: int) -> Batch:
        images, masks, flags, labels = [], [], [], []
        for _ in range(self.config.batch_size):
            pool = (
                self.defective
                if (self.defective and (not self.good or self.rng.random() < 0.5))
                else self.good
            )
            item = self.items[int(pool[int(self.rng.integers(len(pool)))])]
            image, mask, has_mask = self._train_example(item)
            image, mask = apply(self.augment, image, mask)
            images.append(image)
            masks.append(mask)
            flags.append(has_mask)
            labels.append(_image_label(mask) if has_mask else item.label)
        return to_batch(images, masks, flags, labels)

    def batches(self, steps: range) -> Iterator[Batch]:
        """The batches of `steps`, in order, the next made in a background thread (crops and
        augmentation draw from one random generator, so in one thread)."""
        return prefetched(self.train_batch, steps)

    def close(self) -> None:
        pass

    def val_images(self) -> list[ValImage]:
        return [ValImage(fit_channels(v.image, self.config.color), v.mask, v.label) for v in self.val]

    def calibration_images(self) -> list[np.ndarray]:
        return [fit_channels(v.image, self.config.color) for v in self.val if v.label == 0]

    def summary(self) -> dict[str, Any]:
        return {
            "data": str(self.train_ds.root),
            "format": self.train_ds.format,
            "train_images": len(self.items),
            "train_defective": len(self.defective),
            "val_images": len(self.val),
            "val_defect_free": sum(1 for v in self.val if v.label == 0),
            "crop": self.config.crop,
        }
