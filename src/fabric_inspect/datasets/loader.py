"""Load a labeled dataset in any supported layout, validated, in place (nothing is converted).

Formats: "labeled" (the project's own: images/, masks/, classes.txt, optional annotations.json),
"folders" (image-level: good/, <class>/), "mvtec" (one MVTec AD category), "aitex" (the AITEX Fabric
Image Database); "auto" tells them apart by their folder names. Plain numpy and OpenCV: the
inference path imports this, never torch.

    dataset = load_dataset("../shared/data/aitex")
    train, val = split_by_group(dataset, 0.2, seed=0, by="image_within_fabric")
    for sample in train.samples:
        image = read_image(sample)          # uint8 grey HxW or BGR HxWx3
        mask = read_mask(train, sample)     # uint8 HxW class index, or None (image-level only)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from fabric_inspect.datasets import formats
from fabric_inspect.datasets.check import CheckReport, check_dataset
from fabric_inspect.datasets.files import read_image_file
from fabric_inspect.datasets.masks import read_mask
from fabric_inspect.datasets.samples import FORMATS, GOOD, Dataset, Sample
from fabric_inspect.datasets.split import SPLIT_MODES, split_by_group
from fabric_inspect.errors import InputError

__all__ = [
    "FORMATS",
    "GOOD",
    "SPLIT_MODES",
    "CheckReport",
    "Dataset",
    "Sample",
    "check_dataset",
    "load_dataset",
    "problems_message",
    "read_image",
    "read_mask",
    "split_by_group",
]

log = logging.getLogger(__name__)

MAX_LISTED_PROBLEMS = 30


def problems_message(report: CheckReport) -> str:
    """The InputError text for a dataset with problems: one line per problem (the first 30)."""
    ds = report.dataset
    problems = report.problems
    if len(problems) == 1:
        return f"dataset {ds.root} ({ds.format}): {problems[0]}"
    lines = [f"dataset {ds.root} ({ds.format}) has {len(problems)} problems:"]
    lines += [f"  {p}" for p in problems[:MAX_LISTED_PROBLEMS]]
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(
            f"  ... and {len(problems) - MAX_LISTED_PROBLEMS} more; run `fabric-inspect data check {ds.root}`"
        )
    return "\n".join(lines)


def load_dataset(path: str | os.PathLike[str], fmt: str = "auto", validate: bool = True) -> Dataset:
    """Read a dataset folder. With `validate` (the default) every image and mask is decoded first
    (`check_dataset`) and any problem raises InputError, one line per problem; without it only the
    folder listing is read (labeled masks are decoded for their labels)."""
    root = Path(path)
    if validate:
        report = check_dataset(root, fmt)
        if not report.ok:
            raise InputError(problems_message(report))
        for note in report.notes:
            log.info("%s: %s", root, note)
        dataset = report.dataset
    else:
        fmt, scan = formats.scan(root, fmt)
        if scan.problems:
            log.warning("%s: %d problems left unchecked (validate=False)", root, len(scan.problems))
        dataset = Dataset(root, fmt, scan.classes, scan.samples)
    log.info(
        "loaded %s (%s): %d images, %d defect-free, %d classes",
        root,
        dataset.format,
        len(dataset),
        len(dataset.defect_free),
        len(dataset.classes),
    )
    return dataset


def read_image(sample: Sample) -> np.ndarray:
    """uint8 grey HxW or BGR HxWx3, as stored (grey+alpha gives the grey channel, BGRA drops alpha)."""
    return read_image_file(sample.image_path)
