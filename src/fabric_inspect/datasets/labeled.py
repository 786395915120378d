"""The project's own labeled format, read in place.

```
DIR/classes.txt          one class name per line; line 1 is mask value 1
DIR/images/<stem>.png    (or .jpg, .bmp, .tif)
DIR/masks/<stem>.png     uint8 class index, 0 = no defect; no mask = defect-free image
DIR/annotations.json     optional: {"<stem>": [{"class", "visibility", "bbox": [x0, y0, x1, y1]}]}
DIR/reviewed.txt         optional: the stems a person has checked (`data label` writes it)
```
A sample's label is the class covering most mask pixels ("good" when the mask is all zero), so the
reader decodes every mask (masks are small; images are left to `check`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.classes import VISIBILITIES
from fabric_inspect.datasets.files import decode_file, is_image, list_files
from fabric_inspect.datasets.samples import GOOD, Sample, Scan

CLASSES_FILE = "classes.txt"
ANNOTATIONS_FILE = "annotations.json"
REVIEWED_FILE = "reviewed.txt"


def read_reviewed(root: Path) -> set[str]:
    """The stems reviewed.txt lists (empty when there is none)."""
    path = root / REVIEWED_FILE
    if not path.is_file():
        return set()
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def read_classes(path: Path, problems: list[str]) -> tuple[str, ...]:
    """Class names of a classes.txt (trailing blank lines allowed); problems appended, never raised."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        problems.append(f"{path.name}: cannot be read as UTF-8 text ({err})")
        return ()
    while lines and not lines[-1].strip():
        lines.pop()
    names = [line.strip() for line in lines]
    for number, name in enumerate(names, start=1):
        if not name:
            problems.append(f"{path.name}: line {number} is blank; every line up to the last is a class")
        elif name == GOOD:
            problems.append(f"{path.name}: line {number} is 'good', which means defect-free; remove it")
        elif names.index(name) != number - 1:
            problems.append(f"{path.name}: line {number} repeats class {name!r}")
    return tuple(n for i, n in enumerate(names) if n and n != GOOD and names.index(n) == i)


def _mask_label(path: Path, classes: tuple[str, ...] | None, problems: list[str]) -> str:
    """The class covering most pixels of an index mask, or "good" when it is all zero (or when
    `classes` is None: no classes.txt to name them)."""
    decoded, problem = decode_file(path)
    rel = f"masks/{path.name}"
    if decoded is None:
        problems.append(f"{rel}: {problem}")
        return GOOD
    if decoded.kind not in ("grey", "grey+alpha"):
        problems.append(f"{rel}: is {decoded.kind}; expected a single-channel uint8 class-index PNG")
        return GOOD
    if classes is None:
        return GOOD
    counts = np.bincount(decoded.array.ravel(), minlength=256)
    unknown = [int(v) for v in np.flatnonzero(counts[len(classes) + 1 :]) + len(classes) + 1]
    if unknown:
        shown = ", ".join(map(str, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        problems.append(
            f"{rel}: values {shown} are unknown classes ({CLASSES_FILE} lists {len(classes)}, "
            f"so values 0..{len(classes)} are allowed)"
        )
    known = counts[1 : len(classes) + 1]
    return classes[int(np.argmax(known))] if known.any() else GOOD


def _annotation_problems(stem: str, entries: object, classes: tuple[str, ...] | None) -> list[str]:
    where = f"{ANNOTATIONS_FILE}: {stem!r}"
    if not isinstance(entries, list):
        return [f"{where} should be a list of defects, got {type(entries).__name__}"]
    problems = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            problems.append(f"{where}[{i}] should be an object with class, visibility, bbox")
            continue
        if classes is not None and entry.get("class") not in classes:
            problems.append(f"{where}[{i}] class {entry.get('class')!r} is not in {CLASSES_FILE}")
        if "visibility" in entry and entry["visibility"] not in VISIBILITIES:
            problems.append(f"{where}[{i}] visibility {entry['visibility']!r} is not one of {VISIBILITIES}")
        box = entry.get("bbox")
        ok = isinstance(box, list) and len(box) == 4 and all(isinstance(v, int | float) for v in box)
        if not ok or box[0] >= box[2] or box[1] >= box[3]:
            problems.append(f"{where}[{i}] bbox {box!r} should be [x0, y0, x1, y1] with x0 < x1, y0 < y1")
    return problems


def read_annotations(
    root: Path, stems: set[str], classes: tuple[str, ...] | None, problems: list[str]
) -> dict:
    """annotations.json as {stem: [entry, ...]}; {} when absent. Problems appended; entry classes are
    checked against `classes` unless it is None."""
    path = root / ANNOTATIONS_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        problems.append(f"{ANNOTATIONS_FILE}: cannot be read as JSON ({err})")
        return {}
    if not isinstance(data, dict):
        problems.append(
            f"{ANNOTATIONS_FILE}: should be an object {{stem: [defects]}}, got {type(data).__name__}"
        )
        return {}
    for stem in sorted(set(data) - stems):
        problems.append(f"{ANNOTATIONS_FILE}: stem {stem!r} has no image in images/")
    for stem, entries in data.items():
        problems.extend(_annotation_problems(stem, entries, classes))
    return data


def _list_images(root: Path, problems: list[str]) -> dict[str, Path]:
    images: dict[str, Path] = {}
    for path in list_files(root / "images"):
        if not is_image(path):
            problems.append(f"images/{path.name}: is not an image file (expected .png, .jpg, .bmp or .tif)")
        elif path.stem in images:
            problems.append(
                f"images/{path.name}: stem {path.stem!r} is also used by {images[path.stem].name}"
            )
        else:
            images[path.stem] = path
    return images


def scan(root: Path) -> Scan:
    problems: list[str] = []
    images = _list_images(root, problems)
    masks: dict[str, Path] = {}
    for path in list_files(root / "masks"):
        if path.suffix.lower() != ".png":
            problems.append(f"masks/{path.name}: masks must be lossless .png class-index images")
        elif path.stem not in images:
            problems.append(f"masks/{path.name}: orphan mask, no image images/{path.stem}.*")
        else:
            masks[path.stem] = path
    classes: tuple[str, ...] = ()
    has_classes = (root / CLASSES_FILE).is_file()
    if has_classes:
        classes = read_classes(root / CLASSES_FILE, problems)
    elif masks:
        problems.append(f"{CLASSES_FILE} is missing: write one class name per line (line 1 = mask value 1)")
    # Without classes.txt every mask value and annotated class would be "unknown": report that once.
    known = classes if has_classes else None
    annotations = read_annotations(root, set(images), known, problems)
    samples = []
    for stem, image in images.items():
        mask = masks.get(stem)
        label = _mask_label(mask, known, problems) if mask else GOOD
        entries = annotations.get(stem)
        entries = tuple(entries) if isinstance(entries, list) else ()
        if entries and not mask:
            problems.append(
                f"{ANNOTATIONS_FILE}: {stem!r} lists {len(entries)} defects but masks/{stem}.png is missing"
            )
        samples.append(
            Sample(
                image_path=image,
                mask_paths=(mask,) if mask else (),
                label=label,
                stem=stem,
                annotations=entries,
            )
        )
    return Scan(classes=classes, samples=tuple(samples), problems=tuple(problems))
