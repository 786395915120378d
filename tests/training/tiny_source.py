"""A tiny, fast training source for loop tests: noise fabric with one bright line as the defect."""

from __future__ import annotations

import numpy as np

from fabric_inspect.training.data import ValImage, to_batch
from fabric_inspect.training.render_pool import prefetched

CLASSES = ("broken_end", "broken_pick")


def tiny_image(seed: int, size: int = 32) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.integers(90, 140, (size, size, 3), dtype=np.uint8)
    mask = np.zeros((size, size), np.uint8)
    if seed % 2:
        k = int(rng.integers(4, size - 4))
        if seed % 4 == 1:
            image[:, k] = 250
            mask[:, k] = 1
        else:
            image[k, :] = 250
            mask[k, :] = 2
    return image, mask


class TinySource:
    description = "tiny test source"

    def __init__(self, batch_size: int = 4, size: int = 32, fail_at_step: int | None = None) -> None:
        self.batch_size, self.size, self.fail_at_step = batch_size, size, fail_at_step

    def train_batch(self, step: int):
        if self.fail_at_step is not None and step >= self.fail_at_step:
            raise KeyboardInterrupt  # what Ctrl-C in the middle of a run looks like
        pairs = [tiny_image(step * self.batch_size + i, self.size) for i in range(self.batch_size)]
        masks = [m for _, m in pairs]
        labels = [int(m.max()) for m in masks]
        return to_batch([i for i, _ in pairs], masks, [True] * len(pairs), labels)

    def batches(self, steps: range):
        return prefetched(self.train_batch, steps)

    def close(self) -> None:
        self.closed = True

    def val_images(self) -> list[ValImage]:
        pairs = [tiny_image(10_000 + i, 40) for i in range(6)]
        return [ValImage(image, mask, label=int(mask.max())) for image, mask in pairs]

    def calibration_images(self) -> list[np.ndarray]:
        return [tiny_image(20_000 + 2 * i, 40)[0] for i in range(5)]

    def summary(self) -> dict:
        return {"data": "tiny"}
