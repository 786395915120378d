"""K-fold splits of a labeled dataset, written as folders of links (`fabric-inspect data split`).

A fine-tune judged on one held-out part of a few hundred images moves by several hundredths from one
split to the next (on AITEX the three thirds gave 0.927, 0.902 and 0.996 image AUROC with the same
recipe; docs/model-card.md, (c)). K folds give K held-out parts that are disjoint and together hold
every image once, so a mill can train K times and read the mean.

How images are dealt into the K parts (`by`, the modes of `datasets.split`):
- "image": defect-free images first, then each class's images, each list shuffled with the seed and
  dealt round the parts in turn, the count carrying on from list to list. So every part holds each
  class within one image of its share, and the parts' sizes differ by at most one.
- "image_within_fabric": the same, fabric by fabric (AITEX's FF code), carrying on between fabrics.
- "group": whole rolls (groups), the largest first, each to the part with the fewest images so far;
  rolls with a defect and defect-free rolls are dealt separately, so each part gets some of both
  where there are enough.
- "auto": as `datasets.split.auto_mode`.

The written split is the input's own layout (labeled, image folders or AITEX), every image and mask a
symbolic link to the original at the same path below the part's folder, with classes.txt copied and
annotations.json cut to the part's images. MVTec AD is refused: it has its own train/test split.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from fabric_inspect.datasets.labeled import ANNOTATIONS_FILE, CLASSES_FILE
from fabric_inspect.datasets.samples import GOOD, Dataset, Sample
from fabric_inspect.datasets.split import SPLIT_MODES, auto_mode
from fabric_inspect.errors import ConfigError, InputError

log = logging.getLogger(__name__)

MAX_FOLDS = 20
SPLIT_FILE = "split.json"


def _deal(samples: Sequence[Sample], parts: list[list[Sample]], start: int, rng: random.Random) -> int:
    """Deal `samples` (defect-free first, then class by class, each shuffled) into `parts` in turn,
    beginning with part `start`; the part the next deal begins with."""
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in sorted(samples, key=lambda s: s.stem):
        by_label[sample.label].append(sample)
    order = sorted(by_label, key=lambda label: (label != GOOD, label))
    k = start
    for label in order:
        items = by_label[label]
        rng.shuffle(items)
        for sample in items:
            parts[k % len(parts)].append(sample)
            k += 1
    return k % len(parts)


def _deal_groups(samples: Sequence[Sample], parts: list[list[Sample]], rng: random.Random) -> None:
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[sample.group or sample.stem].append(sample)
    for defective in (True, False):
        names = sorted(g for g, items in groups.items() if any(s.is_defective for s in items) == defective)
        rng.shuffle(names)
        names.sort(key=lambda g: len(groups[g]), reverse=True)  # stable: ties stay shuffled
        for name in names:
            smallest = min(range(len(parts)), key=lambda i: (len(parts[i]), i))
            parts[smallest].extend(groups[name])


def _check_folds(folds: int) -> None:
    if not 2 <= folds <= MAX_FOLDS:
        raise ConfigError(f"--folds must be in 2..{MAX_FOLDS}, got {folds}")


def fold_parts(dataset: Dataset, folds: int, seed: int = 0, by: str = "auto") -> list[tuple[Sample, ...]]:
    """The `folds` disjoint parts of `dataset` that hold all its images (see the module doc)."""
    _check_folds(folds)
    if by not in SPLIT_MODES:
        raise ConfigError(f"--by must be one of {', '.join(SPLIT_MODES)}, got {by!r}")
    mode = auto_mode(dataset) if by == "auto" else by
    rng = random.Random(seed)
    parts: list[list[Sample]] = [[] for _ in range(folds)]
    if mode == "group":
        units = len({s.group or s.stem for s in dataset.samples})
        _deal_groups(dataset.samples, parts, rng)
    elif mode == "image":
        units = len(dataset)
        _deal(dataset.samples, parts, 0, rng)
    else:
        units = len(dataset)
        fabrics: dict[str, list[Sample]] = defaultdict(list)
        for sample in dataset.samples:
            fabrics[sample.fabric].append(sample)
        start = 0
        for name in sorted(fabrics):
            start = _deal(fabrics[name], parts, start, rng)
    if units < folds:
        kind = "rolls" if mode == "group" else "images"
        raise ConfigError(
            f"--folds {folds}: {dataset.root} has only {units} {kind}; use --folds {units} or fewer"
        )
    return [tuple(part) for part in parts]


def _link(source: Path, root: Path, dest: Path) -> None:
    target = dest / source.relative_to(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(source.resolve(), target)


def write_part(dataset: Dataset, samples: Sequence[Sample], dest: Path) -> Path:
    """`samples` of `dataset` as a dataset folder `dest` in the same layout, of links (module doc)."""
    root = dataset.root
    dest.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        for path in (sample.image_path, *sample.mask_paths):
            _link(path, root, dest)
    if (root / CLASSES_FILE).is_file():
        shutil.copyfile(root / CLASSES_FILE, dest / CLASSES_FILE)
    if dataset.format == "labeled" and (root / ANNOTATIONS_FILE).is_file():
        entries = json.loads((root / ANNOTATIONS_FILE).read_text())
        stems = {s.stem for s in samples}
        kept = {stem: value for stem, value in entries.items() if stem in stems}
        (dest / ANNOTATIONS_FILE).write_text(json.dumps(kept, indent=1))
    return dest


def write_fold(
    dataset: Dataset, out: Path, folds: int, fold: int, seed: int = 0, by: str = "auto"
) -> dict[str, object]:
    """Write `out/train` (every part but `fold`) and `out/val` (part `fold`), and `out/split.json`
    (the settings and which image went where); its content is returned."""
    if dataset.format == "mvtec":
        raise ConfigError(
            f"{dataset.root} is MVTec AD, whose train/ and test/ are its own split; train on it as it is"
        )
    _check_folds(folds)
    if not 0 <= fold < folds:
        raise ConfigError(f"--fold must be in 0..{folds - 1} (one of the {folds} parts), got {fold}")
    if out.exists() and any(out.iterdir()):
        raise InputError(f"--out {out} is not empty; give a new folder for each fold")
    parts = fold_parts(dataset, folds, seed, by)
    val = parts[fold]
    train = [s for i, part in enumerate(parts) if i != fold for s in part]
    write_part(dataset, train, out / "train")
    write_part(dataset, val, out / "val")
    record: dict[str, object] = {
        "source": str(dataset.root.resolve()),
        "format": dataset.format,
        "by": auto_mode(dataset) if by == "auto" else by,
        "folds": folds,
        "fold": fold,
        "seed": seed,
        "train": sorted(s.stem for s in train),
        "val": sorted(s.stem for s in val),
    }
    (out / SPLIT_FILE).write_text(json.dumps(record, indent=1))
    log.info("fold %d of %d: %d train, %d val images in %s", fold, folds, len(train), len(val), out)
    return record
