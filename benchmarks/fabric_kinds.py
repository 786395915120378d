"""Experiment (run by hand): which kinds of fabric does a model read worst?

    .venv/bin/python benchmarks/fabric_kinds.py benchmarks/results/eval_synthetic.json --seed 9999 \
        [--json benchmarks/results/model5/fabric_kinds_9999.json]

Takes the JSON that `fabric-inspect eval --json` wrote for a `fabric-inspect synth images --seed S`
set and groups its images by the fabric each was woven from: colouring (greige, dyed, yarn-dyed),
weave (plain, twill, satin) and warp yarn pitch in pixels (`PITCH_BINS`: how many pixels one yarn
spans). Image i of such a set is `render_sample(image_seed(S, i))`, and `synthetic.fabric_of` gives
the fabric of that seed exactly, without rendering anything.

Per group: defective and defect-free images, the image AUROC within the group (its defective images
against its own defect-free ones), the AUROC of its defective images against all defect-free images
of the set, the same for its defective images whose most visible defect is of medium or high
visibility (from the set's annotations.json; `--data`, by default the folder the eval names), the
median score of its defect-free images, and the group's share of the set's whole AUROC shortfall
(`auroc_loss` in the eval JSON: what its images cost, of 1 - AUROC).

By defect class (`by_class`): the images with a medium or high defect of each class, against all
defect-free images of the set (an image with two defects counts for both classes).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

from fabric_inspect.datasets.synthetic import fabric_of, image_seed
from fabric_inspect.training.metrics import auroc

# upper ends of the pitch groups, px per warp yarn (the generator draws 2.2-9 px, log-uniform)
PITCH_BINS = (2.8, 3.5, 4.5, 6.0)


def kinds_of(seed: int, index: int) -> dict[str, str]:
    """The kinds of fabric image `index` of `synth images --seed seed` was woven from."""
    spec = fabric_of(image_seed(seed, index))
    return {"colouring": spec.colouring, "weave": spec.weave, "pitch": pitch_group(spec.warp_pitch)}


def pitch_group(pitch: float) -> str:
    """'2.8-3.5 px' and the like: the PITCH_BINS interval that holds `pitch`."""
    edges = (2.2, *PITCH_BINS, 9.0)
    for low, high in itertools.pairwise(edges):
        if pitch < high:
            return f"{low:g}-{high:g} px"
    return f"{edges[-2]:g}-{edges[-1]:g} px"


def _auroc(positive: list[float], negative: list[float]) -> float | None:
    if not positive or not negative:
        return None
    scores = np.array(positive + negative)
    labels = np.array([True] * len(positive) + [False] * len(negative))
    value = auroc(scores, labels)
    return None if value is None else round(value, 4)


def visible(annotations: dict[str, list[dict]]) -> set[str]:
    """Stems of the images with a defect of medium or high visibility."""
    return {stem for stem, defects in annotations.items() if any(d["visibility"] != "low" for d in defects)}


def by_kind(evaluation: dict, seed: int, seen: set[str] | None = None) -> dict[str, dict[str, dict]]:
    """{kind: {group: figures}} for the images of an eval JSON of `synth images --seed seed`; `seen`:
    the stems of the images with a medium or high defect (`visible`), for that column."""
    images = evaluation["per_image"]
    every_good = [float(p["score"]) for p in images if p["label"] == "good"]
    groups: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for p in images:
        index = int(p["stem"].rsplit("_", 1)[1])
        for kind, group in kinds_of(seed, index).items():
            groups[kind][group].append(p)
    out: dict[str, dict[str, dict]] = {}
    for kind, members in groups.items():
        out[kind] = {}
        for group, rows in sorted(members.items()):
            bad = [float(p["score"]) for p in rows if p["label"] != "good"]
            bad_seen = [float(p["score"]) for p in rows if p["label"] != "good" and p["stem"] in (seen or ())]
            good = [float(p["score"]) for p in rows if p["label"] == "good"]
            out[kind][group] = {
                "defective": len(bad),
                "defect_free": len(good),
                "auroc_within": _auroc(bad, good),
                "auroc_against_all": _auroc(bad, every_good),
                "medium_high": len(bad_seen),
                "medium_high_against_all": _auroc(bad_seen, every_good),
                "defect_free_median": round(float(np.median(good)), 4) if good else None,
                "auroc_lost": round(sum(float(p.get("auroc_loss", 0.0)) for p in rows), 4),
            }
    return out


def by_class(evaluation: dict, annotations: dict[str, list[dict]]) -> dict[str, dict]:
    """{class: {"medium_high": images, "medium_high_against_all": AUROC}}: the images with a medium or
    high defect of the class, against every defect-free image of the set."""
    images = evaluation["per_image"]
    every_good = [float(p["score"]) for p in images if p["label"] == "good"]
    scores: dict[str, list[float]] = defaultdict(list)
    for p in images:
        if p["label"] == "good":
            continue
        for name in sorted({d["class"] for d in annotations.get(p["stem"], []) if d["visibility"] != "low"}):
            scores[name].append(float(p["score"]))
    return {
        name: {"medium_high": len(values), "medium_high_against_all": _auroc(values, every_good)}
        for name, values in sorted(scores.items())
    }


def table(figures: dict[str, dict[str, dict]]) -> str:
    lines = [
        "| kind | group | defective / defect-free | AUROC within | against all "
        "| medium/high: images, against all | defect-free median | AUROC lost |"
    ]
    lines.append("|---|---|---|---|---|---|---|---|")
    for kind, groups in figures.items():
        for group, f in groups.items():
            lines.append(
                f"| {kind} | {group} | {f['defective']} / {f['defect_free']} | {f['auroc_within']} | "
                f"{f['auroc_against_all']} | {f['medium_high']}, {f['medium_high_against_all']} | "
                f"{f['defect_free_median']} | {f['auroc_lost']} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("eval_json", type=Path, help="what `fabric-inspect eval --json` wrote")
    parser.add_argument("--seed", type=int, required=True, help="the --seed of `synth images`")
    parser.add_argument("--data", type=Path, default=None, help="the set's folder (default: the eval's)")
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    try:
        evaluation = json.loads(args.eval_json.read_text())
        evaluation["per_image"]
    except (OSError, ValueError, KeyError) as err:
        raise SystemExit(f"{args.eval_json}: not an eval JSON with per_image ({err})") from None
    data = args.data or Path(evaluation.get("dataset", {}).get("root", ""))
    try:
        annotations = json.loads((data / "annotations.json").read_text())
        seen = visible(annotations)
    except (OSError, ValueError) as err:
        raise SystemExit(f"{data}: no annotations.json of a synth images set ({err}); give --data") from None
    figures = by_kind(evaluation, args.seed, seen)
    print(f"{args.eval_json}: image AUROC {evaluation.get('image_auroc')}, seed {args.seed}")
    classes = by_class(evaluation, annotations)
    print(table(figures))
    print(
        "medium/high against all defect-free, by class: "
        + ", ".join(
            f"{name} {f['medium_high_against_all']} ({f['medium_high']})" for name, f in classes.items()
        )
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "eval": str(args.eval_json),
            "seed": args.seed,
            "image_auroc": evaluation.get("image_auroc"),
        }
        doc = {**report, "by_kind": figures, "by_class": classes}
        args.json.write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main()
