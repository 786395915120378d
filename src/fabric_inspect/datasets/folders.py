"""Image-level folders: `DIR/good/*` and `DIR/<defect_class>/*`, no pixel masks.

Classes are the folder names except "good", sorted; an optional `DIR/classes.txt` fixes their order
(and so the class indices) and makes any folder it does not list an unknown class.
"""

from __future__ import annotations

from pathlib import Path

from fabric_inspect.datasets.files import is_image, list_dirs, list_files
from fabric_inspect.datasets.labeled import CLASSES_FILE, read_classes
from fabric_inspect.datasets.samples import GOOD, Sample, Scan


def scan(root: Path) -> Scan:
    problems: list[str] = []
    folders = list_dirs(root)
    names = [d.name for d in folders if d.name != GOOD]
    if (root / CLASSES_FILE).is_file():
        classes = read_classes(root / CLASSES_FILE, problems)
        for name in names:
            if name not in classes:
                problems.append(
                    f"{name}/: unknown class, not listed in {CLASSES_FILE} ({', '.join(classes)})"
                )
    else:
        classes = tuple(names)
    for path in list_files(root):
        if is_image(path):
            problems.append(f"{path.name}: image outside a class folder; move it into good/ or <class>/")
    samples: list[Sample] = []
    for folder in folders:
        if folder.name in (*classes, GOOD):
            samples.extend(_folder_samples(folder, problems))
    return Scan(classes=classes, samples=tuple(samples), problems=tuple(problems))


def _folder_samples(folder: Path, problems: list[str]) -> list[Sample]:
    samples: list[Sample] = []
    seen: dict[str, Path] = {}
    for path in list_files(folder):
        rel = f"{folder.name}/{path.name}"
        if not is_image(path):
            problems.append(f"{rel}: is not an image file (expected .png, .jpg, .bmp or .tif)")
        elif path.stem in seen:
            problems.append(f"{rel}: stem {path.stem!r} is also used by {seen[path.stem].name}")
        else:
            seen[path.stem] = path
            stem = f"{folder.name}_{path.stem}"
            samples.append(Sample(image_path=path, mask_paths=(), label=folder.name, stem=stem))
    return samples
