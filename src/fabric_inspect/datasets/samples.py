"""The values a dataset reader produces: one `Sample` per image, one `Dataset` per folder.

A reader (labeled, folders, mvtec, aitex) lists files and returns a `Scan`: the samples it found and
the problems it could see without decoding anything heavier than a mask. `check` decodes the rest.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

GOOD = "good"
FORMATS: tuple[str, ...] = ("labeled", "folders", "mvtec", "aitex")
# Formats whose defect-free images have a known all-zero pixel mask (image-level folders have none).
PIXEL_FORMATS: tuple[str, ...] = ("labeled", "mvtec", "aitex")


@dataclass(frozen=True, slots=True)
class Sample:
    """One image of a dataset and where its labels are.

    `label` is "good" or a class name of the dataset; `mask_paths` is empty for defect-free images and
    image-level samples (several paths are united, as AITEX `_mask1`/`_mask2`); `group` is the roll or
    fabric the image came from ("" if the format has none); `stem` is unique within a dataset;
    `split` is the split the layout itself defines (MVTec "train"/"test"), "" otherwise.
    """

    image_path: Path
    mask_paths: tuple[Path, ...]
    label: str
    group: str = ""
    fabric: str = ""
    stem: str = ""
    annotations: tuple[dict, ...] = ()
    split: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_path", Path(self.image_path))
        object.__setattr__(self, "mask_paths", tuple(Path(p) for p in self.mask_paths))
        object.__setattr__(self, "annotations", tuple(self.annotations))
        if not self.stem:
            object.__setattr__(self, "stem", self.image_path.stem)
        if not self.label:
            raise ValueError(f"sample {self.image_path} has an empty label; expected 'good' or a class")

    @property
    def is_defective(self) -> bool:
        return self.label != GOOD


@dataclass(frozen=True, slots=True)
class Dataset:
    """A validated list of samples read in place from `root` in one of `FORMATS`.

    `classes[i - 1]` is the class of mask value i (0 is no defect).
    """

    root: Path
    format: str
    classes: tuple[str, ...]
    samples: tuple[Sample, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "classes", tuple(self.classes))
        object.__setattr__(self, "samples", tuple(self.samples))
        if self.format not in FORMATS:
            raise ValueError(f"dataset format must be one of {FORMATS}, got {self.format!r}")
        if GOOD in self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"dataset classes must be unique and exclude 'good', got {self.classes}")
        known = {*self.classes, GOOD}
        stray = sorted({s.label for s in self.samples} - known)
        if stray:
            raise ValueError(f"sample labels {stray} are not among the dataset classes {self.classes}")

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def defect_free(self) -> tuple[Sample, ...]:
        return tuple(s for s in self.samples if not s.is_defective)

    @property
    def defective(self) -> tuple[Sample, ...]:
        return tuple(s for s in self.samples if s.is_defective)

    @property
    def pixel_level(self) -> bool:
        """True when the format has pixel masks (image-level folders have none)."""
        return self.format in PIXEL_FORMATS

    @property
    def groups(self) -> tuple[str, ...]:
        return tuple(sorted({s.group for s in self.samples}))

    def class_index(self, label: str) -> int:
        """Mask value of a class (1-based); 0 for "good"."""
        return 0 if label == GOOD else self.classes.index(label) + 1

    def label_counts(self) -> Counter[str]:
        return Counter(s.label for s in self.samples)

    def subset(self, samples: Iterable[Sample]) -> Dataset:
        """The same dataset (root, format, classes) holding only `samples`, which must be its own."""
        chosen = tuple(samples)
        own = {s.image_path for s in self.samples}
        foreign = [str(s.image_path) for s in chosen if s.image_path not in own]
        if foreign:
            raise ValueError(f"subset got {len(foreign)} samples not in dataset {self.root}: {foreign[:3]}")
        return Dataset(self.root, self.format, self.classes, chosen)


@dataclass(frozen=True, slots=True)
class Scan:
    """What a format reader found by listing a folder: classes, samples, problems and notes.

    Problems make a dataset unusable until fixed; notes are quirks the reader handled (shown by
    `data check`, never an error).
    """

    classes: tuple[str, ...]
    samples: tuple[Sample, ...]
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
