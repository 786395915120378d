"""Train/validation splits that keep rolls apart and give both parts good and defective images.

Modes (`by`):
- "group": whole groups (rolls, fabrics) go to one side, so no roll is seen in both; groups with a
  defect and purely defect-free groups are picked separately, each to about `val_fraction` of images.
- "image": image by image, stratified by label (defect-free, then each class in proportion).
- "image_within_fabric": "image" applied within each fabric (`Sample.fabric`), the split the AITEX
  paper uses ("by image within each fabric type").
- "auto": "image_within_fabric" for the "aitex" format, whose defect images carry their fabric but
  no roll (whole fabrics held out would be textures and defects the model never trains on); else
  "group" when every sample has a group and there are at least two; else "image".
A part of fewer than two images (a class or a group kind with one member) stays in train.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Sequence

from fabric_inspect.datasets.samples import Dataset, Sample
from fabric_inspect.errors import ConfigError

log = logging.getLogger(__name__)

SPLIT_MODES: tuple[str, ...] = ("auto", "group", "image", "image_within_fabric")


def _val_count(n: int, fraction: float) -> int:
    """How many of n go to validation: about n * fraction, at least one and one left, if n >= 2."""
    return 0 if n < 2 else min(n - 1, max(1, round(n * fraction)))


def _quotas(sizes: dict[str, int], total: int, rng: random.Random) -> dict[str, int]:
    """Split `total` seats over labels in proportion to their sizes (largest remainder), leaving
    each label at least one training image while seats allow."""
    n = sum(sizes.values())
    exact = {label: total * size / n for label, size in sizes.items()}
    quotas = {label: int(value) for label, value in exact.items()}
    order = sorted(exact, key=lambda lb: (exact[lb] - quotas[lb], rng.random()), reverse=True)
    for keep in (1, 0):  # first keep one image of each label in train, then fill up if needed
        for label in order:
            if sum(quotas.values()) < total and quotas[label] < sizes[label] - keep:
                quotas[label] += 1
    return quotas


def _pick_images(samples: Sequence[Sample], fraction: float, rng: random.Random) -> list[Sample]:
    """Validation images: defect-free ones, then defective ones stratified by class."""
    val: list[Sample] = []
    good = sorted((s for s in samples if not s.is_defective), key=lambda s: s.stem)
    rng.shuffle(good)
    val.extend(good[: _val_count(len(good), fraction)])
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted((s for s in samples if s.is_defective), key=lambda s: s.stem):
        by_label[sample.label].append(sample)
    total = _val_count(sum(map(len, by_label.values())), fraction)
    if not total:
        return val
    quotas = _quotas({label: len(items) for label, items in sorted(by_label.items())}, total, rng)
    for label, items in sorted(by_label.items()):
        rng.shuffle(items)
        val.extend(items[: quotas[label]])
    return val


def _pick_groups(groups: dict[str, list[Sample]], fraction: float, rng: random.Random) -> list[Sample]:
    """Whole groups until the validation images come closest to `fraction` of them."""
    names = sorted(groups)
    rng.shuffle(names)
    target = fraction * sum(len(groups[n]) for n in names)
    chosen: list[str] = []
    count = 0
    for name in names[:-1]:  # always leave one group for training
        size = len(groups[name])
        if not chosen or abs(count + size - target) < abs(count - target):
            chosen.append(name)
            count += size
    return [s for name in chosen for s in groups[name]]


def _split_groups(samples: Sequence[Sample], fraction: float, rng: random.Random) -> list[Sample]:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.group or sample.stem].append(sample)
    with_defects = {g: items for g, items in groups.items() if any(s.is_defective for s in items)}
    defect_free = {g: items for g, items in groups.items() if g not in with_defects}
    for kind, part in (("defective", with_defects), ("defect-free", defect_free)):
        if len(part) == 1:
            log.warning("only one %s group (%s): it stays in train", kind, next(iter(part)))
    return _pick_groups(with_defects, fraction, rng) + _pick_groups(defect_free, fraction, rng)


def auto_mode(dataset: Dataset) -> str:
    """What "auto" means for this dataset (see the module doc)."""
    if dataset.format == "aitex":
        return "image_within_fabric"
    grouped = all(s.group for s in dataset.samples) and len(dataset.groups) >= 2
    return "group" if grouped else "image"


def split_by_group(
    dataset: Dataset, val_fraction: float, seed: int, by: str = "auto"
) -> tuple[Dataset, Dataset]:
    """(train, val) subsets of `dataset`; deterministic for a seed. See the module doc for `by`."""
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError(f"validation fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    if by not in SPLIT_MODES:
        raise ConfigError(f"split mode {by!r} is not one of {'|'.join(SPLIT_MODES)}")
    if by == "auto":
        by = auto_mode(dataset)
    rng = random.Random(seed)
    if by == "group":
        val = _split_groups(dataset.samples, val_fraction, rng)
    elif by == "image":
        val = _pick_images(dataset.samples, val_fraction, rng)
    else:
        fabrics: dict[str, list[Sample]] = defaultdict(list)
        for sample in dataset.samples:
            fabrics[sample.fabric].append(sample)
        val = [s for _, items in sorted(fabrics.items()) for s in _pick_images(items, val_fraction, rng)]
    chosen = {s.image_path for s in val}
    train = [s for s in dataset.samples if s.image_path not in chosen]
    log.info("split %s by %s: %d train, %d val images", dataset.root, by, len(train), len(val))
    return dataset.subset(train), dataset.subset(s for s in dataset.samples if s.image_path in chosen)
