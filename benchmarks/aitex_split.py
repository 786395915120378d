"""Split an AITEX folder into train and validation folders of symbolic links (no image is copied).

    python benchmarks/aitex_split.py /work/shared/data/aitex /tmp/aitex-split

writes /tmp/aitex-split/{train,val}/ in the AITEX layout (Defect_images/, Mask_images/,
NoDefect_images/<roll>/), each file a link to the original, and /tmp/aitex-split/split.json listing
which file went where. The split is by image within each fabric type (the FF code of NNNN_DDD_FF):
defect images and defect-free images of one fabric are each sorted by name and every third one,
starting with the second (index 1, 4, 7, ...), goes to validation. So every fabric with two or more
images of a kind is in both parts (in fold 2 below, three or more), and the split is the same on
every machine.

    python benchmarks/aitex_split.py /work/shared/data/aitex /tmp/aitex-fold0 --fold 0

starts with the first image instead (--fold 2: the third). The three folds' validation parts are
disjoint and together hold every image once: three-fold cross-validation (docs/model-card.md, (c)).
Fold 1 is the split the model card's single-split figures use. A fabric with one image of a kind has
it in validation in fold 0, so no training part of that fold holds it.

Stdlib only; reads file names, never the images.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

NAME = re.compile(r"^\d{4}_\d{3}_(?P<fabric>\d{2})$")
MASK = re.compile(r"^(?P<stem>\d{4}_\d{3}_\d{2})_mask\d*$")
FOLDS, DEFAULT_FOLD = 3, 1


def _is_val(index: int, fold: int) -> bool:
    return index % FOLDS == fold


def split(source: Path, fold: int = DEFAULT_FOLD) -> dict[str, list[str]]:
    """{"train": [...], "val": [...]}: image paths relative to `source`; `fold` picks the third in val."""
    groups: dict[tuple[str, str], list[Path]] = defaultdict(list)
    for path in sorted((source / "Defect_images").glob("*.png")):
        match = NAME.match(path.stem)
        if match:
            groups[("defect", match["fabric"])].append(path)
    for path in sorted((source / "NoDefect_images").glob("*/*.png")):
        match = NAME.match(path.stem)
        if match:
            groups[("good", match["fabric"])].append(path)
    parts: dict[str, list[str]] = {"train": [], "val": []}
    for key in sorted(groups):
        for i, path in enumerate(sorted(groups[key], key=lambda p: p.name)):
            parts["val" if _is_val(i, fold) else "train"].append(str(path.relative_to(source)))
    return parts


def _link(source: Path, rel: str, target_root: Path) -> None:
    target = target_root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.is_symlink() or target.exists():
        target.unlink()
    target.symlink_to((source / rel).resolve())


def _clear_links(root: Path) -> None:
    if root.is_dir():
        for path in root.rglob("*"):
            if path.is_symlink():
                path.unlink()


def write(source: Path, out: Path, fold: int = DEFAULT_FOLD) -> dict[str, list[str]]:
    parts = split(source, fold)
    masks: dict[str, list[Path]] = defaultdict(list)
    for path in sorted((source / "Mask_images").glob("*.png")):
        match = MASK.match(path.stem)
        if match:
            masks[match["stem"]].append(path)
    for part, rels in parts.items():
        root = out / part
        _clear_links(root)  # links of an earlier run (another fold) must not stay behind
        for rel in rels:
            _link(source, rel, root)
            if rel.startswith("Defect_images/"):
                for mask in masks.get(Path(rel).stem, []):
                    _link(source, str(mask.relative_to(source)), root)
        (root / "Mask_images").mkdir(parents=True, exist_ok=True)
    (out / "split.json").write_text(json.dumps(parts, indent=2) + "\n")
    return parts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "source", type=Path, help="AITEX folder (Defect_images/, Mask_images/, NoDefect_images/)"
    )
    parser.add_argument("out", type=Path, help="folder for train/, val/ and split.json")
    parser.add_argument(
        "--fold",
        type=int,
        choices=range(FOLDS),
        default=DEFAULT_FOLD,
        help=f"which third of each fabric's images is validation (default {DEFAULT_FOLD})",
    )
    args = parser.parse_args(argv)
    if not (args.source / "Defect_images").is_dir():
        print(f"error: {args.source} has no Defect_images/ folder; pass the AITEX folder", file=sys.stderr)
        return 2
    parts = write(args.source, args.out, args.fold)
    for part, rels in parts.items():
        n_defect = sum(r.startswith("Defect_images/") for r in rels)
        print(f"{part}: {len(rels)} images ({n_defect} defective, {len(rels) - n_defect} defect-free)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
