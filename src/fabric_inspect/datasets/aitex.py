"""The AITEX Fabric Image Database, read in place.

Silvestre-Blanes et al., "A Public Fabric Database for Defect Detection Methods and Results", Autex
Research Journal 19(4), 2019.

```
DIR/Defect_images/NNNN_DDD_FF.png            NNNN image id, DDD defect code, FF fabric code
DIR/Mask_images/NNNN_DDD_FF_mask.png         soft masks: defect = value > 127
DIR/Mask_images/NNNN_DDD_FF_mask1.png, ..2   two masks for one image: their union
DIR/NoDefect_images/<roll>/NNNN_000_FF.png   defect-free images, one folder per fabric roll
```
Quirks handled: grey+alpha PNGs (channel 0 is the image), anti-aliased masks, `_mask1`/`_mask2`, and
`0100_025_08`, released without a mask: it stays a defect image at image level and `read_mask` gives
None for it. Classes are all twelve defect codes in code order, so class indices do not depend on
which part of the release a folder holds. Group: the roll folder for defect-free images, the fabric
code for defect images; fabric: the FF code.
"""

from __future__ import annotations

import re
from pathlib import Path

from fabric_inspect.datasets.files import list_dirs, list_files
from fabric_inspect.datasets.samples import GOOD, Sample, Scan

DEFECT_DIR = "Defect_images"
MASK_DIR = "Mask_images"
GOOD_DIR = "NoDefect_images"

DEFECT_CODES: dict[str, str] = {
    "002": "broken_end",
    "006": "broken_yarn",
    "010": "broken_pick",
    "016": "weft_curling",
    "019": "fuzzyball",
    "022": "cut_selvage",
    "023": "crease",
    "025": "warp_ball",
    "027": "knots",
    "029": "contamination",
    "030": "nep",
    "036": "weft_crack",
}
CLASSES: tuple[str, ...] = tuple(DEFECT_CODES.values())
GOOD_CODE = "000"
# Images the release ships without a pixel mask: image-level labels only.
WITHOUT_MASK = frozenset({"0100_025_08"})

NAME = re.compile(r"^(?P<id>\d{4})_(?P<code>\d{3})_(?P<fabric>\d{2})$")
MASK_NAME = re.compile(r"^(?P<stem>\d{4}_\d{3}_\d{2})_mask(?P<part>\d*)$")


def is_aitex(root: Path) -> bool:
    return (root / DEFECT_DIR).is_dir() or (root / GOOD_DIR).is_dir()


def display_name(class_name: str) -> str:
    """'019 fuzzyball' for 'fuzzyball': the code as the paper and file names give it, then the name."""
    codes = {name: code for code, name in DEFECT_CODES.items()}
    return f"{codes[class_name]} {class_name}" if class_name in codes else class_name


def _list_masks(root: Path, problems: list[str]) -> dict[str, list[Path]]:
    masks: dict[str, list[Path]] = {}
    for path in list_files(root / MASK_DIR):
        match = MASK_NAME.match(path.stem)
        if path.suffix.lower() != ".png" or not match:
            problems.append(f"{MASK_DIR}/{path.name}: name is not NNNN_DDD_FF_mask[N].png")
            continue
        masks.setdefault(match["stem"], []).append(path)
    return masks


def _defect_samples(root: Path, problems: list[str], notes: list[str]) -> list[Sample]:
    masks = _list_masks(root, problems)
    samples = []
    for path in list_files(root / DEFECT_DIR):
        rel = f"{DEFECT_DIR}/{path.name}"
        match = NAME.match(path.stem)
        if path.suffix.lower() != ".png" or not match:
            problems.append(f"{rel}: name is not NNNN_DDD_FF.png (image id, defect code, fabric code)")
            continue
        code = match["code"]
        if code not in DEFECT_CODES:
            known = ", ".join(DEFECT_CODES)
            problems.append(f"{rel}: unknown class, defect code {code} is not one of {known}")
            continue
        mask_paths = tuple(sorted(masks.pop(path.stem, [])))
        if not mask_paths and path.stem in WITHOUT_MASK:
            notes.append(f"{rel}: released without a mask; kept as a defect image, left out of pixel metrics")
        elif not mask_paths:
            problems.append(f"{rel}: missing mask {MASK_DIR}/{path.stem}_mask.png")
        elif len(mask_paths) > 1:
            names = " + ".join(p.name for p in mask_paths)
            notes.append(f"{rel}: {len(mask_paths)} masks united ({names})")
        fabric = match["fabric"]
        samples.append(
            Sample(path, mask_paths, DEFECT_CODES[code], group=fabric, fabric=fabric, stem=path.stem)
        )
    for stem, paths in sorted(masks.items()):
        for path in paths:
            problems.append(f"{MASK_DIR}/{path.name}: orphan mask, no image {DEFECT_DIR}/{stem}.png")
    return samples


def _good_samples(root: Path, problems: list[str]) -> list[Sample]:
    for path in list_files(root / GOOD_DIR):
        problems.append(f"{GOOD_DIR}/{path.name}: outside a roll folder; expected {GOOD_DIR}/<roll>/")
    samples = []
    for roll in list_dirs(root / GOOD_DIR):
        for path in list_files(roll):
            rel = f"{GOOD_DIR}/{roll.name}/{path.name}"
            match = NAME.match(path.stem)
            if path.suffix.lower() != ".png" or not match:
                problems.append(f"{rel}: name is not NNNN_000_FF.png")
            elif match["code"] != GOOD_CODE:
                problems.append(f"{rel}: defect code {match['code']} in {GOOD_DIR}; expected {GOOD_CODE}")
            else:
                fabric = match["fabric"]
                samples.append(
                    Sample(path, (), GOOD, group=roll.name, fabric=fabric, stem=f"{roll.name}_{path.stem}")
                )
    return samples


def scan(root: Path) -> Scan:
    problems: list[str] = []
    notes: list[str] = []
    samples = _defect_samples(root, problems, notes) + _good_samples(root, problems)
    return Scan(classes=CLASSES, samples=tuple(samples), problems=tuple(problems), notes=tuple(notes))
