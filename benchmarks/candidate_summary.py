"""Sum up benchmarks/candidate.sh's folders side by side, one column per model:

    .venv/bin/python benchmarks/candidate_summary.py runs/shipped-checks runs/X-checks [--json OUT]

Prints a Markdown table of the figures a model is judged on before it ships (docs/model-card.md,
"Before a model ships"); a step a folder lacks shows "-". Reads JSON and the ONNX metadata only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

SETS = (("(a) seed 9999", "9999"), ("seed 777", "777"), ("seed 4242", "4242"))
# the classes version 5 finds least at medium and high visibility (`--preset hardclasses`), then the rest
CLASS_ROWS = (
    ("slub", "knot", "broken_end", "broken_pick", "float"),
    ("thick_place", "hole", "stain", "reed_mark"),
)


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_text()) if path.is_file() else None
    except json.JSONDecodeError as exc:
        raise SystemExit(f"error: {path} is not JSON ({exc})") from None


def _thresholds(folder: Path) -> tuple[float | None, float | None]:
    """(image threshold, video threshold) of the folder's calibrated model.onnx, if it has one."""
    if not (folder / "model.onnx").is_file():
        return None, None
    from fabric_inspect.models.runtime import load_model

    info = load_model(folder / "model.onnx").info
    return info.threshold, info.roll_threshold


def figures(folder: Path) -> dict[str, Any]:
    """Every figure of one candidate folder, by row name (None where its step did not run)."""
    rows: dict[str, Any] = {}
    image, video = _thresholds(folder)
    rows["image / video threshold"] = None if image is None else f"{image:.4f} / {video or 0:.4f}"
    for label, seed in SETS:
        ev = _load(folder / f"syn_{seed}.json")
        if ev is None:
            rows[f"{label}: image AUROC (medium/high) / AUPRO"] = None
            rows[f"{label}: recall at threshold (false alarms)"] = None
            continue
        mh = (ev.get("image_auroc_by_visibility") or {}).get("medium_high")
        mh_text = f" ({mh:.3f})" if mh is not None else ""
        rows[f"{label}: image AUROC (medium/high) / AUPRO"] = (
            f"{ev['image_auroc']:.3f}{mh_text} / {ev['aupro']:.3f}"
        )
        rows[f"{label}: recall at threshold (false alarms)"] = (
            f"{ev['defect_recall']:.3f} ({ev['false_alarm_rate']:.1%})"
        )
    rows["medium/high by kind, 3 sets: yarn-dyed / 2.2-2.8 px per yarn"] = _kinds(folder)
    for classes in CLASS_ROWS:
        rows["medium/high by class, 3 sets: " + " / ".join(classes).replace("_", " ")] = _classes(
            folder, classes
        )
    zero = _load(folder / "aitex_zeroshot.json")
    rows["(b) AITEX zero-shot: image AUROC / AP / pixel AUROC"] = (
        None
        if zero is None
        else f"{zero['image_auroc']:.3f} / {zero['image_ap']:.3f} / {zero['pixel_auroc']:.3f}"
    )
    edge = _load(folder / "edge.json")
    rows["edge probe: found whole / centred / 40 px from two edges"] = (
        None
        if edge is None
        else "{whole_found:.2f} / {centre_found:.2f} / {edge_found:.2f}".format(**edge["summary"]["all"])
    )
    for camera, label in (("demo", "nine demo rolls"), ("small", "320x240 rolls")):
        doc = _load(folder / f"rolls_{camera}.json")
        rolls = None if doc is None else doc["results"][0]["rolls"]
        name = f"video, {label}: medium/high found / false reports (on roll 13)"
        rows[name] = None if rolls is None else _rolls(rolls)
        name = f"video, {label}: false reports on the defect-free rolls / metres"
        rows[name] = None if rolls is None else _clean(rolls)
    seeds = sorted(folder.glob("cv_s*.json"))
    means = [_load(path)["image_auroc_mean"] for path in seeds]
    rows["(c) AITEX fine-tuned, 3 folds: image AUROC mean (per seed)"] = (
        None if not means else f"{statistics.mean(means):.3f} ({', '.join(f'{m:.3f}' for m in means)})"
    )
    return rows


def _rolls(rolls: dict[str, dict[str, int]]) -> str:
    """Found of truths / false reports, with demo roll 13 apart: its dark, busy fabric draws most of
    every model's false reports (docs/model-card.md)."""
    found = sum(r["found"] for r in rolls.values())
    truths = sum(r["truths"] for r in rolls.values())
    false = sum(r["false_reports"] for n, r in rolls.items() if n != "defects-13")
    text = f"{found} of {truths} / {false}"
    return text + (f" ({rolls['defects-13']['false_reports']})" if "defects-13" in rolls else "")


def _clean(rolls: dict[str, dict[str, float]]) -> str | None:
    """False reports and metres over the defect-free rolls ("clean-N"): issue #4 allows one per 10 m."""
    clean = [r for n, r in rolls.items() if n.startswith("clean-")]
    if not clean:
        return None
    return f"{sum(r['false_reports'] for r in clean)} / {sum(r['metres'] for r in clean):.1f} m"


def _pooled(folder: Path, section: str, groups: tuple[tuple[str, str], ...]) -> str | None:
    """Medium/high image AUROC against every defect-free image of each (family, group) of the kinds
    files' `section`, pooled over the three sets (weighted by their medium/high images); family ""
    for a flat section. None when a set's file (or its section) is missing."""
    pooled: dict[tuple[str, str], tuple[int, float]] = {}
    for _, seed in SETS:
        doc = _load(folder / f"kinds_{seed}.json")
        if doc is None or section not in doc:
            return None
        for family, group in groups:
            value = (doc[section].get(family, {}) if family else doc[section]).get(group, {})
            if value.get("medium_high") and value.get("medium_high_against_all") is not None:
                n, total = pooled.get((family, group), (0, 0.0))
                pooled[(family, group)] = (
                    n + value["medium_high"],
                    total + value["medium_high"] * value["medium_high_against_all"],
                )
    return " / ".join(
        f"{total / n:.3f}" if n else "-" for n, total in (pooled.get(g, (0, 0.0)) for g in groups)
    )


def _kinds(folder: Path) -> str | None:
    """Yarn-dyed fabric and the finest pitch, the hardest kinds (fabric_kinds.py's by_kind)."""
    return _pooled(folder, "by_kind", (("colouring", "yarn_dyed"), ("pitch", "2.2-2.8 px")))


def _classes(folder: Path, classes: tuple[str, ...]) -> str | None:
    """Each of `classes` (fabric_kinds.py's by_class)."""
    return _pooled(folder, "by_class", tuple(("", name) for name in classes))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="benchmarks/candidate.sh output folders")
    parser.add_argument("--json", type=Path, help="write the table here as JSON")
    args = parser.parse_args(argv)
    for folder in args.folders:
        if not folder.is_dir():
            print(f"error: {folder} is not a folder (benchmarks/candidate.sh writes one)", file=sys.stderr)
            return 2
    columns = {str(folder): figures(folder) for folder in args.folders}
    names = list(next(iter(columns.values())))
    print("| | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for name in names:
        print(f"| {name} | " + " | ".join(col[name] or "-" for col in columns.values()) + " |")
    if args.json:
        args.json.write_text(json.dumps(columns, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
