"""Markdown tables from `fabric-inspect eval --json` files (for docs/model-card.md).

    python benchmarks/eval_markdown.py benchmarks/results/eval_synthetic.json [more.json ...]

Prints one summary table (a column per file) and, per file, recall by class (and by visibility where
the data set has it). Stdlib only.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = (
    ("images (defective / defect-free)", None),
    ("threshold", "threshold"),
    ("image AUROC", "image_auroc"),
    ("image AUROC, most visible defect medium or high", "image_auroc_by_visibility.medium_high"),
    ("image AP", "image_ap"),
    ("pixel AUROC", "pixel_auroc"),
    ("AUPRO (FPR <= 0.3)", "aupro"),
    ("defect recall", "defect_recall"),
    ("defect precision", "defect_precision"),
    ("image recall", "image_recall"),
    ("false-alarm rate", "false_alarm_rate"),
)
VISIBILITIES = ("low", "medium", "high")


def _fmt(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def _get(result: dict, key: str) -> object:
    """result[key], or result[a][b] for "a.b"; None where absent."""
    value: object = result
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def summary(results: dict[str, dict]) -> str:
    lines = ["| | " + " | ".join(results) + " |", "|---" * (len(results) + 1) + "|"]
    for label, key in ROWS:
        if key is None:
            cells = [
                f"{r['images']} ({r['defective_images']} / {r['defect_free_images']})"
                for r in results.values()
            ]
        else:
            cells = [_fmt(_get(r, key)) for r in results.values()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_class(result: dict) -> str:
    vis = [v for v in VISIBILITIES if v in result.get("per_visibility", {})]
    head = ["class", "regions", "found", "recall", *(f"recall {v}" for v in vis), "images flagged"]
    lines = ["| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, e in result["per_class"].items():
        by_vis = e.get("by_visibility", {})
        cells = [name, str(e["regions"]), str(e["found"]), _fmt(e["recall"])]
        cells += [
            f"{_fmt(by_vis[v]['recall'])} ({by_vis[v]['found']}/{by_vis[v]['regions']})"
            if v in by_vis
            else "-"
            for v in vis
        ]
        cells.append(f"{e.get('images_flagged', 0)}/{e.get('images', 0)}")
        lines.append("| " + " | ".join(cells) + " |")
    if vis:
        cells = ["all", str(result["gt_regions"]), "", _fmt(result["defect_recall"])]
        cells += [_fmt(result["per_visibility"][v]["recall"]) for v in vis]
        lines.append("| " + " | ".join([*cells, ""]) + " |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    results = {Path(p).stem: json.loads(Path(p).read_text()) for p in argv}
    print(summary(results))
    for name, result in results.items():
        print(f"\n{name}:\n")
        print(per_class(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
