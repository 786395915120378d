"""MVTec AD, one category folder read in place.

```
DIR/train/good/*.png                     defect-free training images
DIR/test/good/*.png, DIR/test/<type>/*.png
DIR/ground_truth/<type>/<name>_mask.png  binary masks (defect = value > 127) for test/<type>/<name>.png
```
Classes are the test/<type> names except "good", sorted. Stems are "<split>_<type>_<name>" (MVTec
reuses names such as 000.png in every folder); `Sample.split` keeps "train" or "test" and
`Sample.fabric` the category (the folder's name).
"""

from __future__ import annotations

from pathlib import Path

from fabric_inspect.datasets.files import is_image, list_dirs, list_files
from fabric_inspect.datasets.samples import GOOD, Sample, Scan

MASK_SUFFIX = "_mask"


def is_category(root: Path) -> bool:
    return (root / "train" / GOOD).is_dir() or ((root / "test").is_dir() and (root / "ground_truth").is_dir())


def categories_below(root: Path) -> list[str]:
    """Names of MVTec categories one level below `root` (the whole MVTec AD download)."""
    return [d.name for d in list_dirs(root) if is_category(d)]


def _images(folder: Path, rel: str, problems: list[str]) -> list[Path]:
    images = []
    for path in list_files(folder):
        if is_image(path):
            images.append(path)
        else:
            problems.append(f"{rel}/{path.name}: is not an image file (expected .png, .jpg, .bmp or .tif)")
    return images


def _test_samples(root: Path, kind: str, category: str, problems: list[str]) -> list[Sample]:
    masks_dir = root / "ground_truth" / kind
    masks = {p.name: p for p in list_files(masks_dir)}
    samples = []
    for path in _images(root / "test" / kind, f"test/{kind}", problems):
        mask_name = f"{path.stem}{MASK_SUFFIX}.png"
        mask = masks.pop(mask_name, None)
        if kind != GOOD and mask is None:
            problems.append(f"test/{kind}/{path.name}: missing mask ground_truth/{kind}/{mask_name}")
        samples.append(
            Sample(
                image_path=path,
                mask_paths=(mask,) if mask and kind != GOOD else (),
                label=kind,
                fabric=category,
                stem=f"test_{kind}_{path.stem}",
                split="test",
            )
        )
    for name in sorted(masks):
        problems.append(f"ground_truth/{kind}/{name}: orphan mask, no image test/{kind}/{name}")
    return samples


def scan(root: Path) -> Scan:
    problems: list[str] = []
    category = root.resolve().name
    for folder in list_dirs(root / "train"):
        if folder.name != GOOD:
            problems.append(f"train/{folder.name}/: MVTec train/ holds only good/; move it under test/")
    samples = [
        Sample(
            image_path=p,
            mask_paths=(),
            label=GOOD,
            fabric=category,
            stem=f"train_good_{p.stem}",
            split="train",
        )
        for p in _images(root / "train" / GOOD, "train/good", problems)
    ]
    kinds = [d.name for d in list_dirs(root / "test")]
    classes = tuple(k for k in kinds if k != GOOD)
    for kind in kinds:
        samples.extend(_test_samples(root, kind, category, problems))
    for folder in list_dirs(root / "ground_truth"):
        if folder.name not in kinds:
            problems.append(f"ground_truth/{folder.name}/: orphan mask folder, no test/{folder.name}/")
    return Scan(classes=classes, samples=tuple(samples), problems=tuple(problems))
